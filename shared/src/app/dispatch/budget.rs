//! The budget's part of a dispatch (contract section 13): each item's
//! reservation, the rows as the dispatch believes them, the claim that reserves,
//! and the items passed over.

use super::{Claim, ContentItem, Dispatched, Dispatcher, ErrorChain, Ports, SlotBook, StoreError, Timestamp};
use crate::domain::{BudgetKey, BudgetRow, Reservation, estimate_seconds};
use crate::store::{BudgetStore, SlotStore};
use std::collections::VecDeque;

/// A budget row as a dispatch believes it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Belief {
    row: BudgetRow,
    /// Read from the table since this dispatch last reserved in it.
    fresh: bool,
}

impl<'a, P: Ports> Dispatcher<'a, P> {
    /// A budget row the caller has just read (the trigger): not read again.
    pub fn knowing_budget(mut self, key: BudgetKey, row: BudgetRow) -> Self {
        self.budgets.insert(key, Belief { row, fresh: true });
        self
    }

    /// The budgets this dispatch read, in order.
    pub fn budgets_read(&self) -> Vec<BudgetKey> {
        let mut keys: Vec<BudgetKey> = self.budgets.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The item's reservation: its stored estimate, else one made now at the
    /// setting's rate (an item queued before estimates were written).
    pub(super) fn reservation_for(&self, item: &ContentItem, script: &str) -> Option<Reservation> {
        let budget = item.budget_key()?;
        let seconds =
            item.heygen_estimated_seconds.unwrap_or_else(|| estimate_seconds(script, self.settings.seconds_per_word));
        Some(Reservation { budget, seconds: seconds.max(1) })
    }

    /// The budget row as this dispatch believes it; `fresh` reads it again
    /// unless it was read since this dispatch last reserved in it.
    async fn budget_row(&mut self, key: &BudgetKey, fresh: bool) -> Result<BudgetRow, StoreError> {
        match self.budgets.get(key) {
            Some(belief) if !fresh || belief.fresh => return Ok(belief.row),
            _ => {}
        }
        let row = self.deps.store.budget(key).await?;
        self.budgets.insert(key.clone(), Belief { row, fresh: true });
        Ok(row)
    }

    /// Passes over an item that does not fit its budget, marking it once.
    async fn blocked(&mut self, item: &ContentItem, reservation: &Reservation) -> Dispatched {
        self.blocked += 1;
        if !item.blocked_by_budget() {
            tracing::info!(
                content_id = %item.content_id, budget = %reservation.budget, estimate = reservation.seconds,
                "does not fit its budget; passed over"
            );
            if let Err(err) = self.deps.store.mark_blocked(&item.content_id).await
                && !matches!(err, StoreError::Conflict)
            {
                tracing::warn!(content_id = %item.content_id, error = %ErrorChain(&err), "not marked as blocked");
            }
        }
        Dispatched::Blocked
    }

    /// Takes a slot and claims a queued item with its reservation, as one
    /// step with the budget; a budget that changed meanwhile is read again.
    pub(super) async fn claim_queued(
        &mut self,
        item: &ContentItem,
        reservation: &Reservation,
    ) -> Result<Claim, Dispatched> {
        let settings_cap = self.settings.budget_seconds;
        let mut fresh = false;
        loop {
            let row = match self.budget_row(&reservation.budget, fresh).await {
                Ok(row) => row,
                Err(err) => return Err(self.storage_stopped(&err, None)),
            };
            let cap = row.cap(settings_cap);
            if !row.fits(cap, reservation.seconds) {
                if !fresh {
                    // Believed full: others may have settled or released since.
                    fresh = true;
                    continue;
                }
                return Err(self.blocked(item, reservation).await);
            }
            let slot = match self.take_slot(&item.content_id).await {
                Ok(Some(index)) => index,
                Ok(None) => return Err(Dispatched::NoSlot),
                Err(err) => return Err(self.storage_stopped(&err, None)),
            };
            let store = &self.deps.store;
            let stale_after = self.deps.config.claim_stale_after;
            match store.claim_reserving(item, Timestamp::now(), stale_after, Some(slot), reservation, cap).await {
                Ok(claim) => {
                    let mut row = row;
                    row.reserve(cap, reservation.seconds);
                    self.budgets.insert(reservation.budget.clone(), Belief { row, fresh: false });
                    return Ok(claim);
                }
                // Definitely not written: the slot is free again.
                // The row changed since it was read (others reserved, or the
                // cap moved): read it again, once.
                Err(StoreError::OverBudget) if !fresh => {
                    let _ = store.free_slot(slot, &item.content_id).await;
                    self.slots.get_or_insert_with(|| SlotBook { free: VecDeque::new() }).free.push_front(slot);
                    if let Some(belief) = self.budgets.get_mut(&reservation.budget) {
                        belief.fresh = false;
                    }
                    fresh = true;
                }
                Err(StoreError::OverBudget) => {
                    let _ = store.free_slot(slot, &item.content_id).await;
                    return Err(self.blocked(item, reservation).await);
                }
                Err(StoreError::Conflict) => {
                    let _ = store.free_slot(slot, &item.content_id).await;
                    tracing::info!(content_id = %item.content_id, "claimed by a concurrent call; skipped");
                    return Err(Dispatched::Taken);
                }
                // Unknown: the claim may have been applied and the slot be in use.
                // It stays held; the leak repair frees it if the claim was not made.
                Err(err) => return Err(self.storage_stopped(&err, None)),
            }
        }
    }
}
