//! What the application makes of HeyGen's failures: the contract's code for each
//! (section 2) and which of them stop a batch. The HTTP client only reports what
//! happened; these are the use cases' decisions.

use tokio::time::Instant;

use crate::heygen::{Heygen, HeygenError, VideoStatus};
use crate::secret::SecretString;

/// The contract's error code for a HeyGen failure.
pub fn contract_code(err: &HeygenError) -> &'static str {
    match err {
        HeygenError::Unauthorized { .. } | HeygenError::KeyNotSendable => "heygen_auth_failed",
        HeygenError::InsufficientCredit { .. } => "heygen_insufficient_credit",
        HeygenError::Rejected { .. } | HeygenError::NotFound => "heygen_rejected",
        HeygenError::Script(problem) => problem.code(),
        HeygenError::InProgress { .. }
        | HeygenError::RequestTimeout { .. }
        | HeygenError::RateLimited { .. }
        | HeygenError::Server { .. }
        | HeygenError::Network(_)
        | HeygenError::Timeout
        | HeygenError::Undecodable { .. }
        | HeygenError::Deadline => "heygen_unavailable",
    }
}

/// Whether a failure stops a trigger's batch (section 2): the key refused or
/// unusable, no credit, or HeyGen unavailable after retries. A refusal of one
/// item (its 4xx, its script) does not.
pub fn stops_batch(err: &HeygenError) -> bool {
    !matches!(err, HeygenError::Rejected { .. } | HeygenError::NotFound | HeygenError::Script(_))
}

/// Whether a batch-stopping create failure puts the item aside for a back-off
/// (section 11): HeyGen failing or timing out on it after retries (5xx, 408,
/// 409, a timeout, an unreadable answer). Not a 429 (HeyGen's concurrency: the
/// order is kept), nor the key or the credit (every item alike), nor our own
/// deadline.
pub fn backs_off(err: &HeygenError) -> bool {
    matches!(
        err,
        HeygenError::InProgress { .. }
            | HeygenError::RequestTimeout { .. }
            | HeygenError::Server { .. }
            | HeygenError::Network(_)
            | HeygenError::Timeout
            | HeygenError::Undecodable { .. }
    )
}

/// Counts a failure in the `HeygenErrors` metric under its contract code. The
/// deadline and a script refused before any request are this service's, not
/// HeyGen's, and are not counted.
pub fn count(err: &HeygenError) {
    if !matches!(err, HeygenError::Deadline | HeygenError::Script(_)) {
        crate::metrics::heygen_error(contract_code(err));
    }
}

/// Asks HeyGen for a video's status, counting a failure in `HeygenErrors`.
pub async fn ask_status(
    heygen: &impl Heygen,
    api_key: &SecretString,
    video_id: &str,
    deadline: Instant,
) -> Result<VideoStatus, HeygenError> {
    let answer = heygen.video_status(api_key, video_id, deadline).await;
    if let Err(err) = &answer {
        count(err);
    }
    answer
}

/// Whether a failure to read one video's status concerns that video alone (a
/// 404, another 4xx, an answer that cannot be read), so that a refresh or a
/// reconciliation goes on with the next one. Anything else (the key refused,
/// HeyGen failing or slow after retries, the deadline) stops it.
pub fn is_about_one_video(err: &HeygenError) -> bool {
    matches!(err, HeygenError::NotFound | HeygenError::Rejected { .. } | HeygenError::Undecodable { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ScriptProblem;

    #[test]
    fn only_per_item_refusals_let_a_batch_go_on() {
        let rejected = HeygenError::Rejected { status: 400, code: "invalid_parameter".into(), message: "x".into() };
        assert!(!stops_batch(&rejected));
        assert!(!stops_batch(&HeygenError::NotFound));
        assert!(!stops_batch(&HeygenError::Script(ScriptProblem::Missing)));
        for stopping in [
            HeygenError::Unauthorized { message: "x".into() },
            HeygenError::KeyNotSendable,
            HeygenError::InsufficientCredit { message: "x".into() },
            HeygenError::RateLimited { retry_after: None },
            HeygenError::Server { status: 502 },
            HeygenError::Timeout,
            HeygenError::Deadline,
        ] {
            assert!(stops_batch(&stopping), "{stopping:?}");
        }
    }

    #[test]
    fn only_heygen_failing_on_the_item_puts_it_aside() {
        for aside in [
            HeygenError::Server { status: 503 },
            HeygenError::InProgress { retry_after: None },
            HeygenError::RequestTimeout { retry_after: None },
            HeygenError::Timeout,
            HeygenError::Undecodable { status: 200 },
        ] {
            assert!(backs_off(&aside) && stops_batch(&aside), "{aside:?}");
        }
        for kept in [
            HeygenError::RateLimited { retry_after: None },
            HeygenError::Unauthorized { message: "x".into() },
            HeygenError::InsufficientCredit { message: "x".into() },
            HeygenError::Deadline,
            HeygenError::Rejected { status: 400, code: "x".into(), message: "y".into() },
        ] {
            assert!(!backs_off(&kept), "{kept:?}");
        }
    }

    #[test]
    fn a_refused_key_keeps_the_attempt_and_a_refused_item_advances_it() {
        use crate::domain::Definiteness;
        assert_eq!(HeygenError::Unauthorized { message: "x".into() }.definiteness(), Definiteness::Indefinite);
        assert_eq!(HeygenError::KeyNotSendable.definiteness(), Definiteness::Indefinite);
        assert_eq!(HeygenError::InsufficientCredit { message: "x".into() }.definiteness(), Definiteness::Definite);
        let rejected = HeygenError::Rejected { status: 400, code: "x".into(), message: "y".into() };
        assert_eq!(rejected.definiteness(), Definiteness::Definite);
    }

    #[test]
    fn a_key_that_could_not_be_sent_is_reported_as_the_key_refused() {
        assert_eq!(contract_code(&HeygenError::KeyNotSendable), "heygen_auth_failed");
        assert_eq!(contract_code(&HeygenError::Script(ScriptProblem::Missing)), "script_missing");
        assert_eq!(contract_code(&HeygenError::NotFound), "heygen_rejected");
    }

    #[test]
    fn a_refusal_or_an_unreadable_answer_concerns_one_video_only() {
        assert!(is_about_one_video(&HeygenError::NotFound));
        assert!(is_about_one_video(&HeygenError::Undecodable { status: 200 }));
        assert!(is_about_one_video(&HeygenError::Rejected { status: 403, code: "x".into(), message: "y".into() }));
        assert!(!is_about_one_video(&HeygenError::Unauthorized { message: "x".into() }));
        assert!(!is_about_one_video(&HeygenError::Server { status: 500 }));
        assert!(!is_about_one_video(&HeygenError::Timeout));
        assert!(!is_about_one_video(&HeygenError::Deadline));
    }
}
