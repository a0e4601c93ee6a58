//! Fixed-width UTC timestamps, `YYYY-MM-DDTHH:MM:SS.sssZ`, so that string order is
//! time order (the contract's rule for every stored timestamp).

use std::fmt;
use std::time::Duration;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// An instant in UTC with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const EARLIEST_DATE: time::Date = time::macros::date!(0000 - 01 - 01);
const LATEST_DATE: time::Date = time::macros::date!(9999 - 12 - 31);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a timestamp of the form YYYY-MM-DDTHH:MM:SS.sssZ")]
pub struct TimestampError;

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        Self::truncated(OffsetDateTime::now_utc())
    }

    /// From milliseconds since the Unix epoch; `None` outside years 0000-9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()?;
        (0..=9999).contains(&dt.year()).then_some(Self(dt))
    }

    /// Parses exactly the stored form (24 characters, `Z`, three fraction digits).
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        if s.len() != 24 {
            return Err(TimestampError);
        }
        PrimitiveDateTime::parse(s, FORMAT).map(|dt| Self(dt.assume_offset(UtcOffset::UTC))).map_err(|_| TimestampError)
    }

    /// This instant moved back by `d`, saturating at 0000-01-01.
    pub fn minus(&self, d: Duration) -> Self {
        let earliest = OffsetDateTime::new_utc(EARLIEST_DATE, time::Time::MIDNIGHT);
        Self::truncated(self.0.checked_sub(to_time(d)).unwrap_or(earliest).max(earliest))
    }

    /// This instant moved forward by `d`, saturating at the start of 9999-12-31.
    pub fn plus(&self, d: Duration) -> Self {
        let latest = OffsetDateTime::new_utc(LATEST_DATE, time::Time::MIDNIGHT);
        Self::truncated(self.0.checked_add(to_time(d)).unwrap_or(latest).min(latest))
    }

    /// Whole seconds from `earlier` to this instant; 0 if `earlier` is later.
    pub fn seconds_since(&self, earlier: Timestamp) -> u64 {
        u64::try_from((self.0 - earlier.0).whole_seconds()).unwrap_or(0)
    }

    /// The time from `earlier` to this instant, to the millisecond; zero if
    /// `earlier` is later.
    pub fn since(&self, earlier: Timestamp) -> Duration {
        Duration::try_from(self.0 - earlier.0).unwrap_or(Duration::ZERO)
    }

    fn truncated(dt: OffsetDateTime) -> Self {
        let ms = dt.millisecond();
        // `replace_millisecond` only fails for values >= 1000, which `millisecond()` never returns.
        Self(dt.replace_millisecond(ms).unwrap_or(dt))
    }
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Formatting a UTC date in years 0000-9999 with this description cannot fail.
        match self.0.format(FORMAT) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// Stored as its fixed-width string.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read from the fixed-width string only: anything else makes the item unreadable.
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_its_string_and_reads_only_that() {
        let t = Timestamp::parse("2026-03-01T10:00:00.250Z").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-03-01T10:00:00.250Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2026-03-01T10:00:00.250Z\"").unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"2026-03-01\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn formats_fixed_width_with_milliseconds() {
        let t = Timestamp::from_unix_millis(1_772_323_200_007).unwrap();
        assert_eq!(t.to_string(), "2026-03-01T00:00:00.007Z");
        let early = Timestamp::from_unix_millis(0).unwrap();
        assert_eq!(early.to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Timestamp::from_unix_millis(1_000).unwrap();
        let b = Timestamp::from_unix_millis(999_999_999_999).unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().len(), b.to_string().len());
    }

    #[test]
    fn parse_round_trips_and_rejects_other_forms() {
        let s = "2026-11-28T15:39:00.123Z";
        assert_eq!(Timestamp::parse(s).unwrap().to_string(), s);
        for bad in [
            "2026-11-28T15:39:00Z",
            "2026-11-28T15:39:00.123+00:00",
            "2026-11-28 15:39:00.123Z",
            "2026-13-28T15:39:00.123Z",
            "",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(TimestampError), "{bad}");
        }
    }

    #[test]
    fn now_has_millisecond_precision() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_string()).unwrap(), now);
    }

    #[test]
    fn seconds_since_counts_whole_seconds_and_never_goes_negative() {
        let t = Timestamp::parse("2026-03-01T00:10:00.500Z").unwrap();
        let earlier = Timestamp::parse("2026-03-01T00:00:00.000Z").unwrap();
        assert_eq!(t.seconds_since(earlier), 600);
        assert_eq!(earlier.seconds_since(t), 0);
    }

    #[test]
    fn minus_and_plus_move_by_whole_seconds() {
        let t = Timestamp::parse("2026-03-01T00:00:00.000Z").unwrap();
        assert_eq!(t.minus(Duration::from_secs(600)).to_string(), "2026-02-28T23:50:00.000Z");
        assert_eq!(t.plus(Duration::from_secs(61)).to_string(), "2026-03-01T00:01:01.000Z");
        assert_eq!(t.minus(Duration::MAX).to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(t.plus(Duration::MAX).to_string(), "9999-12-31T00:00:00.000Z");
    }
}
