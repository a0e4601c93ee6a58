//! The domain: modes, months, creators, content items and the rules of the
//! contract (eligibility, processing order, voice choice, job states and attempts).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// A content mode. Exact lowercase names only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Bible,
    Positivity,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Bible, Mode::Positivity];

    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Bible => "bible",
            Mode::Positivity => "positivity",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mode must be \"bible\" or \"positivity\"")]
pub struct ModeError;

impl FromStr for Mode {
    type Err = ModeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s).ok_or(ModeError)
    }
}

/// A calendar month, `YYYY-MM` (year 0001-9999, month 01-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    year: u16,
    month: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be a real month written YYYY-MM")]
pub struct MonthError;

impl Month {
    pub fn new(year: u16, month: u8) -> Result<Self, MonthError> {
        if (1..=9999).contains(&year) && (1..=12).contains(&month) { Ok(Self { year, month }) } else { Err(MonthError) }
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month's number, 1-12.
    pub fn number(&self) -> u8 {
        self.month
    }

    /// `YYYY-MM-`: every date of the month starts with it.
    pub fn date_prefix(&self) -> String {
        format!("{self}-")
    }

    /// Whether `date` is a `YYYY-MM-DD` date of this month (day 01-31).
    pub fn contains_date(&self, date: &str) -> bool {
        let Some(day) = date.strip_prefix(&self.date_prefix()) else {
            return false;
        };
        day.len() == 2
            && day.bytes().all(|b| b.is_ascii_digit())
            && day.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(MonthError);
        }
        let year = s[0..4].parse().map_err(|_| MonthError)?;
        let month = s[5..7].parse().map_err(|_| MonthError)?;
        Month::new(year, month)
    }
}

/// A creator as the platform writes it (contract section 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub creator_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_ai: bool,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub heygen_avatar_ids: BTreeMap<String, String>,
    #[serde(default)]
    pub heygen_voice_ids: BTreeMap<String, String>,
}

fn non_empty(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.is_empty())
}

impl Creator {
    /// The creator's HeyGen avatar for `mode`, if a non-empty one is set.
    pub fn avatar_for(&self, mode: Mode) -> Option<&str> {
        non_empty(self.heygen_avatar_ids.get(mode.as_str()))
    }

    /// The creator's own voice for `mode`, if a non-empty one is set.
    pub fn voice_for(&self, mode: Mode) -> Option<&str> {
        non_empty(self.heygen_voice_ids.get(mode.as_str()))
    }

    /// Eligible for `mode` iff AI, active, and with a non-empty avatar for it.
    pub fn is_eligible_for(&self, mode: Mode) -> bool {
        self.is_ai && self.active && self.avatar_for(mode).is_some()
    }

    /// The voice for a render: the creator's for the mode, else the default
    /// setting, else none (HeyGen then uses the avatar's own voice).
    pub fn choose_voice<'a>(&'a self, mode: Mode, default_voice: Option<&'a str>) -> Option<&'a str> {
        self.voice_for(mode).or(default_voice.filter(|v| !v.is_empty()))
    }
}

/// Where a content item's HeyGen job stands (`heygen_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Claimed; HeyGen has not answered the create yet.
    Requested,
    /// HeyGen accepted the create; rendering.
    Pending,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Requested => "requested",
            JobStatus::Pending => "pending",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Requested, Self::Pending, Self::Completed, Self::Failed].into_iter().find(|v| v.as_str() == s)
    }

    /// Pending iff `requested` or `pending`.
    pub fn is_pending(&self) -> bool {
        matches!(self, JobStatus::Requested | JobStatus::Pending)
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
    pub mode: String,
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
    pub heygen_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_claim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_video_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_video_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_requested_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_completed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heygen_thumbnail_url: Option<String>,
}

/// How a trigger sees an item of an eligible creator, month and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    /// Has a video: not counted at all.
    HasVideo,
    /// Pending, completed, a fresh claim, or a status this service did not write:
    /// counted in `skipped_pending`, never claimed.
    Busy,
    /// May be claimed.
    Eligible,
}

