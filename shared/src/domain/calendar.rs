//! Content modes and calendar months, as the admin names them and the platform
//! dates its items.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

/// An item's `mode` as the platform wrote it: one of the service's modes, or
/// another value, kept as written (such an item is for no creator of this
/// service, and stays readable).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemMode {
    Known(Mode),
    Other(String),
}

impl ItemMode {
    /// The service's mode, if it is one.
    pub fn known(&self) -> Option<Mode> {
        match self {
            ItemMode::Known(mode) => Some(*mode),
            ItemMode::Other(_) => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ItemMode::Known(mode) => mode.as_str(),
            ItemMode::Other(other) => other,
        }
    }
}

impl Default for ItemMode {
    fn default() -> Self {
        ItemMode::Other(String::new())
    }
}

impl From<&str> for ItemMode {
    fn from(raw: &str) -> Self {
        raw.parse().map_or_else(|_| ItemMode::Other(raw.to_string()), ItemMode::Known)
    }
}

impl std::fmt::Display for ItemMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ItemMode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ItemMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from(String::deserialize(deserializer)?.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_mode_is_one_of_the_services_or_kept_as_the_platform_wrote_it() {
        let read = |mode: &str| {
            serde_json::from_value::<super::super::ContentItem>(serde_json::json!({"content_id": "c", "mode": mode}))
        };
        assert_eq!(read("bible").unwrap().mode, ItemMode::Known(Mode::Bible));
        assert_eq!(read("positivity").unwrap().mode.known(), Some(Mode::Positivity));
        let other = read("Bible").unwrap();
        assert_eq!((other.mode.known(), other.mode.as_str()), (None, "Bible"), "still readable, for no creator");
        assert_eq!(serde_json::to_value(&other).unwrap()["mode"], "Bible");
    }
}
