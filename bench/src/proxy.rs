//! A counting reverse proxy: the functions under test reach DynamoDB, Secrets
//! Manager and S3 (moto) and HeyGen (the simulator) through one of these, so each
//! request is counted where it arrives, by its kind, with the time it took.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// Names a request's kind: `DynamoDB Query`, `HeyGen statuses`...
pub type Classify = fn(&Method, &Uri, &HeaderMap) -> String;

/// Requests by kind, and the time they took in all, since the last `take`.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub by_kind: BTreeMap<String, u64>,
    pub time: Duration,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// Requests whose kind starts with `prefix`.
    pub fn of(&self, prefix: &str) -> u64 {
        self.by_kind.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, n)| n).sum()
    }

    pub fn add(&mut self, other: &Counts) {
        for (k, n) in &other.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += n;
        }
        self.time += other.time;
    }
}

struct Inner {
    upstream: String,
    classify: Classify,
    http: reqwest::Client,
    counts: Mutex<Counts>,
}

pub struct Proxy {
    pub url: String,
    inner: Arc<Inner>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: &str, classify: Classify) -> Self {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            classify,
            http: reqwest::Client::new(),
            counts: Mutex::default(),
        });
        let app = Router::new().fallback(forward).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inner }
    }

    /// The counts since the last call, and a fresh start.
    pub fn take(&self) -> Counts {
        std::mem::take(&mut *self.inner.counts.lock().unwrap())
    }
}

const HOP_BY_HOP: [&str; 4] = ["host", "content-length", "connection", "transfer-encoding"];

async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let kind = (inner.classify)(&parts.method, &parts.uri, &parts.headers);
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let target = format!("{}{}", inner.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut headers = parts.headers.clone();
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let started = Instant::now();
    let answer = inner.http.request(parts.method.clone(), &target).headers(headers).body(body).send().await;
    let answer = match answer {
        Ok(answer) => {
            let status = answer.status();
            let mut headers = answer.headers().clone();
            for name in HOP_BY_HOP {
                headers.remove(name);
            }
            match answer.bytes().await {
                Ok(bytes) => {
                    let mut response = Response::new(Body::from(bytes));
                    *response.status_mut() = status;
                    *response.headers_mut() = headers;
                    response
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    };
    let took = started.elapsed();
    let mut counts = inner.counts.lock().unwrap();
    *counts.by_kind.entry(kind).or_default() += 1;
    counts.time += took;
    answer
}

/// AWS requests by service and operation: DynamoDB's and Secrets Manager's from
/// their `X-Amz-Target`, S3's by method.
pub fn aws_kind(method: &Method, _uri: &Uri, headers: &HeaderMap) -> String {
    match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(target) => match target.split_once('.') {
            Some((service, op)) if service.starts_with("DynamoDB") => format!("DynamoDB {op}"),
            Some((_, op)) => format!("SecretsManager {op}"),
            None => target.to_string(),
        },
        None => format!("S3 {method}"),
    }
}

/// HeyGen requests by call.
pub fn heygen_kind(method: &Method, uri: &Uri, _headers: &HeaderMap) -> String {
    match (method.as_str(), uri.path()) {
        ("POST", "/v3/videos") => "HeyGen create".to_string(),
        ("GET", "/v3/videos/statuses") => "HeyGen statuses".to_string(),
        ("GET", path) if path.starts_with("/v3/videos/") => "HeyGen status".to_string(),
        (method, path) => format!("HeyGen {method} {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", value.parse().unwrap());
        headers
    }

    #[test]
    fn requests_are_named_by_service_and_call() {
        let uri: Uri = "/".parse().unwrap();
        assert_eq!(aws_kind(&Method::POST, &uri, &target("DynamoDB_20120810.UpdateItem")), "DynamoDB UpdateItem");
        assert_eq!(
            aws_kind(&Method::POST, &uri, &target("secretsmanager.GetSecretValue")),
            "SecretsManager GetSecretValue"
        );
        assert_eq!(aws_kind(&Method::PUT, &"/bucket/key".parse().unwrap(), &HeaderMap::new()), "S3 PUT");
        let kind = |m: Method, p: &str| heygen_kind(&m, &p.parse().unwrap(), &HeaderMap::new());
        assert_eq!(kind(Method::POST, "/v3/videos"), "HeyGen create");
        assert_eq!(kind(Method::GET, "/v3/videos/statuses?video_ids=a,b"), "HeyGen statuses");
        assert_eq!(kind(Method::GET, "/v3/videos/sim-00001"), "HeyGen status");
    }
}
