//! The HeyGen secret (contract section 4) behind a port: [`SecretSource`], the
//! parsed [`HeygenSecret`] (SecretString JSON `{"api_key": "...",
//! "webhook_secret": "..."}`) and the Secrets Manager adapter, read lazily and
//! cached in the process. Secret values never reach logs or `Debug` output.
//! Uses nothing else of this crate.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

mod secrets_manager;

pub use secrets_manager::{DEFAULT_SECRET_TTL, SecretsManagerSource};

/// A secret string: `Debug` and `Display` print `***`; `expose` hands out the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The parsed secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeygenSecret {
    pub api_key: SecretString,
    pub webhook_secret: Option<SecretString>,
}

/// Why the service is not configured to call HeyGen (the 503 `heygen_not_configured`
/// message says which).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotConfigured {
    #[error("the HeyGen secret does not exist or has no value")]
    NoSecret,
    #[error("the HeyGen secret is not a JSON object")]
    NotJson,
    #[error("the HeyGen secret has no api_key")]
    NoApiKey,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    NotConfigured(#[from] NotConfigured),
    /// Secrets Manager failing or refusing access; the source is for the log only.
    #[error("the HeyGen secret cannot be read now")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn non_empty_string(v: Option<serde_json::Value>) -> Option<SecretString> {
    match v {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(SecretString(s)),
        _ => None,
    }
}

impl HeygenSecret {
    /// Parses a SecretString. An empty or non-string `api_key` counts as missing;
    /// so does an empty `webhook_secret`.
    pub fn parse(secret_string: &str) -> Result<Self, NotConfigured> {
        // An object only (a derived struct would also take a JSON array). The
        // parser's error could quote the input: it is dropped, never shown.
        let serde_json::Value::Object(mut fields) =
            serde_json::from_str(secret_string).map_err(|_| NotConfigured::NotJson)?
        else {
            return Err(NotConfigured::NotJson);
        };
        Ok(Self {
            api_key: non_empty_string(fields.remove("api_key")).ok_or(NotConfigured::NoApiKey)?,
            webhook_secret: non_empty_string(fields.remove("webhook_secret")),
        })
    }
}

/// The port: where the HeyGen secret comes from.
pub trait SecretSource: Send + Sync {
    fn heygen_secret(&self) -> impl Future<Output = Result<Arc<HeygenSecret>, SecretError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_and_optional_webhook_secret() {
        let s = HeygenSecret::parse(r#"{"api_key":"sk-1","webhook_secret":"whsec_2"}"#).unwrap();
        assert_eq!(s.api_key.expose(), "sk-1");
        assert_eq!(s.webhook_secret.as_ref().map(SecretString::expose), Some("whsec_2"));
        let s = HeygenSecret::parse(r#"{"api_key":"sk-1","other":1}"#).unwrap();
        assert_eq!(s.webhook_secret, None);
        let s = HeygenSecret::parse(r#"{"api_key":"sk-1","webhook_secret":""}"#).unwrap();
        assert_eq!(s.webhook_secret, None);
    }

    #[test]
    fn non_json_and_missing_key_are_typed() {
        assert_eq!(HeygenSecret::parse("sk-plain-text"), Err(NotConfigured::NotJson));
        assert_eq!(HeygenSecret::parse(r#"["sk-1","whsec"]"#), Err(NotConfigured::NotJson));
        assert_eq!(HeygenSecret::parse(r#""sk-1""#), Err(NotConfigured::NotJson));
        assert_eq!(HeygenSecret::parse("{}"), Err(NotConfigured::NoApiKey));
        assert_eq!(HeygenSecret::parse(r#"{"api_key":""}"#), Err(NotConfigured::NoApiKey));
        assert_eq!(HeygenSecret::parse(r#"{"api_key":42}"#), Err(NotConfigured::NoApiKey));
    }

    #[test]
    fn debug_and_display_never_show_secret_values() {
        let s = HeygenSecret::parse(r#"{"api_key":"sk-topsecret","webhook_secret":"whsec_hidden"}"#).unwrap();
        let shown = format!("{s:?} {} {}", s.api_key, s.api_key.clone());
        assert!(!shown.contains("topsecret") && !shown.contains("hidden"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn not_configured_messages_say_which() {
        assert!(NotConfigured::NoSecret.to_string().contains("does not exist"));
        assert!(NotConfigured::NotJson.to_string().contains("JSON"));
        assert!(NotConfigured::NoApiKey.to_string().contains("api_key"));
    }
}
