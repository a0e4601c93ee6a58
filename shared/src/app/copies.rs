//! The worker's durable copies (contract sections 8 and 11): each completed video
//! not yet copied is streamed from HeyGen's link into the video bucket, then
//! attached (`creator_video_url` = the bucket's public URL, `status` =
//! `submitted`), unless the platform attached a video of its own meanwhile. An
//! expired link is refreshed through HeyGen's status call and the copy tried
//! again.
//!
//! No copy outlives the tick: each runs against the copy deadline (the tick's
//! deadline less its start margin) and one cut short is abandoned (its upload
//! aborted) and counted as failed. A failed copy is counted on the item, logged,
//! measured, and waits a back-off (`heygen_retry_at`: 1 minute doubling to an
//! hour) during which the other copies go first.

use tokio::time::Instant;

use super::heygen_policy::ask_status;
use super::{Deps, Invocation, Ports};
use crate::archive::{ArchiveError, VideoArchive, loggable_url, video_key, video_url};
use crate::domain::{Backoff, ContentItem, Timestamp};
use crate::error_chain::ErrorChain;
use crate::heygen::RenderState;
use crate::secret::SecretString;
use crate::store::{ArchiveStore, LostRace, StoreError};

/// What a tick's copies did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copies {
    pub archived: usize,
    pub failed: usize,
    /// Copies passed over while they wait out a back-off.
    pub waiting: usize,
    /// Time ran short before every waiting video was copied.
    pub deadline: bool,
}

/// Copies the waiting videos, oldest completion first, while time allows; those
/// backing off after a failure are passed over.
pub async fn copy_videos<P: Ports>(
    deps: &Deps<P>,
    api_key: &SecretString,
    invocation: &Invocation,
) -> Result<Copies, StoreError> {
    let mut copies = Copies::default();
    let (Some(archive), Some(config)) = (&deps.archive, &deps.config.archive) else {
        return Ok(copies);
    };
    let copy_deadline = invocation.start_until(&deps.timing);
    let start_until = copy_deadline.checked_sub(deps.timing.min_copy_time).unwrap_or(copy_deadline);
    let heygen_deadline = invocation.heygen_deadline(&deps.timing).min(copy_deadline);
    for item in deps.store.list_unarchived().await? {
        if item.backing_off(Timestamp::now()) {
            copies.waiting += 1;
            continue;
        }
        if Instant::now() >= start_until {
            copies.deadline = true;
            break;
        }
        let Some(video_id) = item.heygen_video_id.as_deref() else { continue };
        let key = video_key(&item.content_id, video_id);
        let Some(public_url) = video_url(&config.base_url, &item.content_id, video_id) else {
            tracing::error!(base_url = %config.base_url, "VIDEO_BASE_URL is not a URL; nothing is copied");
            break;
        };
        let deadlines = Deadlines { heygen: heygen_deadline, copy: copy_deadline };
        match copy_one(deps, archive, api_key, &item, &key, deadlines).await {
            Ok(size) => {
                match deps.store.archive_done(&item.content_id, video_id, &public_url, Timestamp::now()).await {
                    Ok(()) => {
                        crate::metrics::video_archived();
                        tracing::info!(content_id = %item.content_id, video_id, key, size, "video copied and attached");
                        copies.archived += 1;
                    }
                    // Recorded by an overlapping tick, or the video changed: nothing to do.
                    Err(StoreError::Conflict) => {}
                    Err(err) => return Err(err),
                }
            }
            Err(err) => {
                crate::metrics::archive_failed();
                let backoff = Backoff::after(item.heygen_archive_attempts, Timestamp::now());
                let (attempts, retry_at) = (backoff.failures, backoff.until);
                tracing::error!(
                    content_id = %item.content_id, video_id, key, attempts, retry_at = %retry_at,
                    error = %ErrorChain(&err), "video not copied; tried again after a back-off"
                );
                copies.failed += 1;
                deps.store
                    .archive_failed(&item.content_id, video_id, &err.to_string(), retry_at)
                    .await
                    .or_lost_race()?;
            }
        }
    }
    Ok(copies)
}

/// When HeyGen's status call, and the whole copy, must have ended.
#[derive(Clone, Copy)]
struct Deadlines {
    heygen: Instant,
    copy: Instant,
}

/// One copy, from the stored link or, once it has expired, a fresh one.
async fn copy_one<P: Ports>(
    deps: &Deps<P>,
    archive: &P::Archive,
    api_key: &SecretString,
    item: &ContentItem,
    key: &str,
    deadlines: Deadlines,
) -> Result<u64, ArchiveError> {
    let video_id = item.heygen_video_id.as_deref().unwrap_or_default();
    if let Some(url) = item.heygen_video_url.as_deref() {
        match archive.copy(url, key, deadlines.copy).await {
            Err(ArchiveError::LinkExpired { status }) => {
                // The link's host and path only: its query is a credential.
                let link = loggable_url(url);
                tracing::info!(content_id = %item.content_id, video_id, status, link, "HeyGen's link has expired; asking for a fresh one");
            }
            other => return other,
        }
    }
    let status = ask_status(&deps.heygen, api_key, video_id, deadlines.heygen)
        .await
        .map_err(|err| ArchiveError::Download(Box::new(err)))?;
    match (status.state, status.video_url.filter(|u| !u.is_empty())) {
        (RenderState::Completed, Some(fresh)) => archive.copy(&fresh, key, deadlines.copy).await,
        _ => Err(ArchiveError::LinkExpired { status: 404 }),
    }
}
