//! Learning what became of many pending renders in few HeyGen calls (contract
//! section 9, step 1): one `GET /v3/videos/statuses` per 100 videos, then
//! `GET /v3/videos/{id}` only for the videos that completed (the bulk answer has
//! no URLs) and for those the bulk answer left out. A reconciliation of N
//! pending renders thus costs ceil(N/100) calls plus one per completed render.

use std::collections::HashMap;

use tokio::time::Instant;

use super::heygen_policy::{ask_status, count, is_about_one_video};
use crate::error_chain::ErrorChain;
use crate::heygen::{Heygen, HeygenError, MAX_STATES_PER_CALL, RenderState, VideoState, VideoStatus};
use crate::secret::SecretString;

/// HeyGen's bulk answer about a set of videos.
#[derive(Debug, Default)]
pub struct BulkStatus {
    states: HashMap<String, VideoState>,
}

impl BulkStatus {
    /// Asks about `video_ids`, 100 to a call. A call refused or unreadable (a
    /// HeyGen without the bulk endpoint answers 404) leaves its ids unknown, to be
    /// asked one by one; a failure that stops the caller (the key refused, HeyGen
    /// failing after retries, the deadline) is returned.
    pub async fn take(
        heygen: &impl Heygen,
        api_key: &SecretString,
        video_ids: &[&str],
        deadline: Instant,
    ) -> Result<Self, HeygenError> {
        let mut states = HashMap::new();
        for ids in video_ids.chunks(MAX_STATES_PER_CALL) {
            match heygen.video_states(api_key, ids, deadline).await {
                Ok(answer) => states.extend(answer.into_iter().map(|state| (state.video_id.clone(), state))),
                Err(err) => {
                    count(&err);
                    if !is_about_one_video(&err) {
                        return Err(err);
                    }
                    tracing::warn!(videos = ids.len(), error = %ErrorChain(&err), "HeyGen's bulk statuses not usable; asking about these videos one by one");
                }
            }
        }
        Ok(Self { states })
    }

    /// The video's status: from the survey when that is enough (still rendering,
    /// failed, unknown to HeyGen: a 404's [`HeygenError::NotFound`]), else asked of
    /// HeyGen (completed, for its URLs; or left out of the survey).
    pub async fn status(
        &self,
        heygen: &impl Heygen,
        api_key: &SecretString,
        video_id: &str,
        deadline: Instant,
    ) -> Result<VideoStatus, HeygenError> {
        match self.states.get(video_id) {
            Some(VideoState { state: None, .. }) => {
                let err = HeygenError::NotFound;
                count(&err);
                Err(err)
            }
            Some(known @ VideoState { state: Some(state), .. }) if *state != RenderState::Completed => {
                Ok(VideoStatus {
                    video_id: video_id.to_string(),
                    state: *state,
                    video_url: None,
                    thumbnail_url: None,
                    failure_code: known.failure_code.clone(),
                    failure_message: known.failure_message.clone(),
                    duration: None,
                })
            }
            _ => ask_status(heygen, api_key, video_id, deadline).await,
        }
    }
}
