//! Claims, attempts and HeyGen's final answers: the job state machine's moves
//! (contract 6.1 and 6.3).

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

/// HeyGen's final answer about a render, as applied to an item (6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed {
        video_url: String,
        thumbnail_url: Option<String>,
    },
    /// The render failed (a definite answer: the attempt number advances).
    Failed {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_advances_the_attempt_only_after_a_definite_answer() {
        let claim = Claim { content_id: "c".into(), claim_id: "k".into(), attempt: 2, slot: None };
        assert_eq!(claim.attempt_after_release(Definiteness::Definite), 3);
        assert_eq!(claim.attempt_after_release(Definiteness::Indefinite), 2);
    }

    #[test]
    fn request_error_text_is_code_colon_message() {
        assert_eq!(request_error_text("heygen_rejected", "bad avatar"), "heygen_rejected: bad avatar");
    }
}
