//! `GET /admin/content-production/heygen`: the renders in flight (`requested`
//! or `pending`) and the render queue, and with `?refresh=true` a
//! reconciliation by polling HeyGen (section 2).

use serde::Serialize;

use super::apply_status::Applied;
use super::reconcile::{Checked, Reconciliation};
use super::refill::Freed;
use super::{ApiError, Deps, Invocation, Ports, Stop};
use crate::domain::{ContentItem, JobStatus};
use crate::error_chain::ErrorChain;
use crate::store::{FlightStore, QueueStore, ReadStore, StoreError};

/// `refresh` from the query string: absent, `false` or `true`; anything else
/// (a repeated parameter included) is 400 naming the field.
pub fn parse_refresh(values: &[&str]) -> Result<bool, ApiError> {
    match values {
        [] | ["false"] => Ok(false),
        ["true"] => Ok(true),
        _ => Err(ApiError::invalid(Some("refresh"), "refresh must be true or false")),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InFlightEntry {
    pub content_id: String,
    pub video_id: Option<String>,
    pub creator_id: Option<String>,
    pub mode: String,
    pub date: String,
    pub status: String,
    pub requested_at: Option<String>,
}

impl From<&ContentItem> for InFlightEntry {
    fn from(item: &ContentItem) -> Self {
        Self {
            content_id: item.content_id.clone(),
            video_id: item.heygen_video_id.clone(),
            creator_id: item.assigned_creator_id.clone(),
            mode: item.mode.to_string(),
            date: item.date.clone(),
            status: item.heygen_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
            requested_at: item.heygen_requested_at.map(|at| at.to_string()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RefreshCounts {
    pub completed: usize,
    pub failed: usize,
    pub still_pending: usize,
    pub unchecked: usize,
    /// Why the refresh stopped before the end: `deadline`, or the code of HeyGen
    /// (or DynamoDB) failing; `null` when every pending video was asked about.
    pub stopped: Option<Stop>,
}

/// An item waiting in the render queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueuedEntry {
    pub content_id: String,
    pub creator_id: Option<String>,
    pub mode: String,
    pub date: String,
    pub queued_at: Option<String>,
}

impl From<&ContentItem> for QueuedEntry {
    fn from(item: &ContentItem) -> Self {
        Self {
            content_id: item.content_id.clone(),
            creator_id: item.assigned_creator_id.clone(),
            mode: item.mode.to_string(),
            date: item.date.clone(),
            queued_at: item.heygen_queued_at.map(|at| at.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InFlightReport {
    pub count: usize,
    pub pending: Vec<InFlightEntry>,
    /// The render queue, in the order it will be worked.
    pub queued: Vec<QueuedEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshed: Option<RefreshCounts>,
}

/// Lists what is in flight, oldest request first; with `refresh`, asks HeyGen
/// about each pending video first (in bulk, see [`Reconciliation`]) and applies
/// its answers.
pub async fn list_in_flight<P: Ports>(
    deps: &Deps<P>,
    refresh: bool,
    invocation: &Invocation,
) -> Result<InFlightReport, ApiError> {
    let items = deps.store.list_in_flight().await?;
    let queued: Vec<QueuedEntry> = deps.store.list_queued().await?.iter().map(QueuedEntry::from).collect();
    if !refresh {
        return Ok(report(&items, queued, None));
    }
    let api_key = deps.api_key().await?;
    let mut counts = RefreshCounts::default();
    let mut still = Vec::new();
    let mut requeued = false;
    let ids: Vec<&str> = items
        .iter()
        .filter(|item| item.status_is(JobStatus::Pending))
        .filter_map(|item| item.heygen_video_id.as_deref())
        .collect();
    let reconciliation = match Reconciliation::begin(deps, &api_key, &ids, invocation).await {
        Ok(reconciliation) => Some(reconciliation),
        Err(code) => {
            counts.stopped = Some(code);
            None
        }
    };
    for item in items {
        let (Some(reconciliation), Some(video_id), true, None) =
            (&reconciliation, item.heygen_video_id.clone(), item.status_is(JobStatus::Pending), &counts.stopped)
        else {
            // `requested` (no video id yet), or the refresh has stopped.
            counts.unchecked += 1;
            still.push(item);
            continue;
        };
        match reconciliation.check(&item, &video_id).await {
            Ok(Checked::Stopped(code)) => {
                counts.stopped = Some(code);
                counts.unchecked += 1;
                still.push(item);
            }
            Ok(Checked::Applied(Applied::Completed)) => counts.completed += 1,
            Ok(Checked::Applied(Applied::Failed)) => counts.failed += 1,
            // HeyGen failed it; it is queued again under the next attempt.
            Ok(Checked::Applied(Applied::Retried)) => {
                counts.failed += 1;
                requeued = true;
            }
            Ok(Checked::NotFound) => {
                // A refresh's 404 leaves the item pending (the worker gives a lost
                // render up, section 11).
                tracing::warn!(content_id = %item.content_id, video_id, "HeyGen does not know this video; left pending");
                counts.still_pending += 1;
                still.push(item);
            }
            Ok(Checked::Applied(Applied::StillPending) | Checked::Unusable) => {
                counts.still_pending += 1;
                still.push(item);
            }
            Ok(Checked::Settled) => {
                // Settled meanwhile (a webhook): count it as it now stands.
                match deps.store.get_content(&item.content_id).await {
                    Ok(Some(now)) if now.is_pending() => {
                        counts.still_pending += 1;
                        still.push(now);
                    }
                    Ok(Some(now)) if matches!(now.heygen_status, Some(JobStatus::Failed | JobStatus::Queued)) => {
                        counts.failed += 1
                    }
                    Ok(_) => counts.completed += 1,
                    Err(err) => storage_stopped(&mut counts, &mut still, item, &err),
                }
            }
            Err(err) => storage_stopped(&mut counts, &mut still, item, &err),
        }
    }
    // One wake for the whole refresh, after its writes (section 9).
    if counts.completed + counts.failed > 0 {
        super::refill::wake_worker(deps, Freed::Refresh, requeued).await;
    }
    tracing::info!(
        completed = counts.completed,
        failed = counts.failed,
        still_pending = counts.still_pending,
        unchecked = counts.unchecked,
        stopped = counts.stopped.map_or("none", Stop::as_str),
        "refresh finished"
    );
    Ok(report(&still, queued, Some(counts)))
}

/// DynamoDB failing stops the refresh; the item stays listed, unchecked.
fn storage_stopped(counts: &mut RefreshCounts, still: &mut Vec<ContentItem>, item: ContentItem, err: &StoreError) {
    tracing::error!(content_id = %item.content_id, error = %ErrorChain(err), "refresh stopped: DynamoDB failing");
    counts.stopped = Some(Stop::StorageUnavailable);
    counts.unchecked += 1;
    still.push(item);
}

fn report(items: &[ContentItem], queued: Vec<QueuedEntry>, refreshed: Option<RefreshCounts>) -> InFlightReport {
    let pending: Vec<InFlightEntry> = items.iter().map(InFlightEntry::from).collect();
    InFlightReport { count: pending.len(), pending, queued, refreshed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_true_false_or_absent() {
        assert!(!parse_refresh(&[]).unwrap());
        assert!(!parse_refresh(&["false"]).unwrap());
        assert!(parse_refresh(&["true"]).unwrap());
        for bad in [&["TRUE"][..], &["1"], &["yes"], &[""], &["true", "true"]] {
            let err = parse_refresh(bad).unwrap_err();
            assert_eq!(err.field(), Some("refresh"), "{bad:?}");
        }
    }
}
