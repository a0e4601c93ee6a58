//! Creating queued renders within the render slots (contract sections 7 and 9):
//! the one path from a queued (or stale `requested`) item to a HeyGen video,
//! shared by the trigger and the worker.
//!
//! For each item, in order: still eligible (else it leaves the queue), pace,
//! take a free slot (none: the dispatch ends, normally), claim the item with it
//! (conditional), create under the idempotency key, record the video id. A
//! refusal of the item releases it as failed; a batch-stopping answer (the key,
//! the credit, HeyGen failing or at its own concurrency limit) puts it back in
//! the queue and ends the dispatch. An item HeyGen kept failing goes back with a
//! back-off (`heygen_retry_at`), and is passed over until it runs out, so that
//! one item cannot stop every dispatch (contract section 11).
//!
//! A write whose outcome is unknown (DynamoDB failing after its retries) never
//! frees a slot: the write may have been applied and the slot be in use. Only a
//! definite "not written" (a failed condition) gives it back; otherwise the
//! worker's leak repair frees it once it is sure.

use std::collections::{HashMap, VecDeque};

mod budget;
use budget::Belief;

use serde::Serialize;
use tokio::time::Instant;

use super::heygen_policy::{backs_off, contract_code, count, stops_batch};
use super::pacing::Pacer;
use super::{Deps, Ports, Stop};
use crate::domain::{
    Backoff, BudgetKey, Claim, ContentItem, Creator, Definiteness, Mode, Settings, Timestamp, request_error_text,
};
use crate::error_chain::ErrorChain;
use crate::heygen::{CreateVideo, Heygen, HeygenError};
use crate::secret::SecretString;
use crate::store::{LostRace, QueueStore, SlotStore, StoreError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VideoStarted {
    pub content_id: String,
    pub creator_id: String,
    pub video_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemError {
    pub content_id: String,
    pub creator_id: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heygen_code: Option<String>,
    pub message: String,
}

impl ItemError {
    pub fn new(item: &ContentItem, code: &str, heygen_code: Option<&str>, message: String) -> Self {
        Self {
            content_id: item.content_id.clone(),
            creator_id: creator_id(item).to_string(),
            code: code.to_string(),
            heygen_code: heygen_code.map(str::to_string),
            message,
        }
    }
}

/// What became of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatched {
    /// HeyGen accepted it; the video id is recorded.
    Created(VideoStarted),
    /// HeyGen refused this item; it is released as failed.
    Refused(ItemError),
    /// Another call claimed it first.
    Taken,
    /// It is no longer eligible and left the queue without a create.
    LeftQueue(&'static str),
    /// It is waiting out a back-off (`heygen_retry_at`): passed over, still queued.
    Waiting,
    /// It does not fit its budget (13.2): passed over, still queued, marked
    /// `heygen_blocked` = `budget`.
    Blocked,
    /// No free render slot: the item stays queued and the dispatch ends.
    NoSlot,
    /// The dispatch ends with this code (`deadline`, or a batch-stopping one);
    /// the item is back in (or still in) the queue unless `error` says otherwise.
    Stopped { stop: Stop, error: Option<ItemError> },
}

pub fn creator_id(item: &ContentItem) -> &str {
    item.assigned_creator_id.as_deref().unwrap_or_default()
}

/// Where a claim's render slot comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotPlan {
    /// A queued item takes a free slot first.
    Take,
    /// A recovered claim keeps the one it holds (or none, from before slots).
    Keep(Option<u32>),
}

/// Free render slots as this dispatch believes them, taken one at a time.
struct SlotBook {
    free: VecDeque<u32>,
}

/// One dispatch run: the key, the settings, the eligible creators by mode, the
/// render slots and the time rules, over a sequence of items.
pub struct Dispatcher<'a, P: Ports> {
    deps: &'a Deps<P>,
    api_key: &'a SecretString,
    settings: &'a Settings,
    creators: HashMap<(Mode, String), Creator>,
    /// When the item carries none (queued before callback URLs were stored).
    fallback_callback: Option<String>,
    slots: Option<SlotBook>,
    /// Budget rows as this dispatch believes them: read on first use, kept up
    /// to date with its own reservations, read again when one does not fit
    /// (once, until a reservation changes it: others settle and release too).
    budgets: HashMap<BudgetKey, Belief>,
    /// Items passed over for their budget (`BudgetBlocked`).
    pub blocked: usize,
    pacer: Pacer,
    start_until: Instant,
    heygen_deadline: Instant,
}

