//! The reads of the in-memory store.

#[allow(clippy::wildcard_imports)]
use super::*;

impl ReadStore for MemoryStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(Settings::from_values(&lock(&self.tables).settings))
    }

    async fn ai_creators(&self) -> Result<Vec<Creator>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables.creators.values().filter(|c| c.is_ai && c.active).cloned().collect())
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables
            .content
            .values()
            .filter(|i| {
                i.assigned_creator_id.as_deref() == Some(creator_id)
                    && month.contains_date(&i.date)
                    && i.mode.known() == Some(mode)
            })
            .cloned()
            .collect())
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        Ok(self.item(content_id))
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let tables = lock(&self.tables);
        Ok(tables.content.values().find(|i| i.heygen_video_id.as_deref() == Some(video_id)).cloned())
    }
}
