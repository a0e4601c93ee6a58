//! `GET /admin/content-production/heygen`: the renders in flight (`requested`
//! or `pending`) and the render queue, and with `?refresh=true` a
//! reconciliation by polling HeyGen (section 2).

use serde::Serialize;
use tokio::time::Instant;

use super::apply_status::{Applied, apply_status};
use super::heygen_policy::{is_about_one_video, stop_code};
use super::survey::Survey;
use super::{ApiError, Deps, Invocation, Ports};
use crate::domain::{ContentItem, JobStatus};
use crate::error_chain::ErrorChain;
use crate::store::{Store, StoreError};

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
            mode: item.mode.clone(),
            date: item.date.clone(),
            status: item.heygen_status.clone().unwrap_or_default(),
            requested_at: item.heygen_requested_at.clone(),
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
    pub stopped: Option<String>,
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
            mode: item.mode.clone(),
            date: item.date.clone(),
            queued_at: item.heygen_queued_at.clone(),
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
/// about each pending video first (in bulk, see [`Survey`]) and applies its
/// answers.
pub async fn list_in_flight<P: Ports>(
    deps: &Deps<P>,
    refresh: bool,
    invocation: &Invocation,
) -> Result<InFlightReport, ApiError> {
    let items = deps.store.list_pending().await?;
    let queued: Vec<QueuedEntry> = deps.store.list_queued().await?.iter().map(QueuedEntry::from).collect();
    if !refresh {
        return Ok(report(&items, queued, None));
    }
    let api_key = deps.api_key().await?;
    let start_until = invocation.start_until(&deps.timing);
    let heygen_deadline = invocation.heygen_deadline(&deps.timing);
    let mut counts = RefreshCounts::default();
    let mut still = Vec::new();
    let ids: Vec<&str> = items
        .iter()
        .filter(|item| item.job_status() == Ok(Some(JobStatus::Pending)))
        .filter_map(|item| item.heygen_video_id.as_deref())
        .collect();
    let survey = if ids.is_empty() || Instant::now() >= start_until {
        Survey::default()
    } else {
        match Survey::take(&deps.heygen, &api_key, &ids, heygen_deadline).await {
            Ok(survey) => survey,
            Err(err) => {
                let code = stop_code(&err);
                tracing::error!(videos = ids.len(), code, error = %ErrorChain(&err), "refresh stopped: HeyGen failing");
                counts.stopped = Some(code.to_string());
                Survey::default()
            }
        }
    };
    for item in items {
        let video_id = match (&item.heygen_video_id, item.job_status()) {
            (Some(id), Ok(Some(JobStatus::Pending))) if counts.stopped.is_none() => id.clone(),
            _ => {
                // `requested` (no video id yet), or the refresh has stopped.
                counts.unchecked += 1;
                still.push(item);
                continue;
            }
        };
        if Instant::now() >= start_until {
            counts.stopped = Some("deadline".to_string());
            counts.unchecked += 1;
            still.push(item);
            continue;
        }
        let status = match survey.status(&deps.heygen, &api_key, &video_id, heygen_deadline).await {
            Ok(status) => status,
            Err(err) if is_about_one_video(&err) => {
                // Marking it failed would pay for a second video; the others go on.
                tracing::warn!(content_id = %item.content_id, video_id, error = %ErrorChain(&err), "HeyGen's status of this video is not usable; left pending");
                counts.still_pending += 1;
                still.push(item);
                continue;
            }
            Err(err) => {
                let code = stop_code(&err);
                tracing::error!(content_id = %item.content_id, video_id, code, error = %ErrorChain(&err), "refresh stopped: HeyGen failing");
                counts.stopped = Some(code.to_string());
                counts.unchecked += 1;
                still.push(item);
                continue;
            }
        };
        match apply_status(&deps.store, &item, &video_id, &status, deps.config.archive.is_none()).await {
            Ok(Applied::Completed) => counts.completed += 1,
            // Retried: HeyGen failed it; it is queued again under the next attempt.
            Ok(Applied::Failed | Applied::Retried) => counts.failed += 1,
            Ok(Applied::StillPending) => {
                counts.still_pending += 1;
                still.push(item);
            }
            Err(StoreError::Conflict) => {
                // Settled meanwhile (a webhook): count it as it now stands.
                match deps.store.get_content(&item.content_id).await {
                    Ok(Some(now)) if now.is_pending() => {
                        counts.still_pending += 1;
                        still.push(now);
                    }
                    Ok(Some(now)) if matches!(now.job_status(), Ok(Some(JobStatus::Failed | JobStatus::Queued))) => {
                        counts.failed += 1
                    }
                    Ok(_) => counts.completed += 1,
                    Err(err) => storage_stopped(&mut counts, &mut still, item, &err),
                }
            }
            Err(err) => storage_stopped(&mut counts, &mut still, item, &err),
        }
    }
    tracing::info!(
        completed = counts.completed,
        failed = counts.failed,
        still_pending = counts.still_pending,
        unchecked = counts.unchecked,
        stopped = counts.stopped.as_deref().unwrap_or("none"),
        "refresh finished"
    );
    Ok(report(&still, queued, Some(counts)))
}

/// DynamoDB failing stops the refresh; the item stays listed, unchecked.
fn storage_stopped(counts: &mut RefreshCounts, still: &mut Vec<ContentItem>, item: ContentItem, err: &StoreError) {
    tracing::error!(content_id = %item.content_id, error = %ErrorChain(err), "refresh stopped: DynamoDB failing");
    counts.stopped = Some("storage_unavailable".to_string());
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
