//! The worker's durable copies (contract section 8): each completed video not yet
//! copied is streamed from HeyGen's link into the video bucket, then attached
//! (`creator_video_url` = the bucket's public URL, `status` = `submitted`), unless
//! the platform attached a video of its own meanwhile. An expired link is
//! refreshed through HeyGen's status call and the copy tried again; a failed copy
//! is counted on the item, logged, measured, and retried on later ticks.

use tokio::time::Instant;

use super::heygen_policy::ask_status;
use super::{Deps, Ports};
use crate::archive::{ArchiveError, VideoArchive, video_key, video_url};
use crate::domain::{ContentItem, Timestamp};
use crate::error_chain::ErrorChain;
use crate::heygen::RenderState;
use crate::secret::SecretString;
use crate::store::{Store, StoreError};

/// What a tick's copies did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copies {
    pub archived: usize,
    pub failed: usize,
    /// Time ran short before every waiting video was copied.
    pub deadline: bool,
}

/// Copies the waiting videos, oldest completion first, while time allows.
pub async fn copy_videos<P: Ports>(
    deps: &Deps<P>,
    api_key: &SecretString,
    start_until: Instant,
    heygen_deadline: Instant,
) -> Result<Copies, StoreError> {
    let mut copies = Copies::default();
    let (Some(archive), Some(config)) = (&deps.archive, &deps.config.archive) else {
        return Ok(copies);
    };
    for item in deps.store.list_unarchived().await? {
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
        match copy_one(deps, archive.as_ref(), api_key, &item, video_id, &key, heygen_deadline).await {
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
                tracing::error!(content_id = %item.content_id, video_id, key, error = %ErrorChain(&err), "video not copied; the next tick tries again");
                copies.failed += 1;
                match deps.store.archive_failed(&item.content_id, video_id, &err.to_string()).await {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(err) => return Err(err),
                }
            }
        }
    }
    Ok(copies)
}

/// One copy, from the stored link or, once it has expired, a fresh one.
async fn copy_one<P: Ports>(
    deps: &Deps<P>,
    archive: &dyn VideoArchive,
    api_key: &SecretString,
    item: &ContentItem,
    video_id: &str,
    key: &str,
    heygen_deadline: Instant,
) -> Result<u64, ArchiveError> {
    if let Some(url) = item.heygen_video_url.as_deref() {
        match archive.copy(url, key).await {
            Err(ArchiveError::LinkExpired { status }) => {
                tracing::info!(content_id = %item.content_id, video_id, status, "HeyGen's link has expired; asking for a fresh one");
            }
            other => return other,
        }
    }
    let status = ask_status(&deps.heygen, api_key, video_id, heygen_deadline)
        .await
        .map_err(|err| ArchiveError::Download(Box::new(err)))?;
    match (status.state, status.video_url.filter(|u| !u.is_empty())) {
        (RenderState::Completed, Some(fresh)) => archive.copy(&fresh, key).await,
        _ => Err(ArchiveError::LinkExpired { status: 404 }),
    }
}
