//! `GET /admin/content-production/heygen`: the renders in flight;
//! `?refresh=true` reconciles by polling HeyGen. `GET .../heygen/progress`: the
//! month at a glance. The handler translates HTTP into the use cases and back;
//! the rules live in `shared::app::in_flight` and `shared::app::progress`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::app::admin::require_admin;
use shared::app::in_flight::{list_in_flight, parse_refresh};
use shared::app::progress::{ProgressRequest, month_progress};
use shared::app::{ApiError, Deps, Ports};
use shared::http;
use tracing::Instrument;

/// One API Gateway request in, its response out.
pub async fn handle_request(deps: &Deps<impl Ports>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("admin_pending", request_id = %http::request_id(&request));
    http::into_response(answer(deps, &request).instrument(span).await)
}

async fn answer(deps: &Deps<impl Ports>, request: &Request) -> Result<Value, ApiError> {
    // Bodies over 256 KiB are refused on every route, whatever the method.
    http::body_bytes(request)?;
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let admin = |deps: &Deps<_>| {
        require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)
    };
    // Validation comes first, before any other check (contract section 2).
    if request.uri().path().ends_with("/progress") {
        let query =
            ProgressRequest::parse(&http::query_values(request, "month"), &http::query_values(request, "mode"))?;
        let admin = admin(deps)?;
        tracing::info!(sub = %admin.sub, action = "progress", month = %query.month, mode = %query.mode, "admin action");
        return http::to_value(month_progress(deps, &query).await?);
    }
    let refresh = parse_refresh(&http::query_values(request, "refresh"))?;
    let admin = admin(deps)?;
    tracing::info!(sub = %admin.sub, action = "list_in_flight", refresh, "admin action");
    http::to_value(list_in_flight(deps, refresh, &http::invocation(request)).await?)
}
