//! `POST /admin/content-production/heygen`: a month of content into the render
//! queue, the first renders created at once; `POST .../heygen/cancel`: a month
//! out of the queue. The handler translates HTTP into the use case and back; the
//! rules live in `shared::app::trigger`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::app::admin::require_admin;
use shared::app::trigger::{CancelRequest, TriggerRequest, cancel_month, trigger_month};
use shared::app::{ApiError, Deps, Ports};
use shared::http;
use tracing::Instrument;

/// One API Gateway request in, its response out.
pub async fn handle_request(deps: &Deps<impl Ports>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("admin_trigger", request_id = %http::request_id(&request));
    http::into_response(trigger_from(deps, &request).instrument(span).await)
}

async fn trigger_from(deps: &Deps<impl Ports>, request: &Request) -> Result<Value, ApiError> {
    // Bodies over 256 KiB are refused on every route, whatever the method.
    let raw = http::body_bytes(request)?;
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    http::require_json(request)?;
    // Validation comes first, before any other check (contract section 2).
    if request.uri().path().ends_with("/cancel") {
        let body = CancelRequest::parse(raw)?;
        let admin =
            require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)?;
        tracing::info!(sub = %admin.sub, action = "cancel", month = %body.month, mode = %body.mode, "admin action");
        return http::to_value(cancel_month(deps, &body).await?);
    }
    let body = TriggerRequest::parse(raw)?;
    let admin = require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)?;
    tracing::info!(
        sub = %admin.sub, action = "trigger", month = %body.month, mode = %body.mode, dry_run = body.dry_run,
        "admin action"
    );
    http::to_value(trigger_month(deps, &body, &http::invocation(request)).await?)
}
