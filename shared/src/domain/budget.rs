//! Spend (contract section 13): what a render is expected to cost, and the budget
//! of a month and mode that no render may start past.
//!
//! HeyGen bills seconds of rendered video. An item's estimate is its script's
//! words times a rate in seconds per word; the budget row keeps what is
//! reserved by renders in flight and what completed renders were billed. The
//! arithmetic is here; the store makes each step atomic with the item's own
//! write.

use std::collections::HashMap;

use super::{ContentItem, Mode};

/// 150 words a minute.
pub const DEFAULT_SECONDS_PER_WORD: f64 = 0.4;

/// A creator's own rate is used once the month shows this many of its finished
/// renders (13.1).
pub const LEARNED_RATE_MIN_RENDERS: usize = 3;

/// The value of `heygen_blocked` on a queued item passed over for its budget.
pub const BLOCKED_BY_BUDGET: &str = "budget";

/// The script's words: its tokens between Unicode whitespace.
pub fn word_count(script: &str) -> usize {
    script.split_whitespace().count()
}

/// ceil(words x seconds-per-word), at least 1 second (13.1).
pub fn estimate_seconds(script: &str, seconds_per_word: f64) -> u64 {
    let raw = (word_count(script) as f64 * seconds_per_word).ceil();
    if raw.is_finite() && raw >= 1.0 {
        // Scripts are at most 5,000 characters: far inside u64.
        raw as u64
    } else {
        1
    }
}

/// A creator's own seconds per word from the month's finished renders: the sum
/// of their durations over the sum of their scripts' words, once there are at
/// least [`LEARNED_RATE_MIN_RENDERS`] of them with words.
pub fn learned_rate<'a>(finished: impl IntoIterator<Item = &'a ContentItem>) -> Option<f64> {
    let (mut renders, mut seconds, mut words) = (0usize, 0f64, 0usize);
    for item in finished {
        let (Some(duration), Some(script)) = (item.heygen_duration_seconds, item.script.as_deref()) else {
            continue;
        };
        let count = word_count(script);
        if count == 0 {
            continue;
        }
        renders += 1;
        seconds += duration.as_secs_f64();
        words += count;
    }
    (renders >= LEARNED_RATE_MIN_RENDERS && words > 0 && seconds > 0.0).then(|| seconds / words as f64)
}

/// The rates a trigger estimates with: each creator's own where the month shows
/// enough of its renders, else the setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub default: f64,
    pub by_creator: HashMap<String, f64>,
}

impl Rates {
    /// From the month's items as read (any creators, any states).
    pub fn learn(default: f64, items: &[ContentItem]) -> Self {
        let mut by_creator: HashMap<&str, Vec<&ContentItem>> = HashMap::new();
        for item in items {
            if let Some(creator) = item.assigned_creator_id.as_deref() {
                by_creator.entry(creator).or_default().push(item);
            }
        }
        let by_creator = by_creator
            .into_iter()
            .filter_map(|(creator, items)| learned_rate(items).map(|rate| (creator.to_string(), rate)))
            .collect();
        Self { default, by_creator }
    }

    pub fn for_creator(&self, creator_id: &str) -> f64 {
        self.by_creator.get(creator_id).copied().unwrap_or(self.default)
    }

    /// The item's estimate, in seconds (an item without a script: 1).
    pub fn estimate(&self, item: &ContentItem) -> u64 {
        let rate = self.for_creator(item.assigned_creator_id.as_deref().unwrap_or_default());
        estimate_seconds(item.script.as_deref().unwrap_or_default(), rate)
    }
}

/// A budget's name: `{month}#{mode}`, the suffix of its settings item
/// `_budget#{month}#{mode}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetKey(String);

impl BudgetKey {
    /// The budget of the month of `date` (`YYYY-MM-DD`) and `mode`; `None` for a
    /// date that names no month.
    pub fn for_date(date: &str, mode: Mode) -> Option<Self> {
        let month = date.get(..7).filter(|m| m.parse::<super::Month>().is_ok())?;
        Some(Self(format!("{month}#{mode}")))
    }

    pub fn new(month: super::Month, mode: Mode) -> Self {
        Self(format!("{month}#{mode}"))
    }

    /// As stored on an item (`heygen_reserved_budget`).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The settings item's key.
    pub fn item_key(&self) -> String {
        format!("_budget#{}", self.0)
    }
}

impl std::fmt::Display for BudgetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a render in flight holds of its budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub budget: BudgetKey,
    pub seconds: u64,
}