impl ContentItem {
    /// A present but empty `creator_video_url` means "no video".
    pub fn has_video(&self) -> bool {
        self.creator_video_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// The stored job status; `None` when absent. An unknown value is `Err`.
    pub fn job_status(&self) -> Result<Option<JobStatus>, &str> {
        match self.heygen_status.as_deref() {
            None => Ok(None),
            Some(s) => JobStatus::parse(s).map(Some).ok_or(s),
        }
    }

    /// Pending iff `heygen_status` is `requested` or `pending`.
    pub fn is_pending(&self) -> bool {
        matches!(self.job_status(), Ok(Some(s)) if s.is_pending())
    }

    /// The claim-time eligibility rule of section 3 (the creator, month and mode
    /// having been matched already): no video, and `heygen_status` absent,
    /// `failed`, or a `requested` claim older than `stale_after`.
    pub fn classify(&self, now: Timestamp, stale_after: Duration) -> Classification {
        if self.has_video() {
            return Classification::HasVideo;
        }
        match self.job_status() {
            Ok(None | Some(JobStatus::Failed)) => Classification::Eligible,
            Ok(Some(JobStatus::Requested)) if self.claim_is_stale(now, stale_after) => Classification::Eligible,
            // Pending, completed, a fresh claim, or a status we never write: never
            // claim it (a second video costs money; a stuck item can be reconciled).
            _ => Classification::Busy,
        }
    }

    /// A `requested` claim is stale once `heygen_requested_at` is at least
    /// `stale_after` old. A claim without a readable time counts as stale (every
    /// claim this service writes has one), matching the store's condition.
    pub fn claim_is_stale(&self, now: Timestamp, stale_after: Duration) -> bool {
        match self.heygen_requested_at.as_deref().map(Timestamp::parse) {
            Some(Ok(at)) => at <= now.minus(stale_after),
            _ => true,
        }
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

    /// The key of the processing order: `(date, creator_id, content_id)`.
    pub fn processing_key(&self) -> (&str, &str, &str) {
        (&self.date, self.assigned_creator_id.as_deref().unwrap_or(""), &self.content_id)
    }
}

/// Nearest dates first, then creator id, then content id.
pub fn processing_order(a: &ContentItem, b: &ContentItem) -> Ordering {
    a.processing_key().cmp(&b.processing_key())
}

/// HeyGen's limit on an avatar script, counted in Unicode scalar values.
pub const MAX_SCRIPT_CHARS: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptProblem {
    #[error("the item has no script")]
    Missing,
    #[error("the script is {chars} characters long; HeyGen accepts at most 5000")]
    TooLong { chars: usize },
}

impl ScriptProblem {
    /// The contract's per-item error code.
    pub fn code(&self) -> &'static str {
        match self {
            ScriptProblem::Missing => "script_missing",
            ScriptProblem::TooLong { .. } => "script_too_long",
        }
    }
}

/// An empty (or blank) script is missing; over 5,000 characters is too long.
pub fn check_script(script: Option<&str>) -> Result<&str, ScriptProblem> {
    let script = script.filter(|s| !s.trim().is_empty()).ok_or(ScriptProblem::Missing)?;
    let chars = script.chars().count();
    if chars > MAX_SCRIPT_CHARS {
        return Err(ScriptProblem::TooLong { chars });
    }
    Ok(script)
}

/// A claim this process holds on an item: recording a video id or releasing is
/// conditional on `claim_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub content_id: String,
    pub claim_id: String,
    /// The attempt number of this claim's idempotency key.
    pub attempt: u32,
}

/// Whether a refused create was a *definite* answer (6.1): the next claim then
/// uses a new attempt number. Timeouts, 5xx, 408, 409 and 429 are not definite:
/// the same key replays HeyGen's first answer instead of paying twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Definiteness {
    Definite,
    Indefinite,
}

impl Claim {
    /// The attempt number stored when this claim is released.
    pub fn attempt_after_release(&self, definiteness: Definiteness) -> u32 {
        match definiteness {
            Definiteness::Definite => self.attempt.saturating_add(1),
            Definiteness::Indefinite => self.attempt,
        }
    }
}

/// The `heygen_error` text of a refused request: `"<code>: <message>"`.
pub fn request_error_text(code: &str, message: &str) -> String {
    format!("{code}: {message}")
}

