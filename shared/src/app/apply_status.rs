//! Applying HeyGen's answer about a video to its item: the one code path the
//! webhook and `?refresh=true` share (contract 6.3, step 3).

use crate::domain::{ContentItem, Outcome, Timestamp};
use crate::heygen::VideoStatus;
use crate::store::{Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Completed,
    Failed,
    /// HeyGen is still rendering (or said completed without a URL): left pending.
    StillPending,
}

/// Acts on HeyGen's answer alone: completed -> the video is attached (with
/// `attach`; without, it waits for its durable copy, section 8); failed -> the
/// failure is recorded (an error-level log line); otherwise nothing changes.
/// Conditional on the item still being pending with this video: a stale or
/// duplicate answer is [`StoreError::Conflict`].
pub async fn apply_status<S: Store>(
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
    store.apply_outcome(&item.content_id, video_id, &outcome, Timestamp::now(), attach).await?;
    match outcome {
        Outcome::Completed { .. } => {
            crate::metrics::render_completed();
            tracing::info!(content_id = %item.content_id, video_id, "video completed and attached");
            Ok(Applied::Completed)
        }
        Outcome::Failed { message } => {
            crate::metrics::render_failed();
            tracing::error!(content_id = %item.content_id, video_id, reason = %message, "HeyGen render failed");
            Ok(Applied::Failed)
        }
    }
}
