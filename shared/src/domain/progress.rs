//! The month at a glance (contract section 12): where each item stands, how
//! long HeyGen's videos are, and an estimate of the time left.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ContentItem, JobStatus, Timestamp};

/// HeyGen's `duration` of a finished video (what HeyGen bills by), kept to the
/// millisecond so that items stay comparable (`Eq`); written as a number of
/// seconds (`heygen_duration_seconds`, N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VideoSeconds(u64);

impl VideoSeconds {
    /// A duration HeyGen could mean: finite, not negative, under 10^9 s.
    pub fn from_secs_f64(seconds: f64) -> Option<Self> {
        (seconds.is_finite() && (0.0..1e9).contains(&seconds)).then(|| Self((seconds * 1000.0).round() as u64))
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    pub fn millis(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Serialize for VideoSeconds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for VideoSeconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Self::from_secs_f64(seconds).ok_or_else(|| serde::de::Error::custom("not a duration in seconds"))
    }
}

/// Where an item of the month stands: each item is in exactly one state,
/// decided in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemState {
    /// A video this service did not attach (the platform's).
    HasVideo,
    /// A video this service attached: HeyGen's link, or its durable copy.
    Submitted,
    Failed,
    /// Rendered, waiting for its durable copy.
    Copying,
    /// `pending`: HeyGen is rendering it.
    Rendering,
    /// Claimed; HeyGen has not answered the create yet.
    Requested,
    Queued,
    NotStarted,
}

impl ContentItem {
    /// Where the item stands (section 12). `durable_url` is the URL of the
    /// item's durable copy of its current video, when copies are made.
    pub fn progress_state(&self, durable_url: Option<&str>) -> ItemState {
        if let Some(url) = self.creator_video_url.as_deref().filter(|u| !u.is_empty()) {
            let heygen_link = self.heygen_video_url.as_deref() == Some(url);
            let durable_copy = self.video_archived_at.is_some() && durable_url == Some(url);
            return if heygen_link || durable_copy { ItemState::Submitted } else { ItemState::HasVideo };
        }
        match &self.heygen_status {
            Some(JobStatus::Failed) => ItemState::Failed,
            Some(JobStatus::Completed) => ItemState::Copying,
            Some(JobStatus::Pending) => ItemState::Rendering,
            Some(JobStatus::Requested) => ItemState::Requested,
            Some(JobStatus::Queued) => ItemState::Queued,
            None | Some(JobStatus::Unknown(_)) => ItemState::NotStarted,
        }
    }

    /// How long HeyGen took to render the current video, when known.
    pub fn render_time(&self) -> Option<Duration> {
        let (requested, completed) = (self.heygen_requested_at?, self.heygen_completed_at?);
        (completed >= requested).then(|| completed.since(requested))
    }
}

/// Assumed render time until one has been observed.
pub const DEFAULT_RENDER_TIME: Duration = Duration::from_secs(180);
/// A finished render's durable copy is made by the next tick (within a minute).
pub const COPY_TIME: Duration = Duration::from_secs(60);

/// The mean of the render times observed, or [`DEFAULT_RENDER_TIME`].
pub fn typical_render_time<'a>(items: impl IntoIterator<Item = &'a ContentItem>) -> Duration {
    let observed: Vec<Duration> = items.into_iter().filter_map(ContentItem::render_time).collect();
    match u32::try_from(observed.len()) {
        Ok(n) if n > 0 => observed.iter().sum::<Duration>() / n,
        _ => DEFAULT_RENDER_TIME,
    }
}

/// What the estimate works from.
#[derive(Clone, Copy, Debug)]
pub struct EstimateBasis {
    pub now: Timestamp,
    /// The render slots (`heygen_max_concurrent_renders`).
    pub slots: u32,
    pub render_time: Duration,
    /// Whether finished renders are copied before they are attached.
    pub copies: bool,
}

