//! The five routes on a loopback port, through the production handlers: each
//! request becomes the API Gateway HTTP API (payload 2.0) event Lambda would get.
//! Beside them: `/` (a page that shows the demo month's progress), `/videos/...`
//! (the bucket, as CloudFront serves it: with range requests, so a browser can
//! seek) and `/local/videos` (the copied videos' paths, for the page).
//!
//! Locally there is no JWT authorizer: admin routes get a local admin identity
//! (`sub` `local-admin`, groups `[admin]`); the header `x-local-groups` replaces
//! the groups (to see a 403), `x-local-anonymous: 1` sends no claims (a 401).
//! The handlers' own check runs unchanged.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request as HttpRequest, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use lambda_http::{Context, RequestExt};
use serde_json::{Map, Value, json};
use shared::wiring::ProductionDeps;

/// The production ports, pointed at moto and the simulator.
pub type LocalDeps = ProductionDeps;

struct Server {
    deps: Arc<LocalDeps>,
    /// The origins CORS allows (`ADMIN_ORIGIN`, comma-separated).
    admin_origins: Vec<String>,
    videos: Videos,
    /// The page at `/`, for the demo month.
    page: String,
    /// Held by the running tick: one at a time.
    one_tick: Arc<tokio::sync::Mutex<()>>,
}

/// The bucket on moto the worker copies videos to; the local stack serves it at
/// `/videos/...`, as CloudFront does once deployed.
pub struct Videos {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

const ADMIN_PATH: &str = "/admin/content-production/heygen";
const CANCEL_PATH: &str = "/admin/content-production/heygen/cancel";
const PROGRESS_PATH: &str = "/admin/content-production/heygen/progress";
const WEBHOOK_PATH: &str = "/webhooks/heygen";

pub async fn serve(
    listener: tokio::net::TcpListener,
    deps: Arc<LocalDeps>,
    admin_origin: String,
    videos: Videos,
    month: &str,
    one_tick: Arc<tokio::sync::Mutex<()>>,
) -> std::io::Result<()> {
    let page = include_str!("page.html").replace("{{MONTH}}", month);
    let admin_origins = admin_origin.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
    let server = Arc::new(Server { deps, admin_origins, videos, page, one_tick });
    let app = Router::new().fallback(route).layer(DefaultBodyLimit::max(8 * 1024 * 1024)).with_state(server);
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await
}

/// Ctrl-C or SIGTERM (what `scripts/dev.sh` sends on its way out).
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("local stack stopping");
}

async fn route(State(server): State<Arc<Server>>, request: HttpRequest<AxumBody>) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 8 * 1024 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(json!({"message": "Request Entity Too Large"})))
            .into_response();
    };
    let path = parts.uri.path().to_string();
    if parts.method == Method::GET && path.starts_with("/videos/") {
        return video(&server.videos, &path, parts.headers.get("range")).await;
    }
    if parts.method == Method::GET && path == "/" {
        return ([("content-type", "text/html; charset=utf-8")], server.page.clone()).into_response();
    }
    if parts.method == Method::GET && path == "/local/videos" {
        return copied_videos(&server.videos).await;
    }
    if let Some(name) = path.strip_prefix("/2015-03-31/functions/").and_then(|p| p.strip_suffix("/invocations")) {
        return invoke(&server, name, &parts.headers, &body);
    }
    let admin = path == ADMIN_PATH || path == CANCEL_PATH || path == PROGRESS_PATH;
    if !admin && path != WEBHOOK_PATH {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found"}))).into_response();
    }
    // CORS as the HTTP API answers it for the admin frontend.
    if admin && parts.method == Method::OPTIONS && parts.headers.contains_key("access-control-request-method") {
        let mut response = StatusCode::NO_CONTENT.into_response();
        cors(&server, &parts.headers, response.headers_mut());
        return response;
    }
    let event = event(&parts.method, &parts.uri, &parts.headers, &body, admin);
    let deadline = SystemTime::now() + if admin { Duration::from_secs(29) } else { Duration::from_secs(10) };
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = deadline.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r.with_lambda_context(context),
        Err(err) => {
            tracing::error!(error = %err, "request could not be turned into an API Gateway event");
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "Bad Request"}))).into_response();
        }
    };
    let deps = server.deps.as_ref();
    let answer = match (admin, parts.method.clone()) {
        (true, Method::GET) if path != CANCEL_PATH => admin_pending::handle_request(deps, lambda_request).await,
        (true, _) => admin_trigger::handle_request(deps, lambda_request).await,
        (false, _) => heygen_webhook::handle_request(deps, lambda_request).await,
    };
    let (answer_parts, answer_body) = answer.into_parts();
    let bytes: Vec<u8> = match answer_body {
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let mut response = Response::new(AxumBody::from(bytes));
    *response.status_mut() = answer_parts.status;
    *response.headers_mut() = answer_parts.headers;
    if admin {
        cors(&server, &parts.headers, response.headers_mut());
    }
    response
}

