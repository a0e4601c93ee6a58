//! Reads of the settings, the creators and the content (contract section 3).

#[allow(clippy::wildcard_imports)]
use super::*;

impl DynamoStore {
    /// Items of the settings table by key, read consistently, 100 keys a request,
    /// unprocessed keys retried.
    pub(super) async fn settings_items(&self, keys: Vec<String>) -> Result<Vec<Item>, StoreError> {
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
}

impl ReadStore for DynamoStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        let store = self;
        let mut values = HashMap::new();
        for item in store.settings_items(KNOWN_KEYS.iter().map(|k| k.to_string()).collect()).await? {
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
        let store = self;
        // The creators table is small and written by the platform: a filtered scan;
        // the rest of the rule (a non-empty avatar for the mode) is the caller's.
        let items = store
            .client
            .scan()
            .table_name(&store.tables.creators)
            .filter_expression("is_ai = :true AND active = :true")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Scan", e))?;
        let mut creators: Vec<Creator> = decode_all(items, "creator_id");
        creators.sort_by(|a, b| a.creator_id.cmp(&b.creator_id));
        Ok(creators)
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        let store = self;
        let found = store
            .client
            .query()
            .table_name(&store.tables.content)
            .index_name(index::CONTENT_BY_CREATOR_DATE)
            .key_condition_expression("assigned_creator_id = :creator AND begins_with(#date, :month)")
            .filter_expression("#mode = :mode")
            .expression_attribute_names("#date", "date")
            .expression_attribute_names("#mode", "mode")
            .expression_attribute_values(":creator", s(creator_id))
            .expression_attribute_values(":month", s(month.date_prefix()))
            .expression_attribute_values(":mode", s(mode.as_str()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query", e))?;
        let mut items: Vec<ContentItem> = decode_all(found, "content_id");
        items.retain(|i| month.contains_date(&i.date));
        Ok(items)
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let store = self;
        store.get_item(content_id).await
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let store = self;
        // The index is keys-only and eventually consistent: confirm on the item.
        let out = store
            .client
            .query()
            .table_name(&store.tables.content)
            .index_name(index::CONTENT_BY_VIDEO_ID)
            .key_condition_expression("heygen_video_id = :vid")
            .expression_attribute_values(":vid", s(video_id))
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        for key in out.items.unwrap_or_default() {
            let content_id = key_of(&key, "content_id");
            if let Some(item) = store.get_item(&content_id).await?
                && item.heygen_video_id.as_deref() == Some(video_id)
            {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }
}
