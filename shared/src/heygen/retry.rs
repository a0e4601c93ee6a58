//! How HeyGen requests are retried and timed: attempts, capped exponential
//! backoff with jitter, `Retry-After`, per-request timeouts and the deadline.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How requests are retried and timed.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before retry n (from 1) is `base * 2^(n-1)`, capped, times a
    /// jitter in 0.75..1.25.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than the backoff is honoured up to this.
    pub max_retry_after: Duration,
    /// One status request's timeout (shortened to what is left before the
    /// deadline). HeyGen's reads answer within 2 s at p99.
    pub request_timeout: Duration,
    /// One create request's timeout, never shortened: a create attempt starts
    /// only when all of it fits before the deadline. HeyGen's own create takes
    /// 3.9 s at p50 and 30.8 s at p99; one cut off is still made by HeyGen and
    /// answers `409 request_in_progress` to its retry until it is.
    pub create_timeout: Duration,
    /// A status request is not started with less than this left before the
    /// deadline (a create needs its whole `request_timeout`).
    pub min_request_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            create_timeout: Duration::from_secs(10),
            min_request_time: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The admin functions' policy (the default): within API Gateway's 30 s a
    /// create waits at most 10 s, so that several fit; what a slow HeyGen leaves
    /// stays queued for the worker.
    pub fn admin() -> Self {
        Self::default()
    }

    /// The worker's policy: its 55 s leave room for a create to take HeyGen's
    /// p99 (30.8 s) and more, so a slow create is waited for, not cut off.
    pub fn worker() -> Self {
        Self { create_timeout: Duration::from_secs(40), ..Self::default() }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max_delay);
        let backoff = exp.mul_f64(0.75 + fastrand::f64() * 0.5);
        match retry_after {
            Some(ra) => backoff.max(ra.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// `Retry-After` as integer seconds or an HTTP date.
pub(super) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(&headers("7")), Some(Duration::from_secs(7)));
        let in_two_minutes = std::time::SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&headers(&httpdate::fmt_http_date(in_two_minutes))).unwrap();
        assert!(parsed > Duration::from_secs(118) && parsed <= Duration::from_secs(120), "{parsed:?}");
        assert_eq!(parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn the_workers_creates_wait_past_heygens_p99_and_the_admins_fit_their_30_s() {
        let p99 = Duration::from_millis(30_800);
        assert!(RetryPolicy::worker().create_timeout >= p99 + Duration::from_secs(5));
        assert!(RetryPolicy::worker().create_timeout + Duration::from_secs(10) <= Duration::from_secs(55));
        assert!(RetryPolicy::admin().create_timeout * 2 < Duration::from_secs(29));
        assert_eq!(RetryPolicy::worker().request_timeout, RetryPolicy::admin().request_timeout, "reads stay short");
    }

    #[test]
    fn backoff_grows_with_jitter_is_capped_and_yields_to_a_longer_retry_after() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let first = p.delay(1, None);
            assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250), "{first:?}");
            let second = p.delay(2, None);
            assert!(second >= Duration::from_millis(1500) && second <= Duration::from_millis(2500), "{second:?}");
            let late = p.delay(30, None);
            assert!(late <= Duration::from_secs(10), "{late:?}");
            assert!(p.delay(1, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
            assert_eq!(p.delay(1, Some(Duration::from_secs(300))), Duration::from_secs(30));
        }
    }
}
