//! A whole service in one test: moto tables and secret, a wiremock HeyGen,
//! and the production `Deps` wired to them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use lambda_http::{Body, Context, Request, RequestExt, Response};
use serde_json::{Value, json};
use shared::app::{Deps, Timing};
use shared::domain::Timestamp;
use shared::heygen::{HeygenClient, RetryPolicy};
use shared::secret::SecretsManagerSource;
use shared::store::DynamoStore;
use shared::store::prelude::*;
use shared::testkit::{Faulty, StoreOp};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Tables, local_aws, unique_prefix};

pub const API_KEY: &str = "sk-stack-test";
pub const WEBHOOK_SECRET: &str = "whsec_stack_test";
pub const DOMAIN: &str = "abc123.execute-api.us-east-1.amazonaws.com";

pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        create_timeout: Duration::from_secs(5),
        min_request_time: Duration::from_millis(1),
    }
}

pub struct Stack<S: Store = DynamoStore> {
    pub tables: Tables,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub secret_id: String,
    pub heygen: MockServer,
    pub deps: Deps<(S, SecretsManagerSource, HeygenClient)>,
    /// What `heygen_status` set, for the bulk statuses double.
    states: Arc<Mutex<HashMap<String, String>>>,
}

/// `GET /v3/videos/statuses` as HeyGen answers it, from the statuses the test
/// set with `heygen_status`: `not_found` for any other id. Mounted at a low
/// priority, so that a test's own catch-all answer (a 401, a 503) wins.
struct StatesDouble(Arc<Mutex<HashMap<String, String>>>);

impl wiremock::Respond for StatesDouble {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let known = self.0.lock().unwrap();
        let ids = request.url.query_pairs().find(|(k, _)| k == "video_ids").map(|(_, v)| v.into_owned());
        let data: Vec<Value> = ids
            .unwrap_or_default()
            .split(',')
            .map(|id| match known.get(id).map(String::as_str) {
                Some("failed") => json!({"video_id": id, "status": "failed",
                    "error": {"code": "avatar_unavailable", "message": "the avatar was removed"}}),
                Some(status) => json!({"video_id": id, "status": status}),
                None => json!({"video_id": id, "status": "not_found"}),
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "has_more": false, "next_token": null}))
    }
}

