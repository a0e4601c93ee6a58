//! The store (contract section 3) behind a port: the [`Store`] trait the use
//! cases call, and its DynamoDB adapter with the attribute codec and pagination.
//!
//! Every write is an `UpdateItem` (attributes the service does not know survive)
//! and every write that could race is conditional; a failed condition is
//! [`StoreError::Conflict`], DynamoDB failing is [`StoreError::Unavailable`].
//! May use `domain`; knows nothing of HeyGen, the secret or HTTP.

use std::future::Future;
use std::time::Duration;

use crate::domain::{
    Backoff, BudgetKey, BudgetRow, Cap, Claim, ContentItem, Creator, Definiteness, HolderState, Mode, Month, Outcome,
    RenderSlot, Reservation, Settings, SlotHolder, Timestamp,
};

mod codec;
mod dynamo;

pub use dynamo::DynamoStore;

/// Index names, declared in `template.yaml` and compiled in here.
pub mod index {
    /// Content by `assigned_creator_id` (hash) and `date` (range).
    pub const CONTENT_BY_CREATOR_DATE: &str = "by_creator_date";
    /// Content by `heygen_video_id` (hash), keys only.
    pub const CONTENT_BY_VIDEO_ID: &str = "by_video_id";
    /// Sparse: pending content only, by `heygen_pending` (hash, one value) and
    /// `heygen_requested_at` (range).
    pub const CONTENT_PENDING: &str = "pending_by_requested_at";
    /// Sparse: queued content only, by `heygen_queue` (hash, one value) and
    /// `heygen_queue_order` (range: `date#creator_id#content_id`).
    pub const CONTENT_QUEUE: &str = "queue_by_order";
    /// Sparse: completed videos awaiting their durable copy, by `heygen_archive`
    /// (hash, one value) and `heygen_completed_at` (range).
    pub const CONTENT_TO_ARCHIVE: &str = "archive_by_completed_at";
}

/// The service's own attribute that puts a completed item in the archive index.
pub const ARCHIVE_KEY_VALUE: &str = "to_copy";

/// The service's own attribute that puts an item in the sparse queue index.
pub const QUEUE_KEY_ATTR: &str = "heygen_queue";
pub const QUEUE_KEY_VALUE: &str = "queued";

/// The value of `heygen_pending`, the service's own attribute that puts an item
/// in the sparse pending index while it is in flight (removed when it is not).
pub const PENDING_KEY_VALUE: &str = "pending";

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A conditional write whose failed condition means another call changed the
/// item first, which the caller takes as done (the lost race).
pub trait LostRace {
    /// `Ok(true)`: written; `Ok(false)`: the race was lost, nothing written;
    /// `Err`: DynamoDB failing, or the item unreadable.
    fn or_lost_race(self) -> Result<bool, StoreError>;
}

