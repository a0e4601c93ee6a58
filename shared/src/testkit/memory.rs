//! An in-memory store with the DynamoDB adapter's semantics: the same reads, and
//! the same conditions on every write, applied atomically per item.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::lock;
use crate::domain::{
    Backoff, BudgetKey, BudgetRow, Cap, Claim, Classification, ContentItem, Creator, Definiteness, HolderState,
    JobStatus, Mode, Month, Outcome, RenderSlot, Reservation, Settings, SlotHolder, Timestamp, billed_seconds,
};
use crate::store::{Store, StoreError};

#[derive(Default)]
struct Tables {
    settings: HashMap<String, String>,
    creators: BTreeMap<String, Creator>,
    content: BTreeMap<String, ContentItem>,
    /// Render slots by index: the holder and when it took the slot.
    slots: BTreeMap<u32, SlotHolder>,
    /// Budget rows by budget key (`{month}#{mode}`).
    budgets: BTreeMap<BudgetKey, BudgetRow>,
}

/// The three tables in memory. Cheap to build; one per test case.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    claims: Mutex<u64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put_setting(&self, key: &str, value: &str) {
        lock(&self.tables).settings.insert(key.to_string(), value.to_string());
    }

    pub fn put_creator(&self, creator: Creator) {
        lock(&self.tables).creators.insert(creator.creator_id.clone(), creator);
    }

    pub fn put_content(&self, item: ContentItem) {
        lock(&self.tables).content.insert(item.content_id.clone(), item);
    }

    /// Every content item, by content id.
    pub fn content(&self) -> Vec<ContentItem> {
        lock(&self.tables).content.values().cloned().collect()
    }

    pub fn item(&self, content_id: &str) -> Option<ContentItem> {
        lock(&self.tables).content.get(content_id).cloned()
    }

    /// How many items are in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.tables).content.values().filter(|i| i.is_pending()).count()
    }

    /// A budget row as it stands.
    pub fn budget_row(&self, key: &BudgetKey) -> BudgetRow {
        lock(&self.tables).budgets.get(key).copied().unwrap_or_default()
    }

    /// Gives back (or, with `billed`, settles) a reservation the item held; run
    /// right after the item's write, with no await between them.
    fn settle_budget(&self, reservation: Option<Reservation>, billed: Option<u64>) {
        let Some(reservation) = reservation else { return };
        let mut tables = lock(&self.tables);
        let row = tables.budgets.entry(reservation.budget).or_default();
        match billed {
            Some(billed) => row.settle(reservation.seconds, billed),
            None => row.release(reservation.seconds),
        }
    }

    /// Frees `index` if `content_id` holds it (the adapter's conditional write).
    fn free(&self, index: Option<u32>, content_id: &str) {
        let Some(index) = index else { return };
        let mut tables = lock(&self.tables);
        if tables.slots.get(&index).is_some_and(|h| h.content_id == content_id) {
            tables.slots.remove(&index);
        }
    }

    /// Runs `write` on the item if `condition` holds, else `Conflict`, as one step.
    fn update(
        &self,
        content_id: &str,
        condition: impl FnOnce(&ContentItem) -> bool,
        write: impl FnOnce(&mut ContentItem),
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match tables.content.get_mut(content_id) {
            Some(item) if condition(item) => {
                write(item);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

impl MemoryStore {
    /// A claim, reserving in `budget` under `cap` when given, as one step.
    fn claim_with(
        &self,
        seen: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
        budget: Option<(&Reservation, Cap)>,
    ) -> Result<Claim, StoreError> {
        let claim_id = {
            let mut n = lock(&self.claims);
            *n += 1;
            format!("claim-{n}")
        };
        let reservation = budget.map(|(reservation, _)| reservation.clone());
        let claim = Claim {
            content_id: seen.content_id.clone(),
            claim_id,
            attempt: seen.next_attempt(),
            slot,
            reservation: reservation.clone().or_else(|| seen.reservation()),
        };
        let mut tables = lock(&self.tables);
        // Claimable now, and unchanged since it was read (status, claim, attempt).
        let claimable = tables
            .content
            .get(&seen.content_id)
            .is_some_and(|item| item.is_claimable(now, stale_after) && unchanged(item, seen));
        if !claimable {
            return Err(StoreError::Conflict);
        }
        if let Some((reservation, cap)) = budget {
            let row = tables.budgets.entry(reservation.budget.clone()).or_default();
            let cap_as_judged = match cap {
                Cap::Row(cap) => row.cap_seconds == Some(cap),
                Cap::Setting(_) | Cap::None => row.cap_seconds.is_none(),
            };
            if !cap_as_judged || !row.reserve(cap, reservation.seconds) {
                return Err(StoreError::OverBudget);
            }
        }
        let Some(item) = tables.content.get_mut(&seen.content_id) else { return Err(StoreError::Conflict) };
        item.heygen_status = Some(JobStatus::Requested);
        item.heygen_claim_id = Some(claim.claim_id.clone());
        item.heygen_attempt = Some(claim.attempt);
        item.heygen_requested_at = Some(now);
        item.heygen_slot = slot;
        item.heygen_video_id = None;
        item.heygen_video_url = None;
        item.heygen_thumbnail_url = None;
        item.heygen_error = None;
        item.heygen_completed_at = None;
        item.heygen_checked_at = None;
        item.heygen_retry_at = None;
        item.heygen_not_found_since = None;
        item.heygen_blocked = None;
        if let Some(reservation) = reservation {
            item.heygen_reserved_seconds = Some(reservation.seconds);
            item.heygen_reserved_budget = Some(reservation.budget.as_str().to_string());
        }
        Ok(claim)
    }
}

fn status_is(item: &ContentItem, status: JobStatus) -> bool {
    item.status_is(status)
}

impl Store for MemoryStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(Settings::from_values(&lock(&self.tables).settings))
    }

    async fn ai_creators(&self) -> Result<Vec<Creator>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables.creators.values().filter(|c| c.is_ai && c.active).cloned().collect())
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables
            .content
            .values()
            .filter(|i| {
                i.assigned_creator_id.as_deref() == Some(creator_id)
                    && month.contains_date(&i.date)
                    && i.mode.known() == Some(mode)
            })
            .cloned()
            .collect())
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        Ok(self.item(content_id))
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables.content.values().find(|i| i.heygen_video_id.as_deref() == Some(video_id)).cloned())
    }

    async fn claim(
        &self,
        seen: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        self.claim_with(seen, now, stale_after, slot, None)
    }

    async fn enqueue(
        &self,
        seen: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> Result<(), StoreError> {
        let condition =
            |item: &ContentItem| item.classify(now, stale_after) == Classification::Eligible && unchanged(item, seen);
        self.update(&seen.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Queued);
            item.heygen_queued_at = Some(now);
            item.heygen_callback_url = Some(callback_url.to_string());
            item.heygen_queue_order = Some(item.queue_order());
            item.heygen_slot = None;
            item.heygen_claim_id = None;
            item.heygen_retry_at = None;
            item.heygen_create_failures = None;
            item.heygen_blocked = None;
            item.heygen_render_failures.get_or_insert(0);
            if seen.heygen_estimated_seconds.is_some() {
                item.heygen_estimated_seconds = seen.heygen_estimated_seconds;
            }
        })
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        self.update(content_id, ContentItem::is_queued, |item| {
            item.heygen_status = None;
            item.heygen_queue_order = None;
            item.heygen_queued_at = None;
            item.heygen_callback_url = None;
        })
    }

    async fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            holds(item, claim) && status_is(item, JobStatus::Requested) && item.heygen_queue_order.is_some()
        };
        self.update(&claim.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Queued);
            item.heygen_attempt = Some(claim.attempt_after_release(definiteness));
            item.heygen_slot = None;
            item.heygen_claim_id = None;
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
            if let Some(backoff) = backoff {
                item.heygen_retry_at = Some(backoff.until);
                item.heygen_create_failures = Some(backoff.failures);
            }
        })?;
        self.settle_budget(claim.reservation.clone(), None);
        self.free(claim.slot, &claim.content_id);
        Ok(())
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables.content.values().filter(|i| i.is_queued()).cloned().collect();
        items.sort_by_key(ContentItem::queue_order);
        Ok(items)
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        Ok(lock(&self.tables).content.values().filter(|i| i.is_queued()).count())
    }

    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        let tables = lock(&self.tables);
        Ok((0..count).map(|index| RenderSlot { index, holder: tables.slots.get(&index).cloned() }).collect())
    }

    async fn take_slot(&self, index: u32, content_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        if tables.slots.contains_key(&index) {
            return Err(StoreError::Conflict);
        }
        tables.slots.insert(index, SlotHolder { content_id: content_id.to_string(), taken_at: now.to_string() });
        Ok(())
    }

    async fn free_slot(&self, index: u32, content_id: &str) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match tables.slots.get(&index) {
            Some(holder) if holder.content_id == content_id => {
                tables.slots.remove(&index);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn free_leaked_slot(&self, index: u32, as_judged: &SlotHolder) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match tables.slots.get(&index) {
            Some(holder) if holder == as_judged => {
                tables.slots.remove(&index);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn holder_state(&self, content_id: &str) -> Result<Option<HolderState>, StoreError> {
        Ok(self.item(content_id).as_ref().map(HolderState::of))
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.is_pending();
        self.update(content_id, condition, |item| {
            item.heygen_checked_at = Some(now);
            item.heygen_not_found_since.get_or_insert(now);
        })
    }

    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.is_pending();
        self.update(content_id, condition, |item| {
            item.heygen_checked_at = Some(now);
            item.heygen_not_found_since = None;
        })
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| holds(item, claim) && status_is(item, JobStatus::Requested);
        self.update(&claim.content_id, condition, |item| {
            item.heygen_video_id = Some(video_id.to_string());
            item.heygen_status = Some(JobStatus::Pending);
            item.heygen_create_failures = None;
        })
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| holds(item, claim) && status_is(item, JobStatus::Requested);
        self.update(&claim.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Failed);
            item.heygen_error = Some(error.to_string());
            item.heygen_attempt = Some(claim.attempt_after_release(definiteness));
            item.heygen_slot = None;
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
        })?;
        self.settle_budget(claim.reservation.clone(), None);
        self.free(claim.slot, &claim.content_id);
        Ok(())
    }

    async fn apply_outcome(
        &self,
        seen: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        let content_id = seen.content_id.as_str();
        let retry = matches!(outcome, Outcome::Retry { .. });
        let condition = |item: &ContentItem| {
            item.heygen_video_id.as_deref() == Some(video_id)
                && item.is_pending()
                && (!retry || item.heygen_queue_order.is_some())
                && item.heygen_reserved_seconds == seen.heygen_reserved_seconds
        };
        let mut old_slot = None;
        let mut reservation = None;
        self.update(content_id, condition, |item| {
            old_slot = item.heygen_slot.take();
            reservation = item.reservation();
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
            item.heygen_checked_at = Some(now);
            settle(item, outcome, now, attach_video);
        })?;
        let billed = match (outcome, &reservation) {
            (Outcome::Completed { duration, .. }, Some(reservation)) => {
                Some(billed_seconds(*duration, reservation.seconds))
            }
            _ => None,
        };
        self.settle_budget(reservation, billed);
        self.free(old_slot, content_id);
        Ok(())
    }

    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables
            .content
            .values()
            .filter(|i| {
                i.heygen_archive.is_some() && status_is(i, JobStatus::Completed) && i.video_archived_at.is_none()
            })
            .cloned()
            .collect();
        items.sort_by_key(|item| item.heygen_completed_at);
        Ok(items)
    }

    async fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            item.heygen_video_id.as_deref() == Some(video_id)
                && status_is(item, JobStatus::Completed)
                && item.heygen_archive.is_some()
        };
        self.update(content_id, condition, |item| {
            if !item.has_video() {
                item.creator_video_url = Some(url.to_string());
                item.status = Some("submitted".to_string());
            }
            item.video_archived_at = Some(now);
            item.heygen_archive = None;
            item.heygen_archive_error = None;
            item.heygen_retry_at = None;
        })
    }

    async fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        let condition =
            |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.heygen_archive.is_some();
        self.update(content_id, condition, |item| {
            item.heygen_archive_error = Some(reason.to_string());
            item.heygen_archive_attempts = Some(item.heygen_archive_attempts.unwrap_or(0) + 1);
            item.heygen_retry_at = Some(retry_at);
        })
    }

    async fn claim_reserving(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
        reservation: &Reservation,
        cap: Cap,
    ) -> Result<Claim, StoreError> {
        self.claim_with(item, now, stale_after, slot, Some((reservation, cap)))
    }

    async fn budget(&self, key: &BudgetKey) -> Result<BudgetRow, StoreError> {
        Ok(self.budget_row(key))
    }

    async fn set_budget_cap(&self, key: &BudgetKey, cap: Option<u64>) -> Result<BudgetRow, StoreError> {
        let mut tables = lock(&self.tables);
        let row = tables.budgets.entry(key.clone()).or_default();
        row.cap_seconds = cap;
        Ok(*row)
    }

    async fn mark_blocked(&self, content_id: &str) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.is_queued() && item.heygen_blocked.is_none();
        self.update(content_id, condition, |item| {
            item.heygen_blocked = Some(crate::domain::BLOCKED_BY_BUDGET.to_string());
        })
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables.content.values().filter(|i| i.is_pending()).cloned().collect();
        items.sort_by(|a, b| {
            (a.heygen_requested_at, a.content_id.as_str()).cmp(&(b.heygen_requested_at, b.content_id.as_str()))
        });
        Ok(items)
    }
}

