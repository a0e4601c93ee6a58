//! `GET /admin/content-production/heygen/progress?month=&mode=`: the month at a
//! glance (section 12). Reads only: the eligible creators, the settings, and each
//! creator's items of the month (a query by creator and date); no scan of the
//! content table, no HeyGen call.

use serde::Serialize;

use super::{ApiError, Deps, Ports};
use crate::archive::video_url;
use crate::domain::{
    BudgetKey, BudgetView, ContentItem, EstimateBasis, ItemState, Mode, Month, Timestamp, VideoSeconds, seconds_left,
    typical_render_time,
};
use crate::store::{BudgetStore, ReadStore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgressRequest {
    pub month: Month,
    pub mode: Mode,
}

impl ProgressRequest {
    /// `month` and `mode` from the query string, each given once; anything else
    /// is 400 naming the field. Other parameters are ignored.
    pub fn parse(month: &[&str], mode: &[&str]) -> Result<Self, ApiError> {
        let month = match month {
            [] => return Err(ApiError::invalid(Some("month"), "month is required")),
            [one] => one
                .parse()
                .map_err(|_| ApiError::invalid(Some("month"), "month must be a real month written YYYY-MM"))?,
            _ => return Err(ApiError::invalid(Some("month"), "month must be given once")),
        };
        let mode = match mode {
            [] => return Err(ApiError::invalid(Some("mode"), "mode is required")),
            [one] => {
                one.parse().map_err(|_| ApiError::invalid(Some("mode"), "mode must be \"bible\" or \"positivity\""))?
            }
            _ => return Err(ApiError::invalid(Some("mode"), "mode must be given once")),
        };
        Ok(Self { month, mode })
    }
}

/// How many items are in each state; they add up to `items`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub not_started: usize,
    pub queued: usize,
    pub requested: usize,
    pub rendering: usize,
    pub copying: usize,
    pub submitted: usize,
    pub failed: usize,
    pub has_video: usize,
}

impl StateCounts {
    fn count(&mut self, state: ItemState) {
        let slot = match state {
            ItemState::NotStarted => &mut self.not_started,
            ItemState::Queued => &mut self.queued,
            ItemState::Requested => &mut self.requested,
            ItemState::Rendering => &mut self.rendering,
            ItemState::Copying => &mut self.copying,
            ItemState::Submitted => &mut self.submitted,
            ItemState::Failed => &mut self.failed,
            ItemState::HasVideo => &mut self.has_video,
        };
        *slot += 1;
    }
}

/// A failed item: the attempt that failed and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedItem {
    pub content_id: String,
    pub creator_id: Option<String>,
    pub date: String,
    pub attempt: u32,
    pub error: Option<String>,
}

/// A rendered video whose durable copy keeps failing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyFailing {
    pub content_id: String,
    pub video_id: Option<String>,
    pub attempts: u32,
    pub error: Option<String>,
}

/// The 200 body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    pub month: String,
    pub mode: Mode,
    pub items: usize,
    pub states: StateCounts,
    pub failed: Vec<FailedItem>,
    pub copy_failing: Vec<CopyFailing>,
    pub rendered_seconds: f64,
    pub estimated_seconds_left: Option<u64>,
    /// The month's budget (13.3).
    pub budget: BudgetView,
    /// Queued items passed over because they do not fit the budget.
    pub blocked_by_budget: usize,
}

