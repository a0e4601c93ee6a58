//! Refill on completion (contract section 9): a function whose write took an item
//! out of flight wakes the worker, at most once per invocation and after its own
//! write, when items are queued; the woken tick fills the freed slot at once
//! rather than at the schedule's next tick. Why the worker and not the function
//! itself creates the next render: `docs/design.md`.

use super::{Deps, Ports};
use crate::error_chain::ErrorChain;
use crate::store::QueueStore;

/// Why the worker was woken, in its payload and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freed {
    /// HeyGen's notice settled a render.
    Webhook,
    /// An admin's refresh settled renders.
    Refresh,
}

impl Freed {
    fn as_str(self) -> &'static str {
        match self {
            Freed::Webhook => "webhook",
            Freed::Refresh => "refresh",
        }
    }
}

/// Wakes the worker if one is configured and items wait in the queue
/// (`requeued`: this invocation put one there, so no need to look). Best effort:
/// a failed look or invoke is logged and changes nothing. Returns whether the
/// worker was woken.
pub async fn wake_worker<P: Ports>(deps: &Deps<P>, freed: Freed, requeued: bool) -> bool {
    let Some(worker) = &deps.worker else {
        return false;
    };
    if !requeued {
        match deps.store.count_queued().await {
            Ok(0) => return false,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %ErrorChain(&err), "the queue could not be read; the schedule will feed it");
                return false;
            }
        }
    }
    match worker.wake(freed.as_str()).await {
        Ok(()) => {
            tracing::info!(freed_by = freed.as_str(), "worker woken to fill the freed render slot");
            true
        }
        Err(err) => {
            tracing::warn!(error = %ErrorChain(&err), "the worker could not be woken; the schedule will feed the queue");
            false
        }
    }
}
