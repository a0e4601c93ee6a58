//! A HeyGen v3 simulator for the local stack: creates (with idempotency keys),
//! renders that finish after a few seconds, signed callbacks to the webhook with
//! redelivery, status calls, occasional failures, HeyGen's concurrency limit
//! (429 with `Retry-After` while that many renders are running), callbacks
//! that never come (for the worker to reconcile) and the bulk
//! `GET /v3/videos/statuses`.
//!
//! A script containing `[fail]` always fails; one containing `[hold]` renders
//! for ever (the benchmarks' videos still in progress).
//!
//! Faults a real month meets, each off unless configured (contract section 11;
//! `make dev` sets them from `DEV_*` variables): a download that stalls half-way
//! (HeyGen's CDN keeping the connection open), a video HeyGen forgets once
//! rendered (404, `not_found`, no callback), and an item whose every create is
//! answered 503.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub api_key: String,
    pub webhook_secret: String,
    pub render_time: Duration,
    /// Every n-th video fails to render (0: never). A script containing
    /// `[fail]` always fails.
    pub fail_every: u64,
    /// Renders running at once before a create is refused with 429.
    pub concurrency: usize,
    /// Every n-th callback is never sent (0: none).
    pub drop_callback_every: u64,
    /// Every n-th video's download sends half the file, then stalls (0: none).
    pub stall_download_every: u64,
    /// Every n-th video is forgotten once rendered: 404 / `not_found`, no
    /// callback (0: none).
    pub forget_every: u64,
    /// Every n-th item (by its first create) is answered 503 on every create (0: none).
    pub always_5xx_every: u64,
}

impl SimConfig {
    /// Renders of `render_time`, none of the faults.
    pub fn new(api_key: &str, webhook_secret: &str, render_time: Duration) -> Self {
        Self {
            api_key: api_key.into(),
            webhook_secret: webhook_secret.into(),
            render_time,
            fail_every: 0,
            concurrency: 10,
            drop_callback_every: 0,
            stall_download_every: 0,
            forget_every: 0,
            always_5xx_every: 0,
        }
    }
}

/// Whether the `n`-th thing (from 1) is one of every `every` (0: none is).
fn every(n: u64, every: u64) -> bool {
    every > 0 && n.is_multiple_of(every)
}

struct Video {
    created: Instant,
    fails: bool,
    holds: bool,
    /// HeyGen forgets it once rendered.
    forgotten: bool,
    callback_url: Option<String>,
    callback_id: Option<String>,
}

struct Sim {
    config: SimConfig,
    base_url: String,
    videos: Mutex<HashMap<String, Video>>,
    replies: Mutex<HashMap<String, Value>>,
    count: Mutex<u64>,
    /// Each item's ordinal, by its first create (for `always_5xx_every`).
    items: Mutex<HashMap<String, u64>>,
    http: reqwest::Client,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn authorised(sim: &Sim, headers: &HeaderMap) -> bool {
    headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(sim.config.api_key.as_str())
}

/// Starts the simulator on a free loopback port; returns its base URL.
pub async fn start(config: SimConfig) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let sim = Arc::new(Sim {
        config,
        base_url: base_url.clone(),
        videos: Mutex::default(),
        replies: Mutex::default(),
        count: Mutex::new(0),
        items: Mutex::default(),
        http: reqwest::Client::new(),
    });
    let app = Router::new()
        .route("/v3/videos", post(create))
        .route("/v3/videos/statuses", get(statuses))
        .route("/v3/videos/{id}", get(status))
        .route("/v3/users/me", get(account))
        .route("/files/{name}", get(file))
        .with_state(sim);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "HeyGen simulator stopped");
        }
    });
    Ok(base_url)
}

