//! The HeyGen pipeline's library: the domain rules, the ports its functions depend
//! on (store, secret) and their AWS adapters. No Lambda or HTTP type lives here.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod clock;
pub mod config;
pub mod domain;
pub mod heygen;
pub mod pacing;
pub mod secret;
pub mod settings;
pub mod store;
#[cfg(feature = "local")]
pub mod tables;

/// Loads the AWS SDK configuration the standard way (environment, profile, role),
/// so that `AWS_ENDPOINT_URL` points every client at a local emulator.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