fn unchanged(item: &ContentItem, seen: &ContentItem) -> bool {
    item.heygen_status == seen.heygen_status
        && item.heygen_claim_id == seen.heygen_claim_id
        && item.heygen_attempt == seen.heygen_attempt
}

fn holds(item: &ContentItem, claim: &Claim) -> bool {
    item.heygen_claim_id.as_deref() == Some(&claim.claim_id)
}

/// HeyGen's final answer written on an item (the DynamoDB adapter's `SET`s).
fn settle(item: &mut ContentItem, outcome: &Outcome, now: Timestamp, attach_video: bool) {
    item.heygen_not_found_since = None;
    item.heygen_retry_at = None;
    match outcome {
        Outcome::Completed { video_url, thumbnail_url, duration } => {
            item.heygen_status = Some(JobStatus::Completed);
            if duration.is_some() {
                item.heygen_duration_seconds = *duration;
            }
            item.heygen_video_url = Some(video_url.clone());
            item.heygen_completed_at = Some(now);
            if let Some(thumb) = thumbnail_url {
                item.heygen_thumbnail_url = Some(thumb.clone());
            }
            item.heygen_error = None;
            if !attach_video {
                item.heygen_archive = Some(crate::store::ARCHIVE_KEY_VALUE.to_string());
            } else if !item.has_video() {
                item.creator_video_url = Some(video_url.clone());
                item.status = Some("submitted".to_string());
            }
        }
        Outcome::Failed { message } => {
            item.heygen_status = Some(JobStatus::Failed);
            item.heygen_error = Some(message.clone());
            item.heygen_attempt = Some(item.heygen_attempt.unwrap_or(1) + 1);
            item.heygen_render_failures = Some(item.heygen_render_failures.unwrap_or(0) + 1);
        }
        Outcome::Retry { message } => {
            item.heygen_render_failures = Some(item.heygen_render_failures.unwrap_or(0) + 1);
            item.heygen_status = Some(JobStatus::Queued);
            item.heygen_error = Some(message.clone());
            item.heygen_attempt = Some(item.heygen_attempt.unwrap_or(1) + 1);
            item.heygen_claim_id = None;
        }
    }
}
