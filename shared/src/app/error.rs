//! The application's one error enum and its mapping onto the contract's codes
//! (section 2). Variants that wrap a lower layer's error keep it as their source,
//! for the one log line written where the error becomes a response; the body a
//! caller sees never carries it.

use crate::heygen::HeygenError;
use crate::secret::SecretError;
use crate::store::StoreError;

/// The contract's errors. Converting into one logs nothing: the edge that turns
/// it into a response logs 5xx once, with the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest { field: Option<String>, message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("the signature does not match the body")]
    InvalidSignature,
    #[error("the caller is not an admin")]
    Forbidden,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the body is larger than 256 KiB")]
    PayloadTooLarge,
    #[error("the body must be sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A bug; the text says what, in the log only.
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("HeyGen refused the API key")]
    HeygenAuthFailed(#[source] HeygenError),
    /// No callback URL (the secret's own problems are [`ApiError::Secret`]).
    #[error("{0}")]
    HeygenNotConfigured(&'static str),
    #[error("HeyGen is failing or timing out")]
    HeygenUnavailable(#[source] HeygenError),
    #[error("storage failed")]
    Storage(#[from] StoreError),
    #[error("the HeyGen secret cannot be used")]
    Secret(#[from] SecretError),
    #[error("the item's request is still being recorded; deliver again later")]
    RetryLater,
}

impl ApiError {
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::InvalidRequest { field: field.map(str::to_string), message: message.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest { .. } => 400,
            Self::Unauthorized | Self::InvalidSignature => 401,
            Self::Forbidden => 403,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::HeygenAuthFailed(_) => 502,
            Self::Storage(StoreError::Unavailable { .. })
            | Self::Secret(_)
            | Self::HeygenNotConfigured(_)
            | Self::HeygenUnavailable(_)
            | Self::RetryLater => 503,
            Self::Internal(_)
            | Self::Storage(StoreError::Conflict | StoreError::OverBudget | StoreError::Corrupt { .. }) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::InvalidSignature => "invalid_signature",
            Self::Forbidden => "forbidden",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::HeygenAuthFailed(_) => "heygen_auth_failed",
            Self::HeygenNotConfigured(_) | Self::Secret(_) => "heygen_not_configured",
            Self::HeygenUnavailable(_) => "heygen_unavailable",
            Self::Storage(StoreError::Unavailable { .. }) => "storage_unavailable",
            Self::RetryLater => "retry_later",
            Self::Internal(_)
            | Self::Storage(StoreError::Conflict | StoreError::OverBudget | StoreError::Corrupt { .. }) => "internal",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// What a caller is told: ours, never a source's text (SDK errors, secrets).
    pub fn public_message(&self) -> String {
        match self {
            Self::InvalidRequest { message, .. } => message.clone(),
            Self::HeygenNotConfigured(why) => (*why).to_string(),
            // Both texts are this crate's own: which part of the secret is missing,
            // or that it cannot be read now.
            Self::Secret(SecretError::NotConfigured(why)) => why.to_string(),
            Self::Secret(unavailable @ SecretError::Unavailable(_)) => unavailable.to_string(),
            Self::HeygenUnavailable(_) => "HeyGen is failing or timing out; try again later".to_string(),
            Self::Storage(StoreError::Unavailable { .. }) => {
                "storage is unavailable; nothing was changed; try again later".to_string()
            }
            Self::Internal(_) | Self::Storage(_) => "internal error".to_string(),
            other => other.to_string(),
        }
    }

    /// The contract's body: `{"error": {"code", "message", "field"?}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({"code": self.code(), "message": self.public_message()});
        if let Some(field) = self.field() {
            error["field"] = field.into();
        }
        serde_json::json!({ "error": error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::ErrorChain;
    use crate::secret::NotConfigured;

    fn store_down() -> StoreError {
        StoreError::Unavailable {
            operation: "UpdateItem",
            source: Box::new(std::io::Error::other("dynamodb said: arn:aws:secret-internal")),
        }
    }

    #[test]
    fn every_error_has_the_contract_status_and_code() {
        let cases = [
            (ApiError::invalid(Some("month"), "bad"), 400, "invalid_request"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::InvalidSignature, 401, "invalid_signature"),
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::UnsupportedMediaType, 415, "unsupported_media_type"),
            (ApiError::Internal("a bug"), 500, "internal"),
            (ApiError::Storage(StoreError::Conflict), 500, "internal"),
            (ApiError::HeygenAuthFailed(HeygenError::Unauthorized { message: "no".into() }), 502, "heygen_auth_failed"),
            (ApiError::HeygenNotConfigured("no callback URL"), 503, "heygen_not_configured"),
            (ApiError::Secret(NotConfigured::NoApiKey.into()), 503, "heygen_not_configured"),
            (ApiError::HeygenUnavailable(HeygenError::Timeout), 503, "heygen_unavailable"),
            (ApiError::Storage(store_down()), 503, "storage_unavailable"),
            (ApiError::RetryLater, 503, "retry_later"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.code()), (status, code), "{err:?}");
            assert_eq!(err.body()["error"]["code"], code);
        }
    }

    #[test]
    fn the_body_names_the_field_only_when_one_is_at_fault() {
        let body = ApiError::invalid(Some("mode"), "mode must be bible or positivity").body();
        assert_eq!(body["error"]["field"], "mode");
        assert_eq!(body["error"]["message"], "mode must be bible or positivity");
        assert!(ApiError::invalid(None, "not JSON").body()["error"].get("field").is_none());
        assert!(ApiError::Forbidden.body()["error"].get("field").is_none());
    }

    #[test]
    fn sources_reach_the_log_chain_but_never_the_body() {
        let err: ApiError = store_down().into();
        let body = err.body().to_string();
        assert!(!body.contains("arn:aws"), "{body}");
        let chain = ErrorChain(&err).to_string();
        assert!(chain.contains("UpdateItem") && chain.contains("arn:aws:secret-internal"), "{chain}");
        let missing: ApiError = SecretError::from(NotConfigured::NoApiKey).into();
        assert_eq!(missing.body()["error"]["message"], "the HeyGen secret has no api_key");
    }
}
