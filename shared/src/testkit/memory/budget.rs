//! Budgets in memory.

#[allow(clippy::wildcard_imports)]
use super::*;

impl BudgetStore for MemoryStore {
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
}
