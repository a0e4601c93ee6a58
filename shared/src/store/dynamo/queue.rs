//! The render queue and the claims: enqueue, dequeue, claim, record, release,
//! requeue (contract sections 6.1 and 9).

#[allow(clippy::wildcard_imports)]
use super::*;

impl DynamoStore {
    /// The claim's condition: claimable as read (eligible; or queued, when
    /// `queued` says so) and unchanged since the read (status, claim, attempt).
    pub(super) fn claimable_condition(
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
            ("heygen_status", ":seen_status", item.heygen_status.as_ref().map(|status| s(status.as_str()))),
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
}

/// The claim's write, and the claim it makes: with `reservation`, the item
/// holds it from now on; without, it keeps what it held as read (a stale claim
/// recovered).
pub(super) fn claim_write(
    store: &DynamoStore,
    item: &ContentItem,
    now: Timestamp,
    stale_after: Duration,
    slot: Option<u32>,
    reservation: Option<Reservation>,
) -> (Claim, UpdateItemFluentBuilder) {
    let claim = Claim {
        content_id: item.content_id.clone(),
        claim_id: uuid::Uuid::new_v4().to_string(),
        attempt: item.next_attempt(),
        slot,
        reservation: reservation.clone().or_else(|| item.reservation()),
    };
    let (set_slot, remove_slot) = match slot {
        Some(_) => (", heygen_slot = :slot", ""),
        None => ("", ", heygen_slot"),
    };
    let set_reservation = if reservation.is_some() {
        ", heygen_reserved_seconds = :reserved, heygen_reserved_budget = :budget"
    } else {
        ""
    };
    let mut req = store
        .client
        .update_item()
        .table_name(&store.tables.content)
        .key("content_id", s(&item.content_id))
        .update_expression(format!(
            "SET heygen_status = :requested, heygen_claim_id = :claim, heygen_attempt = :attempt, \
             heygen_requested_at = :now, heygen_pending = :pending_key{set_slot}{set_reservation} \
             REMOVE heygen_video_id, heygen_video_url, heygen_thumbnail_url, heygen_error, heygen_completed_at, \
             heygen_checked_at, heygen_queue, heygen_retry_at, heygen_not_found_since, heygen_blocked{remove_slot}"
        ))
        .expression_attribute_values(":claim", s(&claim.claim_id))
        .expression_attribute_values(":attempt", n(claim.attempt))
        .expression_attribute_values(":now", s(now.to_string()))
        .expression_attribute_values(":pending_key", s(PENDING_KEY_VALUE));
    if let Some(index) = slot {
        req = req.expression_attribute_values(":slot", n(index));
    }
    if let Some(reservation) = &reservation {
        req = req
            .expression_attribute_values(":reserved", budget::n64(reservation.seconds))
            .expression_attribute_values(":budget", s(reservation.budget.as_str()));
    }
    (claim, DynamoStore::claimable_condition(req, item, now, stale_after, true))
}

impl QueueStore for DynamoStore {
    async fn claim(
        &self,
        item: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        let store = self;
        if !item.is_claimable(now, stale_after) {
            return Err(StoreError::Conflict);
        }
        let (claim, req) = claim_write(store, item, now, stale_after, slot, None);
        match req.send().await.map_err(|e| update_error("UpdateItem (claim)", e)) {
            Ok(_) => Ok(claim),
            // The SDK retries a write whose answer was lost (a timeout, a 500); if
            // the first try was applied, the retry fails on its own claim.
            Err(StoreError::Conflict) if store.holds(&claim, |_| true).await? => Ok(claim),
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
        let store = self;
        if item.classify(now, stale_after) != Classification::Eligible {
            return Err(StoreError::Conflict);
        }
        let set_estimate =
            if item.heygen_estimated_seconds.is_some() { ", heygen_estimated_seconds = :estimate" } else { "" };
        let mut req = store
            .client
            .update_item()
            .table_name(&store.tables.content)
            .key("content_id", s(&item.content_id))
            .update_expression(format!(
                "SET heygen_status = :queued_status, heygen_queued_at = :now, heygen_callback_url = :callback, \
             heygen_queue = :queue_key, heygen_queue_order = :order{set_estimate}, \
             heygen_render_failures = if_not_exists(heygen_render_failures, :zero) \
             REMOVE heygen_pending, heygen_slot, heygen_claim_id, heygen_retry_at, heygen_create_failures, \
             heygen_blocked"
            ))
            .expression_attribute_values(":queued_status", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":callback", s(callback_url))
            .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
            .expression_attribute_values(":order", s(item.queue_order()))
            .expression_attribute_values(":zero", n(0));
        if let Some(estimate) = item.heygen_estimated_seconds {
            req = req.expression_attribute_values(":estimate", budget::n64(estimate));
        }
        let sent = DynamoStore::claimable_condition(req, item, now, stale_after, false).send().await;
        match sent.map_err(|e| update_error("UpdateItem (enqueue)", e)) {
            Ok(_) => Ok(()),
            // As for a claim: the SDK's retry of a write applied with its answer
            // lost meets its own condition; the item, read back, is queued at
            // this very time with this callback.
            Err(StoreError::Conflict) => match store.get_item(&item.content_id).await? {
                Some(now_item)
                    if now_item.is_queued()
                        && now_item.heygen_queued_at == Some(now)
                        && now_item.heygen_callback_url.as_deref() == Some(callback_url) =>
                {
                    Ok(())
                }
                _ => Err(StoreError::Conflict),
            },
            Err(err) => Err(err),
        }
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.content)
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
        let store = self;
        let set_backoff =
            if backoff.is_some() { ", heygen_retry_at = :retry_at, heygen_create_failures = :failures" } else { "" };
        let mut req = store
            .client
            .update_item()
            .table_name(&store.tables.content)
            .key("content_id", s(&claim.content_id))
            .update_expression(format!(
                "SET heygen_status = :queued, heygen_queue = :queue_key, heygen_attempt = :attempt{set_backoff} \
             REMOVE heygen_pending, heygen_slot, heygen_claim_id, heygen_reserved_seconds, heygen_reserved_budget"
            ));
        if let Some(backoff) = backoff {
            req = req
                .expression_attribute_values(":retry_at", s(backoff.until.to_string()))
                .expression_attribute_values(":failures", n(backoff.failures));
        }
        let req = req
            .condition_expression(
                "heygen_claim_id = :claim AND heygen_status = :requested AND attribute_exists(heygen_queue_order)",
            )
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
            .expression_attribute_values(":attempt", n(claim.attempt_after_release(definiteness)))
            .expression_attribute_values(":claim", s(&claim.claim_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()));
        // Back in the queue, its reservation given back in the same step (13.2).
        store.write_settling("UpdateItem (requeue)", req, claim.reservation.as_ref(), None).await?;
        store.free_claim_slot(&claim.content_id, claim.slot).await;
        Ok(())
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        let store = self;
        let mut items = store.sparse_index(index::CONTENT_QUEUE, "heygen_queue", QUEUE_KEY_VALUE).await?;
        // The index is eventually consistent: keep what the items themselves say.
        items.retain(ContentItem::is_queued);
        items.sort_by_key(ContentItem::queue_order);
        Ok(items)
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        let store = self;
        // DynamoDB counts a page (1 MB of the index) at a time: the SDK's paginator
        // follows them, as the listings do.
        let mut pages = store
            .client
            .query()
            .table_name(&store.tables.content)
            .index_name(index::CONTENT_QUEUE)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", QUEUE_KEY_ATTR)
            .expression_attribute_values(":v", s(QUEUE_KEY_VALUE))
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0usize;
        while let Some(page) = pages.next().await {
            count += usize::try_from(page.map_err(|e| unavailable("Query", e))?.count).unwrap_or(0);
        }
        Ok(count)
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        let store = self;
        let sent = store
            .client
            .update_item()
            .table_name(&store.tables.content)
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
                if store.holds(claim, |item| item.heygen_video_id.as_deref() == Some(video_id)).await? =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        let store = self;
        let req = store
            .client
            .update_item()
            .table_name(&store.tables.content)
            .key("content_id", s(&claim.content_id))
            .update_expression(
                "SET heygen_status = :failed, heygen_error = :error, heygen_attempt = :attempt \
             REMOVE heygen_pending, heygen_slot, heygen_reserved_seconds, heygen_reserved_budget",
            )
            .condition_expression("heygen_claim_id = :claim AND heygen_status = :requested")
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":attempt", n(claim.attempt_after_release(definiteness)))
            .expression_attribute_values(":claim", s(&claim.claim_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()));
        // Refused: its reservation given back in the same step (13.2).
        store.write_settling("UpdateItem (release)", req, claim.reservation.as_ref(), None).await?;
        store.free_claim_slot(&claim.content_id, claim.slot).await;
        Ok(())
    }
}
