//! `POST /webhooks/heygen`: HeyGen's completion notice (contract 6.3). A notice
//! is only a notice: the item changes on HeyGen's own answer to a status call.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::time::Instant;

use super::apply_status::{Applied, apply_status};
use super::refill::Freed;
use super::{ApiError, Deps, Invocation, Ports};
use crate::domain::{ContentItem, JobStatus};
use crate::heygen::HeygenError;
use crate::secret::SecretSource;
use crate::store::{ReadStore, StoreError};

/// The video events this service acts on; every other event type is ignored.
const VIDEO_EVENTS: [&str; 2] = ["avatar_video.success", "avatar_video.fail"];

/// What a notice names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub video_id: String,
    pub callback_id: Option<String>,
}

/// Why a notice was answered 200 without a change, or what it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    Ignored(&'static str),
    Applied(Applied),
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Ids longer than this are not ids (DynamoDB would refuse them as keys).
const MAX_ID_BYTES: usize = 1024;

/// Reads a notice: `{"event_type", "event_data": {"video_id", "callback_id"?, ...}}`
/// or the flat `{"video_id", "status"?, "url"?}`. `Err` says why it is ignored;
/// an id over 1,024 bytes makes it malformed.
pub fn parse_notice(body: &[u8]) -> Result<Notice, &'static str> {
    let notice = read_notice(body)?;
    let too_long = |id: &str| id.len() > MAX_ID_BYTES;
    if too_long(&notice.video_id) || notice.callback_id.as_deref().is_some_and(too_long) {
        return Err("malformed payload");
    }
    Ok(notice)
}

fn read_notice(body: &[u8]) -> Result<Notice, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "malformed payload")?;
    let obj = value.as_object().ok_or("malformed payload")?;
    if let Some(event_type) = obj.get("event_type") {
        let event_type = event_type.as_str().ok_or("malformed payload")?;
        if !VIDEO_EVENTS.contains(&event_type) {
            return Err("other event type");
        }
        let data = obj.get("event_data").ok_or("malformed payload")?;
        let video_id = non_empty(data.get("video_id")).ok_or("malformed payload")?;
        return Ok(Notice { video_id, callback_id: non_empty(data.get("callback_id")) });
    }
    let video_id = non_empty(obj.get("video_id")).ok_or("malformed payload")?;
    Ok(Notice { video_id, callback_id: non_empty(obj.get("callback_id")) })
}

