//! Refill on completion (contract section 9) behind a port: a function whose write
//! freed a render slot while items are queued wakes the worker at once, rather
//! than leaving the slot idle until the schedule's next tick. The Lambda adapter
//! (an asynchronous `Invoke`) is the crate `lambda-waker`, linked only by the
//! functions that wake the worker.
//!
//! Waking is best effort: the invoked tick is an ordinary tick, and a wake that
//! fails changes nothing (the schedule still ticks).

use crate::archive::BoxFuture;

#[derive(Debug, thiserror::Error)]
#[error("the worker could not be invoked")]
pub struct WakeError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Starts a worker tick without waiting for it.
pub trait WakeWorker: Send + Sync {
    /// Asks for a tick; `reason` travels in its payload (for its log). Returns
    /// once the request is accepted, not when the tick is done.
    fn wake<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), WakeError>>;
}
