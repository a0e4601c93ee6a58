//! API Gateway HTTP API (payload 2.0) glue the three HTTP functions share
//! (feature `http`, the only module that names a `lambda_http` type): reading
//! the request (claims, deadline, domain, body) and writing the contract's
//! responses. This is the edge where an [`ApiError`] becomes a response, and so
//! the one place it is logged.

use std::collections::HashMap;
use std::time::Duration;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::app::{ApiError, Invocation};
use crate::error_chain::ErrorChain;

/// Bodies over this are refused with 413 on every route.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Without a Lambda deadline (a hand-made event), the invocation gets this long.
const DEFAULT_BUDGET: Duration = Duration::from_secs(25);

/// The raw body bytes, refusing bodies over 256 KiB.
pub fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(bytes)
}

/// An admin `POST` must say its body is JSON: `Content-Type: application/json`,
/// parameters (`charset`) allowed, in any case. Otherwise 415: a page on any
/// origin can send a `text/plain` POST without a CORS preflight.
pub fn require_json(request: &Request) -> Result<(), ApiError> {
    let content_type = request.headers().get(lambda_http::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(is_json_media_type) { Ok(()) } else { Err(ApiError::UnsupportedMediaType) }
}

/// Whether a `Content-Type` value names `application/json`.
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// The JWT authorizer's claims, when the request came through it.
pub fn jwt_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.authorizer.as_ref()?.jwt.as_ref().map(|jwt| &jwt.claims),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn domain_name(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.domain_name.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The Lambda request id, for log lines.
pub fn request_id(request: &Request) -> String {
    request.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default()
}

/// The invocation's deadline (from the Lambda context) and domain name.
pub fn invocation(request: &Request) -> Invocation {
    let deadline_ms = request.lambda_context_ref().map_or(0, |c| c.deadline);
    Invocation::from_lambda(deadline_ms, DEFAULT_BUDGET, domain_name(request))
}

/// The query parameter's values, in order.
pub fn query_values<'a>(request: &'a Request, name: &str) -> Vec<&'a str> {
    request.query_string_parameters_ref().and_then(|q| q.all(name)).unwrap_or_default()
}

/// A report as JSON, for a handler that answers more than one shape.
pub fn to_value<T: Serialize>(report: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(report).map_err(|_| ApiError::Internal("a report could not be serialised"))
}

/// A JSON response.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => respond(status, text),
        Err(err) => {
            tracing::error!(error = %err, "response not serialisable");
            error(&ApiError::Internal("a response could not be serialised"))
        }
    }
}

/// The contract's error response. A 5xx is logged here, once, with its whole
/// source chain (`retry_later` excepted: a deliberate answer, logged where it was
/// decided); the body carries none of it.
pub fn error(err: &ApiError) -> Response<Body> {
    let status = err.status();
    if status >= 500 && !matches!(err, ApiError::RetryLater) {
        tracing::error!(status, code = err.code(), error = %ErrorChain(err), "request failed");
    }
    respond(status, err.body().to_string())
}

fn respond(status: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() =
        lambda_http::http::StatusCode::from_u16(status).unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Either outcome of a handler as a response.
pub fn into_response<T: Serialize>(result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(body) => json(200, &body),
        Err(err) => error(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_json_is_json() {
        for yes in ["application/json", "application/json; charset=utf-8", "Application/JSON", " application/json ;x=1"]
        {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in ["text/plain", "application/jsonx", "application/json-patch+json", "", "json", "text/json"] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }
}
