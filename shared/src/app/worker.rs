//! One tick of `heygen-worker` (contract section 9): reconcile the renders whose
//! webhook has not come, recover stale claims, free leaked render slots, and
//! create queued renders into the free slots, within the invocation's deadline.
//!
//! A tick never fails for HeyGen or DynamoDB: what goes wrong is logged, reported
//! and left for the next tick. Every step is conditional in the store, so ticks
//! may overlap, be skipped or die half-way without losing or doubling anything.

use serde::Serialize;

use super::apply_status::{Applied, apply_outcome};
use super::dispatch::{Dispatched, Dispatcher};
use super::reconcile::{Checked, Reconciliation};
use super::{Deps, Invocation, Ports, Stop};
use crate::domain::{ContentItem, JobStatus, MAX_RENDER_SLOTS, Mode, Outcome, Timestamp, lost_video_text};
use crate::error_chain::ErrorChain;
use crate::secret::SecretString;
use crate::store::{BudgetStore, FlightStore, LostRace, QueueStore, ReadStore, SlotStore, StoreError};

/// What a tick did; also its log line and its metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Pending renders asked about, and what HeyGen said: completed, failed for
    /// good, failed and queued again (section 11), forgotten by HeyGen and given up.
    pub checked: usize,
    pub completed: usize,
    pub failed: usize,
    pub retried: usize,
    pub lost: usize,
    /// Stale `requested` claims sent again under their key.
    pub recovered: usize,
    /// Leaked render slots freed.
    pub slots_freed: usize,
    /// Queued items created, refused, taken out of the queue as ineligible, or
    /// passed over while they wait out a back-off.
    pub created: usize,
    pub refused: usize,
    pub left_queue: usize,
    pub waiting: usize,
    /// Queued items passed over because they do not fit their budget (13.2):
    /// `None` when the tick did not read the queue (no free slot, or it stopped
    /// before).
    pub budget_blocked: Option<usize>,
    /// The budgets of the months the tick dispatched, as it left them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<TickBudget>,
    /// Finished videos copied to the bucket and attached, and copies that failed.
    pub archived: usize,
    pub archive_failures: usize,
    /// Items queued, and in flight, as the tick ends, and how long the oldest in
    /// flight has been requested: `None` when the tick could not read them (it
    /// then reports no such metric, never a zero).
    pub queue_depth: Option<usize>,
    pub in_flight: Option<usize>,
    pub oldest_in_flight_seconds: Option<u64>,
    /// Why the tick stopped early, if it did (`deadline`, a HeyGen or storage code).
    pub stopped: Option<Stop>,
}

/// A month's budget as a tick left it (the dashboard's spend against the cap).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TickBudget {
    /// `{month}#{mode}`.
    pub budget: String,
    #[serde(flatten)]
    pub view: crate::domain::BudgetView,
}

impl TickReport {
    /// Whether the tick could not do its work (section 11, `TickFailures`):
    /// DynamoDB failing, the key refused, or no key configured.
    pub fn failed_to_work(&self) -> bool {
        self.stopped.is_some_and(Stop::is_failure)
    }

    /// Whether the queue and the flight were read empty as the tick ended.
    pub fn drained(&self) -> bool {
        self.queue_depth == Some(0) && self.in_flight == Some(0)
    }
}

/// Runs one tick.
pub async fn tick<P: Ports>(deps: &Deps<P>, invocation: &Invocation) -> TickReport {
    let mut report = TickReport::default();
    if let Err(err) = run(deps, invocation, &mut report).await {
        tracing::error!(error = %ErrorChain(&err), "tick stopped: DynamoDB failing");
        report.stopped = Some(Stop::StorageUnavailable);
    }
    let failed_to_work = report.failed_to_work();
    let r = &report;
    macro_rules! finished {
        ($level:ident) => {
            tracing::$level!(
                checked = r.checked, completed = r.completed, failed = r.failed, retried = r.retried, lost = r.lost,
                recovered = r.recovered, slots_freed = r.slots_freed, created = r.created, refused = r.refused,
                left_queue = r.left_queue, waiting = r.waiting, budget_blocked = ?r.budget_blocked, archived = r.archived,
                archive_failures = r.archive_failures, queue_depth = ?r.queue_depth, in_flight = ?r.in_flight,
                oldest_in_flight_seconds = ?r.oldest_in_flight_seconds,
                stopped = r.stopped.map_or("none", Stop::as_str), "tick finished"
            )
        };
    }
    if failed_to_work {
        finished!(error);
    } else {
        finished!(info);
    }
    crate::metrics::tick(failed_to_work, r.queue_depth, r.in_flight, r.oldest_in_flight_seconds);
    if let Some(blocked) = r.budget_blocked {
        crate::metrics::budget_blocked(blocked);
    }
    for b in &r.budgets {
        crate::metrics::budget(&b.budget, b.view.spent_seconds + b.view.reserved_seconds, b.view.cap_seconds);
    }
    report
}

