//! The HeyGen pipeline's library: the domain rules, the ports its functions depend
//! on (store, secret) and their AWS adapters. No Lambda or HTTP type lives here.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod heygen;
#[cfg(feature = "http")]
pub mod http;
pub mod pacing;
pub mod pending;
pub mod reconcile;
pub mod secret;
pub mod settings;
pub mod store;
#[cfg(feature = "local")]
pub mod tables;
pub mod trigger;
pub mod webhook;

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
