//! The reqwest adapter of the HeyGen port: one HTTP client built once per
//! process, retries under [`RetryPolicy`] that never run past the caller's
//! deadline, answers read through `wire`.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use tokio::time::Instant;

use super::retry::parse_retry_after;
use super::wire::{AccountData, CreateBody, CreatedData, Envelope, StateEntry, StatusData, error_from};
use super::{
    Account, CreateVideo, CreatedVideo, Heygen, HeygenError, MAX_STATES_PER_CALL, RenderState, RetryPolicy, VideoState,
    VideoStatus, idempotency_key,
};
use crate::domain::check_script;
use crate::lazy_http::LazyHttp;
use crate::secret::SecretString;

/// The HeyGen v3 API. Holds no secret: the key is passed to each call. Its HTTP
/// client is built on the first call (see [`LazyHttp`]).
#[derive(Clone, Debug)]
pub struct HeygenClient {
    http: LazyHttp,
    base: Url,
    policy: RetryPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("HeyGen API base URL is not a URL")]
    BaseUrl,
}

impl HeygenClient {
    pub fn new(base_url: &str, policy: RetryPolicy) -> Result<Self, ClientBuildError> {
        let base: Url = base_url.trim_end_matches('/').parse().map_err(|_| ClientBuildError::BaseUrl)?;
        Ok(Self { http: LazyHttp::new(Duration::from_secs(3)), base, policy })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The least time an attempt needs before the deadline to be started: a
    /// create's whole request timeout (a create cut short by the caller's own
    /// deadline may have made a video nobody records); a status call may be
    /// shortened down to `min_request_time`.
    fn least_attempt_time(&self, operation: Operation) -> Duration {
        match operation {
            Operation::Create => self.policy.create_timeout,
            Operation::Status | Operation::States | Operation::Account => self.policy.min_request_time,
        }
    }

    /// One attempt's timeout, before it is shortened to the deadline.
    fn attempt_timeout(&self, operation: Operation) -> Duration {
        match operation {
            Operation::Create => self.policy.create_timeout,
            Operation::Status | Operation::States | Operation::Account => self.policy.request_timeout,
        }
    }

    async fn with_retries<T: serde::de::DeserializeOwned>(
        &self,
        deadline: Instant,
        operation: Operation,
        build: impl Fn(&reqwest::Client, Duration) -> reqwest::RequestBuilder,
        api_key: &SecretString,
    ) -> Result<T, HeygenError> {
        let mut key_header = HeaderValue::from_str(api_key.expose()).map_err(|_| HeygenError::KeyNotSendable)?;
        key_header.set_sensitive(true);
        let http = self.http.client().await.map_err(HeygenError::Network)?;
        let least = self.least_attempt_time(operation);
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < least {
                return Err(HeygenError::Deadline);
            }
            let request =
                build(http, self.attempt_timeout(operation).min(left)).header("x-api-key", key_header.clone());
            let err = match self.send_once(request, operation).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_retryable() || attempt >= self.policy.max_attempts || !operation.retried() {
                return Err(err);
            }
            let wait = self.policy.delay(attempt, err.retry_after());
            let left = deadline.saturating_duration_since(Instant::now());
            let operation = operation.name();
            if wait + least > left {
                tracing::warn!(operation, attempt, error = %err, "no time left to retry HeyGen before the deadline");
                return Err(err);
            }
            tracing::warn!(operation, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying HeyGen");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        operation: Operation,
    ) -> Result<T, HeygenError> {
        let transport = |e: reqwest::Error| {
            if e.is_timeout() { HeygenError::Timeout } else { HeygenError::Network(e.without_url()) }
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        // At most MAX_ANSWER_BYTES are read; a longer answer is unreadable.
        let mut body = Vec::new();
        let mut complete = true;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                complete = false;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            if !complete {
                return Err(HeygenError::Undecodable { status: status.as_u16() });
            }
            return serde_json::from_slice::<Envelope<T>>(&body)
                .map(|e| e.data)
                .map_err(|_| HeygenError::Undecodable { status: status.as_u16() });
        }
        let body = if complete { body.as_slice() } else { &[] };
        Err(error_from(status, retry_after, body, operation == Operation::Create))
    }
}

/// HeyGen's answers are small JSON documents; more than this is not one.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The calls, which differ in how the deadline and a 404 are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Create,
    Status,
    States,
    Account,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Status => "status",
            Self::States => "states",
            Self::Account => "account",
        }
    }

    /// Whether a retryable failure is tried again: not the account's read,
    /// which a dry run waits for only briefly (contract 13.4).
    fn retried(self) -> bool {
        !matches!(self, Self::Account)
    }
}

impl Heygen for HeygenClient {
    fn create_attempt_time(&self) -> Duration {
        self.least_attempt_time(Operation::Create)
    }

