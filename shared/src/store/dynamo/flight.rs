//! Renders in flight: checks of HeyGen's status and its final answers
//! (contract sections 6.3 and 11).

#[allow(clippy::wildcard_imports)]
use super::*;

impl DynamoStore {
    /// The write of HeyGen's final answer: conditional on the item still being
    /// pending on `video_id`; with `attach`, also on it having no video, which the
    /// completion then attaches.
    pub(super) fn outcome_update(
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
            .condition_expression(condition)
            .expression_attribute_values(":vid", s(video_id))
            .expression_attribute_values(":requested", s(JobStatus::Requested.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()));
        match outcome {
            Outcome::Completed { video_url, thumbnail_url, duration } => {
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
                if let Some(duration) = duration {
                    set.push("heygen_duration_seconds = :duration");
                    req = req.expression_attribute_values(
                        ":duration",
                        AttributeValue::N(duration.as_secs_f64().to_string()),
                    );
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
                    "SET {} REMOVE heygen_pending, heygen_error, heygen_slot, heygen_not_found_since, heygen_retry_at, \
                     heygen_reserved_seconds, heygen_reserved_budget",
                    set.join(", ")
                ))
            }
            Outcome::Failed { message } => req
                .update_expression(
                    "SET heygen_status = :failed, heygen_error = :error, heygen_checked_at = :now, \
                     heygen_attempt = if_not_exists(heygen_attempt, :one) + :one, \
                     heygen_render_failures = if_not_exists(heygen_render_failures, :zero) + :one \
                     REMOVE heygen_pending, heygen_slot, heygen_not_found_since, heygen_retry_at, \
                     heygen_reserved_seconds, heygen_reserved_budget",
                )
                .expression_attribute_values(":now", s(now.to_string()))
                .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
                .expression_attribute_values(":error", s(message))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0)),
            // Back to the queue under the next attempt (section 11); only an item
            // that has a place in the queue.
            Outcome::Retry { message } => req
                .condition_expression(format!("{pending} AND attribute_exists(heygen_queue_order)"))
                .update_expression(
                    "SET heygen_status = :queued, heygen_queue = :queue_key, heygen_error = :error, \
                     heygen_checked_at = :now, heygen_attempt = if_not_exists(heygen_attempt, :one) + :one, \
                     heygen_render_failures = if_not_exists(heygen_render_failures, :zero) + :one \
                     REMOVE heygen_pending, heygen_slot, heygen_claim_id, heygen_not_found_since, heygen_retry_at, \
                     heygen_reserved_seconds, heygen_reserved_budget",
                )
                .expression_attribute_values(":now", s(now.to_string()))
                .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":queue_key", s(QUEUE_KEY_VALUE))
                .expression_attribute_values(":error", s(message))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0)),
        }
    }

    /// Records a check of HeyGen's status of `video_id` (`update`, with `:now`):
    /// conditional on the item still being in flight on that video.
    pub(super) async fn check_recorded(
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
}

/// The outcome's write, conditional also on the item holding `reservation`
/// (or none) as read, so that its settlement happens with it or not at all.
fn holding(req: UpdateItemFluentBuilder, reservation: Option<&Reservation>) -> UpdateItemFluentBuilder {
    let condition = req.get_condition_expression().clone().unwrap_or_default();
    match reservation {
        None => req.condition_expression(format!("{condition} AND attribute_not_exists(heygen_reserved_seconds)")),
        Some(reservation) => req
            .condition_expression(format!("{condition} AND heygen_reserved_seconds = :held"))
            .expression_attribute_values(":held", budget::n64(reservation.seconds)),
    }
}

impl FlightStore for DynamoStore {
    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let store = self;
        let update = "SET heygen_checked_at = :now REMOVE heygen_not_found_since";
        store.check_recorded(content_id, video_id, now, update, "UpdateItem (mark checked)").await
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let store = self;
        let update =
            "SET heygen_checked_at = :now, heygen_not_found_since = if_not_exists(heygen_not_found_since, :now)";
        store.check_recorded(content_id, video_id, now, update, "UpdateItem (mark not found)").await
    }

    async fn apply_outcome(
        &self,
        item: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        let store = self;
        let operation = "UpdateItem (apply outcome)";
        let content_id = item.content_id.as_str();
        let attach = attach_video && matches!(outcome, Outcome::Completed { .. });
        // A retried render is not archived: it is queued again.
        let archive = !attach_video;
        // What the item holds while its render is in flight is what its claim wrote
        // (the video is recorded after it, and only a new claim changes either):
        // read with the video, it is what this write settles, conditionally.
        let reservation = item.reservation();
        let billed = match (outcome, &reservation) {
            (Outcome::Completed { duration, .. }, Some(reservation)) => {
                Some(crate::domain::billed_seconds(*duration, reservation.seconds))
            }
            _ => None,
        };
        let write = |attach: bool, archive: bool| {
            holding(store.outcome_update(content_id, video_id, outcome, now, attach, archive), reservation.as_ref())
        };
        let Some(held) = reservation.as_ref() else {
            // Nothing reserved (claimed before budgets): one write, whose old image
            // names the slot to free.
            let first = write(attach, archive).return_values(ReturnValue::UpdatedOld).send().await;
            let written = match first.map_err(|e| update_error(operation, e)) {
                // The platform's video wins (contract section 3): if one was attached
                // meanwhile, record HeyGen's answer alone. The second write's own
                // condition says whether the item was settled instead.
                Err(StoreError::Conflict) if attach => {
                    let second = write(false, false).return_values(ReturnValue::UpdatedOld).send().await;
                    second.map_err(|e| update_error(operation, e))?
                }
                other => other?,
            };
            let old_slot = match written.attributes.as_ref().and_then(|old| old.get("heygen_slot")) {
                Some(AttributeValue::N(index)) => index.parse().ok(),
                _ => None,
            };
            store.free_claim_slot(content_id, old_slot).await;
            return Ok(());
        };
        // Settled with what HeyGen billed, or given back, in the same step (13.2).
        match store.write_settling(operation, write(attach, archive), Some(held), billed).await {
            // As above: the platform's video wins.
            Err(StoreError::Conflict) if attach => {
                store.write_settling(operation, write(false, false), Some(held), billed).await?;
            }
            other => other?,
        }
        // The item left flight: its slot, as claimed, is free again.
        store.free_claim_slot(content_id, item.heygen_slot).await;
        Ok(())
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        let store = self;
        let mut items = store.sparse_index(index::CONTENT_PENDING, "heygen_pending", PENDING_KEY_VALUE).await?;
        // The index is eventually consistent: keep what the items themselves say.
        items.retain(ContentItem::is_pending);
        items.sort_by(|a, b| {
            (a.heygen_requested_at, a.content_id.as_str()).cmp(&(b.heygen_requested_at, b.content_id.as_str()))
        });
        Ok(items)
    }
}
