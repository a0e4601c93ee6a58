//! Everything that can go wrong talking to HeyGen, with what each failure means
//! under 6.1: whether it was a definite answer, and whether it is worth a retry
//! under the same idempotency key. Which contract code a failure becomes and
//! whether it stops a batch are the application's decisions (`app::heygen_policy`).

use std::time::Duration;

use crate::domain::{Definiteness, ScriptProblem};

/// Everything that can go wrong talking to HeyGen. Messages are HeyGen's own or
/// ours; never the API key.
#[derive(Debug, thiserror::Error)]
pub enum HeygenError {
    #[error("HeyGen refused the API key: {message}")]
    Unauthorized { message: String },
    /// The key cannot be put in a header, so it was never sent: HeyGen saw nothing.
    #[error("the API key in the secret is not a valid HTTP header value; it was not sent")]
    KeyNotSendable,
    #[error("HeyGen says the account has insufficient credit: {message}")]
    InsufficientCredit { message: String },
    #[error("HeyGen rejected the request ({code}): {message}")]
    Rejected { status: u16, code: String, message: String },
    #[error("HeyGen does not know this video")]
    NotFound,
    #[error("HeyGen is still processing a request with this idempotency key (409)")]
    InProgress { retry_after: Option<Duration> },
    #[error("HeyGen timed out waiting for the request (408)")]
    RequestTimeout { retry_after: Option<Duration> },
    #[error("HeyGen's rate limit was exceeded (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("HeyGen failed with HTTP {status}")]
    Server { status: u16 },
    #[error("HeyGen could not be reached")]
    Network(#[source] reqwest::Error),
    #[error("HeyGen did not answer in time")]
    Timeout,
    #[error("HeyGen's answer (HTTP {status}) could not be read")]
    Undecodable { status: u16 },
    /// Refused before any request was made.
    #[error(transparent)]
    Script(#[from] ScriptProblem),
    #[error("no time was left before the deadline to ask HeyGen")]
    Deadline,
}

impl HeygenError {
    /// Whether the answer is definite in the sense of 6.1: the next claim then
    /// uses a new attempt number. 402 and the other 4xx are definite (HeyGen may
    /// replay a refusal for 24 h under the same key); a 401 is not: a refused key
    /// names no account, so HeyGen has nothing to replay, while a video made under
    /// the key before (an answer lost) stays to be replayed once the key is fixed.
    pub fn definiteness(&self) -> Definiteness {
        match self {
            Self::InsufficientCredit { .. } | Self::Rejected { .. } | Self::NotFound => Definiteness::Definite,
            _ => Definiteness::Indefinite,
        }
    }

    /// HeyGen's own error code, for a rejected request.
    pub fn heygen_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(super) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::InProgress { retry_after }
            | Self::RequestTimeout { retry_after }
            | Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Worth another try under the same idempotency key: 408, 409, 429, 5xx,
    /// network errors and timeouts.
    pub(super) fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::InProgress { .. }
                | Self::RequestTimeout { .. }
                | Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Network(_)
                | Self::Timeout
        )
    }
}
