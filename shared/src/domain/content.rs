//! Content items: the platform's attributes and this service's, their job
//! status, the eligibility rule, the processing order and the script's limits
//! (contract section 3).

use std::cmp::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ItemMode, ScriptProblem, Timestamp, check_script};

/// Where a content item's HeyGen job stands (`heygen_status`), read once when
/// the item is decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// In the render queue, waiting for a render slot.
    Queued,
    /// Claimed; HeyGen has not answered the create yet.
    Requested,
    /// HeyGen accepted the create; rendering.
    Pending,
    Completed,
    Failed,
    /// A value this service never writes (someone else's): never claimed, never
    /// in flight, kept as it is.
    Unknown(String),
}

impl JobStatus {
    /// The five values this service writes.
    pub const WRITTEN: [JobStatus; 5] =
        [JobStatus::Queued, JobStatus::Requested, JobStatus::Pending, JobStatus::Completed, JobStatus::Failed];

    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Requested => "requested",
            JobStatus::Pending => "pending",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Unknown(other) => other,
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::WRITTEN.into_iter().find(|v| v.as_str() == s).unwrap_or_else(|| Self::Unknown(s.to_string()))
    }

    /// In flight iff `requested` or `pending`.
    pub fn is_pending(&self) -> bool {
        matches!(self, JobStatus::Requested | JobStatus::Pending)
    }
}

impl Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

/// A content item: the platform's attributes and this service's (contract section 3).
/// Attributes not named here are never read and never dropped: writes are updates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentItem {
    pub content_id: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub mode: ItemMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_creator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_video_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_status: Option<JobStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_claim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_video_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_video_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_requested_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_thumbnail_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_queued_at: Option<Timestamp>,
    /// The callback URL resolved when the item was queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_checked_at: Option<Timestamp>,
    /// Where the item was put in the queue (`ContentItem::queue_order` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_queue_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_archived_at: Option<Timestamp>,
    /// Set while a completed video awaits its durable copy (the archive index's key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_archive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_archive_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_archive_error: Option<String>,
    /// The render slot an item in flight holds (this service's own attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_slot: Option<u32>,
    /// Not before this time is the item sent to HeyGen again, or its copy tried
    /// again (section 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_retry_at: Option<Timestamp>,
    /// Creates of this item HeyGen failed in a row (5xx, 408, 409, timeouts);
    /// the service's own count behind the create back-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_create_failures: Option<u32>,
    /// HeyGen's first "no such video" answer about the current video (section 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_not_found_since: Option<Timestamp>,
    /// HeyGen's `duration` of the completed video (section 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_duration_seconds: Option<super::VideoSeconds>,
    /// What the render is expected to cost, written when the item is queued (13.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_estimated_seconds: Option<u64>,
    /// What the render in flight holds of its budget (13.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_reserved_seconds: Option<u64>,
    /// Which budget it is held in (`{month}#{mode}`; the service's own attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_reserved_budget: Option<String>,
    /// `budget` while the item waits in the queue for room in its budget (13.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_blocked: Option<String>,
    /// Renders HeyGen started for this item and that failed (amendment to 6.1
    /// and 11: refused creates do not count; the service's own attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_render_failures: Option<u32>,
}

/// How a trigger sees an item of an eligible creator, month and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    /// Has a video: not counted at all.
    HasVideo,
    /// Queued, pending, completed, a fresh claim, or a status this service did
    /// not write: counted in `skipped_pending`, never claimed.
    Busy,
    /// May be claimed.
    Eligible,
}

