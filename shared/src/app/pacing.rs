//! Pacing of HeyGen creates: at most `heygen_requests_per_second` starts per
//! second (the seed's 1 s between creates). A visible step of the trigger's loop,
//! not a sleep hidden in the client.

use std::time::Duration;

use tokio::time::Instant;

/// Spaces the starts of successive creates by a fixed interval.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// `requests_per_second` must be finite and > 0 (the settings guarantee it);
    /// anything else paces at one a second.
    pub fn per_second(requests_per_second: f64) -> Self {
        let rps = if requests_per_second.is_finite() && requests_per_second > 0.0 { requests_per_second } else { 1.0 };
        Self::with_interval(Duration::from_secs_f64((1.0 / rps).min(3600.0)))
    }

    pub fn with_interval(interval: Duration) -> Self {
        Self { interval, next: None }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for the next start slot and takes it. The first call does not wait.
    /// Returns `false` at once, taking nothing, if the slot is at or after
    /// `deadline`.
    pub async fn ready(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        let slot = self.next.map_or(now, |next| next.max(now));
        if slot >= deadline {
            return false;
        }
        tokio::time::sleep_until(slot).await;
        self.next = Some(slot + self.interval);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn first_start_is_immediate_then_one_interval_apart() {
        let mut pacer = Pacer::per_second(2.0);
        assert_eq!(pacer.interval(), Duration::from_millis(500));
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(60);
        let mut starts = Vec::new();
        for _ in 0..4 {
            assert!(pacer.ready(far).await);
            starts.push(Instant::now() - t0);
        }
        assert_eq!(starts, [0, 500, 1000, 1500].map(Duration::from_millis));
    }

    #[tokio::test(start_paused = true)]
    async fn time_spent_between_starts_counts_toward_the_interval() {
        let mut pacer = Pacer::per_second(1.0);
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(60);
        assert!(pacer.ready(far).await);
        tokio::time::sleep(Duration::from_millis(700)).await; // the create itself
        assert!(pacer.ready(far).await);
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(1500)).await; // a slow create
        assert!(pacer.ready(far).await);
        assert_eq!(Instant::now() - t0, Duration::from_millis(2500), "no wait after a slow create");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_refused_without_waiting() {
        let mut pacer = Pacer::per_second(1.0);
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_millis(1500);
        assert!(pacer.ready(deadline).await);
        assert!(pacer.ready(deadline).await);
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        assert!(!pacer.ready(deadline).await);
        assert_eq!(Instant::now() - t0, Duration::from_secs(1), "did not wait");
    }

    #[test]
    fn unusable_rates_pace_at_one_a_second() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Pacer::per_second(bad).interval(), Duration::from_secs(1), "{bad}");
        }
        assert_eq!(Pacer::per_second(0.25).interval(), Duration::from_secs(4));
    }
}
