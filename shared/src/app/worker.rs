//! One tick of `heygen-worker` (contract section 9): reconcile the renders whose
//! webhook has not come, recover stale claims, free leaked render slots, and
//! create queued renders into the free slots, within the invocation's deadline.
//!
//! A tick never fails for HeyGen or DynamoDB: what goes wrong is logged, reported
//! and left for the next tick. Every step is conditional in the store, so ticks
//! may overlap, be skipped or die half-way without losing or doubling anything.

use serde::Serialize;
use tokio::time::Instant;

use super::apply_status::{Applied, apply_status};
use super::dispatch::{Dispatched, Dispatcher};
use super::heygen_policy::{is_about_one_video, stop_code};
use super::survey::Survey;
use super::{Deps, Invocation, Ports};
use crate::domain::{ContentItem, JobStatus, MAX_RENDER_SLOTS, Mode, Timestamp};
use crate::error_chain::ErrorChain;
use crate::secret::SecretString;
use crate::store::{Store, StoreError};

/// What a tick did; also its log line and (later) its metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Pending renders asked about, and what HeyGen said.
    pub checked: usize,
    pub completed: usize,
    pub failed: usize,
    /// Stale `requested` claims sent again under their key.
    pub recovered: usize,
    /// Leaked render slots freed.
    pub slots_freed: usize,
    /// Queued items created, refused, or taken out of the queue as ineligible.
    pub created: usize,
    pub refused: usize,
    pub left_queue: usize,
    /// Finished videos copied to the bucket and attached, and copies that failed.
    pub archived: usize,
    pub archive_failures: usize,
    /// Items still queued, and in flight, as the tick ends, and how long the
    /// oldest in flight has been requested.
    pub queue_depth: usize,
    pub in_flight: usize,
    pub oldest_in_flight_seconds: u64,
    /// Why the tick stopped early, if it did (`deadline`, a HeyGen or storage code).
    pub stopped: Option<String>,
}

/// Runs one tick.
pub async fn tick<P: Ports>(deps: &Deps<P>, invocation: &Invocation) -> TickReport {
    let mut report = TickReport::default();
    if let Err(err) = run(deps, invocation, &mut report).await {
        tracing::error!(error = %ErrorChain(&err), "tick stopped: DynamoDB failing");
        report.stopped.get_or_insert_with(|| "storage_unavailable".to_string());
    }
    tracing::info!(
        checked = report.checked,
        completed = report.completed,
        failed = report.failed,
        recovered = report.recovered,
        slots_freed = report.slots_freed,
        created = report.created,
        refused = report.refused,
        left_queue = report.left_queue,
        archived = report.archived,
        archive_failures = report.archive_failures,
        queue_depth = report.queue_depth,
        in_flight = report.in_flight,
        oldest_in_flight_seconds = report.oldest_in_flight_seconds,
        stopped = report.stopped.as_deref().unwrap_or("none"),
        "tick finished"
    );
    crate::metrics::queue(report.queue_depth, report.in_flight, report.oldest_in_flight_seconds);
    report
}

async fn run<P: Ports>(deps: &Deps<P>, invocation: &Invocation, report: &mut TickReport) -> Result<(), StoreError> {
    let settings = deps.store.settings().await?;
    let pending = deps.store.list_pending().await?;
    report.slots_freed = free_leaked_slots(deps, &pending).await?;
    let api_key = match deps.api_key().await {
        Ok(key) => key,
        Err(err) => {
            // Nothing to ask HeyGen without a key; the queue waits.
            tracing::warn!(error = %ErrorChain(&err), "no usable HeyGen key; only slots were looked after");
            report.stopped = Some("heygen_not_configured".to_string());
            report.queue_depth = deps.store.list_queued().await?.len();
            report.in_flight = pending.len();
            return Ok(());
        }
    };
    reconcile(deps, invocation, &api_key, &pending, report).await?;

    let mut creators = Vec::new();
    for mode in Mode::ALL {
        creators.extend(deps.store.eligible_creators(mode).await?.into_iter().map(|c| (mode, c)));
    }
    let fallback = settings.callback_url.clone().or_else(|| deps.config.heygen_callback_url.clone());
    let mut dispatcher = Dispatcher::new(deps, &api_key, &settings, creators, fallback, invocation.deadline);

    // Stale claims first: they hold slots already.
    let now = Timestamp::now();
    for item in &pending {
        if report.stopped.is_some() {
            break;
        }
        let stale = item.job_status() == Ok(Some(JobStatus::Requested))
            && item.claim_is_stale(now, deps.config.claim_stale_after);
        if !stale {
            continue;
        }
        match dispatcher.recover(item).await {
            Dispatched::Created(_) => report.recovered += 1,
            Dispatched::Stopped { code, .. } => report.stopped = Some(code.to_string()),
            Dispatched::Refused(_) => report.refused += 1,
            Dispatched::Taken | Dispatched::LeftQueue(_) | Dispatched::NoSlot => {}
        }
    }

    let queue = deps.store.list_queued().await?;
    for item in &queue {
        if report.stopped.is_some() {
            break;
        }
        match dispatcher.dispatch(item).await {
            Dispatched::Created(_) => report.created += 1,
            Dispatched::Refused(_) => report.refused += 1,
            Dispatched::LeftQueue(_) => report.left_queue += 1,
            Dispatched::Taken => {}
            Dispatched::NoSlot => break,
            Dispatched::Stopped { code, .. } => {
                report.stopped = Some(code.to_string());
                break;
            }
        }
    }
    let copies = super::archive::copy_videos(
        deps,
        &api_key,
        invocation.start_until(&deps.timing),
        invocation.heygen_deadline(&deps.timing),
    )
    .await?;
    report.archived = copies.archived;
    report.archive_failures = copies.failed;
    if copies.deadline {
        report.stopped.get_or_insert_with(|| "deadline".to_string());
    }
    report.queue_depth = deps.store.list_queued().await?.len();
    let in_flight = deps.store.list_pending().await?;
    report.in_flight = in_flight.len();
    report.oldest_in_flight_seconds = oldest_in_flight_seconds(&in_flight, Timestamp::now());
    Ok(())
}

