//! `POST /webhooks/heygen`: HeyGen's completion notice. `GET` and `OPTIONS`
//! answer 200 (health checks, HeyGen's endpoint validation).

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::app::{ApiError, Deps};
use shared::http;
use shared::secret::SecretSource;
use shared::store::Store;
use shared::webhook::{self, Handled};
use tracing::Instrument;

/// Translates HeyGen's request into a notice and the outcome into a response.
pub async fn handle<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("heygen_webhook", request_id = %http::request_id(&request));
    async {
        // Bodies over 256 KiB are refused on every route, whatever the method.
        if let Err(err) = http::body_bytes(&request) {
            return http::error(&err);
        }
        match *request.method() {
            Method::GET | Method::OPTIONS => http::json(200, &json!({"ok": true})),
            Method::POST => match notice(deps, &request).await {
                Ok(handled) => {
                    tracing::info!(outcome = ?handled, "webhook handled");
                    http::json(200, &json!({"received": true}))
                }
                Err(err) => http::error(&err),
            },
            _ => http::error(&ApiError::MethodNotAllowed),
        }
    }
    .instrument(span)
    .await
}

async fn notice<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: &Request) -> Result<Handled, ApiError> {
    let body = http::body_bytes(request)?;
    let headers = request.headers();
    let signature = match headers.get("heygen-signature").or_else(|| headers.get("signature")) {
        None => None,
        // A header that is not text cannot match.
        Some(value) => Some(value.to_str().map_err(|_| ApiError::InvalidSignature)?),
    };
    webhook::handle(deps, body, signature, &http::invocation(request)).await
}