/// Whether `signature` (lowercase hex HMAC-SHA256 of `body`) matches; compared
/// in constant time.
pub fn signature_matches(body: &[u8], signature: &str, secret: &str) -> bool {
    let Some(expected) = decode_hex(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// Handles a notice. `signature` is the `Heygen-Signature` (or legacy
/// `Signature`) header when one was sent.
pub async fn handle_notice<P: Ports>(
    deps: &Deps<P>,
    body: &[u8],
    signature: Option<&str>,
    invocation: &Invocation,
) -> Result<Handled, ApiError> {
    if let Some(signature) = signature {
        let secret = deps.secrets.heygen_secret().await?;
        match &secret.webhook_secret {
            Some(key) if !signature_matches(body, signature, key.expose()) => {
                tracing::warn!("webhook signature does not match");
                return Err(ApiError::InvalidSignature);
            }
            Some(_) => {}
            // Nothing to check against: handled like an unsigned notice, which
            // changes nothing without HeyGen's confirmation.
            None => tracing::warn!("signed webhook but no webhook_secret is configured; treated as unsigned"),
        }
    }
    let notice = match parse_notice(body) {
        Ok(notice) => notice,
        Err(reason) => {
            tracing::info!(reason, "webhook ignored");
            return Ok(Handled::Ignored(reason));
        }
    };
    let item = find_item(&deps.store, &notice).await?;
    let Some(item) = item else {
        tracing::info!(video_id = %notice.video_id, "webhook for an unknown video ignored");
        return Ok(Handled::Ignored("unknown video"));
    };
    match item.heygen_status {
        Some(JobStatus::Requested) => {
            tracing::info!(content_id = %item.content_id, video_id = %notice.video_id, "item still requested; asking HeyGen to redeliver");
            return Err(ApiError::RetryLater);
        }
        Some(JobStatus::Pending) => {}
        _ => {
            tracing::info!(content_id = %item.content_id, video_id = %notice.video_id, "item not pending; webhook ignored");
            return Ok(Handled::Ignored("not pending"));
        }
    }
    if item.heygen_video_id.as_deref() != Some(notice.video_id.as_str()) {
        tracing::info!(content_id = %item.content_id, video_id = %notice.video_id, "webhook for another video ignored");
        return Ok(Handled::Ignored("another video"));
    }

    let api_key = deps.api_key().await?;
    let budget = Instant::now() + deps.timing.webhook_confirm_budget;
    let lambda = invocation.heygen_deadline(&deps.timing);
    let status = match super::heygen_policy::ask_status(&deps.heygen, &api_key, &notice.video_id, budget.min(lambda))
        .await
    {
        Ok(status) => status,
        Err(HeygenError::NotFound) => {
            tracing::warn!(content_id = %item.content_id, video_id = %notice.video_id, "HeyGen does not know this video; left pending");
            return Ok(Handled::Ignored("unknown to HeyGen"));
        }
        Err(err @ (HeygenError::Unauthorized { .. } | HeygenError::KeyNotSendable)) => {
            return Err(ApiError::HeygenAuthFailed(err));
        }
        Err(err) => return Err(ApiError::HeygenUnavailable(err)),
    };
    match apply_status(&deps.store, &item, &notice.video_id, &status, deps.config.archive.is_none()).await {
        Ok(applied) => {
            if applied.left_flight() {
                super::refill::wake_worker(deps, Freed::Webhook, applied == Applied::Retried).await;
            }
            Ok(Handled::Applied(applied))
        }
        Err(StoreError::Conflict) => {
            tracing::info!(content_id = %item.content_id, video_id = %notice.video_id, "already settled; duplicate ignored");
            Ok(Handled::Ignored("already settled"))
        }
        Err(err) => Err(err.into()),
    }
}

/// By `callback_id` (a content id), else, or when that names no item, by video id.
async fn find_item<S: ReadStore>(store: &S, notice: &Notice) -> Result<Option<ContentItem>, StoreError> {
    if let Some(callback_id) = &notice.callback_id
        && let Some(item) = store.get_content(callback_id).await?
    {
        return Ok(Some(item));
    }
    store.find_by_video_id(&notice.video_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_payload_forms_are_read() {
        let event = br#"{"event_type":"avatar_video.success","event_data":{"video_id":"v-1","url":"https://x","callback_id":"c-1"}}"#;
        assert_eq!(parse_notice(event), Ok(Notice { video_id: "v-1".into(), callback_id: Some("c-1".into()) }));
        let fail = br#"{"event_type":"avatar_video.fail","event_data":{"video_id":"v-2","msg":"boom"}}"#;
        assert_eq!(parse_notice(fail), Ok(Notice { video_id: "v-2".into(), callback_id: None }));
        let flat = br#"{"video_id":"v-3","status":"completed","url":"https://x"}"#;
        assert_eq!(parse_notice(flat), Ok(Notice { video_id: "v-3".into(), callback_id: None }));
    }

    #[test]
    fn other_events_and_malformed_payloads_are_ignored() {
        assert_eq!(
            parse_notice(br#"{"event_type":"avatar_video_gif.success","event_data":{"video_id":"v"}}"#),
            Err("other event type")
        );
        assert_eq!(
            parse_notice(br#"{"event_type":"avatar_video_caption.success","event_data":{}}"#),
            Err("other event type")
        );
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"video_id":""}"#,
            br#"{"event_type":"avatar_video.success"}"#,
            br#"{"event_type":5}"#,
        ] {
            assert_eq!(parse_notice(bad), Err("malformed payload"), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ids_over_1024_bytes_make_a_notice_malformed() {
        let at_limit = "v".repeat(1024);
        let notice = serde_json::json!({"video_id": at_limit, "callback_id": "c".repeat(1024)}).to_string();
        assert!(parse_notice(notice.as_bytes()).is_ok());
        for body in [
            serde_json::json!({"video_id": "v".repeat(1025)}),
            serde_json::json!({"video_id": "v", "callback_id": "é".repeat(513)}),
            serde_json::json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v".repeat(1025)}}),
        ] {
            assert_eq!(parse_notice(body.to_string().as_bytes()), Err("malformed payload"));
        }
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        // Independent vector (RFC 4231 test case 2): key "Jefe".
        let body = b"what do ya want for nothing?";
        let good = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(signature_matches(body, good, "Jefe"));
        assert!(signature_matches(body, &good.to_uppercase(), "Jefe"));
        assert!(!signature_matches(body, good, "jefe"));
        assert!(!signature_matches(b"what do ya want for nothing!", good, "Jefe"));
        assert!(!signature_matches(body, &good[..62], "Jefe"));
        assert!(!signature_matches(body, "zz", "Jefe"));
        assert!(!signature_matches(body, "", "Jefe"));
        assert!(!signature_matches(body, "é5", "Jefe"));
    }
}
