//! The production wiring, in one place: from the configuration to the real
//! clients (DynamoDB, Secrets Manager, HeyGen over HTTPS), built once per process.

use crate::app::{Deps, Timing};
use crate::archive::{S3Archive, shared_archive};
use crate::config::Config;
use crate::heygen::{ClientBuildError, HeygenClient, RetryPolicy};
use crate::refill::WakeWorker;

/// Builds the worker to wake when a render slot frees, from the SDK
/// configuration and the functions' own (`lambda_waker::worker` in the
/// functions that wake it).
pub type MakeWorker = fn(&aws_config::SdkConfig, &Config) -> Option<std::sync::Arc<dyn WakeWorker>>;
use crate::secret::{DEFAULT_SECRET_TTL, SecretsManagerSource};
use crate::store::DynamoStore;

/// The ports as Lambda runs them.
pub type ProductionDeps = Deps<(DynamoStore, SecretsManagerSource, HeygenClient)>;

/// Loads the AWS SDK configuration the standard way (environment, profile, role),
/// so that `AWS_ENDPOINT_URL` points every client at a local emulator.
///
/// With timeouts: a hung DynamoDB or Secrets Manager call becomes a typed
/// "unavailable" answer well inside API Gateway's 30 s, after the SDK's retries.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(8))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts).load().await
}

/// An S3 client; path-style addressing when `AWS_ENDPOINT_URL` points at an
/// emulator (a bucket cannot be a subdomain of 127.0.0.1).
pub fn s3_client(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let local = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|url| !url.trim().is_empty());
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(local).build())
}

/// Installs the CloudWatch Embedded Metric Format recorder (namespace
/// `METRICS_NAMESPACE`) behind the `metrics` facade; flush it after each
/// invocation with [`flush_metrics`].
pub fn init_metrics(config: &Config) -> Result<&'static metrics_cloudwatch_embedded::Collector, MetricsError> {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(config.metrics_namespace.clone())
        .init()
        .map_err(MetricsError)
}

/// Writes what the invocation counted as one EMF line on stdout (which Lambda
/// sends to CloudWatch Logs, which turns it into metrics).
pub fn flush_metrics(collector: &metrics_cloudwatch_embedded::Collector) {
    if let Err(err) = collector.flush(std::io::stdout().lock()) {
        tracing::warn!(error = %err, "metrics not written");
    }
}

/// The metrics recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("the metrics recorder cannot be installed: {0}")]
pub struct MetricsError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// The production dependencies: AWS clients from the standard configuration
/// (`AWS_ENDPOINT_URL` included) and the HeyGen client with the default retries.
/// No video archive: only the worker copies videos (see
/// [`production_deps_with_archive`]), and a function that never names the S3
/// client does not carry it in its binary.
pub async fn production_deps(config: Config) -> Result<ProductionDeps, ClientBuildError> {
    let aws = load_aws_config().await;
    deps_from(config, &aws, RetryPolicy::admin())
}

/// As [`production_deps`], with the worker `make_worker` builds woken when a
/// render slot frees (the webhook's and admin-pending's wiring).
pub async fn production_deps_waking(
    config: Config,
    make_worker: MakeWorker,
) -> Result<ProductionDeps, ClientBuildError> {
    let aws = load_aws_config().await;
    let mut deps = deps_from(config, &aws, RetryPolicy::admin())?;
    deps.worker = make_worker(&aws, &deps.config);
    Ok(deps)
}

/// The worker's wiring: as [`production_deps`], with the S3 archive when
/// `VIDEO_BUCKET` is set, and creates given the time HeyGen's slowest take
/// ([`RetryPolicy::worker`]).
pub async fn production_deps_with_archive(config: Config) -> Result<ProductionDeps, ClientBuildError> {
    let aws = load_aws_config().await;
    let mut deps = deps_from(config, &aws, RetryPolicy::worker())?;
    if let Some(archive) = &deps.config.archive {
        deps.archive = Some(shared_archive(S3Archive::new(s3_client(&aws), &archive.bucket)));
    }
    Ok(deps)
}

fn deps_from(
    config: Config,
    aws: &aws_config::SdkConfig,
    policy: RetryPolicy,
) -> Result<ProductionDeps, ClientBuildError> {
    Ok(ProductionDeps {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.tables.clone()),
        secrets: SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(aws),
            config.heygen_secret_id.clone(),
            DEFAULT_SECRET_TTL,
        ),
        heygen: HeygenClient::new(&config.heygen_api_base_url, policy)?,
        archive: None,
        config,
        timing: Timing::default(),
        worker: None,
    })
}
