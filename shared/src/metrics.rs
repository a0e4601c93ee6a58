//! The service's metrics (contract section 10), written through the `metrics`
//! facade. The functions install a CloudWatch Embedded Metric Format recorder at
//! start-up and flush it after each invocation (`crate::wiring`); without one
//! (tests, the library alone) every call here is a no-op.
//!
//! Dimensions: none, except `HeygenErrors`, which has exactly one, `Code` (the
//! contract's code), so that an alarm can name it, and the budget's two
//! (`Budget`: `{month}#{mode}`), which the dashboard finds by a search.

pub const RENDERS_REQUESTED: &str = "RendersRequested";
pub const RENDERS_COMPLETED: &str = "RendersCompleted";
pub const RENDERS_FAILED: &str = "RendersFailed";
pub const VIDEOS_ARCHIVED: &str = "VideosArchived";
pub const ARCHIVE_FAILURES: &str = "ArchiveFailures";
pub const HEYGEN_ERRORS: &str = "HeygenErrors";
pub const QUEUE_DEPTH: &str = "QueueDepth";
pub const IN_FLIGHT: &str = "InFlight";
pub const OLDEST_IN_FLIGHT_SECONDS: &str = "OldestInFlightSeconds";
pub const TICK_FAILURES: &str = "TickFailures";
pub const BUDGET_BLOCKED: &str = "BudgetBlocked";
pub const RENDERED_SECONDS: &str = "RenderedSeconds";
pub const BUDGET_COMMITTED_SECONDS: &str = "BudgetCommittedSeconds";
pub const BUDGET_CAP_SECONDS: &str = "BudgetCapSeconds";

/// Every metric name the code emits (the template's dashboard shows each).
pub const ALL: [&str; 14] = [
    RENDERS_REQUESTED,
    RENDERS_COMPLETED,
    RENDERS_FAILED,
    VIDEOS_ARCHIVED,
    ARCHIVE_FAILURES,
    HEYGEN_ERRORS,
    QUEUE_DEPTH,
    IN_FLIGHT,
    OLDEST_IN_FLIGHT_SECONDS,
    TICK_FAILURES,
    BUDGET_BLOCKED,
    RENDERED_SECONDS,
    BUDGET_COMMITTED_SECONDS,
    BUDGET_CAP_SECONDS,
];

/// HeyGen accepted a create.
pub fn render_requested() {
    metrics::counter!(RENDERS_REQUESTED).increment(1);
}

/// HeyGen's answer completed a render (webhook, refresh or worker).
pub fn render_completed() {
    metrics::counter!(RENDERS_COMPLETED).increment(1);
}

/// A completed render's reservation settled at what HeyGen billed (13.5).
pub fn rendered_seconds(seconds: u64) {
    metrics::counter!(RENDERED_SECONDS).increment(seconds);
}

/// Queued items a tick passed over for their budget (13.5): one value, written
/// only by a tick that read the whole queue (see [`tick`]).
pub fn budget_blocked(items: usize) {
    metrics::histogram!(BUDGET_BLOCKED).record(items as f64);
}

/// A month's budget as a tick left it (dimension `Budget`: `{month}#{mode}`):
/// spent and reserved seconds, and the cap when there is one; one value each
/// of this tick (see [`tick`]).
pub fn budget(budget: &str, committed_seconds: u64, cap_seconds: Option<u64>) {
    let budget = budget.to_string();
    metrics::histogram!(BUDGET_COMMITTED_SECONDS, "Budget" => budget.clone()).record(committed_seconds as f64);
    if let Some(cap) = cap_seconds {
        metrics::histogram!(BUDGET_CAP_SECONDS, "Budget" => budget).record(cap as f64);
    }
}

/// HeyGen's answer failed a render.
pub fn render_failed() {
    metrics::counter!(RENDERS_FAILED).increment(1);
}

/// A finished video was copied to the bucket and attached.
pub fn video_archived() {
    metrics::counter!(VIDEOS_ARCHIVED).increment(1);
}

/// A copy failed (it is retried on later ticks).
pub fn archive_failed() {
    metrics::counter!(ARCHIVE_FAILURES).increment(1);
}

/// A HeyGen call failed with the contract's `code` (`heygen_rejected`,
/// `heygen_auth_failed`, `heygen_insufficient_credit`, `heygen_unavailable`), or
/// a render HeyGen forgot was given up (`heygen_video_not_found`).
pub fn heygen_error(code: &'static str) {
    metrics::counter!(HEYGEN_ERRORS, "Code" => code).increment(1);
}

/// What a tick reports as it ends (section 10): `TickFailures` (1 when it could
/// not do its work, else 0), and each of the queue's depth, the flight and its
/// oldest age that it read; one it could not read is not reported at all.
///
/// Each is one value recorded by this tick (a histogram of the facade), not a
/// gauge: the EMF recorder writes a gauge's last value again at every flush,
/// so a warm sandbox whose tick could not read the queue would report an
/// earlier tick's depth as today's; a histogram's values are written once.
pub fn tick(failed: bool, depth: Option<usize>, in_flight: Option<usize>, oldest_in_flight_seconds: Option<u64>) {
    // Recorded every tick, so that a tick that worked says 0 (a counter left at
    // 0 is not written): the alarm sums it over each minute.
    metrics::histogram!(TICK_FAILURES).record(f64::from(u8::from(failed)));
    if let Some(depth) = depth {
        metrics::histogram!(QUEUE_DEPTH).record(depth as f64);
    }
    if let Some(in_flight) = in_flight {
        metrics::histogram!(IN_FLIGHT).record(in_flight as f64);
    }
    if let Some(oldest) = oldest_in_flight_seconds {
        metrics::histogram!(OLDEST_IN_FLIGHT_SECONDS).record(oldest as f64);
    }
}
