//! `POST /webhooks/heygen`: HeyGen's completion notice. `GET` and `OPTIONS`
//! answer 200 (health checks, HeyGen's endpoint validation). The handler
//! translates HTTP into the use case and back; the rules live in
//! `shared::app::webhook`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::app::webhook::{Handled, handle_notice};
use shared::app::{ApiError, Deps, Ports};
use shared::http;
use tracing::Instrument;

/// One API Gateway request in, its response out.
pub async fn handle_request(deps: &Deps<impl Ports>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("heygen_webhook", request_id = %http::request_id(&request));
    async {
        // Bodies over 256 KiB are refused on every route, whatever the method.
        if let Err(err) = http::body_bytes(&request) {
            return http::error(&err);
        }
        match *request.method() {
            Method::GET | Method::OPTIONS => http::json(200, &json!({"ok": true})),
            Method::POST => match notice_from(deps, &request).await {
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

async fn notice_from(deps: &Deps<impl Ports>, request: &Request) -> Result<Handled, ApiError> {
    let body = http::body_bytes(request)?;
    let headers = request.headers();
    let signature = match headers.get("heygen-signature").or_else(|| headers.get("signature")) {
        None => None,
        // A header that is not text cannot match.
        Some(value) => Some(value.to_str().map_err(|_| ApiError::InvalidSignature)?),
    };
    handle_notice(deps, body, signature, &http::invocation(request)).await
}