async fn create(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authentication_failed", "invalid API key");
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(key) = &key
        && let Some(reply) = sim.replies.lock().await.get(key)
    {
        return (StatusCode::OK, axum::Json(reply.clone())).into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "body is not JSON");
    };
    let text = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    if text("type") != "avatar" || text("avatar_id").is_empty() {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "type avatar and avatar_id are required");
    }
    let script = text("script");
    if script.is_empty() || script.chars().count() > 5_000 {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "script must be 1-5000 characters");
    }
    if !["16:9", "9:16", "4:5", "5:4", "1:1", "auto"].contains(&text("aspect_ratio").as_str()) {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "aspect_ratio is invalid");
    }
    let item = text("callback_id");
    let ordinal = {
        let mut items = sim.items.lock().await;
        let next = items.len() as u64 + 1;
        *items.entry(item.clone()).or_insert(next)
    };
    if every(ordinal, sim.config.always_5xx_every) {
        tracing::warn!(content_id = %item, "simulator: this item's creates always fail with 503");
        return error(StatusCode::SERVICE_UNAVAILABLE, "internal_error", "simulated failure of this item's creates");
    }
    let rendering = sim.videos.lock().await.values().filter(|v| v.is_rendering(sim.config.render_time)).count();
    if rendering >= sim.config.concurrency {
        tracing::warn!(rendering, "simulator: concurrency limit reached; 429");
        let mut refused =
            error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "too many concurrent video jobs for this plan");
        let retry_after = sim.config.render_time.as_secs().max(1).to_string();
        if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after) {
            refused.headers_mut().insert("retry-after", value);
        }
        return refused;
    }
    let n = {
        let mut count = sim.count.lock().await;
        *count += 1;
        *count
    };
    let id = format!("sim-{n:05}");
    let fails = script.contains("[fail]") || every(n, sim.config.fail_every);
    let video = Video {
        created: Instant::now(),
        fails,
        holds: script.contains("[hold]"),
        forgotten: every(n, sim.config.forget_every),
        callback_url: Some(text("callback_url")).filter(|u| !u.is_empty()),
        callback_id: Some(text("callback_id")).filter(|c| !c.is_empty()),
    };
    tracing::info!(video_id = %id, callback_id = ?video.callback_id, fails, "simulator: render started");
    sim.videos.lock().await.insert(id.clone(), video);
    let reply = json!({"data": {"video_id": id, "status": "waiting", "output_format": "mp4"}});
    if let Some(key) = key {
        sim.replies.lock().await.insert(key, reply.clone());
    }
    if !script.contains("[hold]") {
        tokio::spawn(render_then_call_back(Arc::clone(&sim), id));
    }
    (StatusCode::OK, axum::Json(reply)).into_response()
}

fn video_url(sim: &Sim, id: &str) -> String {
    format!("{}/files/{id}.mp4", sim.base_url)
}

async fn render_then_call_back(sim: Arc<Sim>, id: String) {
    tokio::time::sleep(sim.config.render_time).await;
    let (url, callback_id, fails) = {
        let videos = sim.videos.lock().await;
        let Some(v) = videos.get(&id) else { return };
        if v.forgotten {
            tracing::warn!(video_id = %id, "simulator: this video is forgotten; HeyGen answers 404 about it from now on");
            return;
        }
        (v.callback_url.clone(), v.callback_id.clone(), v.fails)
    };
    let Some(url) = url else { return };
    let number = id.trim_start_matches("sim-").parse::<u64>().unwrap_or(0);
    if sim.config.drop_callback_every > 0 && number % sim.config.drop_callback_every == 0 {
        tracing::warn!(video_id = %id, "simulator: this callback is dropped; the worker must reconcile it");
        return;
    }
    let body = if fails {
        json!({"event_type": "avatar_video.fail", "event_data": {"video_id": id, "msg": "simulated render failure", "callback_id": callback_id}})
    } else {
        json!({"event_type": "avatar_video.success", "event_data": {"video_id": id, "url": video_url(&sim, &id), "callback_id": callback_id}})
    }
    .to_string();
    let signature = match Hmac::<sha2::Sha256>::new_from_slice(sim.config.webhook_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body.as_bytes());
            mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>()
        }
        Err(_) => String::new(),
    };
    // Redelivered with backoff until answered 2xx, as HeyGen does.
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=6 {
        let sent = sim
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("Heygen-Signature", &signature)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!(video_id = %id, attempt, "simulator: callback delivered");
                return;
            }
            Ok(r) => {
                tracing::warn!(video_id = %id, attempt, status = r.status().as_u16(), "simulator: callback refused; will redeliver")
            }
            Err(err) => {
                tracing::warn!(video_id = %id, attempt, error = %err, "simulator: callback failed; will redeliver")
            }
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// `GET /v3/users/me`: a pay-as-you-go wallet without auto-reload.
async fn account(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if !authorised(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authentication_failed", "invalid API key");
    }
    let data = json!({"username": "simulator", "email": "sim@localhost", "billing_type": "wallet",
        "wallet": {"remaining_balance": 42.5, "currency": "USD",
                   "auto_reload": {"enabled": false, "amount_usd": null, "threshold_usd": null}}});
    (StatusCode::OK, axum::Json(json!({ "data": data }))).into_response()
}

