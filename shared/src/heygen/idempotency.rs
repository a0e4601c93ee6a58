//! The idempotency key of a create (contract 6.1).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// HeyGen's allowed idempotency-key characters are `[A-Za-z0-9_:.-]`, 1-255 of them.
const MAX_RAW_CONTENT_ID_IN_KEY: usize = 240;

/// `Idempotency-Key: {content_id}:{attempt}`; a content id outside HeyGen's
/// character set or over 240 characters is replaced by its lowercase hex SHA-256.
pub fn idempotency_key(content_id: &str, attempt: u32) -> String {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-');
    let usable =
        !content_id.is_empty() && content_id.len() <= MAX_RAW_CONTENT_ID_IN_KEY && content_id.bytes().all(allowed);
    if usable {
        format!("{content_id}:{attempt}")
    } else {
        let mut key = String::with_capacity(64 + 11);
        for byte in Sha256::digest(content_id.as_bytes()) {
            let _ = write!(key, "{byte:02x}");
        }
        let _ = write!(key, ":{attempt}");
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_key_is_content_id_and_attempt() {
        assert_eq!(idempotency_key("c-1", 1), "c-1:1");
        assert_eq!(idempotency_key("Ab_9:x.y-z", 12), "Ab_9:x.y-z:12");
        let long_ok = "a".repeat(240);
        assert_eq!(idempotency_key(&long_ok, 2), format!("{long_ok}:2"));
    }

    #[test]
    fn idempotency_key_hashes_unusable_content_ids() {
        // Independent vector: Python's hashlib.sha256(b"c 1").hexdigest().
        assert_eq!(idempotency_key("c 1", 3), "242cb3fec8252e851da30f880b6d1a30d53ebdf626dea1d9884f3b95b7bf6c23:3");
        for unusable in ["c/1", "é", "", &"a".repeat(241)] {
            let key = idempotency_key(unusable, 1);
            let (hash, attempt) = key.rsplit_once(':').unwrap();
            assert_eq!(attempt, "1");
            assert_eq!(hash.len(), 64, "{unusable:?}");
            assert!(hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        assert_ne!(idempotency_key("c/1", 1), idempotency_key("c/2", 1));
    }
}