impl Stack<DynamoStore> {
    /// A configured stack: the secret holds an API key and a webhook secret;
    /// creates are paced at 50 a second.
    pub async fn new() -> Self {
        let stack = Self::without_secret().await;
        stack.put_secret(&json!({"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}).to_string()).await;
        stack
    }

    /// No secret at all in Secrets Manager.
    pub async fn without_secret() -> Self {
        let tables = Tables::create().await;
        let store = tables.store();
        Self::with_store(tables, store).await
    }
}

impl<S: Store> Stack<S> {
    pub async fn with_store(tables: Tables, store: S) -> Self {
        let aws = local_aws().await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let secret_id = format!("{}heygen", unique_prefix());
        let heygen = MockServer::start().await;
        let config = super::test_config(tables.names.clone(), &heygen.uri(), Some(secret_id.clone()));
        let deps = Deps {
            secrets: SecretsManagerSource::new(secrets.clone(), secret_id.clone(), Duration::ZERO),
            heygen: HeygenClient::new(&config.heygen_api_base_url, fast_policy()).unwrap(),
            store,
            config,
            archive: None,
            timing: Timing::default(),
            worker: None,
        };
        tables.put_setting("heygen_requests_per_second", "50").await;
        let states = Arc::default();
        Mock::given(method("GET"))
            .and(path("/v3/videos/statuses"))
            .respond_with(StatesDouble(Arc::clone(&states)))
            .with_priority(10)
            .mount(&heygen)
            .await;
        Self { tables, secrets, secret_id, heygen, deps, states }
    }

    /// Creates or replaces the secret's value.
    pub async fn put_secret(&self, value: &str) {
        let created = self.secrets.create_secret().name(&self.secret_id).secret_string(value).send().await;
        if created.is_err() {
            self.secrets.put_secret_value().secret_id(&self.secret_id).secret_string(value).send().await.unwrap();
        }
    }

    pub async fn creator(&self, id: &str, bible_avatar: Option<&str>, voice: Option<&str>) {
        let mut c = json!({"creator_id": id, "name": id, "is_ai": true, "active": true, "heygen_avatar_ids": {}});
        if let Some(avatar) = bible_avatar {
            c["heygen_avatar_ids"]["bible"] = avatar.into();
        }
        if let Some(voice) = voice {
            c["heygen_voice_ids"] = json!({"bible": voice});
        }
        self.tables.put_creator(c).await;
    }

    /// A bible item of `creator` dated `date`, with a script; `extra` merged in.
    pub async fn content(&self, id: &str, creator: &str, date: &str, extra: Value) {
        let mut item = json!({
            "content_id": id, "assigned_creator_id": creator, "date": date, "mode": "bible",
            "script": format!("Script of {id}"), "title": format!("Title of {id}"), "status": "draft",
        });
        item.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        self.tables.put_content(item).await;
    }

    /// The environment a function binary of this stack starts with.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        let names = &self.deps.config.tables;
        vec![
            ("SETTINGS_TABLE", names.settings.clone()),
            ("CREATORS_TABLE", names.creators.clone()),
            ("CONTENT_TABLE", names.content.clone()),
            ("HEYGEN_SECRET_ID", self.secret_id.clone()),
            ("HEYGEN_API_BASE_URL", self.heygen.uri()),
        ]
    }

    /// Sets attributes on a content item as the platform would.
    pub async fn content_update(&self, id: &str, attrs: Value) {
        self.tables.update_content(id, attrs).await;
    }

    /// HeyGen accepts every create; the video id is derived from the
    /// idempotency key, so a replayed key gets the same video (as HeyGen does).
    pub async fn heygen_accepts_creates(&self) {
        Mock::given(method("POST"))
            .and(path("/v3/videos"))
            .respond_with(|req: &wiremock::Request| {
                let key = req.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("none");
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": {"video_id": format!("vid-{key}"), "status": "waiting"}}))
            })
            .mount(&self.heygen)
            .await;
    }

    /// What the bulk `GET /v3/videos/statuses` says of `video_id`, and only
    /// there (a test mounts its own answer to `GET /v3/videos/{video_id}`).
    pub fn heygen_state(&self, video_id: &str, status: &str) {
        self.states.lock().unwrap().insert(video_id.to_string(), status.to_string());
    }

    /// HeyGen's status answer for `video_id`, in the bulk statuses too.
    pub async fn heygen_status(&self, video_id: &str, status: &str) {
        self.states.lock().unwrap().insert(video_id.to_string(), status.to_string());
        let body = json!({"data": {
            "id": video_id, "status": status,
            "video_url": format!("https://files.heygen.ai/{video_id}.mp4?sig=fresh"),
            "thumbnail_url": format!("https://files.heygen.ai/{video_id}.jpg"),
            "duration": 30.0,
            "failure_code": if status == "failed" { Value::from("avatar_unavailable") } else { Value::Null },
            "failure_message": if status == "failed" { Value::from("the avatar was removed") } else { Value::Null },
        }});
        Mock::given(method("GET"))
            .and(path(format!("/v3/videos/{video_id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.heygen)
            .await;
    }

    pub async fn creates_received(&self) -> Vec<wiremock::Request> {
        let all = self.heygen.received_requests().await.unwrap_or_default();
        all.into_iter().filter(|r| r.method.as_str() == "POST").collect()
    }

    /// `GET /v3/videos/{id}` requests received.
    pub async fn status_calls(&self) -> usize {
        let all = self.heygen.received_requests().await.unwrap_or_default();
        all.iter().filter(|r| r.method.as_str() == "GET" && r.url.path() != "/v3/videos/statuses").count()
    }

    /// `GET /v3/videos/statuses` requests received.
    pub async fn states_calls(&self) -> usize {
        let all = self.heygen.received_requests().await.unwrap_or_default();
        all.iter().filter(|r| r.method.as_str() == "GET" && r.url.path() == "/v3/videos/statuses").count()
    }

    /// Claims `id` and records `video_id`, as a trigger would have.
    pub async fn pending_item(&self, id: &str, video_id: &str) {
        let store = self.tables.store();
        let item = store.get_content(id).await.unwrap().unwrap();
        let claim = store.claim(&item, Timestamp::now(), Duration::from_secs(600), None).await.unwrap();
        store.record_video(&claim, video_id).await.unwrap();
    }

    // The handlers' futures are boxed: a test awaiting many of them keeps only
    // a pointer each on its stack (debug builds' futures are large).
    pub async fn trigger(&self, event: Value) -> (u16, Value) {
        call(Box::pin(admin_trigger::handle_request(&self.deps, request(&event))).await)
    }

    pub async fn pending(&self, event: Value) -> (u16, Value) {
        call(Box::pin(admin_pending::handle_request(&self.deps, request(&event))).await)
    }

    /// One worker tick, as the schedule would invoke it (25 s to its deadline).
    pub async fn tick(&self) -> shared::app::worker::TickReport {
        let invocation = shared::app::Invocation {
            deadline: tokio::time::Instant::now() + Duration::from_secs(25),
            domain_name: None,
        };
        shared::app::worker::tick(&self.deps, &invocation).await
    }

    pub async fn webhook(&self, event: Value) -> (u16, Value) {
        call(Box::pin(heygen_webhook::handle_request(&self.deps, request(&event))).await)
    }
}

/// An event of `events/`.
pub fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `event` with another JSON body.
pub fn with_body(mut event: Value, body: &str) -> Value {
    event["body"] = body.into();
    event
}

/// The webhook event carrying `body`, signed with `secret` when given.
pub fn webhook_event(body: &Value, signature_header: Option<(&str, &str)>) -> Value {
    let raw = body.to_string();
    let mut ev = with_body(event("webhook-success"), &raw);
    if let Some((header, secret)) = signature_header {
        ev["headers"][header] = sign(raw.as_bytes(), secret).into();
    }
    ev
}

pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A Lambda request from an event, with 20 s left before its deadline.
pub fn request(event: &Value) -> Request {
    request_with_deadline(event, Duration::from_secs(20))
}

pub fn request_with_deadline(event: &Value, left: Duration) -> Request {
    let deadline = SystemTime::now() + left;
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    lambda_http::request::from_str(&event.to_string()).unwrap().with_lambda_context(context)
}

pub fn call(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    };
    (status, body)
}

impl Stack<Faulty<DynamoStore>> {
    /// A configured stack whose store (on moto) fails `op` after `after` calls.
    pub async fn flaky(op: StoreOp, after: usize) -> Self {
        let tables = Tables::create().await;
        let store = Faulty::new(tables.store()).fail_after(op, after);
        let stack = Self::with_store(tables, store).await;
        stack.put_secret(&json!({"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}).to_string()).await;
        stack
    }
}