async fn run<P: Ports>(deps: &Deps<P>, invocation: &Invocation, report: &mut TickReport) -> Result<(), StoreError> {
    let settings = deps.store.settings().await?;
    let pending = deps.store.list_in_flight().await?;
    report.slots_freed = free_leaked_slots(deps, &pending).await?;
    let api_key = match deps.api_key().await {
        Ok(key) => key,
        Err(err) => {
            // Nothing to ask HeyGen without a key; the queue waits.
            tracing::error!(error = %ErrorChain(&err), "no usable HeyGen key; only slots were looked after");
            report.stopped = Some(Stop::HeygenNotConfigured);
            return gauges(deps, report).await;
        }
    };
    reconcile(deps, invocation, &api_key, &pending, report).await?;

    // The creators, once, for both modes.
    let creators = deps.store.ai_creators().await?;
    let eligible = Mode::ALL
        .into_iter()
        .flat_map(|mode| creators.iter().filter(move |c| c.is_eligible_for(mode)).map(move |c| (mode, c.clone())));
    let fallback = settings.callback_url.clone().or_else(|| deps.config.heygen_callback_url.clone());
    let mut dispatcher = Dispatcher::new(deps, &api_key, &settings, eligible, fallback, invocation.deadline);

    // Stale claims first: they hold slots already.
    let now = Timestamp::now();
    for item in &pending {
        if report.stopped.is_some() {
            break;
        }
        let stale = item.status_is(JobStatus::Requested) && item.claim_is_stale(now, deps.config.claim_stale_after);
        if !stale {
            continue;
        }
        match dispatcher.recover(item).await {
            Dispatched::Created(_) => report.recovered += 1,
            Dispatched::Stopped { stop, .. } => report.stopped = Some(stop),
            Dispatched::Refused(_) => report.refused += 1,
            Dispatched::Taken
            | Dispatched::LeftQueue(_)
            | Dispatched::NoSlot
            | Dispatched::Waiting
            | Dispatched::Blocked => {}
        }
    }

    // The queue is read only when a slot is free (a count is enough otherwise).
    if report.stopped.is_none() && dispatcher.has_free_slot().await? {
        for item in &deps.store.list_queued().await? {
            match dispatcher.dispatch(item).await {
                Dispatched::Created(_) => report.created += 1,
                Dispatched::Refused(_) => report.refused += 1,
                Dispatched::LeftQueue(_) => report.left_queue += 1,
                Dispatched::Waiting => report.waiting += 1,
                Dispatched::Blocked | Dispatched::Taken => {}
                Dispatched::NoSlot => break,
                Dispatched::Stopped { stop, .. } => {
                    report.stopped = Some(stop);
                    break;
                }
            }
        }
        // Only a full pass knows every item that waits for its budget.
        if report.stopped.is_none() {
            report.budget_blocked = Some(dispatcher.blocked);
        }
        // The months it dispatched, as they now stand (the dashboard's spend).
        for key in dispatcher.budgets_read() {
            let row = deps.store.budget(&key).await?;
            let view = row.view(row.cap(settings.budget_seconds));
            report.budgets.push(TickBudget { budget: key.as_str().to_string(), view });
        }
    }
    let copies = super::copies::copy_videos(deps, &api_key, invocation).await?;
    report.archived = copies.archived;
    report.archive_failures = copies.failed;
    if copies.deadline {
        report.stopped.get_or_insert(Stop::Deadline);
    }
    gauges(deps, report).await
}

/// The queue's depth (a count: no item read) and the flight, as the tick ends.
async fn gauges<P: Ports>(deps: &Deps<P>, report: &mut TickReport) -> Result<(), StoreError> {
    report.queue_depth = Some(deps.store.count_queued().await?);
    let in_flight = deps.store.list_in_flight().await?;
    report.in_flight = Some(in_flight.len());
    report.oldest_in_flight_seconds = Some(oldest_in_flight_seconds(&in_flight, Timestamp::now()));
    Ok(())
}

/// How long the oldest item in flight has been requested, in whole seconds.
fn oldest_in_flight_seconds(in_flight: &[ContentItem], now: Timestamp) -> u64 {
    in_flight.iter().filter_map(|item| item.heygen_requested_at).min().map_or(0, |oldest| now.seconds_since(oldest))
}

