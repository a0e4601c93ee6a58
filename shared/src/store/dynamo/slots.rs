//! The render slots, items `_render_slot/k` of the settings table (contract
//! section 7).

#[allow(clippy::wildcard_imports)]
use super::*;

impl DynamoStore {
    /// Frees `claim`'s slot after its item left flight. A failure only leaks the
    /// slot until the worker frees it: logged, not returned.
    pub(super) async fn free_claim_slot(&self, content_id: &str, slot: Option<u32>) {
        let Some(index) = slot else { return };
        match self.free_slot(index, content_id).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(err) => {
                tracing::warn!(content_id, slot = index, error = %ErrorChain(&err), "slot not freed; the worker will")
            }
        }
    }
}

impl SlotStore for DynamoStore {
    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        let store = self;
        let found = store.settings_items((0..count).map(slot_key).collect()).await?;
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
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.settings)
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
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.settings)
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
        let store = self;
        store
            .client
            .update_item()
            .table_name(&store.tables.settings)
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
        let store = self;
        let out = store
            .client
            .get_item()
            .table_name(&store.tables.content)
            .key("content_id", s(content_id))
            .projection_expression("heygen_status, heygen_slot")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item.map(|item| {
            let in_flight = matches!(item.get("heygen_status"), Some(AttributeValue::S(status))
            if JobStatus::parse(status).is_pending());
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
}