/// Where a month's cap comes from, as read (13.2): the budget row's own, else the
/// setting, else none. A reservation is conditional on it being unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    None,
    /// The setting `heygen_budget_seconds`, the row having no cap of its own.
    Setting(u64),
    /// The row's `cap_seconds`, set by a trigger's `budget_seconds`.
    Row(u64),
}

impl Cap {
    pub fn seconds(self) -> Option<u64> {
        match self {
            Cap::None => None,
            Cap::Setting(cap) | Cap::Row(cap) => Some(cap),
        }
    }
}

/// A budget row as read: its own cap (if any) and its counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetRow {
    pub cap_seconds: Option<u64>,
    pub reserved_seconds: u64,
    pub spent_seconds: u64,
}

impl BudgetRow {
    /// The cap in force: the row's, else the setting's.
    pub fn cap(&self, setting: Option<u64>) -> Cap {
        match (self.cap_seconds, setting) {
            (Some(cap), _) => Cap::Row(cap),
            (None, Some(cap)) => Cap::Setting(cap),
            (None, None) => Cap::None,
        }
    }

    /// Reserved and spent: what counts against the cap.
    pub fn committed(&self) -> u64 {
        self.reserved_seconds.saturating_add(self.spent_seconds)
    }

    /// Whether a render estimated at `estimate` may start under `cap`:
    /// `reserved + spent + estimate <= cap`.
    pub fn fits(&self, cap: Cap, estimate: u64) -> bool {
        cap.seconds().is_none_or(|cap| self.committed().saturating_add(estimate) <= cap)
    }

    /// Reserves `estimate` if it fits (13.2).
    pub fn reserve(&mut self, cap: Cap, estimate: u64) -> bool {
        if !self.fits(cap, estimate) {
            return false;
        }
        self.reserved_seconds = self.reserved_seconds.saturating_add(estimate);
        true
    }

    /// A completed render: its reservation becomes what HeyGen billed.
    pub fn settle(&mut self, reserved: u64, billed: u64) {
        self.reserved_seconds = self.reserved_seconds.saturating_sub(reserved);
        self.spent_seconds = self.spent_seconds.saturating_add(billed);
    }

    /// A render that failed, was lost, stuck or refused gives its reservation back.
    pub fn release(&mut self, reserved: u64) {
        self.reserved_seconds = self.reserved_seconds.saturating_sub(reserved);
    }

    /// The answers' `budget` object (13.3) under `cap`.
    pub fn view(&self, cap: Cap) -> BudgetView {
        let cap = cap.seconds();
        BudgetView {
            cap_seconds: cap,
            reserved_seconds: self.reserved_seconds,
            spent_seconds: self.spent_seconds,
            left_seconds: cap.map(|cap| cap.saturating_sub(self.committed())),
        }
    }
}

/// The `budget` object of the trigger's and the progress route's answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BudgetView {
    pub cap_seconds: Option<u64>,
    pub reserved_seconds: u64,
    pub spent_seconds: u64,
    pub left_seconds: Option<u64>,
}

/// What a completed render is billed, in whole seconds: HeyGen's `duration`
/// rounded up, else the estimate it reserved (13.2).
pub fn billed_seconds(duration: Option<super::VideoSeconds>, reserved: u64) -> u64 {
    match duration {
        Some(duration) => {
            let secs = duration.as_secs_f64().ceil();
            if secs.is_finite() && secs >= 0.0 { secs as u64 } else { reserved }
        }
        None => reserved,
    }
}

