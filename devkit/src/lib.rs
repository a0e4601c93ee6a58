//! Dev-only helpers shared by the tests, the local stack (`make dev`) and the
//! benchmarks (`make bench`): tables from `template.yaml`, the HeyGen simulator and
//! a Lambda Runtime API emulator. Never a dependency of a Lambda function.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod runtime_api;
pub mod sim;
pub mod tables;

/// The SAM template, the single source of truth for the tables.
pub const TEMPLATE: &str = include_str!("../../template.yaml");
