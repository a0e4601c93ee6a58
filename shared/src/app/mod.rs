//! The application layer: one module per use case over the ports, with the one
//! error enum that maps onto the contract's codes, the admin check and pacing.
//!
//! Use cases: `trigger` (a month into renders), `in_flight` (what is pending,
//! and the refresh that polls HeyGen), `webhook` (HeyGen's notice) and
//! `apply_status` (applying HeyGen's answer to an item: the webhook and the
//! refresh share it), `survey` (many pending renders' states in few calls: the
//! worker's reconciliation and the refresh share it). Policy lives here, not in the adapters: which HeyGen
//! answers stop a batch and which contract code an error becomes
//! (`heygen_policy`, `error`).
//!
//! May use `domain` and the ports (`store::Store`, `secret::SecretSource`,
//! `heygen::Heygen`); names no adapter and no Lambda or HTTP type.

pub mod admin;
pub mod apply_status;
pub mod archive;
mod deps;
pub mod dispatch;
mod error;
pub mod heygen_policy;
pub mod in_flight;
pub mod pacing;
pub mod survey;
pub mod trigger;
pub mod webhook;
pub mod worker;

pub use deps::{Deps, Invocation, Ports, Timing};
pub use error::ApiError;