/// HeyGen's final answer about a render, as applied to an item (6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed {
        video_url: String,
        thumbnail_url: Option<String>,
    },
    /// The render failed (a definite answer: the attempt number advances).
    Failed {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn mode_parses_exact_lowercase_names_only() {
        assert_eq!("bible".parse(), Ok(Mode::Bible));
        assert_eq!("positivity".parse(), Ok(Mode::Positivity));
        for bad in ["Bible", "BIBLE", " bible", "bible ", "", "other"] {
            assert_eq!(bad.parse::<Mode>(), Err(ModeError), "{bad:?}");
        }
        assert_eq!(serde_json::from_str::<Mode>("\"bible\"").unwrap(), Mode::Bible);
        assert!(serde_json::from_str::<Mode>("\"Bible\"").is_err());
    }

    #[test]
    fn month_accepts_real_months_only() {
        assert_eq!("2026-03".parse::<Month>().unwrap().to_string(), "2026-03");
        assert_eq!("2026-12".parse::<Month>().unwrap().to_string(), "2026-12");
        assert_eq!("0001-01".parse::<Month>().unwrap().to_string(), "0001-01");
        for bad in [
            "2026-13",
            "2026-00",
            "26-03",
            "2026-3",
            "2026-03-01",
            "0000-01",
            "2026/03",
            "２０２６-03",
            "+026-03",
            "2026-+3",
            "",
            "2026-03 ",
        ] {
            assert_eq!(bad.parse::<Month>(), Err(MonthError), "{bad:?}");
        }
    }

    #[test]
    fn month_contains_only_its_own_dates() {
        let m: Month = "2026-03".parse().unwrap();
        assert_eq!(m.date_prefix(), "2026-03-");
        assert!(m.contains_date("2026-03-01"));
        assert!(m.contains_date("2026-03-31"));
        for other in ["2026-04-01", "2026-03-00", "2026-03-32", "2026-03-1", "2026-03", "2026-03-01T00", "2025-03-01"] {
            assert!(!m.contains_date(other), "{other}");
        }
    }

    fn creator(is_ai: bool, active: bool, avatars: &[(&str, &str)], voices: &[(&str, &str)]) -> Creator {
        let map = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Creator {
            creator_id: "cr-1".into(),
            name: Some("Ada".into()),
            is_ai,
            active,
            heygen_avatar_ids: map(avatars),
            heygen_voice_ids: map(voices),
        }
    }

    #[test]
    fn creator_eligible_only_when_ai_active_and_avatar_for_mode() {
        assert!(creator(true, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Positivity));
        assert!(!creator(false, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, false, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[("bible", "")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[], &[]).is_eligible_for(Mode::Bible));
    }

    #[test]
    fn voice_is_creators_then_default_then_none() {
        let with_voice = creator(true, true, &[("bible", "a")], &[("bible", "v-own"), ("positivity", "")]);
        assert_eq!(with_voice.choose_voice(Mode::Bible, Some("v-def")), Some("v-own"));
        // An empty voice for the mode falls back to the default.
        assert_eq!(with_voice.choose_voice(Mode::Positivity, Some("v-def")), Some("v-def"));
        assert_eq!(with_voice.choose_voice(Mode::Positivity, None), None);
        assert_eq!(with_voice.choose_voice(Mode::Positivity, Some("")), None);
    }

    fn item(status: Option<&str>) -> ContentItem {
        ContentItem {
            content_id: "c-1".into(),
            date: "2026-03-05".into(),
            mode: "bible".into(),
            script: Some("Hello".into()),
            assigned_creator_id: Some("cr-1".into()),
            heygen_status: status.map(str::to_string),
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
        assert_eq!(item(Some("weird")).classify(now, STALE), Classification::Busy);
    }

    #[test]
    fn requested_claim_is_eligible_only_once_stale() {
        let now = t("2026-03-01T12:00:00.000Z");
        let mut fresh = item(Some("requested"));
        fresh.heygen_requested_at = Some("2026-03-01T11:50:00.001Z".into());
        assert_eq!(fresh.classify(now, STALE), Classification::Busy);
        let mut stale = item(Some("requested"));
        stale.heygen_requested_at = Some("2026-03-01T11:50:00.000Z".into());
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
        i.heygen_status = Some("pending".into());
        assert_eq!(i.classify(now, STALE), Classification::HasVideo);
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
    fn script_must_be_present_and_at_most_5000_scalar_values() {
        assert_eq!(check_script(None), Err(ScriptProblem::Missing));
        assert_eq!(check_script(Some("")), Err(ScriptProblem::Missing));
        assert_eq!(check_script(Some("  \n")), Err(ScriptProblem::Missing));
        let exact = "é".repeat(5_000); // 10,000 bytes, 5,000 scalar values
        assert_eq!(check_script(Some(&exact)), Ok(exact.as_str()));
        let over = "é".repeat(5_001);
        assert_eq!(check_script(Some(&over)), Err(ScriptProblem::TooLong { chars: 5_001 }));
        assert_eq!(ScriptProblem::Missing.code(), "script_missing");
        assert_eq!(ScriptProblem::TooLong { chars: 1 }.code(), "script_too_long");
    }

    #[test]
    fn attempt_starts_at_one_and_advances_only_on_definite_answers() {
        assert_eq!(item(None).next_attempt(), 1);
        let mut i = item(Some("failed"));
        i.heygen_attempt = Some(3);
        assert_eq!(i.next_attempt(), 3);
        i.heygen_attempt = Some(0);
        assert_eq!(i.next_attempt(), 1);
        let claim = Claim { content_id: "c".into(), claim_id: "k".into(), attempt: 2 };
        assert_eq!(claim.attempt_after_release(Definiteness::Definite), 3);
        assert_eq!(claim.attempt_after_release(Definiteness::Indefinite), 2);
    }

    #[test]
    fn request_error_text_is_code_colon_message() {
        assert_eq!(request_error_text("heygen_rejected", "bad avatar"), "heygen_rejected: bad avatar");
    }
}
