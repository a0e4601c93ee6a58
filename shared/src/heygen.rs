//! The HeyGen v3 client (contract section 6): create a video, read its status.
//!
//! Creates carry an `Idempotency-Key` (`{content_id}:{attempt}`), so every retry
//! of one create replays HeyGen's first answer instead of paying twice. Retries
//! follow [`RetryPolicy`] and never run past the deadline the caller passes in.

use std::fmt::Write as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::domain::{Definiteness, Outcome, ScriptProblem, check_script};
use crate::secret::SecretString;

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

/// The body of `POST /v3/videos` (6.1): portrait 1080x1920.
#[derive(Serialize)]
struct CreateBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    avatar_id: &'a str,
    script: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice_id: Option<&'a str>,
    aspect_ratio: &'static str,
    resolution: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    callback_url: &'a str,
    callback_id: &'a str,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct CreatedData {
    video_id: String,
    #[serde(default)]
    status: Option<String>,
}

/// HeyGen accepted a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedVideo {
    pub video_id: String,
    pub status: RenderState,
}

#[derive(Deserialize)]
struct StatusData {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    video_url: Option<String>,
    #[serde(default)]
    thumbnail_url: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    failure_code: Option<String>,
    #[serde(default)]
    failure_message: Option<String>,
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

/// `GET /v3/videos/{id}`, normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoStatus {
    pub video_id: String,
    pub state: RenderState,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub duration: Option<f64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl VideoStatus {
    /// HeyGen's final answer, if it has given one. A completion without a video
    /// URL is not final yet.
    pub fn outcome(&self) -> Option<Outcome> {
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        match self.state {
            RenderState::Completed => non_empty(&self.video_url)
                .map(|video_url| Outcome::Completed { video_url, thumbnail_url: non_empty(&self.thumbnail_url) }),
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

/// Everything that can go wrong talking to HeyGen. Messages are HeyGen's own or
/// ours; never the API key.
#[derive(Debug, thiserror::Error)]
pub enum HeygenError {
    #[error("HeyGen refused the API key: {message}")]
    Unauthorized { message: String },
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
    /// uses a new attempt number. 401 and 402 are definite (HeyGen may replay a
    /// refusal for 24 h under the same key).
    pub fn definiteness(&self) -> Definiteness {
        match self {
            Self::Unauthorized { .. } | Self::InsufficientCredit { .. } | Self::Rejected { .. } | Self::NotFound => {
                Definiteness::Definite
            }
            _ => Definiteness::Indefinite,
        }
    }

    /// The contract's error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "heygen_auth_failed",
            Self::InsufficientCredit { .. } => "heygen_insufficient_credit",
            Self::Rejected { .. } | Self::NotFound => "heygen_rejected",
            Self::Script(problem) => problem.code(),
            Self::InProgress { .. }
            | Self::RequestTimeout { .. }
            | Self::RateLimited { .. }
            | Self::Server { .. }
            | Self::Network(_)
            | Self::Timeout
            | Self::Undecodable { .. }
            | Self::Deadline => "heygen_unavailable",
        }
    }

    /// HeyGen's own error code, for a rejected request.
    pub fn heygen_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this failure stops a trigger's batch (section 2): the key refused,
    /// no credit, or HeyGen unavailable after retries.
    pub fn stops_batch(&self) -> bool {
        !matches!(self, Self::Rejected { .. } | Self::NotFound | Self::Script(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::InProgress { retry_after }
            | Self::RequestTimeout { retry_after }
            | Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Worth another try under the same idempotency key: 408, 409, 429, 5xx,
    /// network errors and timeouts.
    fn is_retryable(&self) -> bool {
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

/// How requests are retried and timed.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before retry n (from 1) is `base * 2^(n-1)`, capped, times a
    /// jitter in 0.75..1.25.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than the backoff is honoured up to this.
    pub max_retry_after: Duration,
    /// One request's timeout (shortened to what is left before the deadline).
    pub request_timeout: Duration,
    /// A request is not started with less than this left before the deadline.
    pub min_request_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            min_request_time: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max_delay);
        let backoff = exp.mul_f64(0.75 + fastrand::f64() * 0.5);
        match retry_after {
            Some(ra) => backoff.max(ra.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// `Retry-After` as integer seconds or an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The HeyGen v3 API. Holds no secret: the key is passed to each call.
#[derive(Clone, Debug)]
pub struct HeygenClient {
    http: reqwest::Client,
    base: Url,
    policy: RetryPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("HeyGen API base URL is not a URL")]
    BaseUrl,
    #[error("the HTTP client cannot be built")]
    Http(#[from] reqwest::Error),
}

impl HeygenClient {
    pub fn new(base_url: &str, policy: RetryPolicy) -> Result<Self, ClientBuildError> {
        let base: Url = base_url.trim_end_matches('/').parse().map_err(|_| ClientBuildError::BaseUrl)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("heygen-pipeline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base, policy })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `POST /v3/videos`. An empty or over-long script is refused before any
    /// request. Retried on 408/409/429 (honouring `Retry-After`), 5xx, network
    /// errors and timeouts, with the same idempotency key every time.
    pub async fn create_video(
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
                "create",
                |timeout| {
                    self.http
                        .request(Method::POST, url.clone())
                        .header("Idempotency-Key", &key)
                        .json(&body)
                        .timeout(timeout)
                },
                api_key,
            )
            .await?;
        let status = data.status.as_deref().map_or(RenderState::Pending, RenderState::normalise);
        Ok(CreatedVideo { video_id: data.video_id, status })
    }

    /// `GET /v3/videos/{id}`. Retried on 408/409/429, 5xx, network errors and
    /// timeouts; a 404 is [`HeygenError::NotFound`].
    pub async fn video_status(
        &self,
        api_key: &SecretString,
        video_id: &str,
        deadline: Instant,
    ) -> Result<VideoStatus, HeygenError> {
        let url = self.url(&["v3", "videos", video_id]);
        let data: StatusData = self
            .with_retries(
                deadline,
                "status",
                |timeout| self.http.request(Method::GET, url.clone()).timeout(timeout),
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
            video_id: data.id.filter(|id| !id.is_empty()).unwrap_or_else(|| video_id.to_string()),
            state,
            video_url: data.video_url,
            thumbnail_url: data.thumbnail_url,
            duration: data.duration,
            failure_code: data.failure_code,
            failure_message: data.failure_message,
        })
    }

    async fn with_retries<T: serde::de::DeserializeOwned>(
        &self,
        deadline: Instant,
        operation: &'static str,
        build: impl Fn(Duration) -> reqwest::RequestBuilder,
        api_key: &SecretString,
    ) -> Result<T, HeygenError> {
        let mut key_header = HeaderValue::from_str(api_key.expose())
            .map_err(|_| HeygenError::Unauthorized { message: "the API key is not a valid header value".into() })?;
        key_header.set_sensitive(true);
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < self.policy.min_request_time {
                return Err(HeygenError::Deadline);
            }
            let request = build(self.policy.request_timeout.min(left)).header("x-api-key", key_header.clone());
            let err = match self.send_once(request).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_retryable() || attempt >= self.policy.max_attempts {
                return Err(err);
            }
            let wait = self.policy.delay(attempt, err.retry_after());
            let left = deadline.saturating_duration_since(Instant::now());
            if wait + self.policy.min_request_time > left {
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
    ) -> Result<T, HeygenError> {
        let transport = |e: reqwest::Error| if e.is_timeout() { HeygenError::Timeout } else { HeygenError::Network(e) };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice::<Envelope<T>>(&body)
                .map(|e| e.data)
                .map_err(|_| HeygenError::Undecodable { status: status.as_u16() });
        }
        Err(error_from(status, retry_after, &body))
    }
}

fn error_from(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> HeygenError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = parsed.as_ref().and_then(|e| e.code.clone()).unwrap_or_else(|| format!("http_{}", status.as_u16()));
    let message =
        parsed.and_then(|e| e.message).unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_string());
    match status.as_u16() {
        401 => HeygenError::Unauthorized { message },
        402 => HeygenError::InsufficientCredit { message },
        404 => HeygenError::NotFound,
        408 => HeygenError::RequestTimeout { retry_after },
        409 => HeygenError::InProgress { retry_after },
        429 => HeygenError::RateLimited { retry_after },
        400..=499 => HeygenError::Rejected { status: status.as_u16(), code, message },
        500..=599 => HeygenError::Server { status: status.as_u16() },
        other => HeygenError::Undecodable { status: other },
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

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(&headers("7")), Some(Duration::from_secs(7)));
        let in_two_minutes = std::time::SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&headers(&httpdate::fmt_http_date(in_two_minutes))).unwrap();
        assert!(parsed > Duration::from_secs(118) && parsed <= Duration::from_secs(120), "{parsed:?}");
        assert_eq!(parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_grows_with_jitter_is_capped_and_yields_to_a_longer_retry_after() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let first = p.delay(1, None);
            assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250), "{first:?}");
            let second = p.delay(2, None);
            assert!(second >= Duration::from_millis(1500) && second <= Duration::from_millis(2500), "{second:?}");
            let late = p.delay(30, None);
            assert!(late <= Duration::from_secs(10), "{late:?}");
            assert!(p.delay(1, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
            assert_eq!(p.delay(1, Some(Duration::from_secs(300))), Duration::from_secs(30));
        }
    }
}