/// The month's progress, read now.
pub async fn month_progress<P: Ports>(deps: &Deps<P>, request: &ProgressRequest) -> Result<Progress, ApiError> {
    let creators = deps.store.eligible_creators(request.mode).await?;
    let settings = deps.store.settings().await?;
    let mut items = Vec::new();
    for creator in &creators {
        items.append(&mut deps.store.content_for(&creator.creator_id, request.month, request.mode).await?);
    }
    // Date, then content id: the order `failed` and `copy_failing` are listed in;
    // the queue's own order for the estimate.
    items.sort_by(|a, b| (a.date.as_str(), a.content_id.as_str()).cmp(&(b.date.as_str(), b.content_id.as_str())));
    let base_url = deps.config.archive.as_ref().map(|archive| archive.base_url.as_str());
    let states: Vec<(ItemState, &ContentItem)> = items
        .iter()
        .map(|item| {
            let durable = base_url
                .zip(item.heygen_video_id.as_deref())
                .and_then(|(base, video_id)| video_url(base, &item.content_id, video_id));
            (item.progress_state(durable.as_deref()), item)
        })
        .collect();
    let row = deps.store.budget(&BudgetKey::new(request.month, request.mode)).await?;
    let budget = row.view(row.cap(settings.budget_seconds));
    Ok(summarise(
        request,
        &states,
        EstimateBasis {
            now: Timestamp::now(),
            slots: settings.max_concurrent_renders,
            render_time: typical_render_time(items.iter()),
            copies: deps.config.archive.is_some(),
        },
        budget,
    ))
}

fn summarise(
    request: &ProgressRequest,
    states: &[(ItemState, &ContentItem)],
    basis: EstimateBasis,
    budget: BudgetView,
) -> Progress {
    let mut counts = StateCounts::default();
    let mut failed = Vec::new();
    let mut copy_failing = Vec::new();
    let mut rendered = 0u64;
    for (state, item) in states {
        counts.count(*state);
        if *state == ItemState::Failed {
            failed.push(FailedItem {
                content_id: item.content_id.clone(),
                creator_id: item.assigned_creator_id.clone(),
                date: item.date.clone(),
                // The stored attempt is the next key's number (6.1): a failure
                // advanced it.
                attempt: item.heygen_attempt.unwrap_or(1).saturating_sub(1).max(1),
                error: item.heygen_error.clone(),
            });
        }
        let copies_failed = item.heygen_archive_attempts.unwrap_or(0);
        if item.status_is(crate::domain::JobStatus::Completed) && item.video_archived_at.is_none() && copies_failed >= 1
        {
            copy_failing.push(CopyFailing {
                content_id: item.content_id.clone(),
                video_id: item.heygen_video_id.clone(),
                attempts: copies_failed,
                error: item.heygen_archive_error.clone(),
            });
        }
        rendered += item.heygen_duration_seconds.map_or(0, VideoSeconds::millis);
    }
    let mut queue_ordered = states.to_vec();
    queue_ordered.sort_by(|(_, a), (_, b)| a.heygen_queue_order.cmp(&b.heygen_queue_order));
    Progress {
        month: request.month.to_string(),
        mode: request.mode,
        items: states.len(),
        states: counts,
        failed,
        copy_failing,
        rendered_seconds: VideoSeconds::from_millis(rendered).as_secs_f64(),
        estimated_seconds_left: seconds_left(&queue_ordered, basis),
        budget,
        blocked_by_budget: states.iter().filter(|(_, item)| item.blocked_by_budget()).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_and_mode_are_required_once_and_valid() {
        let ok = ProgressRequest::parse(&["2026-12"], &["bible"]).unwrap();
        assert_eq!((ok.month.to_string(), ok.mode), ("2026-12".to_string(), Mode::Bible));
        for (month, mode, field) in [
            (&[][..], &["bible"][..], "month"),
            (&["2026-13"], &["bible"], "month"),
            (&["2026-1"], &["bible"], "month"),
            (&["2026-12", "2026-11"], &["bible"], "month"),
            (&["2026-12"], &[][..], "mode"),
            (&["2026-12"], &["Bible"], "mode"),
            (&["2026-12"], &["bible", "bible"], "mode"),
            (&[][..], &[][..], "month"),
        ] {
            let err = ProgressRequest::parse(month, mode).unwrap_err();
            assert_eq!(err.field(), Some(field), "{month:?} {mode:?}");
        }
    }
}
