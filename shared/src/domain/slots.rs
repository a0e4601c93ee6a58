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

/// What a slot's holder says of itself, read now (consistently). Only the two
/// attributes the repair needs are read, so that an item the service cannot
/// otherwise decode (section 11) keeps its slot while its stored status says it
/// is in flight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolderState {
    /// Its `heygen_status` is `requested` or `pending`.
    pub in_flight: bool,
    /// Its `heygen_slot`.
    pub slot: Option<u32>,
    /// `heygen_slot` is there but cannot be read: it may be any slot.
    pub slot_unreadable: bool,
}

impl HolderState {
    pub fn of(item: &ContentItem) -> Self {
        Self { in_flight: item.is_pending(), slot: item.heygen_slot, slot_unreadable: false }
    }

    fn uses(&self, index: u32) -> bool {
        self.in_flight && (self.slot == Some(index) || self.slot_unreadable)
    }
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
    /// now, consistently) is not in flight on this slot; `None`: the item is gone.
    pub fn is_leaked(&self, holder_now: Option<&HolderState>, now: Timestamp, after: Duration) -> bool {
        self.held_since_before(now, after) && !holder_now.is_some_and(|state| state.uses(self.index))
    }

    /// Whether one of `in_flight` (as listed, perhaps a little stale) is its
    /// holder, in flight on this slot: then the slot is in use and its holder
    /// need not be read.
    pub fn is_used_by_one_of(&self, in_flight: &[ContentItem]) -> bool {
        in_flight.iter().any(|item| self.is_used_by(item))
    }

    fn is_used_by(&self, item: &ContentItem) -> bool {
        let holds = self.holder.as_ref().is_some_and(|holder| holder.content_id == item.content_id);
        holds && HolderState::of(item).uses(self.index)
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
            heygen_status: Some(crate::domain::JobStatus::parse(status)),
            heygen_slot: slot,
            ..Default::default()
        }
    }

    #[test]
    fn a_slot_is_leaked_only_when_old_and_its_holder_is_not_in_flight_on_it() {
        let now = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let old = held("2026-03-01T11:57:00.000Z");
        let young = held("2026-03-01T11:59:30.000Z");
        let state = |status: &str, slot: Option<u32>| HolderState::of(&item(status, slot));
        assert!(!old.is_leaked(Some(&state("pending", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(!old.is_leaked(Some(&state("requested", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(old.is_leaked(Some(&state("completed", Some(3))), now, SLOT_LEAK_AFTER));
        assert!(old.is_leaked(Some(&state("pending", Some(4))), now, SLOT_LEAK_AFTER), "in flight on another slot");
        assert!(old.is_leaked(Some(&state("queued", None)), now, SLOT_LEAK_AFTER));
        let unreadable = HolderState { in_flight: true, slot: None, slot_unreadable: true };
        assert!(!old.is_leaked(Some(&unreadable), now, SLOT_LEAK_AFTER), "in flight on a slot it cannot say");
        let settled = HolderState { in_flight: false, ..unreadable };
        assert!(old.is_leaked(Some(&settled), now, SLOT_LEAK_AFTER));
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
