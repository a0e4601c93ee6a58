//! HeyGen v3's JSON on the wire: the create body (6.1), the `data` envelope of
//! answers, the status fields the service reads (6.2), the bulk states and the
//! error body.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::HeygenError;

/// The body of `POST /v3/videos` (6.1): portrait 1080x1920.
#[derive(Serialize)]
pub(super) struct CreateBody<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) avatar_id: &'a str,
    pub(super) script: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) voice_id: Option<&'a str>,
    pub(super) aspect_ratio: &'static str,
    pub(super) resolution: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) title: Option<&'a str>,
    pub(super) callback_url: &'a str,
    pub(super) callback_id: &'a str,
}

#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) data: T,
}

#[derive(Deserialize)]
pub(super) struct CreatedData {
    pub(super) video_id: String,
    #[serde(default)]
    pub(super) status: Option<String>,
}

/// Every field may be missing or null.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct StatusData {
    pub(super) id: Option<String>,
    pub(super) status: Option<String>,
    pub(super) video_url: Option<String>,
    pub(super) thumbnail_url: Option<String>,
    pub(super) failure_code: Option<String>,
    pub(super) failure_message: Option<String>,
    /// "Video duration in seconds": read leniently (anything but a number that
    /// can be a duration is ignored; it only feeds the month's progress).
    pub(super) duration: Option<serde_json::Value>,
}

impl StatusData {
    pub(super) fn duration(&self) -> Option<crate::domain::VideoSeconds> {
        self.duration.as_ref().and_then(serde_json::Value::as_f64).and_then(crate::domain::VideoSeconds::from_secs_f64)
    }
}

/// One entry of `GET /v3/videos/statuses`; every field may be missing or null.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct StateEntry {
    pub(super) video_id: Option<String>,
    pub(super) status: Option<String>,
    /// "Failure details when status is failed": an object whose fields HeyGen's
    /// schema leaves open; `code` and `message` are read when they are strings.
    pub(super) error: Option<serde_json::Value>,
}

impl StateEntry {
    pub(super) fn failure_field(&self, name: &str) -> Option<String> {
        match &self.error {
            Some(serde_json::Value::Object(fields)) => {
                fields.get(name).and_then(serde_json::Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
            }
            Some(serde_json::Value::String(text)) if name == "message" && !text.is_empty() => Some(text.clone()),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// HeyGen's error answer as a typed failure: `{"error": {"code", "message"}}` when
/// it can be read, the HTTP status in any case.
///
/// A 404 on a create is HeyGen refusing that request (an avatar it does not
/// know, say), with its code; on a status call it is a video HeyGen does not know.
pub(super) fn error_from(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
    refusal_if_404: bool,
) -> HeygenError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = parsed.as_ref().and_then(|e| e.code.clone()).unwrap_or_else(|| format!("http_{}", status.as_u16()));
    let message =
        parsed.and_then(|e| e.message).unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_string());
    match status.as_u16() {
        401 => HeygenError::Unauthorized { message },
        402 => HeygenError::InsufficientCredit { message },
        404 if !refusal_if_404 => HeygenError::NotFound,
        408 => HeygenError::RequestTimeout { retry_after },
        409 => HeygenError::InProgress { retry_after },
        429 => HeygenError::RateLimited { retry_after },
        400..=499 => HeygenError::Rejected { status: status.as_u16(), code, message },
        500..=599 => HeygenError::Server { status: status.as_u16() },
        other => HeygenError::Undecodable { status: other },
    }
}

/// `GET /v3/users/me`'s `data`: only the spending fields, each read leniently.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct AccountData {
    pub(super) billing_type: Option<serde_json::Value>,
    pub(super) wallet: Option<serde_json::Value>,
    pub(super) usage_based: Option<serde_json::Value>,
    pub(super) subscription: Option<serde_json::Value>,
}

impl AccountData {
    pub(super) fn account(&self) -> super::Account {
        let field = |object: &Option<serde_json::Value>, path: &[&str]| {
            let mut value = object.as_ref()?;
            for name in path {
                value = value.get(name)?;
            }
            Some(value.clone())
        };
        let number = |v: Option<serde_json::Value>| v.as_ref().and_then(serde_json::Value::as_f64);
        super::Account {
            billing_type: self.billing_type.as_ref().and_then(serde_json::Value::as_str).map(str::to_string),
            remaining_usd: number(field(&self.wallet, &["remaining_balance"])),
            remaining_credits: number(field(&self.usage_based, &["remaining_credits"]))
                .or_else(|| number(field(&self.subscription, &["credits"]))),
            auto_reload: field(&self.wallet, &["auto_reload", "enabled"]).as_ref().and_then(serde_json::Value::as_bool),
        }
    }
}
