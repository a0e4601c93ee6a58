//! The DynamoDB adapter of the [`Store`] port, a file per section of the port:
//! `reads` (settings, creators, content), `queue` (the queue and the claims),
//! `flight` (renders in flight: checks and HeyGen's answers), `slots` (the render
//! slots), `archive` (the durable copies). This file holds the adapter, what the
//! sections share, and the trait's implementation, each method handed to its
//! section.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, Select};

use super::codec::Item;
use super::codec::{decode, decode_all, key_of, n, s, unavailable, update_error};
use super::{ARCHIVE_KEY_VALUE, PENDING_KEY_VALUE, QUEUE_KEY_ATTR, QUEUE_KEY_VALUE, Store, StoreError, index};
use crate::config::TableNames;
use crate::domain::setting_keys::KNOWN_KEYS;
use crate::domain::{
    Backoff, BudgetKey, BudgetRow, Cap, Claim, Classification, ContentItem, Creator, Definiteness, HolderState,
    JobStatus, Mode, Month, Outcome, RenderSlot, Reservation, Settings, SlotHolder, Timestamp, slot_key,
};
use crate::error_chain::ErrorChain;

mod archive;
mod budget;
mod flight;
mod queue;
mod reads;
mod slots;

/// The DynamoDB adapter.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

/// Unprocessed batch keys are retried this many times before giving up.
const BATCH_GET_TRIES: u32 = 5;

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// Every item of a sparse index whose hash key `key_attr` is `key_value`.
    async fn sparse_index(
        &self,
        index_name: &'static str,
        key_attr: &'static str,
        key_value: &'static str,
    ) -> Result<Vec<ContentItem>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.tables.content)
            .index_name(index_name)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_values(":v", s(key_value))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query", e))?;
        Ok(decode_all(items, "content_id"))
    }

    /// Whether the item, read consistently, still carries `claim` and `also` holds.
    async fn holds(&self, claim: &Claim, also: impl Fn(&ContentItem) -> bool) -> Result<bool, StoreError> {
        let item = self.get_item(&claim.content_id).await?;
        Ok(item.is_some_and(|item| item.heygen_claim_id.as_deref() == Some(&claim.claim_id) && also(&item)))
    }

    async fn get_item(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.map(|item| decode(content_id, item)).transpose()
    }
}

impl Store for DynamoStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        reads::settings(self).await
    }

    async fn ai_creators(&self) -> Result<Vec<Creator>, StoreError> {
        reads::ai_creators(self).await
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        reads::content_for(self, creator_id, month, mode).await
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        reads::get_content(self, content_id).await
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        reads::find_by_video_id(self, video_id).await
    }

    async fn claim(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        queue::claim(self, item, now, stale_after, slot).await
    }

    async fn enqueue(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> Result<(), StoreError> {
        queue::enqueue(self, item, now, stale_after, callback_url).await
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        queue::dequeue(self, content_id).await
    }

    async fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> Result<(), StoreError> {
        queue::requeue(self, claim, definiteness, backoff).await
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        queue::list_queued(self).await
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        queue::count_queued(self).await
    }

    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        slots::render_slots(self, count).await
    }

    async fn take_slot(&self, index: u32, content_id: &str, now: Timestamp) -> Result<(), StoreError> {
        slots::take_slot(self, index, content_id, now).await
    }

    async fn free_slot(&self, index: u32, content_id: &str) -> Result<(), StoreError> {
        slots::free_slot(self, index, content_id).await
    }

    async fn free_leaked_slot(&self, index: u32, as_judged: &SlotHolder) -> Result<(), StoreError> {
        slots::free_leaked_slot(self, index, as_judged).await
    }

    async fn holder_state(&self, content_id: &str) -> Result<Option<HolderState>, StoreError> {
        slots::holder_state(self, content_id).await
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        flight::mark_not_found(self, content_id, video_id, now).await
    }

    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        flight::mark_checked(self, content_id, video_id, now).await
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        queue::record_video(self, claim, video_id).await
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        queue::release(self, claim, error, definiteness).await
    }

    async fn apply_outcome(
        &self,
        item: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        flight::apply_outcome(self, item, video_id, outcome, now, attach_video).await
    }

    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        archive::list_unarchived(self).await
    }

    async fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        archive::archive_done(self, content_id, video_id, url, now).await
    }

    async fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        archive::archive_failed(self, content_id, video_id, reason, retry_at).await
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        flight::list_in_flight(self).await
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
        queue::claim_reserving(self, item, now, stale_after, slot, reservation, cap).await
    }

    async fn budget(&self, key: &BudgetKey) -> Result<BudgetRow, StoreError> {
        budget::budget(self, key).await
    }

    async fn set_budget_cap(&self, key: &BudgetKey, cap: Option<u64>) -> Result<BudgetRow, StoreError> {
        budget::set_budget_cap(self, key, cap).await
    }

    async fn mark_blocked(&self, content_id: &str) -> Result<(), StoreError> {
        budget::mark_blocked(self, content_id).await
    }
}
