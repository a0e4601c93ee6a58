//! Budgets (contract section 13): the rows `_budget#{month}#{mode}` of the
//! settings table, and the transactions that make a reservation, a settlement
//! or a release one all-or-nothing step with the item's own write.
//!
//! DynamoDB's conditions cannot add, so a row keeps, beside the contract's
//! `reserved_seconds` and `spent_seconds`, their sum `committed_seconds`: a
//! reservation is conditional on `committed_seconds <= cap - estimate` and on the
//! cap being the one it was judged against.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::domain::{BLOCKED_BY_BUDGET, BudgetKey, BudgetRow, Cap, Reservation};

/// DynamoDB cancels a transaction that meets another one on the same item
/// (`TransactionConflict`); the budget row is shared, so a busy month meets
/// them. Each is tried again after a short pause, this many times in all.
const TRANSACTION_TRIES: u32 = 5;

/// What a transaction's cancellation was for.
pub(super) enum Cancelled {
    /// The condition of the write at this index did not hold.
    Condition(usize),
}

pub(super) fn n64(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn signed(v: i128) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &Item, attr: &str) -> u64 {
    match item.get(attr) {
        // A counter pushed below zero by hand reads as zero.
        Some(AttributeValue::N(v)) => {
            v.parse::<i128>().map(|v| u64::try_from(v.max(0)).unwrap_or(u64::MAX)).unwrap_or(0)
        }
        _ => 0,
    }
}

fn row_of(item: Option<&Item>) -> BudgetRow {
    let Some(item) = item else { return BudgetRow::default() };
    BudgetRow {
        cap_seconds: item.contains_key("cap_seconds").then(|| number(item, "cap_seconds")),
        reserved_seconds: number(item, "reserved_seconds"),
        spent_seconds: number(item, "spent_seconds"),
    }
}

impl DynamoStore {
    /// The same update, as one write of a transaction.
    pub(super) fn as_transact(req: &UpdateItemFluentBuilder) -> Result<TransactWriteItem, StoreError> {
        let input = req.as_input();
        let update = Update::builder()
            .set_key(input.get_key().clone())
            .set_table_name(input.get_table_name().clone())
            .set_update_expression(input.get_update_expression().clone())
            .set_condition_expression(input.get_condition_expression().clone())
            .set_expression_attribute_names(input.get_expression_attribute_names().clone())
            .set_expression_attribute_values(input.get_expression_attribute_values().clone())
            .build()
            .map_err(|e| unavailable("TransactWriteItems (build)", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Sends `writes` as one transaction: `Ok(Err(_))` names the write whose
    /// condition failed (nothing was written).
    pub(super) async fn transact(
        &self,
        operation: &'static str,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = self.client.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
            let err = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
                let reasons = cancelled.cancellation_reasons();
                let code = |r: &aws_sdk_dynamodb::types::CancellationReason| r.code().unwrap_or("None").to_string();
                if let Some(index) = reasons.iter().position(|r| code(r) == "ConditionalCheckFailed") {
                    return Ok(Err(Cancelled::Condition(index)));
                }
                if reasons.iter().any(|r| code(r) == "TransactionConflict") && tries < TRANSACTION_TRIES {
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(10..60) * u64::from(tries))).await;
                    continue;
                }
            }
            return Err(unavailable(operation, err));
        }
    }

    /// The budget row's write that takes `seconds` under `cap` (13.2).
    pub(super) fn reserve_write(&self, budget: &BudgetKey, seconds: u64, cap: Cap) -> UpdateItemFluentBuilder {
        let room = "(attribute_not_exists(committed_seconds) OR committed_seconds <= :room)";
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.settings)
            .key("key", s(budget.item_key()))
            .update_expression(
                "SET reserved_seconds = if_not_exists(reserved_seconds, :zero) + :seconds, \
                 committed_seconds = if_not_exists(committed_seconds, :zero) + :seconds, \
                 spent_seconds = if_not_exists(spent_seconds, :zero)",
            )
            .expression_attribute_values(":zero", n64(0))
            .expression_attribute_values(":seconds", n64(seconds));
        let condition = match cap {
            Cap::None => "attribute_not_exists(cap_seconds)".to_string(),
            Cap::Setting(cap) => {
                req = req.expression_attribute_values(":room", n64(cap.saturating_sub(seconds)));
                format!("attribute_not_exists(cap_seconds) AND {room}")
            }
            Cap::Row(cap) => {
                req = req
                    .expression_attribute_values(":cap", n64(cap))
                    .expression_attribute_values(":room", n64(cap.saturating_sub(seconds)));
                format!("cap_seconds = :cap AND {room}")
            }
        };
        req.condition_expression(condition)
    }

    /// The budget row's write that gives a reservation back, or (with
    /// `billed`) turns it into what HeyGen billed.
    pub(super) fn settle_write(&self, reservation: &Reservation, billed: Option<u64>) -> UpdateItemFluentBuilder {
        let billed_seconds = billed.unwrap_or(0);
        let delta = i128::from(billed_seconds) - i128::from(reservation.seconds);
        self.client
            .update_item()
            .table_name(&self.tables.settings)
            .key("key", s(reservation.budget.item_key()))
            .update_expression(
                "SET reserved_seconds = if_not_exists(reserved_seconds, :zero) - :reserved, \
                 spent_seconds = if_not_exists(spent_seconds, :zero) + :billed, \
                 committed_seconds = if_not_exists(committed_seconds, :zero) + :delta",
            )
            .expression_attribute_values(":zero", n64(0))
            .expression_attribute_values(":reserved", n64(reservation.seconds))
            .expression_attribute_values(":billed", n64(billed_seconds))
            .expression_attribute_values(":delta", signed(delta))
    }

    /// Sends the item's `write`; with a reservation, in one transaction with its
    /// settlement (`billed`) or release. A failed condition of the item's write
    /// is [`StoreError::Conflict`].
    pub(super) async fn write_settling(
        &self,
        operation: &'static str,
        write: UpdateItemFluentBuilder,
        reservation: Option<&Reservation>,
        billed: Option<u64>,
    ) -> Result<(), StoreError> {
        let Some(reservation) = reservation else {
            write.send().await.map_err(|e| update_error(operation, e))?;
            return Ok(());
        };
        let writes = vec![Self::as_transact(&write)?, Self::as_transact(&self.settle_write(reservation, billed))?];
        match self.transact(operation, writes).await? {
            Ok(()) => Ok(()),
            Err(Cancelled::Condition(_)) => Err(StoreError::Conflict),
        }
    }
}

