//! The render slots in memory.

#[allow(clippy::wildcard_imports)]
use super::*;

impl SlotStore for MemoryStore {
    async fn render_slots(&self, count: u32) -> Result<Vec<RenderSlot>, StoreError> {
        let tables = lock(&self.tables);
        Ok((0..count).map(|index| RenderSlot { index, holder: tables.slots.get(&index).cloned() }).collect())
    }

    async fn take_slot(&self, index: u32, content_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        if tables.slots.contains_key(&index) {
            return Err(StoreError::Conflict);
        }
        tables.slots.insert(index, SlotHolder { content_id: content_id.to_string(), taken_at: now.to_string() });
        Ok(())
    }

    async fn free_slot(&self, index: u32, content_id: &str) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match tables.slots.get(&index) {
            Some(holder) if holder.content_id == content_id => {
                tables.slots.remove(&index);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn free_leaked_slot(&self, index: u32, as_judged: &SlotHolder) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        match tables.slots.get(&index) {
            Some(holder) if holder == as_judged => {
                tables.slots.remove(&index);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn holder_state(&self, content_id: &str) -> Result<Option<HolderState>, StoreError> {
        Ok(self.item(content_id).as_ref().map(HolderState::of))
    }
}
