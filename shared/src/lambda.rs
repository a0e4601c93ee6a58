//! The one entry point of every function (features `http` and `events`): the
//! log subscriber that follows Lambda's log settings, the configuration read once
//! (start-up fails naming a missing variable), the metrics recorder, the
//! production dependencies built once, then the runtime's loop, flushing the
//! invocation's metrics after each. A `main.rs` is one call.

use std::future::Future;

use crate::config::Config;
#[cfg(feature = "events")]
use crate::wiring::production_deps_with_archive;
#[cfg(feature = "http")]
use crate::wiring::{MakeWorker, production_deps, production_deps_waking};
use crate::wiring::{ProductionDeps, flush_metrics, init_metrics};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads the configuration and builds what every invocation shares with
/// `build` (the admin functions' wiring, or the worker's: only the worker's
/// binary carries the S3 client). They live as long as the process: leaked
/// once, so that each invocation borrows them.
async fn start<Build, Built>(
    build: Build,
) -> Result<(&'static ProductionDeps, &'static metrics_cloudwatch_embedded::Collector), BoxError>
where
    Build: FnOnce(Config) -> Built,
    Built: Future<Output = Result<ProductionDeps, crate::heygen::ClientBuildError>>,
{
    let config = Config::from_env().inspect_err(|err| tracing::error!(error = %err, "start-up failed"))?;
    let metrics = init_metrics(&config)?;
    let deps = build(config).await?;
    Ok((Box::leak(Box::new(deps)), metrics))
}

/// Serves an HTTP function (API Gateway's payload 2.0) with `handler`.
#[cfg(feature = "http")]
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static ProductionDeps, lambda_http::Request) -> Fut + Sync,
    Fut: Future<Output = lambda_http::Response<lambda_http::Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    let (deps, metrics) = start(production_deps).await?;
    http_loop(deps, metrics, handler).await
}

/// As [`serve_http`], for a function that wakes the worker when it frees a
/// render slot (section 9): `make_worker` builds the waker.
#[cfg(feature = "http")]
pub async fn serve_http_waking<F, Fut>(handler: F, make_worker: MakeWorker) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static ProductionDeps, lambda_http::Request) -> Fut + Sync,
    Fut: Future<Output = lambda_http::Response<lambda_http::Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    let (deps, metrics) = start(|config| production_deps_waking(config, make_worker)).await?;
    http_loop(deps, metrics, handler).await
}

#[cfg(feature = "http")]
async fn http_loop<F, Fut>(
    deps: &'static ProductionDeps,
    metrics: &'static metrics_cloudwatch_embedded::Collector,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static ProductionDeps, lambda_http::Request) -> Fut + Sync,
    Fut: Future<Output = lambda_http::Response<lambda_http::Body>> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        let response = handler(deps, request).await;
        flush_metrics(metrics);
        Ok::<_, lambda_http::Error>(response)
    }))
    .await
}

/// Serves the worker: each event (the schedule's, or an invoke's) is one call
/// of `handler`, whose answer is the invocation's response.
#[cfg(feature = "events")]
pub async fn serve_events<F, Fut, R>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static ProductionDeps, lambda_runtime::LambdaEvent<serde_json::Value>) -> Fut + Sync,
    Fut: Future<Output = R> + Send,
    R: serde::Serialize + Send,
{
    lambda_runtime::tracing::init_default_subscriber();
    let (deps, metrics) = start(production_deps_with_archive).await?;
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event| async move {
        let report = handler(deps, event).await;
        flush_metrics(metrics);
        Ok::<_, lambda_runtime::Error>(report)
    }))
    .await
}
