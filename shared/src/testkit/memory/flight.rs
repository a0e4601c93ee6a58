//! Renders in flight in memory: checks and HeyGen's answers.

#[allow(clippy::wildcard_imports)]
use super::*;

impl FlightStore for MemoryStore {
    async fn mark_checked(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.is_pending();
        self.update(content_id, condition, |item| {
            item.heygen_checked_at = Some(now);
            item.heygen_not_found_since = None;
        })
    }

    async fn mark_not_found(&self, content_id: &str, video_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.is_pending();
        self.update(content_id, condition, |item| {
            item.heygen_checked_at = Some(now);
            item.heygen_not_found_since.get_or_insert(now);
        })
    }

    async fn apply_outcome(
        &self,
        seen: &ContentItem,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        let content_id = seen.content_id.as_str();
        let retry = matches!(outcome, Outcome::Retry { .. });
        let condition = |item: &ContentItem| {
            item.heygen_video_id.as_deref() == Some(video_id)
                && item.is_pending()
                && (!retry || item.heygen_queue_order.is_some())
                && item.heygen_reserved_seconds == seen.heygen_reserved_seconds
        };
        let mut old_slot = None;
        let mut reservation = None;
        self.update(content_id, condition, |item| {
            old_slot = item.heygen_slot.take();
            reservation = item.reservation();
            item.heygen_reserved_seconds = None;
            item.heygen_reserved_budget = None;
            item.heygen_checked_at = Some(now);
            settle(item, outcome, now, attach_video);
        })?;
        let billed = match (outcome, &reservation) {
            (Outcome::Completed { duration, .. }, Some(reservation)) => {
                Some(billed_seconds(*duration, reservation.seconds))
            }
            _ => None,
        };
        self.settle_budget(reservation, billed);
        self.free(old_slot, content_id);
        Ok(())
    }

    async fn list_in_flight(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables.content.values().filter(|i| i.is_pending()).cloned().collect();
        items.sort_by(|a, b| {
            (a.heygen_requested_at, a.content_id.as_str()).cmp(&(b.heygen_requested_at, b.content_id.as_str()))
        });
        Ok(items)
    }
}