/// Asks HeyGen about every pending render not checked for
/// `HEYGEN_RECONCILE_AFTER_SECONDS` (oldest check first; in bulk, see
/// [`Reconciliation`]) and applies its answer exactly as the webhook does; a
/// render HeyGen does not know goes to [`not_found`].
async fn reconcile<P: Ports>(
    deps: &Deps<P>,
    invocation: &Invocation,
    api_key: &SecretString,
    pending: &[ContentItem],
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let due_before = now.minus(deps.config.reconcile_after);
    let mut due: Vec<(&ContentItem, &str)> = pending
        .iter()
        .filter(|item| item.status_is(JobStatus::Pending))
        .filter_map(|item| item.heygen_video_id.as_deref().map(|video_id| (item, video_id)))
        .filter(|(item, _)| last_check(item).is_none_or(|at| at <= due_before))
        .collect();
    due.sort_by_key(|(item, _)| last_check(item));
    if due.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = due.iter().map(|(_, video_id)| *video_id).collect();
    let reconciliation = match Reconciliation::begin(deps, api_key, &ids, invocation).await {
        Ok(reconciliation) => reconciliation,
        Err(code) => {
            report.stopped = Some(code);
            return Ok(());
        }
    };
    for (item, video_id) in due {
        match reconciliation.check(item, video_id).await? {
            Checked::Stopped(code) => {
                report.stopped = Some(code);
                return Ok(());
            }
            Checked::Applied(Applied::Completed) => report.completed += 1,
            Checked::Applied(Applied::Failed) => report.failed += 1,
            Checked::Applied(Applied::Retried) => report.retried += 1,
            Checked::Applied(Applied::StillPending) | Checked::Unusable => mark_checked(deps, item, video_id).await?,
            Checked::NotFound => not_found(deps, item, video_id, report).await?,
            Checked::Settled => {}
        }
        report.checked += 1;
    }
    Ok(())
}

/// When HeyGen was last asked about the item's video: its last check, else
/// its request.
fn last_check(item: &ContentItem) -> Option<Timestamp> {
    item.heygen_checked_at.or(item.heygen_requested_at)
}

/// HeyGen says it does not know a pending video: the first such answer is
/// recorded; once HeyGen has kept saying so for `HEYGEN_LOST_AFTER_SECONDS`, the
/// render is given up as failed, its slot freed (section 11). Not retried by
/// itself: a later trigger uses the next attempt.
async fn not_found<P: Ports>(
    deps: &Deps<P>,
    item: &ContentItem,
    video_id: &str,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let since = item.heygen_not_found_since;
    let Some(since) = since.filter(|since| *since <= now.minus(deps.config.lost_after)) else {
        tracing::warn!(
            content_id = %item.content_id, video_id, since = %item.heygen_not_found_since.unwrap_or(now),
            "HeyGen does not know this pending video; given up if it keeps saying so"
        );
        return deps.store.mark_not_found(&item.content_id, video_id, now).await.or_lost_race().map(drop);
    };
    let message = lost_video_text(video_id, &since.to_string());
    let attach = deps.config.archive.is_none();
    match apply_outcome(&deps.store, item, video_id, Outcome::Failed { message }, attach).await {
        Ok(_) => {
            crate::metrics::heygen_error("heygen_video_not_found");
            report.lost += 1;
            Ok(())
        }
        // Settled meanwhile.
        Err(StoreError::Conflict) => Ok(()),
        Err(err) => Err(err),
    }
}

async fn mark_checked<P: Ports>(deps: &Deps<P>, item: &ContentItem, video_id: &str) -> Result<(), StoreError> {
    deps.store.mark_checked(&item.content_id, video_id, Timestamp::now()).await.or_lost_race().map(drop)
}

/// Frees every slot held, long enough, by an item that is not in flight on it.
/// A holder listed in `in_flight` on its slot is not read again: in normal
/// running (renders longer than the leak age) the repair costs no read at all.
/// Otherwise only the holder's status and slot are read (an item unreadable in
/// any other attribute keeps its slot while it says it is in flight), and the
/// slot is freed only if still held exactly as judged.
async fn free_leaked_slots<P: Ports>(deps: &Deps<P>, in_flight: &[ContentItem]) -> Result<usize, StoreError> {
    let mut freed = 0;
    let now = Timestamp::now();
    for slot in deps.store.render_slots(MAX_RENDER_SLOTS).await? {
        let Some(holder) = &slot.holder else { continue };
        // A slot taken lately is in use: its holder is not read every tick.
        if !slot.held_since_before(now, deps.timing.slot_leak_after) || slot.is_used_by_one_of(in_flight) {
            continue;
        }
        let state = deps.store.holder_state(&holder.content_id).await?;
        if !slot.is_leaked(state.as_ref(), now, deps.timing.slot_leak_after) {
            continue;
        }
        match deps.store.free_leaked_slot(slot.index, holder).await {
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
