//! The durable copies' records (contract section 8).

#[allow(clippy::wildcard_imports)]
use super::*;

impl ArchiveStore for DynamoStore {
    async fn list_unarchived(&self) -> Result<Vec<ContentItem>, StoreError> {
        let store = self;
        let mut items = store.sparse_index(index::CONTENT_TO_ARCHIVE, "heygen_archive", ARCHIVE_KEY_VALUE).await?;
        items.retain(|i| i.status_is(JobStatus::Completed) && i.video_archived_at.is_none());
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
        let store = self;
        let write = |attach: bool| {
            let condition =
                "heygen_video_id = :vid AND heygen_status = :completed AND attribute_exists(heygen_archive)";
            let req = store
                .client
                .update_item()
                .table_name(&store.tables.content)
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
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.content)
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
}
