//! The HeyGen pipeline's library, in layers (see `docs/architecture.md`):
//!
//! - [`domain`]: the rules and values of the contract; no I/O.
//! - [`app`]: the use cases over the ports, the one error enum, the admin check.
//! - [`store`], [`heygen`], [`secret`]: each a port (a trait the use cases call)
//!   and its adapter (DynamoDB, reqwest, Secrets Manager).
//! - [`config`] and [`wiring`]: the environment, and the production clients
//!   (and the metrics recorder) built from it in one place.
//! - [`lazy_http`]: the HTTP client of HeyGen and of the copies, built on first
//!   use rather than at start-up.
//! - [`metrics`]: the names of the contract's metrics, through the `metrics` facade.
//! - [`http`] (feature `http`): the API Gateway glue of the HTTP functions, the
//!   only module that names a Lambda type.
//! - [`testkit`] (feature `testkit`): in-memory fakes of the three ports, for
//!   tests only.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod archive;
pub mod config;
pub mod domain;
pub mod error_chain;
pub mod heygen;
#[cfg(feature = "http")]
pub mod http;
pub mod lazy_http;
pub mod metrics;
pub mod secret;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wiring;
