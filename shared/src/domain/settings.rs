//! The settings table's known keys and their fallback rules (contract section 3).

use std::collections::HashMap;

pub const CALLBACK_URL: &str = "heygen_callback_url";
pub const DEFAULT_VOICE_ID: &str = "heygen_default_voice_id";
pub const REQUESTS_PER_SECOND: &str = "heygen_requests_per_second";
pub const MAX_CONCURRENT_RENDERS: &str = "heygen_max_concurrent_renders";
pub const MAX_RENDER_ATTEMPTS: &str = "heygen_max_render_attempts";
pub const SECONDS_PER_WORD: &str = "heygen_seconds_per_word";
pub const BUDGET_SECONDS: &str = "heygen_budget_seconds";
pub const USD_PER_SECOND: &str = "heygen_usd_per_second";

/// Every key the service reads, fetched together in one request.
pub const KNOWN_KEYS: [&str; 8] = [
    CALLBACK_URL,
    DEFAULT_VOICE_ID,
    REQUESTS_PER_SECOND,
    MAX_CONCURRENT_RENDERS,
    MAX_RENDER_ATTEMPTS,
    SECONDS_PER_WORD,
    BUDGET_SECONDS,
    USD_PER_SECOND,
];

pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 1.0;
/// HeyGen's limit of concurrent video jobs on pay-as-you-go.
pub const DEFAULT_MAX_CONCURRENT_RENDERS: u32 = 10;
/// A render HeyGen reports failed is tried once more by itself.
pub const DEFAULT_MAX_RENDER_ATTEMPTS: u32 = 2;
/// A sanity ceiling: each slot is an item of the settings table read on dispatch.
pub const MAX_RENDER_SLOTS: u32 = 100;

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub callback_url: Option<String>,
    pub default_voice_id: Option<String>,
    /// Always finite and > 0.
    pub requests_per_second: f64,
    /// Render slots: at most this many items in flight. Always 1..=100 (more is
    /// capped at 100, each slot being an item read on dispatch).
    pub max_concurrent_renders: u32,
    /// Renders HeyGen reports failed go back to the queue while the failed
    /// attempt is below this (contract section 11). Always >= 1.
    pub max_render_attempts: u32,
    /// The estimate's rate when a creator has none of its own (13.1). Always
    /// finite and > 0.
    pub seconds_per_word: f64,
    /// Every month's cap unless its budget row has its own (13.2); `None`: no cap.
    pub budget_seconds: Option<u64>,
    /// The price of a rendered second, for `estimated_usd` (13.3).
    pub usd_per_second: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            callback_url: None,
            default_voice_id: None,
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            max_concurrent_renders: DEFAULT_MAX_CONCURRENT_RENDERS,
            max_render_attempts: DEFAULT_MAX_RENDER_ATTEMPTS,
            seconds_per_word: super::DEFAULT_SECONDS_PER_WORD,
            budget_seconds: None,
            usd_per_second: None,
        }
    }
}

/// A decimal > 0 (finite), else `None` with a warning naming the setting.
fn positive_decimal(setting: &str, raw: &str) -> Option<f64> {
    match raw.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Some(r),
        _ => {
            tracing::warn!(setting, value = raw, "setting is not a positive decimal; ignored");
            None
        }
    }
}