/// Lambda's `Invoke` of the worker, as Lambda answers an asynchronous one: 202 at
/// once, and a tick run on its own (the payload says why), one at a time.
fn invoke(server: &Arc<Server>, name: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    if name != crate::LOCAL_WORKER {
        let mut response =
            (StatusCode::NOT_FOUND, axum::Json(json!({"Type": "User", "message": "Function not found"})))
                .into_response();
        response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("ResourceNotFoundException"));
        return response;
    }
    let asynchronous = headers.get("x-amz-invocation-type").is_some_and(|t| t == "Event");
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    tracing::info!(asynchronous, payload = %payload, "worker invoked");
    let deps = Arc::clone(&server.deps);
    let one_tick = Arc::clone(&server.one_tick);
    tokio::spawn(async move {
        // After the tick running now, as Lambda runs a worker whose reserved
        // concurrency is 1.
        let _one = one_tick.lock().await;
        let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
        heygen_worker::handle_event(deps.as_ref(), event).await;
    });
    StatusCode::ACCEPTED.into_response()
}

/// A copied video, from the bucket on moto (the key is the path, decoded); a
/// `Range` header is passed to S3, whose partial answer becomes a 206.
async fn video(videos: &Videos, path: &str, range: Option<&HeaderValue>) -> Response {
    let key: String = path.trim_start_matches('/').split('/').map(percent_decode).collect::<Vec<_>>().join("/");
    let range = range.and_then(|r| r.to_str().ok()).map(str::to_string);
    match videos.s3.get_object().bucket(&videos.bucket).key(&key).set_range(range).send().await {
        Ok(object) => {
            let content_range = object.content_range.clone();
            match object.body.collect().await {
                Ok(bytes) => {
                    let mut response =
                        ([("content-type", "video/mp4"), ("accept-ranges", "bytes")], bytes.into_bytes().to_vec())
                            .into_response();
                    if let Some(value) = content_range.and_then(|r| HeaderValue::from_str(&r).ok()) {
                        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                        response.headers_mut().insert("content-range", value);
                    }
                    response
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
            StatusCode::RANGE_NOT_SATISFIABLE.into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found"}))).into_response(),
    }
}

/// The paths of the copied videos, newest first.
async fn copied_videos(videos: &Videos) -> Response {
    let listed = videos.s3.list_objects_v2().bucket(&videos.bucket).prefix("videos/").send().await;
    let Ok(listed) = listed else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut objects = listed.contents.unwrap_or_default();
    objects.sort_by_key(|o| std::cmp::Reverse(o.last_modified));
    let paths: Vec<String> = objects.iter().filter_map(|o| o.key.as_ref()).map(|key| format!("/{key}")).collect();
    axum::Json(paths).into_response()
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("k={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn cors(server: &Server, request: &HeaderMap, response: &mut HeaderMap) {
    let Some(origin) = request.get("origin").and_then(|o| o.to_str().ok()) else {
        return;
    };
    if !server.admin_origins.iter().any(|allowed| allowed == origin) {
        return;
    }
    let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    set(response, "access-control-allow-origin", origin);
    response.insert("vary", HeaderValue::from_static("origin"));
    set(response, "access-control-allow-methods", "GET,POST");
    set(response, "access-control-allow-headers", "authorization,content-type");
    set(response, "access-control-max-age", "600");
}

/// The API Gateway HTTP API event (payload 2.0) for a request.
fn event(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes, admin: bool) -> Value {
    let mut header_map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = name.as_str().to_ascii_lowercase();
        let joined = match header_map.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{value}"),
            None => value,
        };
        header_map.insert(key, joined.into());
    }
    let query = uri.query().unwrap_or_default();
    let mut params = Map::new();
    // Repeated parameters are joined with commas, as API Gateway does.
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let (k, v) = (k.into_owned(), v.into_owned());
        let joined = match params.get(&k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v,
        };
        params.insert(k, joined.into());
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    let route_key = format!("{method} {}", uri.path());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut context = json!({
        "accountId": "local", "apiId": "local", "domainName": host, "domainPrefix": "local",
        "http": {"method": method.as_str(), "path": uri.path(), "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": headers.get("user-agent").and_then(|u| u.to_str().ok()).unwrap_or("")},
        "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": route_key, "stage": "$default",
        "time": "", "timeEpoch": now,
    });
    let anonymous = headers.get("x-local-anonymous").is_some_and(|v| v == "1");
    if admin && !anonymous {
        let groups = headers.get("x-local-groups").and_then(|g| g.to_str().ok()).unwrap_or("[admin]");
        context["authorizer"] =
            json!({"jwt": {"claims": {"sub": "local-admin", "cognito:groups": groups}, "scopes": null}});
    }
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0", "routeKey": route_key, "rawPath": uri.path(), "rawQueryString": query,
        "headers": header_map, "requestContext": context, "isBase64Encoded": base64,
    });
    if !params.is_empty() {
        event["queryStringParameters"] = Value::Object(params);
    }
    if !body.is_empty() {
        event["body"] = body.into();
    }
    event
}