impl<'a, P: Ports> Dispatcher<'a, P> {
    /// `creators`: the eligible creators of every mode the items may have.
    pub fn new(
        deps: &'a Deps<P>,
        api_key: &'a SecretString,
        settings: &'a Settings,
        creators: impl IntoIterator<Item = (Mode, Creator)>,
        fallback_callback: Option<String>,
        deadline: Instant,
    ) -> Self {
        let timing = &deps.timing;
        let heygen_deadline = deadline.checked_sub(timing.response_margin).unwrap_or(deadline);
        // A create starts only when a whole attempt fits before HeyGen's deadline
        // (contract section 7): none is cut short by the function's own end.
        let last_create = heygen_deadline.checked_sub(deps.heygen.create_attempt_time()).unwrap_or(heygen_deadline);
        let start_until = deadline.checked_sub(timing.start_margin).unwrap_or(deadline).min(last_create);
        Self {
            deps,
            api_key,
            settings,
            creators: creators.into_iter().map(|(mode, c)| ((mode, c.creator_id.clone()), c)).collect(),
            fallback_callback,
            slots: None,
            budgets: HashMap::new(),
            blocked: 0,
            pacer: Pacer::per_second(settings.requests_per_second),
            start_until,
            heygen_deadline,
        }
    }

    /// Whether a render slot is free, as this dispatch reads the slots (once).
    pub async fn has_free_slot(&mut self) -> Result<bool, StoreError> {
        Ok(!self.slot_book().await?.free.is_empty())
    }

    /// Dispatches one queued item, as read.
    pub async fn dispatch(&mut self, item: &ContentItem) -> Dispatched {
        if let Err(why) = self.still_eligible(item) {
            return match self.deps.store.dequeue(&item.content_id).await.or_lost_race() {
                Ok(_) => {
                    tracing::info!(content_id = %item.content_id, why, "left the queue without a create");
                    Dispatched::LeftQueue(why)
                }
                Err(err) => self.storage_stopped(&err, None),
            };
        }
        if item.backing_off(Timestamp::now()) {
            return Dispatched::Waiting;
        }
        self.create(item, SlotPlan::Take).await
    }

    /// Sends a stale `requested` claim again under the same idempotency key (the
    /// same attempt): HeyGen replays its first answer. It keeps its slot.
    pub async fn recover(&mut self, item: &ContentItem) -> Dispatched {
        if self.creator_of(item).is_none() || item.checked_script().is_err() {
            // Nothing to create any more: out of flight (its slot freed) and back
            // to the queue, which the dispatch then takes it out of.
            let stale_after = self.deps.config.claim_stale_after;
            if let Ok(claim) = self.deps.store.claim(item, Timestamp::now(), stale_after, item.heygen_slot).await {
                self.back_to_queue(&claim, item, Definiteness::Indefinite, None).await;
            }
            return Dispatched::LeftQueue("no longer eligible");
        }
        self.create(item, SlotPlan::Keep(item.heygen_slot)).await
    }

    fn creator_of(&self, item: &ContentItem) -> Option<&Creator> {
        let mode = item.mode.known()?;
        self.creators.get(&(mode, creator_id(item).to_string()))
    }

