//! Claims, attempts and HeyGen's final answers: the job state machine's moves
//! (contract 6.1, 6.3 and 11).

use std::time::Duration;

/// A claim this process holds on an item: recording a video id or releasing is
/// conditional on `claim_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub content_id: String,
    pub claim_id: String,
    /// The attempt number of this claim's idempotency key.
    pub attempt: u32,
    /// The render slot the claimed item holds, if any.
    pub slot: Option<u32>,
    /// What the claimed item holds of its budget (13.2), if anything.
    pub reservation: Option<super::Reservation>,
}

/// Whether a refused create was a *definite* answer (6.1): the next claim then
/// uses a new attempt number. Timeouts, 5xx, 408, 409 and 429 are not definite:
/// the same key replays HeyGen's first answer instead of paying twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Definiteness {
    Definite,
    Indefinite,
}

impl Claim {
    /// The attempt number stored when this claim is released.
    pub fn attempt_after_release(&self, definiteness: Definiteness) -> u32 {
        match definiteness {
            Definiteness::Definite => self.attempt.saturating_add(1),
            Definiteness::Indefinite => self.attempt,
        }
    }
}

/// The `heygen_error` text of a refused request: `"<code>: <message>"`.
pub fn request_error_text(code: &str, message: &str) -> String {
    format!("{code}: {message}")
}

/// The `heygen_error` text of a render HeyGen no longer knows (section 11).
pub fn lost_video_text(video_id: &str, since: &str) -> String {
    request_error_text("heygen_video_not_found", &format!("HeyGen has not known video {video_id} since {since}"))
}

/// How long an item waits before it is tried again after its `failures`-th
/// failure in a row (a create HeyGen kept failing, or a copy, section 11): one
/// minute, doubling with each failure, at most an hour.
pub fn retry_backoff(failures: u32) -> Duration {
    const FIRST: Duration = Duration::from_secs(60);
    const MOST: Duration = Duration::from_secs(3_600);
    FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(MOST)
}

/// A create HeyGen kept failing waits aside (section 11): not before `until`,
/// after `failures` such failures in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub until: crate::domain::Timestamp,
    pub failures: u32,
}

impl Backoff {
    /// The back-off after one more failure of an item that had `failures_before`.
    pub fn after(failures_before: Option<u32>, now: crate::domain::Timestamp) -> Self {
        let failures = failures_before.unwrap_or(0).saturating_add(1);
        Self { until: now.plus(retry_backoff(failures)), failures }
    }
}

/// HeyGen's final answer about a render, as applied to an item (6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed {
        video_url: String,
        thumbnail_url: Option<String>,
        /// HeyGen's `duration` of the video, when it gave one.
        duration: Option<crate::domain::VideoSeconds>,
    },
    /// The render failed, or HeyGen lost it: `failed`, the attempt number
    /// advanced (a definite answer).
    Failed { message: String },
    /// The render failed and has attempts left (section 11): back to the queue
    /// under the next attempt at once, `heygen_error` keeping the reason.
    Retry { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_advances_the_attempt_only_after_a_definite_answer() {
        let claim = Claim { content_id: "c".into(), claim_id: "k".into(), attempt: 2, slot: None, reservation: None };
        assert_eq!(claim.attempt_after_release(Definiteness::Definite), 3);
        assert_eq!(claim.attempt_after_release(Definiteness::Indefinite), 2);
    }

    #[test]
    fn the_backoff_starts_at_a_minute_doubles_and_stops_at_an_hour() {
        let minutes: Vec<u64> = (1..=8).map(|n| retry_backoff(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry_backoff(0), Duration::from_secs(60), "a first failure however counted");
        assert_eq!(retry_backoff(u32::MAX), Duration::from_secs(3_600));
    }

    #[test]
    fn a_lost_video_says_so_under_its_code() {
        let text = lost_video_text("v-1", "2026-03-01T10:00:00.000Z");
        assert!(text.starts_with("heygen_video_not_found: "), "{text}");
        assert!(text.contains("v-1"));
    }

    #[test]
    fn request_error_text_is_code_colon_message() {
        assert_eq!(request_error_text("heygen_rejected", "bad avatar"), "heygen_rejected: bad avatar");
    }
}
