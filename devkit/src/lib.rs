//! Dev-only helpers shared by the tests and the local stack (`make dev`): never a
//! dependency of a Lambda function.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod tables;

/// The SAM template, the single source of truth for the tables.
pub const TEMPLATE: &str = include_str!("../../template.yaml");