impl LostRace for Result<(), StoreError> {
    fn or_lost_race(self) -> Result<bool, StoreError> {
        match self {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(err) => Err(err),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's condition did not hold: someone else changed the item first.
    #[error("the item changed concurrently; nothing was written")]
    Conflict,
    /// A reservation did not fit its budget's cap (contract 13.2); nothing was
    /// written.
    #[error("the render does not fit its budget; nothing was written")]
    OverBudget,
    /// DynamoDB failed after the SDK's retries; nothing was written by this call.
    #[error("DynamoDB {operation} failed")]
    Unavailable {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
    /// A stored item does not have the contract's shape.
    #[error("stored item {key} cannot be read")]
    Corrupt {
        key: String,
        #[source]
        source: BoxError,
    },
}

/// The store, section by section: each use case names the sections it uses,
/// each adapter implements each section in the file of that section
/// (`dynamo/`, `testkit/memory/`). [`Store`] is all of them, for the wiring.
pub trait Store: ReadStore + QueueStore + FlightStore + SlotStore + ArchiveStore + BudgetStore {}

impl<T: ReadStore + QueueStore + FlightStore + SlotStore + ArchiveStore + BudgetStore> Store for T {}

/// Every section, for callers that use many: `use crate::store::prelude::*`.
pub mod prelude {
    pub use super::{
        ArchiveStore, BudgetStore, FlightStore, LostRace, QueueStore, ReadStore, SlotStore, Store, StoreError,
    };
}

/// The reads: settings, creators, content (contract section 3).
pub trait ReadStore: Send + Sync {
    /// All known settings, in one request, with the section 3 fallbacks.
    fn settings(&self) -> impl Future<Output = Result<Settings, StoreError>> + Send;

    /// Every active AI creator (`is_ai` and `active`), by creator id, in one
    /// read: a tick filters them for both modes.
    fn ai_creators(&self) -> impl Future<Output = Result<Vec<Creator>, StoreError>> + Send;

    /// The active AI creators with a non-empty avatar for `mode`.
    fn eligible_creators(&self, mode: Mode) -> impl Future<Output = Result<Vec<Creator>, StoreError>> + Send {
        async move {
            let mut creators = self.ai_creators().await?;
            creators.retain(|c| c.is_eligible_for(mode));
            Ok(creators)
        }
    }

    /// All content assigned to `creator_id` dated in `month` with `mode`.
    fn content_for(
        &self,
        creator_id: &str,
        month: Month,
        mode: Mode,
    ) -> impl Future<Output = Result<Vec<ContentItem>, StoreError>> + Send;

    fn get_content(&self, content_id: &str) -> impl Future<Output = Result<Option<ContentItem>, StoreError>> + Send;

    /// The item whose current `heygen_video_id` is `video_id`.
    fn find_by_video_id(&self, video_id: &str) -> impl Future<Output = Result<Option<ContentItem>, StoreError>> + Send;
}

/// The render queue and the claims (contract sections 6.1 and 9).
pub trait QueueStore: Send + Sync {
    /// Claims `item` as read: conditional on it still being claimable (eligible,
    /// or queued) and unchanged since it was read. Writes `requested`, a fresh
    /// claim id, the attempt number, the request time and the render slot it
    /// holds (taken beforehand with [`Store::take_slot`]).
    fn claim(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Puts `item` (as read) in the render queue: conditional on it still being
    /// eligible and unchanged since it was read. Writes `queued`, the time, the
    /// callback URL a later create will use and the estimate the caller set on
    /// the item (`heygen_estimated_seconds`, 13.1).
    fn enqueue(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes a queued item out of the queue (its status removed, its attempt
    /// kept): conditional on it still being queued.
    fn dequeue(&self, content_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Puts a claim back in the queue after a batch-stopping answer, the attempt
    /// advanced when the answer was definite, with `backoff` when HeyGen failed
    /// (section 11: `heygen_retry_at` and the count of failures in a row); frees
    /// its slot.
    fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The render queue in the order it is worked: `(date, creator_id, content_id)`.
    fn list_queued(&self) -> impl Future<Output = Result<Vec<ContentItem>, StoreError>> + Send;

    /// How many items the queue holds, without reading them (a gauge: the index
    /// may lag a write by a moment).
    fn count_queued(&self) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Records HeyGen's video id for a claim: conditional on the claim still being
    /// this one and `requested`. The item becomes `pending`.
    fn record_video(&self, claim: &Claim, video_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Releases a claim after a refused request: `failed` with `error`, the attempt
    /// number advanced when the answer was definite (6.1); frees its slot.
    fn release(
        &self,
        claim: &Claim,
        error: &str,
        definiteness: Definiteness,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Renders in flight: checks of HeyGen's status and its final answers (contract sections 6.3 and 11).
pub trait FlightStore: Send + Sync {
    /// Records that HeyGen's status of `video_id` was read at `now`: conditional
    /// on the item still being pending on that video.
    fn mark_checked(
        &self,
        content_id: &str,
        video_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that HeyGen said it does not know `video_id`: the check, and the
    /// first such answer in `heygen_not_found_since` (kept if there is one).
    /// Conditional on the item still being pending on that video.
    fn mark_not_found(
        &self,
        content_id: &str,
        video_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies HeyGen's final answer about `video_id` to `item` (as read):
    /// conditional on the item's `heygen_video_id` being that video, the item
    /// still pending, and holding the reservation it was read with, which the
    /// same step settles (a completion) or gives back (13.2). With
    /// `attach_video`, a completion also sets `creator_video_url` and `status`
    /// (unless the item has a video already). The item's slot is freed.
    fn apply_outcome(
        &self,
        item: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every item in flight, oldest `heygen_requested_at` first, ties by content id.
    fn list_in_flight(&self) -> impl Future<Output = Result<Vec<ContentItem>, StoreError>> + Send;
}

/// The render slots (contract section 7) and what an item says of the slot it holds.
pub trait SlotStore: Send + Sync {
    /// Slots `0..count`, as they stand (read consistently).
    fn render_slots(&self, count: u32) -> impl Future<Output = Result<Vec<RenderSlot>, StoreError>> + Send;

    /// Takes slot `index` for `content_id`: conditional on it being free.
    fn take_slot(
        &self,
        index: u32,
        content_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Frees slot `index`: conditional on `content_id` holding it.
    fn free_slot(&self, index: u32, content_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Frees a leaked slot: conditional on it being still held exactly as it was
    /// judged (`holder` and `taken_at`), so that a slot taken again meanwhile,
    /// even by the same item, stays held.
    fn free_leaked_slot(
        &self,
        index: u32,
        as_judged: &SlotHolder,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What the item says of its flight (status and slot only, read
    /// consistently), however unreadable the rest of it; `None`: no such item.
    fn holder_state(&self, content_id: &str) -> impl Future<Output = Result<Option<HolderState>, StoreError>> + Send;
}

/// The durable copies (contract section 8).
pub trait ArchiveStore: Send + Sync {
    /// Completed videos not yet copied (section 8), oldest completion first.
    fn list_unarchived(&self) -> impl Future<Output = Result<Vec<ContentItem>, StoreError>> + Send;

    /// Records the durable copy of `video_id` at `url`: conditional on the item
    /// being completed on that video and not yet archived. Sets
    /// `creator_video_url`, `status` = `submitted` and `video_archived_at`
    /// (the URL and status only if the item has no video of the platform's).
    fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts a failed copy of `video_id` (`heygen_archive_attempts`), keeps
    /// its reason (`heygen_archive_error`) and when to try again
    /// (`heygen_retry_at`); it stays to be copied.
    fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Budgets (contract section 13): the rows, the claims that reserve, the items passed over.
pub trait BudgetStore: Send + Sync {
    /// [`QueueStore::claim`], reserving `reservation` in its budget in the same
    /// all-or-nothing step (13.2): not written when `reserved + spent + seconds`
    /// would exceed `cap` or the cap is no longer `cap`
    /// ([`StoreError::OverBudget`]). Requeues, releases and outcomes give the
    /// reservation back or settle it, each exactly once.
    fn claim_reserving(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
        reservation: &Reservation,
        cap: Cap,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// The budget row as it stands (read consistently); zeros when there is none.
    fn budget(&self, key: &BudgetKey) -> impl Future<Output = Result<BudgetRow, StoreError>> + Send;

    /// Sets the row's own cap (`None` removes it: the setting applies again).
    fn set_budget_cap(
        &self,
        key: &BudgetKey,
        cap: Option<u64>,
    ) -> impl Future<Output = Result<BudgetRow, StoreError>> + Send;

    /// Marks a queued item as waiting for its budget (`heygen_blocked`):
    /// conditional on it being queued and not marked yet.
    fn mark_blocked(&self, content_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
