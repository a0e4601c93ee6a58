//! `POST /admin/content-production/heygen`: render a month of content with HeyGen.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::app::{ApiError, Deps};
use shared::auth::require_admin;
use shared::http;
use shared::secret::SecretSource;
use shared::store::Store;
use shared::trigger::{self, TriggerReport, TriggerRequest};
use tracing::Instrument;

/// Translates the HTTP request into a trigger and its outcome into a response.
pub async fn handle<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("admin_trigger", request_id = %http::request_id(&request));
    http::into_response(run(deps, &request).instrument(span).await)
}

async fn run<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: &Request) -> Result<TriggerReport, ApiError> {
    // Bodies over 256 KiB are refused on every route, whatever the method.
    let raw = http::body_bytes(request)?;
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    // Validation comes first, before any other check (contract section 2).
    let body = TriggerRequest::parse(raw)?;
    let admin = require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)?;
    tracing::info!(
        sub = %admin.sub, action = "trigger", month = %body.month, mode = %body.mode, dry_run = body.dry_run,
        "admin action"
    );
    trigger::run(deps, &body, &http::invocation(request)).await
}
