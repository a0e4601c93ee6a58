//! HeyGen v3 (contract section 6) behind a narrow port: create a video, read its
//! status, read many videos' states at once, read the account. The port's vocabulary lives here; the reqwest adapter in `client`, the
//! wire format in `wire`, failures in `error`, retries in `retry`, the
//! idempotency key in `idempotency`.
//!
//! May use `domain` and `secret` (the key is passed to each call); knows nothing
//! of the store or of the application's policy (which failure stops a batch,
//! which contract code it becomes).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::domain::Outcome;
use crate::secret::SecretString;

mod client;
mod error;
mod idempotency;
mod retry;
mod wire;

pub use client::{ClientBuildError, HeygenClient};
pub use error::HeygenError;
pub use idempotency::idempotency_key;
pub use retry::RetryPolicy;

/// The calls the service makes. Implementations retry as they see fit but
/// never run past `deadline`, and send every retry of one create under the same
/// idempotency key (`{content_id}:{attempt}`).
pub trait Heygen: Send + Sync {
    /// The least time a create needs before its deadline to be started at all:
    /// a create is never started only to be cut short.
    fn create_attempt_time(&self) -> Duration;

    /// `POST /v3/videos` for one avatar render.
    fn create_video(
        &self,
        api_key: &SecretString,
        video: &CreateVideo,
        deadline: Instant,
    ) -> impl Future<Output = Result<CreatedVideo, HeygenError>> + Send;

    /// `GET /v3/videos/{id}`, normalised: only what the service uses. A 404 is [`HeygenError::NotFound`].
    fn video_status(
        &self,
        api_key: &SecretString,
        video_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<VideoStatus, HeygenError>> + Send;

    /// `GET /v3/videos/statuses?video_ids=...` for at most [`MAX_STATES_PER_CALL`]
    /// ids: their states, without URLs. Ids HeyGen leaves out of its answer (a
    /// further page) are simply absent.
    fn video_states(
        &self,
        api_key: &SecretString,
        video_ids: &[&str],
        deadline: Instant,
    ) -> impl Future<Output = Result<Vec<VideoState>, HeygenError>> + Send;

    /// `GET /v3/users/me`: what the account has left to spend (contract 13.4).
    /// Not retried: the dry run that asks waits for it only briefly.
    fn account(
        &self,
        api_key: &SecretString,
        deadline: Instant,
    ) -> impl Future<Output = Result<Account, HeygenError>> + Send;
}

/// HeyGen's account as the dry run shows it (13.4); each `None` when HeyGen
/// does not say.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Account {
    /// `wallet`, `subscription` or `usage_based`.
    pub billing_type: Option<String>,
    /// A wallet's `remaining_balance` (in its currency, USD for HeyGen's API).
    pub remaining_usd: Option<f64>,
    /// Usage-based `remaining_credits`, or a subscription's `credits`.
    pub remaining_credits: Option<f64>,
    /// Whether a wallet refills itself.
    pub auto_reload: Option<bool>,
}

/// The most ids one `GET /v3/videos/statuses` takes.
pub const MAX_STATES_PER_CALL: usize = 100;

/// One video in `GET /v3/videos/statuses`: its state without its URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoState {
    pub video_id: String,
    /// `None`: HeyGen does not know the video (`not_found`).
    pub state: Option<RenderState>,
    /// For a failed render: HeyGen's `error.code` and `error.message`, when given.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

/// One avatar render, as the trigger asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateVideo {
    pub content_id: String,
    pub attempt: u32,
    pub avatar_id: String,
    pub script: String,
    pub voice_id: Option<String>,
    pub title: Option<String>,
    pub callback_url: String,
}

/// HeyGen accepted a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedVideo {
    pub video_id: String,
    pub status: RenderState,
}

/// A render's state, normalised from HeyGen's many spellings (6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderState {
    Pending,
    Processing,
    Completed,
    Failed,
}

impl RenderState {
    /// `waiting`/`queued`/`pending` -> pending; `processing`/`rendering` ->
    /// processing; `completed`/`done`/`success` -> completed; `failed`/`error` ->
    /// failed; anything else -> processing, logged.
    pub fn normalise(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "waiting" | "queued" | "pending" => Self::Pending,
            "processing" | "rendering" => Self::Processing,
            "completed" | "done" | "success" => Self::Completed,
            "failed" | "error" => Self::Failed,
            _ => {
                tracing::warn!(status = raw, "unknown HeyGen video status; treating it as processing");
                Self::Processing
            }
        }
    }
}

/// `GET /v3/videos/{id}`, normalised: only what the service uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoStatus {
    pub video_id: String,
    pub state: RenderState,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// HeyGen's `duration` of a finished video.
    pub duration: Option<crate::domain::VideoSeconds>,
}

impl VideoStatus {
    /// HeyGen's final answer, if it has given one. A completion without a video
    /// URL is not final yet.
    pub fn outcome(&self) -> Option<Outcome> {
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        match self.state {
            RenderState::Completed => non_empty(&self.video_url).map(|video_url| Outcome::Completed {
                video_url,
                thumbnail_url: non_empty(&self.thumbnail_url),
                duration: self.duration,
            }),
            RenderState::Failed => {
                let message = match (non_empty(&self.failure_code), non_empty(&self.failure_message)) {
                    (Some(code), Some(msg)) => format!("{code}: {msg}"),
                    (Some(one), None) | (None, Some(one)) => one,
                    (None, None) => "HeyGen reported the render failed without a reason".to_string(),
                };
                Some(Outcome::Failed { message })
            }
            RenderState::Pending | RenderState::Processing => None,
        }
    }
}
