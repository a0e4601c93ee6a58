//! A Lambda Runtime API emulator (the 2018-06-01 interface the runtime polls), so
//! the shipped binaries run in the tests and the benchmarks exactly as Lambda
//! runs them. It notes when the function first asks for work (the end of its
//! init) and how long each invocation took from delivery to answer. It also
//! answers Lambda's `Invoke` API for its function (asynchronous invokes only, as
//! the service makes them): pointed at by `AWS_ENDPOINT_URL_LAMBDA`, another
//! function's invoke runs this one, as Lambda would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::path::{Path as FsPath, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, oneshot};

type Answer = (Result<Value, Value>, Duration);

/// Each function's Lambda timeout, as `template.yaml` sets it (the template
/// test holds the two together): an invocation's deadline is this far away.
pub fn lambda_timeout(name: &str) -> Duration {
    Duration::from_secs(match name {
        "heygen-worker" => 55,
        "heygen-webhook" => 10,
        _ => 29,
    })
}

#[derive(Default)]
struct Shared {
    /// How long each invocation has until its deadline.
    timeout: Duration,
    queue: Mutex<VecDeque<(String, Value)>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// When each invocation was handed to the function.
    delivered: Mutex<HashMap<String, Instant>>,
    /// When the function first asked for an invocation: its init is over.
    first_poll: std::sync::Mutex<Option<Instant>>,
    polled: Notify,
    /// The function's name, as `Invoke` names it.
    name: String,
    /// Asynchronous invokes accepted through the `Invoke` API.
    invoked: std::sync::atomic::AtomicUsize,
}

/// One function: the emulator it polls and its process.
pub struct Function {
    shared: Arc<Shared>,
    child: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
    spawned: Instant,
    pub log: PathBuf,
    /// The emulator's address: the Runtime API, and Lambda's `Invoke` API.
    pub addr: std::net::SocketAddr,
}

/// Where `cargo build` leaves the workspace's binaries.
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --bins`, as `make test` does)",
        path.display()
    );
    path
}

impl Function {
    /// Starts the emulator on a free loopback port and the debug binary `name`
    /// against it, with `env` added to this process's environment.
    pub async fn start(name: &str, env: &[(&str, String)]) -> Self {
        Self::start_binary(&binary(name), name, env).await
    }

    /// As [`Function::start`], for the executable at `path`.
    pub async fn start_binary(path: &FsPath, name: &str, env: &[(&str, String)]) -> Self {
        let shared = Arc::new(Shared { timeout: lambda_timeout(name), name: name.to_string(), ..Shared::default() });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .route("/2015-03-31/functions/{name}/invocations", post(lambda_invoke))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let logs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/runtime-api-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = logs.join(format!("{name}-{}.log", addr.port()));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(path);
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let spawned = Instant::now();
        let child = cmd.spawn().unwrap();
        Self { shared, child, server, spawned, log, addr }
    }

    /// How long the process took from its spawn to its first request for an
    /// invocation (Lambda's init phase), waiting at most `timeout` for it.
    pub async fn init_time(&self, timeout: Duration) -> Option<Duration> {
        let until = Instant::now() + timeout;
        loop {
            let polled = self.shared.polled.notified();
            if let Some(at) = *self.shared.first_poll.lock().unwrap() {
                return Some(at - self.spawned);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, polled).await.is_err() {
                return None;
            }
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Invokes the function with `event` ([`lambda_timeout`] to its deadline) and returns the
    /// function's response document, or its error document as `Err`.
    pub async fn invoke(&self, event: &Value) -> Result<Value, Value> {
        self.invoke_timed(event).await.0
    }

    /// As [`Function::invoke`], with the time from handing the event to the
    /// function to its answer.
    pub async fn invoke_timed(&self, event: &Value) -> Answer {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().await.insert(id.clone(), tx);
        self.shared.queue.lock().await.push_back((id, event.clone()));
        self.shared.arrived.notify_one();
        match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(result)) => result,
            _ => panic!(
                "no answer from the function; its log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            ),
        }
    }

    /// The API Gateway response: status and JSON body.
    pub async fn call(&self, event: &Value) -> (u16, Value) {
        let doc = self.invoke(event).await.unwrap_or_else(|e| panic!("function error: {e}"));
        let status = doc["statusCode"].as_u64().unwrap() as u16;
        let body = serde_json::from_str(doc["body"].as_str().unwrap_or("null")).unwrap();
        (status, body)
    }

    /// Hands `event` to the function without waiting for its answer.
    pub async fn start_invoke(&self, event: &Value) {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, _answer_ignored) = oneshot::channel();
        self.shared.waiting.lock().await.insert(id.clone(), tx);
        self.shared.queue.lock().await.push_back((id, event.clone()));
        self.shared.arrived.notify_one();
    }

    /// Kills the process mid-invocation, as a crashed or recycled sandbox ends.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// `AWS_ENDPOINT_URL_LAMBDA` for a function that invokes this one.
    pub fn invoke_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asynchronous invokes accepted so far through the `Invoke` API.
    pub fn invoked(&self) -> usize {
        self.shared.invoked.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    {
        let mut first = shared.first_poll.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            shared.polled.notify_waiters();
        }
    }
    loop {
        let notified = shared.arrived.notified();
        if let Some((id, event)) = shared.queue.lock().await.pop_front() {
            let deadline = SystemTime::now() + shared.timeout;
            let ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis().to_string();
            let mut headers = HeaderMap::new();
            let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
                h.insert(k, HeaderValue::from_str(v).unwrap());
            };
            set(&mut headers, "lambda-runtime-aws-request-id", &id);
            set(&mut headers, "lambda-runtime-deadline-ms", &ms);
            set(
                &mut headers,
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test",
            );
            set(&mut headers, "lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000");
            set(&mut headers, "content-type", "application/json");
            let body = event.to_string();
            shared.delivered.lock().await.insert(id, Instant::now());
            return (StatusCode::OK, headers, body);
        }
        notified.await;
    }
}

async fn finish(shared: &Shared, id: &str, result: Result<Value, Value>) -> StatusCode {
    let took = shared.delivered.lock().await.remove(id).map(|at| at.elapsed()).unwrap_or_default();
    match shared.waiting.lock().await.remove(id) {
        Some(tx) => {
            let _ = tx.send((result, took));
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Ok(json(&body))).await
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Err(json(&body))).await
}

/// Lambda's `Invoke` with `X-Amz-Invocation-Type: Event`: 202 at once, the
/// event queued for the function. Another name is Lambda's 404; a synchronous
/// invoke is refused (the service never makes one).
async fn lambda_invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let error = |status: StatusCode, kind: &'static str| {
        let mut response = (status, format!(r#"{{"Type":"User","message":"{kind}"}}"#)).into_response();
        response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(kind));
        response
    };
    if name != shared.name {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException");
    }
    if headers.get("x-amz-invocation-type").is_none_or(|t| t != "Event") {
        return error(StatusCode::BAD_REQUEST, "InvalidParameterValueException");
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (tx, _answer_ignored) = oneshot::channel();
    shared.waiting.lock().await.insert(id.clone(), tx);
    shared.queue.lock().await.push_back((id, json(&body)));
    shared.arrived.notify_one();
    shared.invoked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    StatusCode::ACCEPTED.into_response()
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("function init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}
