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
use crate::store::prelude::*;

mod archive;
mod budget;
mod flight;
mod queue;
mod reads;
mod slots;

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