    fn still_eligible(&self, item: &ContentItem) -> Result<(), &'static str> {
        if !item.is_queued() {
            return Err("not queued");
        }
        if item.has_video() {
            return Err("a video was attached");
        }
        if !item.still_as_queued() {
            return Err("its date, creator or mode changed");
        }
        if self.creator_of(item).is_none() {
            return Err("its creator is no longer eligible");
        }
        if item.checked_script().is_err() {
            return Err("its script is missing or too long");
        }
        Ok(())
    }

    /// The free slots as this dispatch believes them: read once, on first use.
    async fn slot_book(&mut self) -> Result<&mut SlotBook, StoreError> {
        let book = match self.slots.take() {
            Some(book) => book,
            None => {
                let slots = self.deps.store.render_slots(self.settings.max_concurrent_renders).await?;
                SlotBook { free: slots.iter().filter(|s| s.is_free()).map(|s| s.index).collect() }
            }
        };
        Ok(self.slots.insert(book))
    }

    /// The first free slot this dispatch can take, taken for `content_id`.
    async fn take_slot(&mut self, content_id: &str) -> Result<Option<u32>, StoreError> {
        let deps = self.deps;
        while let Some(index) = self.slot_book().await?.free.pop_front() {
            match deps.store.take_slot(index, content_id, Timestamp::now()).await {
                Ok(()) => return Ok(Some(index)),
                Err(StoreError::Conflict) => continue,
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }

    async fn create(&mut self, item: &ContentItem, plan: SlotPlan) -> Dispatched {
        let Some(creator) = self.creator_of(item).cloned() else {
            return Dispatched::LeftQueue("its creator is no longer eligible");
        };
        let Ok(script) = item.checked_script() else {
            return Dispatched::LeftQueue("its script is missing or too long");
        };
        if Instant::now() >= self.start_until || !self.pacer.ready(self.start_until).await {
            return Dispatched::Stopped { stop: Stop::Deadline, error: None };
        }
        let store = &self.deps.store;
        let claim = match plan {
            // A recovered claim keeps its slot and its reservation.
            SlotPlan::Keep(held) => {
                let stale_after = self.deps.config.claim_stale_after;
                match store.claim(item, Timestamp::now(), stale_after, held).await {
                    Ok(claim) => claim,
                    Err(StoreError::Conflict) => {
                        tracing::info!(content_id = %item.content_id, "claimed by a concurrent call; skipped");
                        return Dispatched::Taken;
                    }
                    Err(err) => return self.storage_stopped(&err, None),
                }
            }
            SlotPlan::Take => {
                let Some(reservation) = self.reservation_for(item, script) else {
                    return Dispatched::LeftQueue("its date or mode names no budget");
                };
                match self.claim_queued(item, &reservation).await {
                    Ok(claim) => claim,
                    Err(dispatched) => return dispatched,
                }
            }
        };
        let store = &self.deps.store;
        let Some(callback_url) = item.heygen_callback_url.clone().or_else(|| self.fallback_callback.clone()) else {
            tracing::error!(content_id = %item.content_id, "no callback URL for a queued item; back to the queue");
            let _ = store.requeue(&claim, Definiteness::Indefinite, None).await;
            return Dispatched::Stopped { stop: Stop::HeygenNotConfigured, error: None };
        };
        let mode = item.mode.known().unwrap_or(Mode::Bible);
        let video = CreateVideo {
            content_id: item.content_id.clone(),
            attempt: claim.attempt,
            avatar_id: creator.avatar_for(mode).unwrap_or_default().to_string(),
            script: script.to_string(),
            voice_id: creator.choose_voice(mode, self.settings.default_voice_id.as_deref()).map(str::to_string),
            title: item.title.clone(),
            callback_url,
        };
        let creator_id = creator_id(item).to_string();
        match self.deps.heygen.create_video(self.api_key, &video, self.heygen_deadline).await {
            Ok(created) => match store.record_video(&claim, &created.video_id).await {
                Ok(()) => {
                    crate::metrics::render_requested();
                    tracing::info!(
                        content_id = %item.content_id, creator_id, video_id = %created.video_id,
                        attempt = claim.attempt, slot = ?claim.slot, "render requested"
                    );
                    Dispatched::Created(VideoStarted {
                        content_id: item.content_id.clone(),
                        creator_id,
                        video_id: created.video_id,
                    })
                }
                Err(StoreError::Conflict) => {
                    // A stale reclaim took the item while HeyGen answered; the same
                    // idempotency key gives the new claimant this same video.
                    tracing::warn!(content_id = %item.content_id, video_id = %created.video_id, "claim lost before the video id was recorded");
                    Dispatched::Taken
                }
                Err(err) => {
                    // HeyGen has the request; the claim stays `requested` and its
                    // recovery replays the same key to record this video.
                    tracing::error!(content_id = %item.content_id, video_id = %created.video_id, "video id not recorded");
                    let error = ItemError::new(
                        item,
                        "storage_unavailable",
                        None,
                        "the video was requested but could not be recorded".into(),
                    );
                    self.storage_stopped(&err, Some(error))
                }
            },
            Err(HeygenError::Deadline) => {
                self.back_to_queue(&claim, item, Definiteness::Indefinite, None).await;
                Dispatched::Stopped { stop: Stop::Deadline, error: None }
            }
            Err(err) => {
                count(&err);
                let code = contract_code(&err);
                tracing::warn!(content_id = %item.content_id, code, error = %ErrorChain(&err), "HeyGen refused the request");
                if stops_batch(&err) {
                    let backoff =
                        backs_off(&err).then(|| Backoff::after(item.heygen_create_failures, Timestamp::now()));
                    if let Some(backoff) = &backoff {
                        tracing::warn!(
                            content_id = %item.content_id, code, failures = backoff.failures,
                            retry_at = %backoff.until, "HeyGen keeps failing this item; it waits aside"
                        );
                    }
                    self.back_to_queue(&claim, item, err.definiteness(), backoff).await;
                    return Dispatched::Stopped { stop: Stop::of(&err), error: None };
                }
                let text = request_error_text(code, &err.to_string());
                let error = ItemError::new(item, code, err.heygen_code(), err.to_string());
                match store.release(&claim, &text, err.definiteness()).await {
                    Ok(()) => Dispatched::Refused(error),
                    Err(StoreError::Conflict) => Dispatched::Refused(error),
                    Err(store_err) => self.storage_stopped(&store_err, Some(error)),
                }
            }
        }
    }

    /// A claim whose create ended the dispatch goes back to the queue; if that
    /// fails it stays `requested` and is recovered once stale.
    async fn back_to_queue(
        &self,
        claim: &Claim,
        item: &ContentItem,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) {
        if let Err(err) = self.deps.store.requeue(claim, definiteness, backoff).await {
            tracing::error!(content_id = %item.content_id, error = %ErrorChain(&err), "claim not put back in the queue; it will be recovered once stale");
        }
    }

    fn storage_stopped(&self, err: &StoreError, error: Option<ItemError>) -> Dispatched {
        tracing::error!(error = %ErrorChain(err), "dispatch stopped: DynamoDB failing");
        Dispatched::Stopped { stop: Stop::StorageUnavailable, error }
    }
}
