//! `GET /admin/content-production/heygen`: what HeyGen is still rendering;
//! `?refresh=true` reconciles by polling HeyGen.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::app::{ApiError, Deps};
use shared::auth::require_admin;
use shared::http;
use shared::pending::{self, PendingReport, parse_refresh};
use shared::secret::SecretSource;
use shared::store::Store;
use tracing::Instrument;

/// Translates the HTTP request into a listing (and refresh) and back.
pub async fn handle<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: Request) -> Response<Body> {
    let span = tracing::info_span!("admin_pending", request_id = %http::request_id(&request));
    http::into_response(run(deps, &request).instrument(span).await)
}

async fn run<S: Store, K: SecretSource>(deps: &Deps<S, K>, request: &Request) -> Result<PendingReport, ApiError> {
    // Bodies over 256 KiB are refused on every route, whatever the method.
    http::body_bytes(request)?;
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let refresh = parse_refresh(&http::query_values(request, "refresh"))?;
    let admin = require_admin(http::jwt_claims(request), &deps.config.admin_groups_claim, &deps.config.admin_group)?;
    tracing::info!(sub = %admin.sub, action = "list_pending", refresh, "admin action");
    pending::run(deps, refresh, &http::invocation(request)).await
}