/// Seconds until every item queued, requested, rendering or copying is done;
/// `None` when there is none. Renders in flight take the rest of `render_time`;
/// queued items (`items` in queue order) take the first free slot, not before
/// their back-off; every render then needs its copy ([`COPY_TIME`]).
pub fn seconds_left(items: &[(ItemState, &ContentItem)], basis: EstimateBasis) -> Option<u64> {
    let waiting = |retry_at: Option<Timestamp>| retry_at.map_or(Duration::ZERO, |at| at.since(basis.now));
    let copy = if basis.copies { COPY_TIME } else { Duration::ZERO };
    let mut free: BinaryHeap<Reverse<Duration>> = (0..basis.slots.max(1)).map(|_| Reverse(Duration::ZERO)).collect();
    let mut end: Option<Duration> = None;
    let mut take_slot = |ready: Duration, takes: Duration| {
        let Reverse(at) = free.pop().unwrap_or(Reverse(Duration::ZERO));
        let done = at.max(ready) + takes;
        free.push(Reverse(done));
        done
    };
    for (_, item) in items.iter().filter(|(state, _)| matches!(state, ItemState::Requested | ItemState::Rendering)) {
        let elapsed = item.heygen_requested_at.map_or(Duration::ZERO, |at| basis.now.since(at));
        let done = take_slot(Duration::ZERO, basis.render_time.saturating_sub(elapsed)) + copy;
        end = end.max(Some(done));
    }
    for (_, item) in items.iter().filter(|(state, _)| *state == ItemState::Queued) {
        let done = take_slot(waiting(item.heygen_retry_at), basis.render_time) + copy;
        end = end.max(Some(done));
    }
    for (_, item) in items.iter().filter(|(state, _)| *state == ItemState::Copying) {
        end = end.max(Some(waiting(item.heygen_retry_at) + copy));
    }
    end.map(|left| left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn item(status: Option<JobStatus>) -> ContentItem {
        ContentItem { content_id: "c".into(), heygen_status: status, ..Default::default() }
    }

    #[test]
    fn video_seconds_keep_milliseconds_and_refuse_what_is_not_a_duration() {
        assert_eq!(VideoSeconds::from_secs_f64(42.5).map(VideoSeconds::millis), Some(42_500));
        assert_eq!(VideoSeconds::from_secs_f64(0.0004).map(VideoSeconds::millis), Some(0));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 2e9] {
            assert_eq!(VideoSeconds::from_secs_f64(bad), None, "{bad}");
        }
        assert_eq!(VideoSeconds::from_millis(1_450_500).as_secs_f64(), 1450.5);
    }

    #[test]
    fn each_item_is_in_the_first_state_that_fits() {
        let durable = "https://cdn/videos/c/v.mp4";
        let mut platform = item(Some(JobStatus::Failed));
        platform.creator_video_url = Some("https://elsewhere/x.mp4".into());
        assert_eq!(platform.progress_state(Some(durable)), ItemState::HasVideo);

        let mut heygen_link = item(Some(JobStatus::Completed));
        heygen_link.heygen_video_url = Some("https://files/v.mp4".into());
        heygen_link.creator_video_url = heygen_link.heygen_video_url.clone();
        assert_eq!(heygen_link.progress_state(None), ItemState::Submitted);

        let mut copied = item(Some(JobStatus::Completed));
        copied.creator_video_url = Some(durable.into());
        assert_eq!(copied.progress_state(Some(durable)), ItemState::HasVideo, "no copy recorded: not ours");
        copied.video_archived_at = Some(at("2026-12-01T00:00:00.000Z"));
        assert_eq!(copied.progress_state(Some(durable)), ItemState::Submitted);
        assert_eq!(copied.progress_state(Some("https://cdn/other.mp4")), ItemState::HasVideo);

        let mut empty_url = item(Some(JobStatus::Completed));
        empty_url.creator_video_url = Some(String::new());
        assert_eq!(empty_url.progress_state(None), ItemState::Copying);

        for (status, state) in [
            (Some(JobStatus::Failed), ItemState::Failed),
            (Some(JobStatus::Pending), ItemState::Rendering),
            (Some(JobStatus::Requested), ItemState::Requested),
            (Some(JobStatus::Queued), ItemState::Queued),
            (Some(JobStatus::Unknown("paused".into())), ItemState::NotStarted),
            (None, ItemState::NotStarted),
        ] {
            assert_eq!(item(status.clone()).progress_state(None), state, "{status:?}");
        }
    }

    #[test]
    fn the_typical_render_time_is_the_mean_observed_else_the_default() {
        assert_eq!(typical_render_time(&[item(None)]), DEFAULT_RENDER_TIME);
        let mut a = item(Some(JobStatus::Completed));
        a.heygen_requested_at = Some(at("2026-12-01T10:00:00.000Z"));
        a.heygen_completed_at = Some(at("2026-12-01T10:02:00.000Z"));
        let mut b = a.clone();
        b.heygen_completed_at = Some(at("2026-12-01T10:04:00.000Z"));
        let mut backwards = a.clone();
        backwards.heygen_completed_at = Some(at("2026-12-01T09:00:00.000Z"));
        assert_eq!(typical_render_time(&[a, b, backwards]), Duration::from_secs(180));
    }

    fn basis(slots: u32, copies: bool) -> EstimateBasis {
        EstimateBasis { now: at("2026-12-01T10:00:00.000Z"), slots, render_time: Duration::from_secs(100), copies }
    }

    #[test]
    fn nothing_left_is_no_estimate() {
        let done = item(Some(JobStatus::Failed));
        assert_eq!(seconds_left(&[(ItemState::Failed, &done), (ItemState::NotStarted, &done)], basis(2, true)), None);
    }

    #[test]
    fn queued_renders_take_the_first_free_slot_after_those_in_flight() {
        let mut rendering = item(Some(JobStatus::Pending));
        rendering.heygen_requested_at = Some(at("2026-12-01T09:59:20.000Z")); // 40 s ago: 60 s left
        let queued = item(Some(JobStatus::Queued));
        let items = [
            (ItemState::Rendering, &rendering),
            (ItemState::Queued, &queued),
            (ItemState::Queued, &queued),
            (ItemState::Queued, &queued),
        ];
        // Two slots: the rendering one frees at 60, the other takes a queued item
        // at 0 (done 100); the next queued at 60 (160), the last at 100 (200).
        assert_eq!(seconds_left(&items, basis(2, false)), Some(200));
        assert_eq!(seconds_left(&items, basis(2, true)), Some(260), "plus the last copy");
        // One slot: 60 + 3 x 100.
        assert_eq!(seconds_left(&items, basis(1, false)), Some(360));
        // An overdue render is counted as finishing now.
        let mut overdue = rendering.clone();
        overdue.heygen_requested_at = Some(at("2026-12-01T09:00:00.000Z"));
        assert_eq!(seconds_left(&[(ItemState::Rendering, &overdue)], basis(1, false)), Some(0));
    }

    #[test]
    fn back_offs_delay_their_items() {
        let mut backing_off = item(Some(JobStatus::Queued));
        backing_off.heygen_retry_at = Some(at("2026-12-01T10:05:00.500Z"));
        assert_eq!(seconds_left(&[(ItemState::Queued, &backing_off)], basis(3, false)), Some(401));
        let mut copy_failing = item(Some(JobStatus::Completed));
        copy_failing.heygen_retry_at = backing_off.heygen_retry_at;
        assert_eq!(seconds_left(&[(ItemState::Copying, &copy_failing)], basis(3, true)), Some(361));
    }
}
