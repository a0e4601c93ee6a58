//! The HeyGen pipeline's library, in layers (see `docs/architecture.md`). Where
//! the code cites "contract section N", it means `docs/contract.md`, section N:
//! what the world outside relies on.
//!
//! ```text
//! domain/      the rules and values of the contract: content items and their job
//!              states, creators, months, settings, render slots, timestamps,
//!              back-offs; no I/O
//! app/         the use cases over the ports: trigger (and cancel), in_flight (the
//!              listing and its refresh), progress (the month at a glance),
//!              webhook, worker (one tick); refill (waking the worker); the steps
//!              they share: dispatch (queued item -> HeyGen video), reconcile
//!              (pending renders asked about and decided), bulk_status (many
//!              states in one call), apply_status (HeyGen's answer applied),
//!              copies (the worker's durable copies); the one error enum, the
//!              admin check, pacing, which HeyGen answers stop a batch or back
//!              off (heygen_policy)
//! store/       port (six section traits) + DynamoDB adapter: the three tables
//! heygen/      port + reqwest adapter: HeyGen v3 (create, status, bulk states)
//! secret/      port + Secrets Manager adapter: the API key and webhook secret
//! archive/     port + S3 adapter: streaming a video into the bucket
//! refill/      port: the worker woken when a render slot frees (its Lambda
//!              adapter is the crate lambda-waker, linked by the functions that wake it)
//! config.rs    the environment, read once
//! wiring.rs    the production clients, the metrics recorder
//! metrics.rs   the contract's metrics, through the `metrics` facade
//! lazy_http.rs an HTTP client built on first use
//! error_chain.rs  an error with its sources, for the one log line
//! http.rs      (feature `http`) API Gateway glue
//! lambda.rs    (features `http`, `events`) every function's entry point: start-up,
//!              the runtime's loop, the metrics flushed after each invocation;
//!              with http.rs, the only modules naming a Lambda type
//! testkit/     (feature `testkit`) fakes of the ports, for tests only
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod archive;
pub mod config;
pub mod domain;
pub mod error_chain;
pub mod heygen;
#[cfg(feature = "http")]
pub mod http;
#[cfg(any(feature = "http", feature = "events"))]
pub mod lambda;
pub mod lazy_http;
pub mod metrics;
pub mod refill;
pub mod secret;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wiring;