impl BudgetStore for DynamoStore {
    async fn claim_reserving(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
        reservation: &Reservation,
        cap: Cap,
    ) -> Result<Claim, StoreError> {
        let store = self;
        if !item.is_claimable(now, stale_after) {
            return Err(StoreError::Conflict);
        }
        if cap.seconds().is_some_and(|cap| reservation.seconds > cap) {
            return Err(StoreError::OverBudget);
        }
        let reserve = store.reserve_write(&reservation.budget, reservation.seconds, cap);
        let (claim, req) = queue::claim_write(store, item, now, stale_after, slot, Some(reservation.clone()));
        let writes = vec![DynamoStore::as_transact(&req)?, DynamoStore::as_transact(&reserve)?];
        match store.transact("TransactWriteItems (claim)", writes).await? {
            Ok(()) => Ok(claim),
            // As for a claim: an applied transaction whose answer was lost.
            Err(budget::Cancelled::Condition(0)) if store.holds(&claim, |_| true).await? => Ok(claim),
            Err(budget::Cancelled::Condition(0)) => Err(StoreError::Conflict),
            Err(budget::Cancelled::Condition(_)) => Err(StoreError::OverBudget),
        }
    }

    async fn budget(&self, key: &BudgetKey) -> Result<BudgetRow, StoreError> {
        let store = self;
        let out = store
            .client
            .get_item()
            .table_name(&store.tables.settings)
            .key("key", s(key.item_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem (budget)", e))?;
        Ok(row_of(out.item.as_ref()))
    }

    async fn set_budget_cap(&self, key: &BudgetKey, cap: Option<u64>) -> Result<BudgetRow, StoreError> {
        let store = self;
        let req = store
            .client
            .update_item()
            .table_name(&store.tables.settings)
            .key("key", s(key.item_key()))
            .return_values(ReturnValue::AllNew);
        let req = match cap {
            Some(cap) => req.update_expression("SET cap_seconds = :cap").expression_attribute_values(":cap", n64(cap)),
            None => req.update_expression("REMOVE cap_seconds"),
        };
        let out = req.send().await.map_err(|e| update_error("UpdateItem (budget cap)", e))?;
        Ok(row_of(out.attributes.as_ref()))
    }

    async fn mark_blocked(&self, content_id: &str) -> Result<(), StoreError> {
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.content)
            .key("content_id", s(content_id))
            .update_expression("SET heygen_blocked = :blocked")
            .condition_expression("heygen_status = :queued AND attribute_not_exists(heygen_blocked)")
            .expression_attribute_values(":blocked", s(BLOCKED_BY_BUDGET))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (blocked by budget)", e))?;
        Ok(())
    }
}
