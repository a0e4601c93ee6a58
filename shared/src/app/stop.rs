//! Why a batch of work ended early: the `stopped` of the trigger's answer, the
//! refresh's counts and a tick's report (contract sections 2, 9 and 11), one
//! type instead of strings compared by hand.

use serde::Serialize;

use crate::heygen::HeygenError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Near the invocation's deadline: the rest waits for the next call or tick.
    Deadline,
    /// DynamoDB failing after the SDK's retries.
    StorageUnavailable,
    /// HeyGen refused the key, or it cannot be sent.
    HeygenAuthFailed,
    /// HeyGen has no credit for the account.
    HeygenInsufficientCredit,
    /// HeyGen failing (429, 408, 409, 5xx, timeouts) after retries.
    HeygenUnavailable,
    /// No secret, key or callback URL.
    HeygenNotConfigured,
}

impl Stop {
    /// The contract's code.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Deadline => "deadline",
            Stop::StorageUnavailable => "storage_unavailable",
            Stop::HeygenAuthFailed => "heygen_auth_failed",
            Stop::HeygenInsufficientCredit => "heygen_insufficient_credit",
            Stop::HeygenUnavailable => "heygen_unavailable",
            Stop::HeygenNotConfigured => "heygen_not_configured",
        }
    }

    /// The stop a batch-stopping HeyGen failure makes (`heygen_policy::stops_batch`).
    pub fn of(err: &HeygenError) -> Self {
        match err {
            HeygenError::Deadline => Stop::Deadline,
            HeygenError::Unauthorized { .. } | HeygenError::KeyNotSendable => Stop::HeygenAuthFailed,
            HeygenError::InsufficientCredit { .. } => Stop::HeygenInsufficientCredit,
            _ => Stop::HeygenUnavailable,
        }
    }

    /// Whether the work could not be done at all (a tick's `TickFailures`):
    /// DynamoDB failing, the key refused, or nothing configured.
    pub fn is_failure(self) -> bool {
        matches!(self, Stop::StorageUnavailable | Stop::HeygenAuthFailed | Stop::HeygenNotConfigured)
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_is_written_as_its_contract_code() {
        for stop in [
            Stop::Deadline,
            Stop::StorageUnavailable,
            Stop::HeygenAuthFailed,
            Stop::HeygenInsufficientCredit,
            Stop::HeygenUnavailable,
            Stop::HeygenNotConfigured,
        ] {
            assert_eq!(serde_json::to_value(stop).unwrap(), stop.as_str());
        }
        assert!(Stop::StorageUnavailable.is_failure() && !Stop::Deadline.is_failure());
        assert!(!Stop::HeygenUnavailable.is_failure() && !Stop::HeygenInsufficientCredit.is_failure());
        assert_eq!(Stop::of(&HeygenError::Deadline), Stop::Deadline);
        assert_eq!(Stop::of(&HeygenError::Timeout), Stop::HeygenUnavailable);
        assert_eq!(Stop::of(&HeygenError::KeyNotSendable), Stop::HeygenAuthFailed);
    }
}
