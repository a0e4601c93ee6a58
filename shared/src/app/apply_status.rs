//! Applying HeyGen's answer about a video to its item: the one code path the
//! webhook, the refresh and the worker share (contract 6.3, step 3, and the
//! retry of a failed render, section 11).

use crate::domain::{ContentItem, Outcome, Timestamp};
use crate::heygen::VideoStatus;
use crate::store::{FlightStore, ReadStore, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Completed,
    /// Failed for good: `failed`, an error-level log line.
    Failed,
    /// Failed with attempts left: back to the queue under the next attempt.
    Retried,
    /// HeyGen is still rendering (or said completed without a URL): left pending.
    StillPending,
}

impl Applied {
    /// Whether the write took the item out of flight (its slot freed).
    pub fn left_flight(&self) -> bool {
        !matches!(self, Applied::StillPending)
    }
}

/// Acts on HeyGen's answer alone: completed -> the video is attached (with
/// `attach`; without, it waits for its durable copy, section 8); failed -> back
/// to the queue while the failed attempt is below `heygen_max_render_attempts`
/// (the settings are read only then), else recorded as failed (an error-level
/// log line); otherwise nothing changes. Conditional on the item still being
/// pending with this video: a stale or duplicate answer is
/// [`StoreError::Conflict`].
pub async fn apply_status<S: ReadStore + FlightStore>(
    store: &S,
    item: &ContentItem,
    video_id: &str,
    status: &VideoStatus,
    attach: bool,
) -> Result<Applied, StoreError> {
    let Some(outcome) = status.outcome() else {
        tracing::info!(content_id = %item.content_id, video_id, state = ?status.state, "still rendering");
        return Ok(Applied::StillPending);
    };
    let outcome = match outcome {
        Outcome::Failed { message } if retries_left(store, item).await? => Outcome::Retry { message },
        other => other,
    };
    apply_outcome(store, item, video_id, outcome, attach).await
}

/// Writes a final answer (or a retry) and counts it.
pub async fn apply_outcome<S: ReadStore + FlightStore>(
    store: &S,
    item: &ContentItem,
    video_id: &str,
    outcome: Outcome,
    attach: bool,
) -> Result<Applied, StoreError> {
    store.apply_outcome(item, video_id, &outcome, Timestamp::now(), attach).await?;
    let attempt = item.next_attempt();
    match outcome {
        Outcome::Completed { duration, .. } => {
            crate::metrics::render_completed();
            if let Some(reserved) = item.heygen_reserved_seconds {
                crate::metrics::rendered_seconds(crate::domain::billed_seconds(duration, reserved));
            }
            tracing::info!(content_id = %item.content_id, video_id, "video completed");
            Ok(Applied::Completed)
        }
        Outcome::Failed { message } => {
            crate::metrics::render_failed();
            tracing::error!(content_id = %item.content_id, video_id, attempt, reason = %message, "HeyGen render failed");
            Ok(Applied::Failed)
        }
        Outcome::Retry { message } => {
            crate::metrics::render_failed();
            tracing::warn!(
                content_id = %item.content_id, video_id, attempt, reason = %message,
                "HeyGen render failed; queued again under the next attempt"
            );
            Ok(Applied::Retried)
        }
    }
}

/// Whether a render that just failed is tried again: the renders HeyGen started
/// and that failed, this one included, are below the setting (refused creates
/// do not count, amendment to 6.1 and 11), and the item has a place in the queue.
async fn retries_left<S: ReadStore + FlightStore>(store: &S, item: &ContentItem) -> Result<bool, StoreError> {
    if item.heygen_queue_order.is_none() {
        return Ok(false);
    }
    Ok(item.renders_failed().saturating_add(1) < store.settings().await?.max_render_attempts)
}