impl ContentItem {
    /// A present but empty `creator_video_url` means "no video".
    pub fn has_video(&self) -> bool {
        self.creator_video_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// Whether `heygen_status` is `status`.
    pub fn status_is(&self, status: JobStatus) -> bool {
        self.heygen_status.as_ref() == Some(&status)
    }

    /// In flight (pending) iff `heygen_status` is `requested` or `pending`.
    pub fn is_pending(&self) -> bool {
        self.heygen_status.as_ref().is_some_and(JobStatus::is_pending)
    }

    /// Queued iff `heygen_status` is `queued`.
    pub fn is_queued(&self) -> bool {
        self.status_is(JobStatus::Queued)
    }

    /// The queue's sort key: the processing order `(date, creator_id,
    /// content_id)` as one string, so that the index returns the queue in order,
    /// then the mode (which changes no order, content ids being unique).
    pub fn queue_order(&self) -> String {
        let (date, creator, content) = self.processing_key();
        format!("{date}#{creator}#{content}#{}", self.mode)
    }

    /// Whether the date, creator and mode are still those the item was queued
    /// with (the platform may change them while it waits).
    pub fn still_as_queued(&self) -> bool {
        self.heygen_queue_order.as_deref() == Some(self.queue_order().as_str())
    }

    /// The claim-time eligibility rule of section 3 (the creator, month and mode
    /// having been matched already): no video, and `heygen_status` absent,
    /// `failed`, or a `requested` claim older than `stale_after`.
    pub fn classify(&self, now: Timestamp, stale_after: Duration) -> Classification {
        if self.has_video() {
            return Classification::HasVideo;
        }
        match &self.heygen_status {
            None | Some(JobStatus::Failed) => Classification::Eligible,
            Some(JobStatus::Requested) if self.claim_is_stale(now, stale_after) => Classification::Eligible,
            // Pending, completed, a fresh claim, or a status we never write: never
            // claim it (a second video costs money; a stuck item can be reconciled).
            _ => Classification::Busy,
        }
    }

    /// Whether a claim may take the item (as read): eligible for a trigger, or
    /// waiting in the queue without a video.
    pub fn is_claimable(&self, now: Timestamp, stale_after: Duration) -> bool {
        match self.classify(now, stale_after) {
            Classification::Eligible => true,
            Classification::Busy => self.is_queued(),
            Classification::HasVideo => false,
        }
    }

    /// A `requested` claim is stale once `heygen_requested_at` is at least
    /// `stale_after` old. A claim without a time counts as stale (every claim
    /// this service writes has one), matching the store's condition.
    pub fn claim_is_stale(&self, now: Timestamp, stale_after: Duration) -> bool {
        self.heygen_requested_at.is_none_or(|at| at <= now.minus(stale_after))
    }

    /// Whether the item is waiting out a back-off at `now` (`heygen_retry_at`
    /// later than `now`).
    pub fn backing_off(&self, now: Timestamp) -> bool {
        self.heygen_retry_at.is_some_and(|at| at > now)
    }

    /// The attempt number the next claim uses in its idempotency key: the stored
    /// one (releases and failures already advanced it where 6.1 says), else 1.
    pub fn next_attempt(&self) -> u32 {
        self.heygen_attempt.unwrap_or(1).max(1)
    }

    /// The script to render, or why it cannot be.
    pub fn checked_script(&self) -> Result<&str, ScriptProblem> {
        check_script(self.script.as_deref())
    }

    /// Renders HeyGen started for this item and that failed: the stored count
    /// (0 from the moment it is queued), else, for an item queued before the
    /// count was kept, the attempts used before this one.
    pub fn renders_failed(&self) -> u32 {
        self.heygen_render_failures.unwrap_or_else(|| self.next_attempt().saturating_sub(1))
    }

    /// What the item holds of its budget while in flight, if anything.
    pub fn reservation(&self) -> Option<super::Reservation> {
        let seconds = self.heygen_reserved_seconds?;
        let budget = super::BudgetKey::from_stored(self.heygen_reserved_budget.clone()?);
        Some(super::Reservation { budget, seconds })
    }

    /// Whether the item waits in the queue for room in its budget.
    pub fn blocked_by_budget(&self) -> bool {
        self.is_queued() && self.heygen_blocked.as_deref() == Some(super::BLOCKED_BY_BUDGET)
    }

    /// The budget the item's render is paid from: its month and mode.
    pub fn budget_key(&self) -> Option<super::BudgetKey> {
        super::BudgetKey::for_date(&self.date, self.mode.known()?)
    }

    /// The key of the processing order: `(date, creator_id, content_id)`.
    pub fn processing_key(&self) -> (&str, &str, &str) {
        (&self.date, self.assigned_creator_id.as_deref().unwrap_or(""), &self.content_id)
    }
}

/// Nearest dates first, then creator id, then content id.
pub fn processing_order(a: &ContentItem, b: &ContentItem) -> Ordering {
    a.processing_key().cmp(&b.processing_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn item(status: Option<&str>) -> ContentItem {
        ContentItem {
            content_id: "c-1".into(),
            date: "2026-03-05".into(),
            mode: "bible".into(),
            script: Some("Hello".into()),
            assigned_creator_id: Some("cr-1".into()),
            heygen_status: status.map(JobStatus::parse),
            ..Default::default()
        }
    }

    const STALE: Duration = Duration::from_secs(600);

    #[test]
    fn eligibility_follows_the_job_status() {
        let now = t("2026-03-01T12:00:00.000Z");
        assert_eq!(item(None).classify(now, STALE), Classification::Eligible);
        assert_eq!(item(Some("failed")).classify(now, STALE), Classification::Eligible);
        assert_eq!(item(Some("pending")).classify(now, STALE), Classification::Busy);
        assert_eq!(item(Some("completed")).classify(now, STALE), Classification::Busy);
        assert_eq!(item(Some("queued")).classify(now, STALE), Classification::Busy);
        assert_eq!(item(Some("weird")).classify(now, STALE), Classification::Busy);
    }

    #[test]
    fn requested_claim_is_eligible_only_once_stale() {
        let now = t("2026-03-01T12:00:00.000Z");
        let mut fresh = item(Some("requested"));
        fresh.heygen_requested_at = Some(t("2026-03-01T11:50:00.001Z"));
        assert_eq!(fresh.classify(now, STALE), Classification::Busy);
        let mut stale = item(Some("requested"));
        stale.heygen_requested_at = Some(t("2026-03-01T11:50:00.000Z"));
        assert_eq!(stale.classify(now, STALE), Classification::Eligible);
        let mut timeless = item(Some("requested"));
        timeless.heygen_requested_at = None;
        assert_eq!(timeless.classify(now, STALE), Classification::Eligible);
    }

    #[test]
    fn empty_video_url_means_no_video() {
        let now = t("2026-03-01T12:00:00.000Z");
        let mut i = item(None);
        i.creator_video_url = Some(String::new());
        assert!(!i.has_video());
        assert_eq!(i.classify(now, STALE), Classification::Eligible);
        i.creator_video_url = Some("https://v/1.mp4".into());
        assert!(i.has_video());
        assert_eq!(i.classify(now, STALE), Classification::HasVideo);
        // A video wins over any job status.
        i.heygen_status = Some(JobStatus::Pending);
        assert_eq!(i.classify(now, STALE), Classification::HasVideo);
    }

    #[test]
    fn a_status_is_read_once_and_one_this_service_never_writes_is_kept_as_written() {
        for status in JobStatus::WRITTEN {
            assert_eq!(JobStatus::parse(status.as_str()), status);
        }
        let other: ContentItem =
            serde_json::from_str(r#"{"content_id": "c-1", "heygen_status": "archived_by_ops"}"#).unwrap();
        assert_eq!(other.heygen_status, Some(JobStatus::Unknown("archived_by_ops".into())));
        assert!(!other.is_pending() && !other.is_queued());
        assert_eq!(other.classify(t("2026-03-01T12:00:00.000Z"), STALE), Classification::Busy, "never claimed");
        assert_eq!(serde_json::to_value(&other).unwrap()["heygen_status"], "archived_by_ops");
        // A time the service did not write in its own form makes the item unreadable.
        let bad = serde_json::from_str::<ContentItem>(r#"{"content_id": "c-1", "heygen_requested_at": "yesterday"}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn pending_means_requested_or_pending() {
        assert!(item(Some("requested")).is_pending());
        assert!(item(Some("pending")).is_pending());
        assert!(!item(Some("completed")).is_pending());
        assert!(!item(Some("failed")).is_pending());
        assert!(!item(None).is_pending());
    }

    #[test]
    fn processing_order_is_date_then_creator_then_content() {
        let mk = |date: &str, cr: &str, id: &str| ContentItem {
            content_id: id.into(),
            date: date.into(),
            assigned_creator_id: Some(cr.into()),
            ..Default::default()
        };
        let mut items = [
            mk("2026-03-02", "a", "c-1"),
            mk("2026-03-01", "b", "c-0"),
            mk("2026-03-01", "a", "c-9"),
            mk("2026-03-01", "a", "c-2"),
        ];
        items.sort_by(processing_order);
        let ids: Vec<_> = items.iter().map(|i| i.content_id.as_str()).collect();
        assert_eq!(ids, ["c-2", "c-9", "c-0", "c-1"]);
    }

    #[test]
    fn an_item_backs_off_only_until_its_retry_time() {
        let now = t("2026-03-01T12:00:00.000Z");
        let mut i = item(Some("queued"));
        assert!(!i.backing_off(now));
        i.heygen_retry_at = Some(t("2026-03-01T12:00:00.001Z"));
        assert!(i.backing_off(now));
        i.heygen_retry_at = Some(t("2026-03-01T12:00:00.000Z"));
        assert!(!i.backing_off(now), "due at that very moment");
    }

    #[test]
    fn the_next_attempt_is_the_stored_one_else_one() {
        assert_eq!(item(None).next_attempt(), 1);
        let mut i = item(Some("failed"));
        i.heygen_attempt = Some(3);
        assert_eq!(i.next_attempt(), 3);
        i.heygen_attempt = Some(0);
        assert_eq!(i.next_attempt(), 1);
    }
}