async fn status(State(sim): State<Arc<Sim>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authentication_failed", "invalid API key");
    }
    let videos = sim.videos.lock().await;
    let Some(v) = videos.get(&id).filter(|v| !v.is_forgotten(sim.config.render_time)) else {
        return error(StatusCode::NOT_FOUND, "video_not_found", "no such video");
    };
    let data = match v.stage(sim.config.render_time) {
        "failed" => {
            json!({"id": id, "status": "failed", "failure_code": "simulated_failure", "failure_message": "the simulator failed this render"})
        }
        "completed" => json!({"id": id, "status": "completed", "video_url": video_url(&sim, &id),
               "thumbnail_url": format!("{}/files/{id}.jpg", sim.base_url), "duration": SAMPLE_SECONDS}),
        stage => json!({"id": id, "status": stage}),
    };
    (StatusCode::OK, axum::Json(json!({ "data": data }))).into_response()
}

/// `GET /v3/videos/statuses?video_ids=a,b,...`: up to 100 ids, each with its
/// stage (no URLs), `not_found` for an id the simulator did not make.
async fn statuses(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authentication_failed", "invalid API key");
    }
    let ids: Vec<&str> =
        query.get("video_ids").map(|ids| ids.split(',').filter(|id| !id.is_empty()).collect()).unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "video_ids must name 1 to 100 videos");
    }
    let videos = sim.videos.lock().await;
    let data: Vec<Value> = ids
        .iter()
        .map(|id| match videos.get(*id).filter(|v| !v.is_forgotten(sim.config.render_time)).map(|v| v.stage(sim.config.render_time)) {
            Some("failed") => json!({"video_id": id, "status": "failed",
                                     "error": {"code": "simulated_failure", "message": "the simulator failed this render"}}),
            Some(stage) => json!({"video_id": id, "status": stage}),
            None => json!({"video_id": id, "status": "not_found"}),
        })
        .collect();
    (StatusCode::OK, axum::Json(json!({"data": data, "has_more": false, "next_token": null}))).into_response()
}

impl Video {
    /// HeyGen's word for where the render is: `pending` for its first third,
    /// then `processing`, then `completed` or `failed`.
    fn stage(&self, render: Duration) -> &'static str {
        let elapsed = self.created.elapsed();
        if elapsed < render / 3 {
            "pending"
        } else if elapsed < render || self.holds {
            "processing"
        } else if self.fails {
            "failed"
        } else {
            "completed"
        }
    }

    fn is_rendering(&self, render: Duration) -> bool {
        self.holds || self.created.elapsed() < render
    }

    fn is_forgotten(&self, render: Duration) -> bool {
        self.forgotten && !self.is_rendering(render)
    }
}

/// Every rendered video is this real, playable clip (see `devkit/assets/README.md`).
pub const SAMPLE_MP4: &[u8] = include_bytes!("../assets/sample.mp4");
/// HeyGen's `duration` of every video the simulator renders: the sample's length.
pub const SAMPLE_SECONDS: f64 = 3.0;

async fn file(State(sim): State<Arc<Sim>>, Path(name): Path<String>) -> Response {
    let number = name.trim_start_matches("sim-").trim_end_matches(".mp4").parse::<u64>().unwrap_or(0);
    if name.ends_with(".mp4") && every(number, sim.config.stall_download_every) {
        // Half the file, then nothing more, the connection held open.
        use futures_util::StreamExt;
        tracing::warn!(file = %name, "simulator: this download stalls half-way");
        let half = axum::body::Bytes::from_static(&SAMPLE_MP4[..SAMPLE_MP4.len() / 2]);
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(half)]).chain(futures_util::stream::pending());
        let length = SAMPLE_MP4.len().to_string();
        return (
            [("content-type", "video/mp4"), ("content-length", length.as_str())],
            axum::body::Body::from_stream(body),
        )
            .into_response();
    }
    if name.ends_with(".mp4") {
        return ([("content-type", "video/mp4")], SAMPLE_MP4).into_response();
    }
    ([("content-type", "image/jpeg")], format!("simulated HeyGen file {name}\n")).into_response()
}