impl Settings {
    /// Builds the settings from stored `key -> value` strings. Empty strings count
    /// as unset; an unparsable or non-positive rate falls back to the default with
    /// a warning.
    pub fn from_values(values: &HashMap<String, String>) -> Self {
        let get = |k: &str| values.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let requests_per_second = match get(REQUESTS_PER_SECOND) {
            None => DEFAULT_REQUESTS_PER_SECOND,
            Some(raw) => match raw.parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 => r,
                _ => {
                    tracing::warn!(
                        setting = REQUESTS_PER_SECOND,
                        value = raw,
                        default = DEFAULT_REQUESTS_PER_SECOND,
                        "setting is not a positive decimal; using the default"
                    );
                    DEFAULT_REQUESTS_PER_SECOND
                }
            },
        };
        let max_concurrent_renders = match get(MAX_CONCURRENT_RENDERS) {
            None => DEFAULT_MAX_CONCURRENT_RENDERS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_RENDER_SLOTS).contains(&n) => n,
                Ok(n) if n > MAX_RENDER_SLOTS => {
                    tracing::warn!(setting = MAX_CONCURRENT_RENDERS, value = n, "capped at 100 render slots");
                    MAX_RENDER_SLOTS
                }
                _ => {
                    tracing::warn!(
                        setting = MAX_CONCURRENT_RENDERS,
                        value = raw,
                        default = DEFAULT_MAX_CONCURRENT_RENDERS,
                        "setting is not a whole number of at least 1; using the default"
                    );
                    DEFAULT_MAX_CONCURRENT_RENDERS
                }
            },
        };
        let max_render_attempts = match get(MAX_RENDER_ATTEMPTS) {
            None => DEFAULT_MAX_RENDER_ATTEMPTS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    tracing::warn!(
                        setting = MAX_RENDER_ATTEMPTS,
                        value = raw,
                        default = DEFAULT_MAX_RENDER_ATTEMPTS,
                        "setting is not a whole number of at least 1; using the default"
                    );
                    DEFAULT_MAX_RENDER_ATTEMPTS
                }
            },
        };
        let seconds_per_word = get(SECONDS_PER_WORD)
            .and_then(|raw| positive_decimal(SECONDS_PER_WORD, raw))
            .unwrap_or(super::DEFAULT_SECONDS_PER_WORD);
        let budget_seconds = get(BUDGET_SECONDS).and_then(|raw| match raw.parse::<u64>() {
            Ok(cap) => Some(cap),
            Err(_) => {
                // A cap that cannot be read must not become "no cap" silently.
                tracing::error!(setting = BUDGET_SECONDS, value = raw, "setting is not a whole number >= 0; no cap");
                None
            }
        });
        let usd_per_second = get(USD_PER_SECOND).and_then(|raw| positive_decimal(USD_PER_SECOND, raw));
        Self {
            seconds_per_word,
            budget_seconds,
            usd_per_second,
            callback_url: get(CALLBACK_URL).map(str::to_string),
            default_voice_id: get(DEFAULT_VOICE_ID).map(str::to_string),
            requests_per_second,
            max_concurrent_renders,
            max_render_attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn absent_settings_take_the_defaults() {
        assert_eq!(Settings::from_values(&HashMap::new()), Settings::default());
        assert_eq!(Settings::default().requests_per_second, 1.0);
    }

    #[test]
    fn present_settings_are_used() {
        let s = Settings::from_values(&values(&[
            (CALLBACK_URL, "https://x.example/webhooks/heygen"),
            (DEFAULT_VOICE_ID, "v-1"),
            (REQUESTS_PER_SECOND, "2.5"),
        ]));
        assert_eq!(s.callback_url.as_deref(), Some("https://x.example/webhooks/heygen"));
        assert_eq!(s.default_voice_id.as_deref(), Some("v-1"));
        assert_eq!(s.requests_per_second, 2.5);
    }

    #[test]
    fn bad_rates_fall_back_to_the_default() {
        for bad in ["0", "-1", "abc", "NaN", "inf", "", "1/2"] {
            let s = Settings::from_values(&values(&[(REQUESTS_PER_SECOND, bad)]));
            assert_eq!(s.requests_per_second, 1.0, "{bad:?}");
        }
        let s = Settings::from_values(&values(&[(REQUESTS_PER_SECOND, "0.2")]));
        assert_eq!(s.requests_per_second, 0.2);
    }

    #[test]
    fn empty_strings_count_as_unset() {
        let s = Settings::from_values(&values(&[(CALLBACK_URL, ""), (DEFAULT_VOICE_ID, " ")]));
        assert_eq!(s.callback_url, None);
        assert_eq!(s.default_voice_id, None);
    }

    #[test]
    fn the_render_limit_is_a_whole_number_of_at_least_1_else_10_and_at_most_100() {
        assert_eq!(Settings::default().max_concurrent_renders, 10);
        let s = Settings::from_values(&values(&[(MAX_CONCURRENT_RENDERS, "4")]));
        assert_eq!(s.max_concurrent_renders, 4);
        let s = Settings::from_values(&values(&[(MAX_CONCURRENT_RENDERS, "500")]));
        assert_eq!(s.max_concurrent_renders, 100, "capped");
        for bad in ["0", "-1", "2.5", "many", ""] {
            let s = Settings::from_values(&values(&[(MAX_CONCURRENT_RENDERS, bad)]));
            assert_eq!(s.max_concurrent_renders, 10, "{bad:?}");
        }
    }

    #[test]
    fn spend_settings_are_read_and_bad_values_fall_back() {
        let s = Settings::default();
        assert_eq!((s.seconds_per_word, s.budget_seconds, s.usd_per_second), (0.4, None, None));
        let s = Settings::from_values(&values(&[
            (SECONDS_PER_WORD, "0.5"),
            (BUDGET_SECONDS, "3600"),
            (USD_PER_SECOND, "0.0167"),
        ]));
        assert_eq!((s.seconds_per_word, s.budget_seconds, s.usd_per_second), (0.5, Some(3600), Some(0.0167)));
        assert_eq!(Settings::from_values(&values(&[(BUDGET_SECONDS, "0")])).budget_seconds, Some(0));
        for bad in ["-1", "0", "lots", "NaN", "inf"] {
            let s = Settings::from_values(&values(&[(SECONDS_PER_WORD, bad), (USD_PER_SECOND, bad)]));
            assert_eq!((s.seconds_per_word, s.usd_per_second), (0.4, None), "{bad:?}");
        }
        for bad in ["-1", "1.5", "lots"] {
            assert_eq!(Settings::from_values(&values(&[(BUDGET_SECONDS, bad)])).budget_seconds, None, "{bad:?}");
        }
    }

    #[test]
    fn render_attempts_are_a_whole_number_of_at_least_1_else_2() {
        assert_eq!(Settings::default().max_render_attempts, 2);
        let s = Settings::from_values(&values(&[(MAX_RENDER_ATTEMPTS, "1")]));
        assert_eq!(s.max_render_attempts, 1);
        let s = Settings::from_values(&values(&[(MAX_RENDER_ATTEMPTS, "5")]));
        assert_eq!(s.max_render_attempts, 5);
        for bad in ["0", "-1", "1.5", "twice", ""] {
            let s = Settings::from_values(&values(&[(MAX_RENDER_ATTEMPTS, bad)]));
            assert_eq!(s.max_render_attempts, 2, "{bad:?}");
        }
    }
}
