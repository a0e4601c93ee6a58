//! The DynamoDB adapter of the [`Store`] port.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, Select};

use super::codec::Item;
use super::codec::{decode, key_of, n, s, unavailable, update_error};
use super::pages::all_pages;
use super::{ARCHIVE_KEY_VALUE, PENDING_KEY_VALUE, QUEUE_KEY_ATTR, QUEUE_KEY_VALUE, Store, StoreError, index};
use crate::config::TableNames;
use crate::domain::setting_keys::KNOWN_KEYS;
use crate::domain::{
    Backoff, Claim, Classification, ContentItem, Creator, Definiteness, HolderState, JobStatus, Mode, Month, Outcome,
    RenderSlot, Settings, SlotHolder, Timestamp, slot_key,
};
use crate::error_chain::ErrorChain;

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

    /// The write of HeyGen's final answer: conditional on the item still being
    /// pending on `video_id`; with `attach`, also on it having no video, which the
    /// completion then attaches.
    fn outcome_update(
        &self,
        content_id: &str,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach: bool,
        archive: bool,
    ) -> UpdateItemFluentBuilder {
        let pending = "heygen_video_id = :vid AND heygen_status IN (:requested, :pending)";
        let condition = if attach {
            format!("{pending} AND (attribute_not_exists(creator_video_url) OR creator_video_url = :empty)")
        } else {
            pending.to_string()
        };
        let req = self
            .client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .return_values(ReturnValue::UpdatedOld)
            .condition_expression(condition)
            .expression_attribute_values(":vid", s(video_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()));
        match outcome {
            Outcome::Completed { video_url, thumbnail_url } => {
                let mut set = vec![
                    "heygen_status = :completed",
                    "heygen_video_url = :url",
                    "heygen_completed_at = :now",
                    "heygen_checked_at = :now",
                ];
                let mut req = req
                    .expression_attribute_values(":completed", s(JobStatus::Completed.as_str()))
                    .expression_attribute_values(":url", s(video_url))
                    .expression_attribute_values(":now", s(now.to_string()));
                if let Some(thumb) = thumbnail_url {
                    set.push("heygen_thumbnail_url = :thumb");
                    req = req.expression_attribute_values(":thumb", s(thumb));
                }
                if attach {
                    set.extend(["creator_video_url = :url", "#status = :submitted"]);
                    req = req
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":submitted", s("submitted"))
                        .expression_attribute_values(":empty", s(""));
                } else if archive {
                    // Attached once copied (section 8): into the archive index.
                    set.push("heygen_archive = :to_copy");
                    req = req.expression_attribute_values(":to_copy", s(ARCHIVE_KEY_VALUE));
                }
                req.update_expression(format!(
                    "SET {} REMOVE heygen_pending, heygen_error, heygen_slot, heygen_not_found_since, heygen_retry_at",
                    set.join(", ")
                ))
            }
            Outcome::Failed { message } => req
                .update_expression(
                    "SET heygen_status = :failed, heygen_error = :error, heygen_checked_at = :now, \
                     heygen_attempt = if_not_exists(heygen_attempt, :one) + :one \
                     REMOVE heygen_pending, heygen_slot, heygen_not_found_since, heygen_retry_at",
                )
                .expression_attribute_values(":now", s(now.to_string()))
                .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
                .expression_attribute_values(":error", s(message))
                .expression_attribute_values(":one", n(1)),
            // Back to the queue under the next attempt (section 11); only an item
            // that has a place in the queue.
            Outcome::Retry { message } => req
                .condition_expression(format!("{pending} AND attribute_exists(heygen_queue_order)"))
                .update_expression(
                    "SET heygen_status = :queued, heygen_queue = :queue_key, heygen_error = :error, \
                     heygen_checked_at = :now, heygen_attempt = if_not_exists(heygen_attempt, :one) + :one \
                     REMOVE heygen_pending, heygen_slot, heygen_claim_id, heygen_not_found_since, heygen_retry_at",
                )
                .expression_attribute_values(":now", s(now.to_string()))
                .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
                .expression_attribute_values(":error", s(message))
                .expression_attribute_values(":one", n(1)),
        }
    }

    /// Items of the settings table by key, read consistently, 100 keys a request,
    /// unprocessed keys retried.
    async fn settings_items(&self, keys: Vec<String>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let keys = chunk.iter().map(|k| HashMap::from([("key".to_string(), s(k))])).collect();
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| unavailable("BatchGetItem", e))?;
            let mut done = false;
            for attempt in 1..=BATCH_GET_TRIES {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.tables.settings, request.clone())
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchGetItem", e))?;
                found.extend(out.responses.unwrap_or_default().remove(&self.tables.settings).unwrap_or_default());
                match out.unprocessed_keys.unwrap_or_default().remove(&self.tables.settings) {
                    Some(rest) if !rest.keys.is_empty() => {
                        request = rest;
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    _ => {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                return Err(unavailable("BatchGetItem", std::io::Error::other("keys left unprocessed after retries")));
            }
        }
        Ok(found)
    }

    /// Frees `claim`'s slot after its item left flight. A failure only leaks the
    /// slot until the worker frees it: logged, not returned.
    async fn free_claim_slot(&self, content_id: &str, slot: Option<u32>) {
        let Some(index) = slot else { return };
        match self.free_slot(index, content_id).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(err) => {
                tracing::warn!(content_id, slot = index, error = %ErrorChain(&err), "slot not freed; the worker will")
            }
        }
    }

    /// The claim's condition: claimable as read (eligible; or queued, when
    /// `queued` says so) and unchanged since the read (status, claim, attempt).
    fn claimable_condition(
        mut req: UpdateItemFluentBuilder,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        queued: bool,
    ) -> UpdateItemFluentBuilder {
        let statuses = if queued { "heygen_status IN (:failed, :queued)" } else { "heygen_status = :failed" };
        let mut condition = vec![
            "attribute_exists(content_id)".to_string(),
            "(attribute_not_exists(creator_video_url) OR creator_video_url = :empty)".to_string(),
            format!(
                "(attribute_not_exists(heygen_status) OR {statuses} OR (heygen_status = :requested AND \
                 (attribute_not_exists(heygen_requested_at) OR heygen_requested_at <= :stale_before)))"
            ),
        ];
        req = req
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
            .expression_attribute_values(":empty", s(""))
            .expression_attribute_values(":stale_before", s(now.minus(stale_after).to_string()));
        if queued {
            req = req.expression_attribute_values(":queued", s(JobStatus::Queued.as_str()));
        }
        let seen: [(&str, &str, Option<AttributeValue>); 3] = [
            ("heygen_status", ":seen_status", item.heygen_status.as_deref().map(s)),
            ("heygen_claim_id", ":seen_claim", item.heygen_claim_id.as_deref().map(s)),
            ("heygen_attempt", ":seen_attempt", item.heygen_attempt.map(n)),
        ];
        for (attr, placeholder, value) in seen {
            match value {
                Some(v) => {
                    condition.push(format!("{attr} = {placeholder}"));
                    req = req.expression_attribute_values(placeholder, v);
                }
                None => condition.push(format!("attribute_not_exists({attr})")),
            }
        }
        req.condition_expression(condition.join(" AND "))
    }

    /// Every item of a sparse index whose hash key `key_attr` is `key_value`.
    async fn sparse_index(
        &self,
        index_name: &'static str,
        key_attr: &'static str,
        key_value: &'static str,
    ) -> Result<Vec<ContentItem>, StoreError> {
        let client = &self.client;
        all_pages("content_id", |start| async move {
            let out = client
                .query()
                .table_name(&self.tables.content)
                .index_name(index_name)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key_attr)
                .expression_attribute_values(":v", s(key_value))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            Ok((out.items, out.last_evaluated_key))
        })
        .await
    }

    /// Whether the item, read consistently, still carries `claim` and `also` holds.
    async fn holds(&self, claim: &Claim, also: impl Fn(&ContentItem) -> bool) -> Result<bool, StoreError> {
        let item = self.get_item(&claim.content_id).await?;
        Ok(item.is_some_and(|item| item.heygen_claim_id.as_deref() == Some(&claim.claim_id) && also(&item)))
    }

    /// Records a check of HeyGen's status of `video_id` (`update`, with `:now`):
    /// conditional on the item still being in flight on that video.
    async fn check_recorded(
        &self,
        content_id: &str,
        video_id: &str,
        now: Timestamp,
        update: &str,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .update_expression(update)
            .condition_expression("heygen_video_id = :vid AND heygen_status IN (:requested, :pending)")
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":vid", s(video_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()))
            .send()
            .await
            .map_err(|e| update_error(operation, e))?;
        Ok(())
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
        let mut values = HashMap::new();
        for item in self.settings_items(KNOWN_KEYS.iter().map(|k| k.to_string()).collect()).await? {
            match (item.get("key"), item.get("value")) {
                (Some(AttributeValue::S(k)), Some(AttributeValue::S(v))) => {
                    values.insert(k.clone(), v.clone());
                }
                _ => tracing::warn!(key = %key_of(&item, "key"), "setting without a string value ignored"),
            }
        }
        Ok(Settings::from_values(&values))
    }

    async fn ai_creators(&self) -> Result<Vec<Creator>, StoreError> {
        // The creators table is small and written by the platform: a filtered scan;
        // the rest of the rule (a non-empty avatar for the mode) is the caller's.
        let client = &self.client;
        let mut creators: Vec<Creator> = all_pages("creator_id", |start| async move {
            let out = client
                .scan()
                .table_name(&self.tables.creators)
                .filter_expression("is_ai = :true AND active = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Scan", e))?;
            Ok((out.items, out.last_evaluated_key))
        })
        .await?;
        creators.sort_by(|a, b| a.creator_id.cmp(&b.creator_id));
        Ok(creators)
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        let client = &self.client;
        let prefix = month.date_prefix();
        let mut items: Vec<ContentItem> = all_pages("content_id", |start| {
            let prefix = prefix.clone();
            async move {
                let out = client
                    .query()
                    .table_name(&self.tables.content)
                    .index_name(index::CONTENT_BY_CREATOR_DATE)
                    .key_condition_expression("assigned_creator_id = :creator AND begins_with(#date, :month)")
                    .filter_expression("#mode = :mode")
                    .expression_attribute_names("#date", "date")
                    .expression_attribute_names("#mode", "mode")
                    .expression_attribute_values(":creator", s(creator_id))
                    .expression_attribute_values(":month", s(prefix))
                    .expression_attribute_values(":mode", s(mode.as_str()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| unavailable("Query", e))?;
                Ok((out.items, out.last_evaluated_key))
            }
        })
        .await?;
        items.retain(|i| month.contains_date(&i.date));
        Ok(items)
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        self.get_item(content_id).await
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        // The index is keys-only and eventually consistent: confirm on the item.
        let out = self
            .client
            .query()
            .table_name(&self.tables.content)
            .index_name(index::CONTENT_BY_VIDEO_ID)
            .key_condition_expression("heygen_video_id = :vid")
            .expression_attribute_values(":vid", s(video_id))
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        for key in out.items.unwrap_or_default() {
            let content_id = key_of(&key, "content_id");
            if let Some(item) = self.get_item(&content_id).await?
                && item.heygen_video_id.as_deref() == Some(video_id)
            {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    async fn claim(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        if !item.is_claimable(now, stale_after) {
            return Err(StoreError::Conflict);
        }
        let claim = Claim {
            content_id: item.content_id.clone(),
            claim_id: uuid::Uuid::new_v4().to_string(),
            attempt: item.next_attempt(),
            slot,
        };
        let (set_slot, remove_slot) = match slot {
            Some(_) => (", heygen_slot = :slot", ""),
            None => ("", ", heygen_slot"),
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(&item.content_id))
            .update_expression(format!(
                "SET heygen_status = :requested, heygen_claim_id = :claim, heygen_attempt = :attempt, \
                 heygen_requested_at = :now, heygen_pending = :pending_key{set_slot} \
                 REMOVE heygen_video_id, heygen_video_url, heygen_thumbnail_url, heygen_error, heygen_completed_at, \
                 heygen_checked_at, heygen_queue, heygen_retry_at, heygen_not_found_since{remove_slot}"
            ))
            .expression_attribute_values(":claim", s(&claim.claim_id))
            .expression_attribute_values(":attempt", n(claim.attempt))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":pending_key", s(PENDING_KEY_VALUE));
        if let Some(index) = slot {
            req = req.expression_attribute_values(":slot", n(index));
        }
        let sent = Self::claimable_condition(req, item, now, stale_after, true).send().await;
        match sent.map_err(|e| update_error("UpdateItem (claim)", e)) {
            Ok(_) => Ok(claim),
            // The SDK retries a write whose answer was lost (a timeout, a 500); if
            // the first try was applied, the retry fails on its own claim.
            Err(StoreError::Conflict) if self.holds(&claim, |_| true).await? => Ok(claim),
            Err(err) => Err(err),
        }
    }

    async fn enqueue(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> Result<(), StoreError> {
        if item.classify(now, stale_after) != Classification::Eligible {
            return Err(StoreError::Conflict);
        }
        let req = self
            .client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(&item.content_id))
            .update_expression(
                "SET heygen_status = :queued_status, heygen_queued_at = :now, heygen_callback_url = :callback, \
                 heygen_queue = :queue_key, heygen_queue_order = :order \
                 REMOVE heygen_pending, heygen_slot, heygen_claim_id, heygen_retry_at, heygen_create_failures",
            )
            .expression_attribute_values(":queued_status", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":callback", s(callback_url))
            .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
            .expression_attribute_values(":order", s(item.queue_order()));
        Self::claimable_condition(req, item, now, stale_after, false)
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (enqueue)", e))?;
        Ok(())
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .update_expression(
                "REMOVE heygen_status, heygen_queue, heygen_queue_order, heygen_queued_at, heygen_callback_url",
            )
            .condition_expression("heygen_status = :queued")
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (dequeue)", e))?;
        Ok(())
    }

    async fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> Result<(), StoreError> {
        let set_backoff =
            if backoff.is_some() { ", heygen_retry_at = :retry_at, heygen_create_failures = :failures" } else { "" };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(&claim.content_id))
            .update_expression(format!(
                "SET heygen_status = :queued, heygen_queue = :queue_key, heygen_attempt = :attempt{set_backoff} \
                 REMOVE heygen_pending, heygen_slot, heygen_claim_id"
            ));
        if let Some(backoff) = backoff {
            req = req
                .expression_attribute_values(":retry_at", s(backoff.until.to_string()))
                .expression_attribute_values(":failures", n(backoff.failures));
        }
        req.condition_expression(
            "heygen_claim_id = :claim AND heygen_status = :requested AND attribute_exists(heygen_queue_order)",
        )
        .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
        .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
        .expression_attribute_values(":attempt", n(claim.attempt_after_release(definiteness)))
        .expression_attribute_values(":claim", s(&claim.claim_id))
        .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
        .send()
        .await
        .map_err(|e| update_error("UpdateItem (requeue)", e))?;
        self.free_claim_slot(&claim.content_id, claim.slot).await;
        Ok(())
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        let mut items = self.sparse_index(index::CONTENT_QUEUE, "heygen_queue", QUEUE_KEY_VALUE).await?;
        // The index is eventually consistent: keep what the items themselves say.
        items.retain(ContentItem::is_queued);
        items.sort_by_key(ContentItem::queue_order);
        Ok(items)
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        let mut count = 0usize;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.content)
                .index_name(index::CONTENT_QUEUE)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", QUEUE_KEY_ATTR)
                .expression_attribute_values(":v", s(QUEUE_KEY_VALUE))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            count += usize::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        let found = self.settings_items((0..count).map(slot_key).collect()).await?;
        let mut slots: Vec<RenderSlot> = (0..count).map(|index| RenderSlot { index, holder: None }).collect();
        for item in found {
            let key = key_of(&item, "key");
            let Some(slot) = slots.iter_mut().find(|slot| slot_key(slot.index) == key) else { continue };
            if let Some(AttributeValue::S(content_id)) = item.get("holder") {
                let taken_at = match item.get("taken_at") {
                    Some(AttributeValue::S(at)) => at.clone(),
                    _ => String::new(),
                };
                slot.holder = Some(SlotHolder { content_id: content_id.clone(), taken_at });
            }
        }
        Ok(slots)
    }

    async fn take_slot(&self, index: u32, content_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.settings)
            .key("key", s(slot_key(index)))
            .update_expression("SET holder = :cid, taken_at = :now")
            .condition_expression("attribute_not_exists(holder)")
            .expression_attribute_values(":cid", s(content_id))
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (take slot)", e))?;
        Ok(())
    }

    async fn free_slot(&self, index: u32, content_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.settings)
            .key("key", s(slot_key(index)))
            .update_expression("REMOVE holder, taken_at")
            .condition_expression("holder = :cid")
            .expression_attribute_values(":cid", s(content_id))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (free slot)", e))?;
        Ok(())
    }

    async fn free_leaked_slot(&self, index: u32, as_judged: &SlotHolder) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.settings)
            .key("key", s(slot_key(index)))
            .update_expression("REMOVE holder, taken_at")
            .condition_expression("holder = :cid AND taken_at = :at")
            .expression_attribute_values(":cid", s(&as_judged.content_id))
            .expression_attribute_values(":at", s(&as_judged.taken_at))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (free leaked slot)", e))?;
        Ok(())
    }

    async fn holder_state(&self, content_id: &str) -> Result<Option<HolderState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .projection_expression("heygen_status, heygen_slot")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item.map(|item| {
            let in_flight = matches!(item.get("heygen_status"), Some(AttributeValue::S(status))
                if JobStatus::parse(status).is_some_and(|s| s.is_pending()));
            let (slot, slot_unreadable) = match item.get("heygen_slot") {
                None => (None, false),
                Some(AttributeValue::N(index)) => match index.parse::<u32>() {
                    Ok(index) => (Some(index), false),
                    Err(_) => (None, true),
                },
                Some(_) => (None, true),
            };
            HolderState { in_flight, slot, slot_unreadable }
        }))
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let update =
            "SET heygen_checked_at = :now, heygen_not_found_since = if_not_exists(heygen_not_found_since, :now)";
        self.check_recorded(content_id, video_id, now, update, "UpdateItem (mark not found)").await
    }

    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let update = "SET heygen_checked_at = :now REMOVE heygen_not_found_since";
        self.check_recorded(content_id, video_id, now, update, "UpdateItem (mark checked)").await
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(&claim.content_id))
            .update_expression("SET heygen_video_id = :vid, heygen_status = :pending REMOVE heygen_create_failures")
            .condition_expression("heygen_claim_id = :claim AND heygen_status = :requested")
            .expression_attribute_values(":vid", s(video_id))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()))
            .expression_attribute_values(":claim", s(&claim.claim_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (record video)", e));
        match sent {
            Ok(_) => Ok(()),
            // As for a claim: an applied write whose answer was lost.
            Err(StoreError::Conflict)
                if self.holds(claim, |item| item.heygen_video_id.as_deref() == Some(video_id)).await? =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(&claim.content_id))
            .update_expression(
                "SET heygen_status = :failed, heygen_error = :error, heygen_attempt = :attempt \
                 REMOVE heygen_pending, heygen_slot",
            )
            .condition_expression("heygen_claim_id = :claim AND heygen_status = :requested")
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":attempt", n(claim.attempt_after_release(definiteness)))
            .expression_attribute_values(":claim", s(&claim.claim_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (release)", e))?;
        self.free_claim_slot(&claim.content_id, claim.slot).await;
        Ok(())
    }

    async fn apply_outcome(
        &self,
        content_id: &str,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        let operation = "UpdateItem (apply outcome)";
        let attach = attach_video && matches!(outcome, Outcome::Completed { .. });
        // A retried render is not archived: it is queued again.
        let archive = !attach_video;
        let first = self.outcome_update(content_id, video_id, outcome, now, attach, archive).send().await;
        let written = match first.map_err(|e| update_error(operation, e)) {
            // The platform's video wins (contract section 3): if one was attached
            // meanwhile, record HeyGen's answer alone. The second write's own
            // condition says whether the item was settled instead.
            Err(StoreError::Conflict) if attach => {
                let second = self.outcome_update(content_id, video_id, outcome, now, false, false).send().await;
                second.map_err(|e| update_error(operation, e))?
            }
            other => other?,
        };
        // The item left flight: its slot (as it was) is free again.
        let old_slot = match written.attributes.as_ref().and_then(|old| old.get("heygen_slot")) {
            Some(AttributeValue::N(index)) => index.parse().ok(),
            _ => None,
        };
        self.free_claim_slot(content_id, old_slot).await;
        Ok(())
    }

    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        let mut items = self.sparse_index(index::CONTENT_TO_ARCHIVE, "heygen_archive", ARCHIVE_KEY_VALUE).await?;
        items.retain(|i| i.job_status() == Ok(Some(JobStatus::Completed)) && i.video_archived_at.is_none());
        items.sort_by(|a, b| a.heygen_completed_at.cmp(&b.heygen_completed_at));
        Ok(items)
    }

    async fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let write = |attach: bool| {
            let condition =
                "heygen_video_id = :vid AND heygen_status = :completed AND attribute_exists(heygen_archive)";
            let req = self
                .client
                .update_item()
                .table_name(&self.tables.content)
                .key("content_id", s(content_id))
                .expression_attribute_values(":vid", s(video_id))
                .expression_attribute_values(":completed", s(JobStatus::Completed.as_str()))
                .expression_attribute_values(":now", s(now.to_string()));
            if attach {
                req.condition_expression(format!(
                    "{condition} AND (attribute_not_exists(creator_video_url) OR creator_video_url = :empty)"
                ))
                .update_expression(
                    "SET creator_video_url = :url, #status = :submitted, video_archived_at = :now \
                     REMOVE heygen_archive, heygen_archive_error, heygen_retry_at",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":url", s(url))
                .expression_attribute_values(":submitted", s("submitted"))
                .expression_attribute_values(":empty", s(""))
            } else {
                req.condition_expression(condition).update_expression(
                    "SET video_archived_at = :now REMOVE heygen_archive, heygen_archive_error, heygen_retry_at",
                )
            }
        };
        let operation = "UpdateItem (archive done)";
        match write(true).send().await.map_err(|e| update_error(operation, e)) {
            // The platform's video wins: the copy is recorded, not attached.
            Err(StoreError::Conflict) => {
                write(false).send().await.map_err(|e| update_error(operation, e))?;
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    async fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .update_expression(
                "SET heygen_archive_error = :reason, heygen_retry_at = :retry_at ADD heygen_archive_attempts :one",
            )
            .expression_attribute_values(":retry_at", s(retry_at.to_string()))
            .condition_expression("heygen_video_id = :vid AND attribute_exists(heygen_archive)")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":vid", s(video_id))
            .send()
            .await
            .map_err(|e| update_error("UpdateItem (archive failed)", e))?;
        Ok(())
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        let mut items = self.sparse_index(index::CONTENT_PENDING, "heygen_pending", PENDING_KEY_VALUE).await?;
        // The index is eventually consistent: keep what the items themselves say.
        items.retain(ContentItem::is_pending);
        items.sort_by(|a, b| {
            (a.heygen_requested_at.as_deref(), a.content_id.as_str())
                .cmp(&(b.heygen_requested_at.as_deref(), b.content_id.as_str()))
        });
        Ok(items)
    }
}