/// `estimated_usd` (13.3): the seconds at the rate, to the cent.
pub fn usd(seconds: u64, usd_per_second: f64) -> f64 {
    (seconds as f64 * usd_per_second * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VideoSeconds;

    fn finished(creator: &str, script: &str, secs: f64) -> ContentItem {
        ContentItem {
            content_id: format!("c-{creator}-{secs}"),
            assigned_creator_id: Some(creator.into()),
            script: Some(script.into()),
            heygen_duration_seconds: VideoSeconds::from_secs_f64(secs),
            ..Default::default()
        }
    }

    #[test]
    fn words_are_split_on_any_unicode_whitespace() {
        assert_eq!(word_count(""), 0);
        assert_eq!(word_count("   \n\t "), 0);
        assert_eq!(word_count("one"), 1);
        assert_eq!(word_count("one  two\nthree\tfour"), 4);
        // No-break space, ideographic space, em space, line separator.
        assert_eq!(word_count("a\u{00A0}b\u{3000}c\u{2003}d\u{2028}e"), 5);
        assert_eq!(word_count("Père  noël, «été»"), 3);
    }

    #[test]
    fn an_estimate_is_the_ceiling_of_words_times_the_rate_and_at_least_one() {
        assert_eq!(estimate_seconds("", 0.4), 1, "an empty script still costs a second");
        assert_eq!(estimate_seconds("one", 0.4), 1);
        assert_eq!(estimate_seconds("one two three", 0.4), 2, "1.2 rounds up");
        assert_eq!(estimate_seconds(&"word ".repeat(150), 0.4), 60, "150 words a minute");
        assert_eq!(estimate_seconds(&"word ".repeat(10), 0.55), 6, "5.5 rounds up");
    }

    #[test]
    fn a_creator_rate_is_learned_from_three_finished_renders_not_fewer() {
        let two = [finished("a", "one two three four", 2.0), finished("a", "one two", 1.0)];
        assert_eq!(learned_rate(&two), None);
        let three = [
            finished("a", "one two three four", 2.0),
            finished("a", "one two", 1.0),
            finished("a", "one two three four five six", 6.0),
        ];
        // 9 seconds over 12 words.
        assert_eq!(learned_rate(&three), Some(0.75));
        // Items without a duration or without words do not count.
        let mut unfinished = finished("a", "x y", 1.0);
        unfinished.heygen_duration_seconds = None;
        let wordless = finished("a", "   ", 5.0);
        assert_eq!(learned_rate([&two[0], &two[1], &unfinished, &wordless]), None);
    }

    #[test]
    fn rates_are_per_creator_with_the_setting_behind_them() {
        let items = [
            finished("a", "one two", 2.0),
            finished("a", "one two", 2.0),
            finished("a", "one two", 2.0),
            finished("b", "one two", 9.0),
        ];
        let rates = Rates::learn(0.4, &items);
        assert_eq!(rates.for_creator("a"), 1.0);
        assert_eq!(rates.for_creator("b"), 0.4, "one render is not enough");
        let item =
            ContentItem { assigned_creator_id: Some("a".into()), script: Some("w ".repeat(7)), ..Default::default() };
        assert_eq!(rates.estimate(&item), 7);
    }

    #[test]
    fn the_cap_is_the_rows_else_the_settings_else_none() {
        let row = BudgetRow { cap_seconds: Some(100), ..Default::default() };
        assert_eq!(row.cap(Some(50)), Cap::Row(100));
        assert_eq!(BudgetRow::default().cap(Some(50)), Cap::Setting(50));
        assert_eq!(BudgetRow::default().cap(None), Cap::None);
    }

    #[test]
    fn a_reservation_fits_exactly_up_to_the_cap() {
        let mut row = BudgetRow { cap_seconds: Some(110), reserved_seconds: 0, spent_seconds: 0 };
        let cap = row.cap(None);
        let admitted = (0..10).filter(|_| row.reserve(cap, 20)).count();
        assert_eq!(admitted, 5, "5 x 20 = 100 <= 110; a sixth would be 120");
        assert_eq!(row.view(cap).left_seconds, Some(10));
        row.settle(20, 12);
        assert_eq!((row.reserved_seconds, row.spent_seconds), (80, 12));
        assert!(row.reserve(cap, 18), "92 + 18 = 110");
        assert!(!row.reserve(cap, 1));
        row.release(20);
        assert!(row.reserve(cap, 1));
        assert!(BudgetRow::default().fits(Cap::None, u64::MAX));
        assert!(!BudgetRow::default().fits(Cap::Row(0), 1), "a cap of 0 admits nothing");
    }

    #[test]
    fn billed_seconds_round_up_and_fall_back_to_the_estimate() {
        assert_eq!(billed_seconds(VideoSeconds::from_secs_f64(30.2), 40), 31);
        assert_eq!(billed_seconds(VideoSeconds::from_secs_f64(30.0), 40), 30);
        assert_eq!(billed_seconds(None, 40), 40);
    }

    #[test]
    fn a_budget_key_names_the_month_and_mode() {
        let key = BudgetKey::for_date("2027-01-31", Mode::Bible).unwrap();
        assert_eq!(key.item_key(), "_budget#2027-01#bible");
        assert_eq!(BudgetKey::for_date("someday", Mode::Bible), None);
        assert_eq!(BudgetKey::new("2027-01".parse().unwrap(), Mode::Positivity).as_str(), "2027-01#positivity");
    }

    #[test]
    fn usd_is_rounded_to_the_cent() {
        assert_eq!(usd(100, 0.017), 1.7);
        assert_eq!(usd(333, 0.0333), 11.09);
    }
}
