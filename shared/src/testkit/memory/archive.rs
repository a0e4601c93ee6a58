//! The durable copies in memory.

#[allow(clippy::wildcard_imports)]
use super::*;

impl ArchiveStore for MemoryStore {
    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        let mut items: Vec<ContentItem> = tables
            .content
            .values()
            .filter(|i| {
                i.heygen_archive.is_some() && status_is(i, JobStatus::Completed) && i.video_archived_at.is_none()
            })
            .cloned()
            .collect();
        items.sort_by_key(|item| item.heygen_completed_at);
        Ok(items)
    }

    async fn archive_done(
        &self,
        content_id: &str,
        video_id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            item.heygen_video_id.as_deref() == Some(video_id)
                && status_is(item, JobStatus::Completed)
                && item.heygen_archive.is_some()
        };
        self.update(content_id, condition, |item| {
            if !item.has_video() {
                item.creator_video_url = Some(url.to_string());
                item.status = Some("submitted".to_string());
            }
            item.video_archived_at = Some(now);
            item.heygen_archive = None;
            item.heygen_archive_error = None;
            item.heygen_retry_at = None;
        })
    }

    async fn archive_failed(
        &self,
        content_id: &str,
        video_id: &str,
        reason: &str,
        retry_at: Timestamp,
    ) -> Result<(), StoreError> {
        let condition =
            |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.heygen_archive.is_some();
        self.update(content_id, condition, |item| {
            item.heygen_archive_error = Some(reason.to_string());
            item.heygen_archive_attempts = Some(item.heygen_archive_attempts.unwrap_or(0) + 1);
            item.heygen_retry_at = Some(retry_at);
        })
    }
}
