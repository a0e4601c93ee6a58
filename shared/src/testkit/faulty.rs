//! A store that fails chosen operations as DynamoDB failing would
//! (`StoreError::Unavailable`, nothing written), around any other store: the
//! moto-backed adapter or the in-memory one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::lock;
use crate::domain::{
    Backoff, BudgetKey, BudgetRow, Cap, Claim, ContentItem, Creator, Definiteness, HolderState, Mode, Month, Outcome,
    RenderSlot, Reservation, Settings, SlotHolder, Timestamp,
};
use crate::store::prelude::*;

/// The store's operations, as a fault names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Settings,
    Creators,
    ContentFor,
    GetContent,
    FindByVideoId,
    Claim,
    RecordVideo,
    Release,
    ApplyOutcome,
    ListInFlight,
    Enqueue,
    Dequeue,
    Requeue,
    ListQueued,
    CountQueued,
    RenderSlots,
    TakeSlot,
    FreeSlot,
    FreeLeakedSlot,
    HolderState,
    MarkChecked,
    MarkNotFound,
    ListUnarchived,
    ArchiveDone,
    ArchiveFailed,
    Budget,
    SetBudgetCap,
    MarkBlocked,
}

#[derive(Clone, Debug)]
enum Fault {
    /// Every call of the operation after this many successful ones fails.
    After(StoreOp, usize),
    /// Every call of the operation about this content id fails.
    For(StoreOp, String),
    /// Every call of the operation takes this long before it is made.
    Slow(StoreOp, Duration),
}

/// `inner`, with faults. Calls are counted per operation.
pub struct Faulty<S> {
    pub inner: S,
    faults: Vec<Fault>,
    calls: Mutex<HashMap<StoreOp, usize>>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, faults: Vec::new(), calls: Mutex::new(HashMap::new()) }
    }

    /// `op` fails once it has succeeded `after` times.
    pub fn fail_after(mut self, op: StoreOp, after: usize) -> Self {
        self.faults.push(Fault::After(op, after));
        self
    }

    /// `op` fails whenever it is about `content_id`.
    pub fn fail_for(mut self, op: StoreOp, content_id: &str) -> Self {
        self.faults.push(Fault::For(op, content_id.to_string()));
        self
    }

    /// `op` takes `delay` before each call (a DynamoDB slow to answer).
    pub fn slow(mut self, op: StoreOp, delay: Duration) -> Self {
        self.faults.push(Fault::Slow(op, delay));
        self
    }

    /// How many times `op` was called, failed calls included.
    pub fn calls(&self, op: StoreOp) -> usize {
        lock(&self.calls).get(&op).copied().unwrap_or(0)
    }

    async fn check(&self, op: StoreOp, content_id: Option<&str>) -> Result<(), StoreError> {
        for fault in &self.faults {
            if let Fault::Slow(o, delay) = fault
                && *o == op
            {
                tokio::time::sleep(*delay).await;
            }
        }
        let earlier = {
            let mut calls = lock(&self.calls);
            let n = calls.entry(op).or_insert(0);
            *n += 1;
            *n - 1
        };
        let fails = self.faults.iter().any(|fault| match fault {
            Fault::After(o, after) => *o == op && earlier >= *after,
            Fault::For(o, id) => *o == op && content_id == Some(id.as_str()),
            Fault::Slow(..) => false,
        });
        if fails {
            return Err(StoreError::Unavailable {
                operation: "injected",
                source: Box::new(std::io::Error::other(format!("injected DynamoDB failure of {op:?}"))),
            });
        }
        Ok(())
    }
}

impl<S: ReadStore> ReadStore for Faulty<S> {
    async fn settings(&self) -> Result<Settings, StoreError> {
        self.check(StoreOp::Settings, None).await?;
        self.inner.settings().await
    }

    async fn ai_creators(&self) -> Result<Vec<Creator>, StoreError> {
        self.check(StoreOp::Creators, None).await?;
        self.inner.ai_creators().await
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        self.check(StoreOp::ContentFor, None).await?;
        self.inner.content_for(creator_id, month, mode).await
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        self.check(StoreOp::GetContent, Some(content_id)).await?;
        self.inner.get_content(content_id).await
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        self.check(StoreOp::FindByVideoId, None).await?;
        self.inner.find_by_video_id(video_id).await
    }
}

impl<S: QueueStore> QueueStore for Faulty<S> {
    async fn claim(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        self.check(StoreOp::Claim, Some(&item.content_id)).await?;
        self.inner.claim(item, now, stale_after, slot).await
    }

