//! Reconciling pending renders with HeyGen: the one path the worker's step 1
//! and the listing's `?refresh=true` share (contract sections 2 and 9). HeyGen
//! is asked about the renders in bulk ([`BulkStatus`]), then each answer is decided
//! and, when final, applied exactly as the webhook does ([`apply_status`]).
//! What the caller counts, marks and when it stops asking are its own.

use tokio::time::Instant;

use super::Stop;
use super::apply_status::{Applied, apply_status};
use super::bulk_status::BulkStatus;
use super::heygen_policy::is_about_one_video;
use super::{Deps, Invocation, Ports};
use crate::domain::ContentItem;
use crate::error_chain::ErrorChain;
use crate::heygen::HeygenError;
use crate::secret::SecretString;
use crate::store::StoreError;

/// What became of one pending render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// HeyGen's answer, applied (or, still rendering, nothing to apply).
    Applied(Applied),
    /// HeyGen does not know the video (404, `not_found`): left pending.
    NotFound,
    /// HeyGen refused to say or answered unreadably, about this video alone
    /// (marking it failed would pay for a second video): left pending.
    Unusable,
    /// Settled meanwhile (a webhook): the write's condition no longer held.
    Settled,
    /// Asking stops: the deadline, or HeyGen refusing the key or failing
    /// after retries (the code says which).
    Stopped(Stop),
}

/// One reconciliation: the bulk survey, the key and the time rules.
pub struct Reconciliation<'a, P: Ports> {
    deps: &'a Deps<P>,
    api_key: &'a SecretString,
    survey: BulkStatus,
    start_until: Instant,
    heygen_deadline: Instant,
}

impl<'a, P: Ports> Reconciliation<'a, P> {
    /// Surveys `video_ids` in bulk. `Err` carries the code that stops it before
    /// any video is asked about (`deadline`, or HeyGen failing).
    pub async fn begin(
        deps: &'a Deps<P>,
        api_key: &'a SecretString,
        video_ids: &[&str],
        invocation: &Invocation,
    ) -> Result<Self, Stop> {
        let start_until = invocation.start_until(&deps.timing);
        let heygen_deadline = invocation.heygen_deadline(&deps.timing);
        let survey = if video_ids.is_empty() {
            BulkStatus::default()
        } else if Instant::now() >= start_until {
            return Err(Stop::Deadline);
        } else {
            BulkStatus::take(&deps.heygen, api_key, video_ids, heygen_deadline).await.map_err(|err| {
                let stop = Stop::of(&err);
                tracing::error!(videos = video_ids.len(), code = %stop, error = %ErrorChain(&err), "reconciling stopped: HeyGen failing");
                stop
            })?
        };
        Ok(Self { deps, api_key, survey, start_until, heygen_deadline })
    }

    /// Asks about `item`'s render of `video_id` (from the survey when it is
    /// enough) and applies a final answer. `Err` only for DynamoDB failing.
    pub async fn check(&self, item: &ContentItem, video_id: &str) -> Result<Checked, StoreError> {
        if Instant::now() >= self.start_until {
            return Ok(Checked::Stopped(Stop::Deadline));
        }
        let deps = self.deps;
        let status = match self.survey.status(&deps.heygen, self.api_key, video_id, self.heygen_deadline).await {
            Ok(status) => status,
            Err(HeygenError::NotFound) => return Ok(Checked::NotFound),
            Err(err) if is_about_one_video(&err) => {
                tracing::warn!(content_id = %item.content_id, video_id, error = %ErrorChain(&err), "HeyGen's status of this video is not usable; left pending");
                return Ok(Checked::Unusable);
            }
            Err(err) => {
                let stop = Stop::of(&err);
                tracing::error!(content_id = %item.content_id, video_id, code = %stop, error = %ErrorChain(&err), "reconciling stopped: HeyGen failing");
                return Ok(Checked::Stopped(stop));
            }
        };
        match apply_status(&deps.store, item, video_id, &status, deps.config.archive.is_none()).await {
            Ok(applied) => Ok(Checked::Applied(applied)),
            Err(StoreError::Conflict) => Ok(Checked::Settled),
            Err(err) => Err(err),
        }
    }
}