/// How long the oldest item in flight has been requested, in whole seconds.
fn oldest_in_flight_seconds(in_flight: &[ContentItem], now: Timestamp) -> u64 {
    in_flight
        .iter()
        .filter_map(|item| item.heygen_requested_at.as_deref().and_then(|at| Timestamp::parse(at).ok()))
        .min()
        .map_or(0, |oldest| now.seconds_since(oldest))
}

/// Asks HeyGen about every pending render not checked for
/// `HEYGEN_RECONCILE_AFTER_SECONDS` (oldest check first; in bulk, see
/// [`Survey`]) and applies its answer exactly as the webhook does.
async fn reconcile<P: Ports>(
    deps: &Deps<P>,
    invocation: &Invocation,
    api_key: &SecretString,
    pending: &[ContentItem],
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let due_before = now.minus(deps.config.reconcile_after).to_string();
    let mut due: Vec<(&ContentItem, &str)> = pending
        .iter()
        .filter(|item| item.job_status() == Ok(Some(JobStatus::Pending)))
        .filter_map(|item| item.heygen_video_id.as_deref().map(|video_id| (item, video_id)))
        .filter(|(item, _)| last_check(item) <= due_before.as_str())
        .collect();
    due.sort_by_key(|(item, _)| last_check(item).to_string());
    let start_until = invocation.start_until(&deps.timing);
    let heygen_deadline = invocation.heygen_deadline(&deps.timing);
    if due.is_empty() {
        return Ok(());
    }
    if Instant::now() >= start_until {
        report.stopped = Some("deadline".to_string());
        return Ok(());
    }
    let ids: Vec<&str> = due.iter().map(|(_, video_id)| *video_id).collect();
    let survey = match Survey::take(&deps.heygen, api_key, &ids, heygen_deadline).await {
        Ok(survey) => survey,
        Err(err) => {
            let code = stop_code(&err);
            tracing::error!(videos = ids.len(), code, error = %ErrorChain(&err), "reconciling stopped: HeyGen failing");
            report.stopped = Some(code.to_string());
            return Ok(());
        }
    };
    for (item, video_id) in due {
        if Instant::now() >= start_until {
            report.stopped = Some("deadline".to_string());
            return Ok(());
        }
        report.checked += 1;
        let status = match survey.status(&deps.heygen, api_key, video_id, heygen_deadline).await {
            Ok(status) => status,
            Err(err) if is_about_one_video(&err) => {
                tracing::warn!(content_id = %item.content_id, video_id, error = %ErrorChain(&err), "HeyGen's status of this video is not usable; left pending");
                mark_checked(deps, item, video_id).await?;
                continue;
            }
            Err(err) => {
                let code = stop_code(&err);
                tracing::error!(content_id = %item.content_id, video_id, code, error = %ErrorChain(&err), "reconciling stopped: HeyGen failing");
                report.stopped = Some(code.to_string());
                return Ok(());
            }
        };
        match apply_status(&deps.store, item, video_id, &status, deps.config.archive.is_none()).await {
            Ok(Applied::Completed) => report.completed += 1,
            Ok(Applied::Failed) => report.failed += 1,
            Ok(Applied::StillPending) => mark_checked(deps, item, video_id).await?,
            // Settled meanwhile (a webhook).
            Err(StoreError::Conflict) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// When HeyGen was last asked about the item's video: its last check, else
/// its request.
fn last_check(item: &ContentItem) -> &str {
    item.heygen_checked_at.as_deref().or(item.heygen_requested_at.as_deref()).unwrap_or_default()
}

async fn mark_checked<P: Ports>(deps: &Deps<P>, item: &ContentItem, video_id: &str) -> Result<(), StoreError> {
    match deps.store.mark_checked(&item.content_id, video_id, Timestamp::now()).await {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Frees every slot held, long enough, by an item that is not in flight on it.
/// A holder listed in `in_flight` on its slot is not read again: in normal
/// running (renders longer than the leak age) the repair costs no read at all.
async fn free_leaked_slots<P: Ports>(deps: &Deps<P>, in_flight: &[ContentItem]) -> Result<usize, StoreError> {
    let mut freed = 0;
    let now = Timestamp::now();
    for slot in deps.store.render_slots(MAX_RENDER_SLOTS).await? {
        let Some(holder) = &slot.holder else { continue };
        // A slot taken lately is in use: its holder is not read every tick.
        if !slot.held_since_before(now, deps.timing.slot_leak_after) || slot.is_used_by_one_of(in_flight) {
            continue;
        }
        let item = deps.store.get_content(&holder.content_id).await?;
        if !slot.is_leaked(item.as_ref(), now, deps.timing.slot_leak_after) {
            continue;
        }
        match deps.store.free_slot(slot.index, &holder.content_id).await {
            Ok(()) => {
                tracing::warn!(slot = slot.index, content_id = %holder.content_id, "leaked render slot freed");
                freed += 1;
            }
            Err(StoreError::Conflict) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(freed)
}
