//! The render queue and the claims, in memory.

#[allow(clippy::wildcard_imports)]
use super::*;

impl QueueStore for MemoryStore {
    async fn claim(
        &self,
        seen: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        slot: Option<u32>,
    ) -> Result<Claim, StoreError> {
        self.claim_with(seen, now, stale_after, slot, None)
    }

    async fn enqueue(
        &self,
        seen: &ContentItem,
        now: Timestamp,
        stale_after: Duration,
        callback_url: &str,
    ) -> Result<(), StoreError> {
        let condition =
            |item: &ContentItem| item.classify(now, stale_after) == Classification::Eligible && unchanged(item, seen);
        self.update(&seen.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Queued);
            item.heygen_queued_at = Some(now);
            item.heygen_callback_url = Some(callback_url.to_string());
            item.heygen_queue_order = Some(item.queue_order());
            item.heygen_slot = None;
            item.heygen_claim_id = None;
            item.heygen_retry_at = None;
            item.heygen_create_failures = None;
            item.heygen_blocked = None;
            item.heygen_render_failures.get_or_insert(0);
            if seen.heygen_estimated_seconds.is_some() {
                item.heygen_estimated_seconds = seen.heygen_estimated_seconds;
            }
        })
    }

    async fn dequeue(&self, content_id: &str) -> Result<(), StoreError> {
        self.update(content_id, ContentItem::is_queued, |item| {
            item.heygen_status = None;
            item.heygen_queue_order = None;
            item.heygen_queued_at = None;
            item.heygen_callback_url = None;
        })
    }

    async fn requeue(
        &self,
        claim: &Claim,
        definiteness: Definiteness,
        backoff: Option<Backoff>,
    ) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            holds(item, claim) && status_is(item, JobStatus::Requested) && item.heygen_queue_order.is_some()
        };
        self.update(&claim.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Queued);
            item.heygen_attempt = Some(claim.attempt_after_release(definiteness));
            item.heygen_slot = None;
            item.heygen_claim_id = None;
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
            if let Some(backoff) = backoff {
                item.heygen_retry_at = Some(backoff.until);
                item.heygen_create_failures = Some(backoff.failures);
            }
        })?;
        self.settle_budget(claim.reservation.clone(), None);
        self.free(claim.slot, &claim.content_id);
        Ok(())
    }

    async fn list_queued(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables.content.values().filter(|i| i.is_queued()).cloned().collect();
        items.sort_by_key(ContentItem::queue_order);
        Ok(items)
    }

    async fn count_queued(&self) -> Result<usize, StoreError> {
        Ok(lock(&self.tables).content.values().filter(|i| i.is_queued()).count())
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| holds(item, claim) && status_is(item, JobStatus::Requested);
        self.update(&claim.content_id, condition, |item| {
            item.heygen_video_id = Some(video_id.to_string());
            item.heygen_status = Some(JobStatus::Pending);
            item.heygen_create_failures = None;
        })
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| holds(item, claim) && status_is(item, JobStatus::Requested);
        self.update(&claim.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Failed);
            item.heygen_error = Some(error.to_string());
            item.heygen_attempt = Some(claim.attempt_after_release(definiteness));
            item.heygen_slot = None;
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
        })?;
        self.settle_budget(claim.reservation.clone(), None);
        self.free(claim.slot, &claim.content_id);
        Ok(())
    }
}
