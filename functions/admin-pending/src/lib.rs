//! `GET /admin/content-production/heygen`: the renders in flight;
//! `?refresh=true` reconciles by polling HeyGen. The handler translates HTTP into
//! the use case and back; the rules live in `shared::app::in_flight`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::app::admin::require_admin;
use shared::app::in_flight::{InFlightReport, list_in_flight, parse_refresh};
use shared::app::{ApiError, Deps, Ports};
use shared::http;
use tracing::Instrument;

/// One API Gateway request in, its response out.
pub async fn handle_request(deps: &Deps<impl Ports>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("admin_pending", request_id = %http::request_id(&request));
    http::into_response(list_from(deps, &request).instrument(span).await)
}

async fn list_from(deps: &Deps<impl Ports>, request: &Request) -> Result<InFlightReport, ApiError> {
    // Bodies over 256 KiB are refused on every route, whatever the method.
    http::body_bytes(request)?;
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let refresh = parse_refresh(&http::query_values(request, "refresh"))?;
    let admin = require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)?;
    tracing::info!(sub = %admin.sub, action = "list_in_flight", refresh, "admin action");
    list_in_flight(deps, refresh, &http::invocation(request)).await
}
