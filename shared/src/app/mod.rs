//! The application layer: one module per use case over the ports, with the one
//! error enum that maps onto the contract's codes, the admin check and pacing.
//!
//! Use cases: `trigger` (a month into the queue and the first renders; cancel),
//! `in_flight` (what is in flight and queued, and the refresh that polls
//! HeyGen), `progress` (the month at a glance), `refill` (the worker woken when a
//! render slot frees), `webhook` (HeyGen's notice), `worker` (one tick: reconcile, recover,
//! dispatch, copy). Shared steps: `dispatch` (a queued item to a HeyGen video,
//! within the render slots: the trigger and the worker), `reconcile` (pending
//! renders asked about and decided: the refresh and the worker), `bulk_status`
//! (many renders' states in few calls, for `reconcile`), `apply_status`
//! (HeyGen's answer applied to an item: the webhook, the refresh and the
//! worker), `copies` (the worker's durable copies, through the `archive` port).
//! Policy lives here, not in the adapters: which HeyGen answers stop a batch or
//! back off and which contract code an error becomes (`heygen_policy`, `error`).
//!
//! In flight: an item `requested` or `pending` (contract section 3). The code
//! says "in flight" throughout; only the contract's own names say "pending" (the
//! function `admin-pending`, the listing's `pending` array).
//!
//! May use `domain` and the ports (the store's sections, `secret::SecretSource`,
//! `heygen::Heygen`, `archive::VideoArchive`); names no adapter and no Lambda or
//! HTTP type.

pub mod admin;
pub mod apply_status;
pub mod bulk_status;
pub mod copies;
mod deps;
pub mod dispatch;
mod error;
pub mod heygen_policy;
pub mod in_flight;
pub mod pacing;
pub mod progress;
pub mod reconcile;
pub mod refill;
mod stop;
pub mod trigger;
pub mod webhook;
pub mod worker;

pub use deps::{Deps, Invocation, Ports, Timing};
pub use error::ApiError;
pub use stop::Stop;
