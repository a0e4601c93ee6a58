//! Render slots (contract section 7): at most `heygen_max_concurrent_renders`
//! items in flight because of this service. Slot `k` is an item of the settings
//! table under the key `_render_slot/k`; an item in flight holds exactly one, and
//! names it in `heygen_slot`. A slot is taken (conditionally on being free)
//! before its item is claimed, and freed after the item leaves flight, so that
//! at every moment the items in flight are at most the slots held.

use std::time::Duration;

use super::{ContentItem, Timestamp};

/// The settings-table key of slot `index`.
pub fn slot_key(index: u32) -> String {
    format!("_render_slot/{index}")
}

/// Who holds a slot, since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotHolder {
    pub content_id: String,
    pub taken_at: String,
}

/// One slot as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderSlot {
    pub index: u32,
    pub holder: Option<SlotHolder>,
}

/// A slot taken this long ago whose holder is not in flight on it is leaked (its
/// taker died between the two writes, or an item left flight outside this
/// service): the worker frees it. Far longer than a claim takes after its slot.
pub const SLOT_LEAK_AFTER: Duration = Duration::from_secs(120);

impl RenderSlot {
    pub fn is_free(&self) -> bool {
        self.holder.is_none()
    }

    /// Whether the slot has been held at least `after`: only then may it have
    /// leaked, and only then is its holder worth reading.
    pub fn held_since_before(&self, now: Timestamp, after: Duration) -> bool {
        match self.holder.as_ref().map(|h| Timestamp::parse(&h.taken_at)) {
            None => false,
            Some(Ok(at)) => at <= now.minus(after),
            Some(Err(_)) => true,
        }
    }

    /// Whether the slot is held, at least `after` ago, by an item that (as read
    /// now, consistently) is not in flight on this slot.
    pub fn is_leaked(&self, holder_now: Option<&ContentItem>, now: Timestamp, after: Duration) -> bool {
        self.held_since_before(now, after) && !holder_now.is_some_and(|item| self.is_used_by(item))
    }

    /// Whether one of `in_flight` (as listed, perhaps a little stale) is its
    /// holder, in flight on this slot: then the slot is in use and its holder
    /// need not be read.
    pub fn is_used_by_one_of(&self, in_flight: &[ContentItem]) -> bool {
        in_flight.iter().any(|item| self.is_used_by(item))
    }

    fn is_used_by(&self, item: &ContentItem) -> bool {
        let holds = self.holder.as_ref().is_some_and(|holder| holder.content_id == item.content_id);
        holds && item.is_pending() && item.heygen_slot == Some(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(at: &str) -> RenderSlot {
        RenderSlot { index: 3, holder: Some(SlotHolder { content_id: "c-1".into(), taken_at: at.into() }) }
    }

    fn item(status: &str, slot: Option<u32>) -> ContentItem {
        ContentItem {
            content_id: "c-1".into(),
            heygen_status: Some(status.into()),
            heygen_slot: slot,
            ..Default::default()
        }
    }

    #[test]
    fn a_slot_is_leaked_only_when_old_and_its_holder_is_not_in_flight_on_it() {
        let now = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let old = held("2026-03-01T11:57:00.000Z");
        let young = held("2026-03-01T11:59:30.000Z");
        assert!(!old.is_leaked(Some(&item("pending", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(!old.is_leaked(Some(&item("requested", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(old.is_leaked(Some(&item("completed", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(old.is_leaked(Some(&item("pending", Some(4))), now, SLOT_LEAK_AFTER), "in flight on another slot");
        assert!(old.is_leaked(Some(&item("queued", None)), now, SLOT_LEAK_AFTER));
        assert!(old.is_leaked(None, now, SLOT_LEAK_AFTER), "the item is gone");
        assert!(!young.is_leaked(None, now, SLOT_LEAK_AFTER), "a claim may be on its way");
        assert!(old.held_since_before(now, SLOT_LEAK_AFTER) && !young.held_since_before(now, SLOT_LEAK_AFTER));
        assert!(!RenderSlot { index: 3, holder: None }.is_leaked(None, now, SLOT_LEAK_AFTER));
        assert_eq!(slot_key(7), "_render_slot/7");
    }

    #[test]
    fn a_slot_listed_in_flight_with_its_holder_is_in_use() {
        let slot = held("2026-03-01T10:00:00.000Z");
        assert!(slot.is_used_by_one_of(&[item("pending", Some(3))]));
        assert!(slot.is_used_by_one_of(&[item("requested", Some(3))]));
        assert!(!slot.is_used_by_one_of(&[item("pending", Some(4))]), "another slot");
        assert!(!slot.is_used_by_one_of(&[item("completed", Some(3))]), "not in flight");
        let other = ContentItem { content_id: "c-2".into(), ..item("pending", Some(3)) };
        assert!(!slot.is_used_by_one_of(&[other]), "another item");
        assert!(!slot.is_used_by_one_of(&[]));
        let free = RenderSlot { index: 3, holder: None };
        assert!(!free.is_used_by_one_of(&[item("pending", Some(3))]));
    }
}
