//! Helpers for the integration tests (`tests/it`), one module per role:
//!
//! - [`aws`]: the SDK pointed at moto server on loopback (never a real
//!   account), the functions' configuration, a unique prefix per test;
//! - [`tables`]: one test's tables, created from `template.yaml` under its
//!   prefix (so tests run in parallel), raw item reads and writes;
//! - [`stack`]: a whole service (moto, a wiremock HeyGen, the production `Deps`)
//!   and the API Gateway events the handlers are called with;
//! - [`month`]: a month of content worked by the real use cases with a HeyGen
//!   stand-in that records its peak;
//! - [`lost_answers`]: DynamoDB answers lost after the write was applied;
//! - [`requests`]: the DynamoDB requests a client sent, by operation and table;
//! - [`emf`]: the metrics a function logged, read back;
//! - `runtime_api` (from `devkit`): the shipped binaries run as Lambda runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod emf;
pub mod lost_answers;
pub mod month;
pub mod requests;
pub mod stack;
pub mod tables;

pub use aws::{local_aws, test_config, unique_prefix};
pub use devkit::{TEMPLATE, runtime_api};
pub use emf::{Emf, emf_metrics};
pub use tables::Tables;