    async fn enqueue(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> Result<(), StoreError> {
        self.check(StoreOp::Enqueue, Some(&item.content_id)).await?;
        self.inner.enqueue(item, now, stale_after, callback_url).await
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        self.check(StoreOp::Dequeue, Some(content_id)).await?;
        self.inner.dequeue(content_id).await
    }

    async fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> Result<(), StoreError> {
        self.check(StoreOp::Requeue, Some(&claim.content_id)).await?;
        self.inner.requeue(claim, definiteness, backoff).await
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        self.check(StoreOp::ListQueued, None).await?;
        self.inner.list_queued().await
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        self.check(StoreOp::CountQueued, None).await?;
        self.inner.count_queued().await
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        self.check(StoreOp::RecordVideo, Some(&claim.content_id)).await?;
        self.inner.record_video(claim, video_id).await
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        self.check(StoreOp::Release, Some(&claim.content_id)).await?;
        self.inner.release(claim, error, definiteness).await
    }
}

impl<S: FlightStore> FlightStore for Faulty<S> {
    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.check(StoreOp::MarkChecked, Some(content_id)).await?;
        self.inner.mark_checked(content_id, video_id, now).await
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.check(StoreOp::MarkNotFound, Some(content_id)).await?;
        self.inner.mark_not_found(content_id, video_id, now).await
    }

    async fn apply_outcome(
        &self,
        item: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        self.check(StoreOp::ApplyOutcome, Some(&item.content_id)).await?;
        self.inner.apply_outcome(item, video_id, outcome, now, attach_video).await
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        self.check(StoreOp::ListInFlight, None).await?;
        self.inner.list_in_flight().await
    }
}

impl<S: SlotStore> SlotStore for Faulty<S> {
    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        self.check(StoreOp::RenderSlots, None).await?;
        self.inner.render_slots(count).await
    }

    async fn take_slot(&self, index: u32, content_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.check(StoreOp::TakeSlot, Some(content_id)).await?;
        self.inner.take_slot(index, content_id, now).await
    }

    async fn free_slot(&self, index: u32, content_id: &str) -> Result<(), StoreError> {
        self.check(StoreOp::FreeSlot, Some(content_id)).await?;
        self.inner.free_slot(index, content_id).await
    }

    async fn free_leaked_slot(&self, index: u32, as_judged: &SlotHolder) -> Result<(), StoreError> {
        self.check(StoreOp::FreeLeakedSlot, Some(&as_judged.content_id)).await?;
        self.inner.free_leaked_slot(index, as_judged).await
    }

    async fn holder_state(&self, content_id: &str) -> Result<Option<HolderState>, StoreError> {
        self.check(StoreOp::HolderState, Some(content_id)).await?;
        self.inner.holder_state(content_id).await
    }
}

impl<S: ArchiveStore> ArchiveStore for Faulty<S> {
    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        self.check(StoreOp::ListUnarchived, None).await?;
        self.inner.list_unarchived().await
    }

    async fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.check(StoreOp::ArchiveDone, Some(content_id)).await?;
        self.inner.archive_done(content_id, video_id, url, now).await
    }

    async fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.check(StoreOp::ArchiveFailed, Some(content_id)).await?;
        self.inner.archive_failed(content_id, video_id, reason, retry_at).await
    }
}

impl<S: BudgetStore> BudgetStore for Faulty<S> {
    async fn claim_reserving(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
        reservation: &Reservation,
        cap: Cap,
    ) -> Result<Claim, StoreError> {
        self.check(StoreOp::Claim, Some(&item.content_id)).await?;
        self.inner.claim_reserving(item, now, stale_after, slot, reservation, cap).await
    }

    async fn budget(&self, key: &BudgetKey) -> Result<BudgetRow, StoreError> {
        self.check(StoreOp::Budget, None).await?;
        self.inner.budget(key).await
    }

    async fn set_budget_cap(&self, key: &BudgetKey, cap: Option<u64>) -> Result<BudgetRow, StoreError> {
        self.check(StoreOp::SetBudgetCap, None).await?;
        self.inner.set_budget_cap(key, cap).await
    }

    async fn mark_blocked(&self, content_id: &str) -> Result<(), StoreError> {
        self.check(StoreOp::MarkBlocked, Some(content_id)).await?;
        self.inner.mark_blocked(content_id).await
    }
}
