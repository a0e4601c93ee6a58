//! The application layer: what each function does, over the ports, with one error
//! enum that maps onto the contract's HTTP codes (section 2). No Lambda types here.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::heygen::HeygenClient;
use crate::secret::{SecretError, SecretSource};
use crate::store::{ErrorChain, Store, StoreError};

/// The contract's errors. `message` texts are for a human and never carry
/// internals (SDK text, secrets): those go to the log where the error is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("internal error")]
    Internal,
    #[error("HeyGen refused the API key")]
    HeygenAuthFailed,
    #[error("{0}")]
    HeygenNotConfigured(String),
    #[error("HeyGen is failing or timing out; try again later")]
    HeygenUnavailable,
    #[error("storage is unavailable; nothing was changed; try again later")]
    StorageUnavailable,
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
            Self::Internal => 500,
            Self::HeygenAuthFailed => 502,
            Self::HeygenNotConfigured(_) | Self::HeygenUnavailable | Self::StorageUnavailable | Self::RetryLater => 503,
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
            Self::Internal => "internal",
            Self::HeygenAuthFailed => "heygen_auth_failed",
            Self::HeygenNotConfigured(_) => "heygen_not_configured",
            Self::HeygenUnavailable => "heygen_unavailable",
            Self::StorageUnavailable => "storage_unavailable",
            Self::RetryLater => "retry_later",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The contract's body: `{"error": {"code", "message", "field"?}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({"code": self.code(), "message": self.to_string()});
        if let Some(field) = self.field() {
            error["field"] = field.into();
        }
        serde_json::json!({ "error": error })
    }

    /// Logs a storage failure with its cause and answers `storage_unavailable`.
    pub fn from_store(err: &StoreError) -> Self {
        match err {
            StoreError::Conflict => {
                tracing::error!("an unexpected conflict reached the caller");
                Self::Internal
            }
            StoreError::Corrupt { .. } => {
                tracing::error!(error = %ErrorChain(err), "stored data does not have the contract's shape");
                Self::Internal
            }
            StoreError::Unavailable { .. } => {
                tracing::error!(error = %ErrorChain(err), "DynamoDB is failing");
                Self::StorageUnavailable
            }
        }
    }

    /// A secret that cannot be had: `heygen_not_configured`, saying which.
    pub fn from_secret(err: &SecretError) -> Self {
        match err {
            SecretError::NotConfigured(why) => {
                tracing::warn!(reason = %why, "HeyGen is not configured");
                Self::HeygenNotConfigured(why.to_string())
            }
            SecretError::Unavailable(_) => {
                tracing::error!(error = %ErrorChain(err), "the HeyGen secret cannot be read");
                Self::HeygenNotConfigured(err.to_string())
            }
        }
    }
}

/// Time rules for an invocation (contract section 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// No new HeyGen work starts with less than this left before the deadline.
    pub start_margin: Duration,
    /// HeyGen calls end at least this long before the deadline, to answer in time.
    pub response_margin: Duration,
    /// The webhook's budget for confirming with HeyGen (HeyGen waits about 10 s).
    pub webhook_confirm_budget: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            start_margin: Duration::from_secs(5),
            response_margin: Duration::from_secs(2),
            webhook_confirm_budget: Duration::from_secs(5),
        }
    }
}

/// Everything a function needs, built once per process.
pub struct Deps<S, K> {
    pub config: Config,
    pub store: S,
    pub secrets: K,
    pub heygen: HeygenClient,
    pub timing: Timing,
}

impl<S: Store, K: SecretSource> Deps<S, K> {
    pub async fn api_key(&self) -> Result<crate::secret::SecretString, ApiError> {
        let secret = self.secrets.heygen_secret().await.map_err(|e| ApiError::from_secret(&e))?;
        Ok(secret.api_key.clone())
    }
}

impl Deps<crate::store::DynamoStore, crate::secret::SecretsManagerSource> {
    /// The production wiring: AWS clients from the standard configuration
    /// (`AWS_ENDPOINT_URL` included), built once per process.
    pub async fn from_config(config: Config) -> Result<Self, crate::heygen::ClientBuildError> {
        let aws = crate::load_aws_config().await;
        let store = crate::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.tables.clone());
        let secrets = crate::secret::SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            config.heygen_secret_id.clone(),
            crate::secret::DEFAULT_SECRET_TTL,
        );
        let heygen = HeygenClient::new(&config.heygen_api_base_url, crate::heygen::RetryPolicy::default())?;
        Ok(Self { config, store, secrets, heygen, timing: Timing::default() })
    }
}

/// One invocation as the application layer sees it.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// When the function must have answered.
    pub deadline: Instant,
    /// `requestContext.domainName`, for the default callback URL.
    pub domain_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_the_contract_status_and_code() {
        let cases = [
            (ApiError::invalid(Some("month"), "bad"), 400, "invalid_request"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::InvalidSignature, 401, "invalid_signature"),
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::Internal, 500, "internal"),
            (ApiError::HeygenAuthFailed, 502, "heygen_auth_failed"),
            (ApiError::HeygenNotConfigured("no api_key".into()), 503, "heygen_not_configured"),
            (ApiError::HeygenUnavailable, 503, "heygen_unavailable"),
            (ApiError::StorageUnavailable, 503, "storage_unavailable"),
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
}