    /// `POST /v3/videos`. An empty or over-long script is refused before any
    /// request. Retried on 408/409/429 (honouring `Retry-After`), 5xx, network
    /// errors and timeouts, with the same idempotency key every time; an attempt
    /// starts only when its whole request timeout fits before `deadline`.
    async fn create_video(
        &self,
        api_key: &SecretString,
        video: &CreateVideo,
        deadline: Instant,
    ) -> Result<CreatedVideo, HeygenError> {
        let script = check_script(Some(&video.script))?;
        let body = CreateBody {
            kind: "avatar",
            avatar_id: &video.avatar_id,
            script,
            voice_id: video.voice_id.as_deref(),
            aspect_ratio: "9:16",
            resolution: "1080p",
            title: video.title.as_deref().filter(|t| !t.is_empty()),
            callback_url: &video.callback_url,
            callback_id: &video.content_id,
        };
        let key = idempotency_key(&video.content_id, video.attempt);
        let url = self.url(&["v3", "videos"]);
        let data: CreatedData = self
            .with_retries(
                deadline,
                Operation::Create,
                |http, timeout| {
                    http.request(Method::POST, url.clone()).header("Idempotency-Key", &key).json(&body).timeout(timeout)
                },
                api_key,
            )
            .await?;
        let status = data.status.as_deref().map_or(RenderState::Pending, RenderState::normalise);
        Ok(CreatedVideo { video_id: data.video_id, status })
    }

    /// `GET /v3/videos/{id}`. Retried on 408/409/429, 5xx, network errors and
    /// timeouts; a 404 is [`HeygenError::NotFound`].
    async fn video_status(
        &self,
        api_key: &SecretString,
        video_id: &str,
        deadline: Instant,
    ) -> Result<VideoStatus, HeygenError> {
        let url = self.url(&["v3", "videos", video_id]);
        let data: StatusData = self
            .with_retries(
                deadline,
                Operation::Status,
                |http, timeout| http.request(Method::GET, url.clone()).timeout(timeout),
                api_key,
            )
            .await?;
        let state = match data.status.as_deref() {
            Some(raw) => RenderState::normalise(raw),
            None => {
                tracing::warn!(video_id, "HeyGen status without a status field; treating it as processing");
                RenderState::Processing
            }
        };
        Ok(VideoStatus {
            duration: data.duration(),
            video_id: data.id.filter(|id| !id.is_empty()).unwrap_or_else(|| video_id.to_string()),
            state,
            video_url: data.video_url,
            thumbnail_url: data.thumbnail_url,
            failure_code: data.failure_code,
            failure_message: data.failure_message,
        })
    }

    /// `GET /v3/videos/statuses?video_ids=a,b,...`: at most
    /// [`MAX_STATES_PER_CALL`] ids (more is a caller's bug, refused before any
    /// request). Retried as a status call is; a 404 (no such endpoint) is
    /// [`HeygenError::NotFound`]. Entries without a video id or a status are
    /// left out.
    async fn video_states(
        &self,
        api_key: &SecretString,
        video_ids: &[&str],
        deadline: Instant,
    ) -> Result<Vec<VideoState>, HeygenError> {
        if video_ids.is_empty() {
            return Ok(Vec::new());
        }
        if video_ids.len() > MAX_STATES_PER_CALL {
            return Err(HeygenError::Rejected {
                status: 400,
                code: "too_many_ids".into(),
                message: format!("at most {MAX_STATES_PER_CALL} video ids per call"),
            });
        }
        let mut url = self.url(&["v3", "videos", "statuses"]);
        url.query_pairs_mut().append_pair("video_ids", &video_ids.join(","));
        let entries: Vec<StateEntry> = self
            .with_retries(
                deadline,
                Operation::States,
                |http, timeout| http.request(Method::GET, url.clone()).timeout(timeout),
                api_key,
            )
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let video_id = entry.video_id.clone().filter(|id| !id.is_empty())?;
                // An entry without a status says nothing: the id is left out.
                let state = match entry.status.as_deref()?.trim() {
                    raw if raw.eq_ignore_ascii_case("not_found") => None,
                    raw => Some(RenderState::normalise(raw)),
                };
                Some(VideoState {
                    failure_code: entry.failure_field("code"),
                    failure_message: entry.failure_field("message"),
                    video_id,
                    state,
                })
            })
            .collect())
    }

    /// `GET /v3/users/me`, once (no retry): the spending fields of the account.
    async fn account(&self, api_key: &SecretString, deadline: Instant) -> Result<Account, HeygenError> {
        let url = self.url(&["v3", "users", "me"]);
        let build = |http: &reqwest::Client, timeout| http.request(Method::GET, url.clone()).timeout(timeout);
        let data: AccountData = self.with_retries(deadline, Operation::Account, build, api_key).await?;
        Ok(data.account())
    }
}
