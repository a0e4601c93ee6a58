//! `POST /admin/content-production/heygen`: a month into the render queue, and
//! the first renders created at once (section 2); `.../cancel` takes a month out
//! of the queue.
//!
//! Every item of the eligible creators, month and mode without a video is counted
//! exactly once: in `triggered`, `queued`, `skipped_pending`, `errors` or
//! `remaining`.

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::dispatch::{Dispatched, Dispatcher, ItemError, VideoStarted};
use super::{ApiError, Deps, Invocation, Ports, Stop};
use crate::domain::{
    BudgetKey, BudgetView, Classification, JobStatus, Mode, Month, Rates, Settings, Timestamp, processing_order, usd,
};
use crate::error_chain::ErrorChain;
use crate::heygen::{Account, Heygen};
use crate::store::{BudgetStore, QueueStore, ReadStore, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerRequest {
    pub month: Month,
    pub mode: Mode,
    pub dry_run: bool,
    /// The month's cap (13.2): absent, `null` (the row's own cap removed) or a
    /// whole number of seconds.
    pub budget_seconds: Option<Option<u64>>,
}

/// `{"month", "mode"}` exactly: what `.../cancel` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    pub month: Month,
    pub mode: Mode,
}

/// A JSON object with only `allowed` fields; else 400 naming the field.
fn object(body: &[u8], allowed: &[&str], expected: &str) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid(None, expected))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::invalid(None, expected));
    };
    if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        let shown: String = unknown.chars().take(64).collect();
        return Err(ApiError::invalid(Some(&shown), format!("unknown field \"{shown}\"")));
    }
    Ok(fields)
}

fn month_and_mode(fields: &Map<String, Value>) -> Result<(Month, Mode), ApiError> {
    let month = match fields.get("month") {
        None => return Err(ApiError::invalid(Some("month"), "month is required")),
        Some(Value::String(s)) => {
            s.parse().map_err(|_| ApiError::invalid(Some("month"), "month must be a real month written YYYY-MM"))?
        }
        Some(_) => return Err(ApiError::invalid(Some("month"), "month must be a string written YYYY-MM")),
    };
    let mode = match fields.get("mode") {
        None => return Err(ApiError::invalid(Some("mode"), "mode is required")),
        Some(Value::String(s)) => {
            s.parse().map_err(|_| ApiError::invalid(Some("mode"), "mode must be \"bible\" or \"positivity\""))?
        }
        Some(_) => {
            return Err(ApiError::invalid(Some("mode"), "mode must be the string \"bible\" or \"positivity\""));
        }
    };
    Ok((month, mode))
}

impl TriggerRequest {
    /// `{"month": "YYYY-MM", "mode": "bible" | "positivity", "dry_run"?: bool}`;
    /// anything else is 400 `invalid_request` naming the field.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let expected = r#"the body must be a JSON object {"month": "YYYY-MM", "mode": "bible" | "positivity", "dry_run"?: bool, "budget_seconds"?: integer | null}"#;
        let fields = object(body, &["month", "mode", "dry_run", "budget_seconds"], expected)?;
        let (month, mode) = month_and_mode(&fields)?;
        let dry_run = match fields.get("dry_run") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::invalid(Some("dry_run"), "dry_run must be true or false")),
        };
        let budget_seconds = match fields.get("budget_seconds") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.as_u64()),
            Some(_) => {
                return Err(ApiError::invalid(
                    Some("budget_seconds"),
                    "budget_seconds must be a whole number of seconds >= 0, or null to remove the month's own cap",
                ));
            }
        };
        Ok(Self { month, mode, dry_run, budget_seconds })
    }
}

impl CancelRequest {
    /// `{"month": "YYYY-MM", "mode": "bible" | "positivity"}` exactly.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let expected = r#"the body must be a JSON object {"month": "YYYY-MM", "mode": "bible" | "positivity"}"#;
        let (month, mode) = month_and_mode(&object(body, &["month", "mode"], expected)?)?;
        Ok(Self { month, mode })
    }
}

/// The 200 body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriggerReport {
    pub month: String,
    pub mode: Mode,
    pub dry_run: bool,
    pub ai_creators: usize,
    pub would_trigger: usize,
    pub triggered: usize,
    pub queued: usize,
    pub skipped_pending: usize,
    pub remaining: usize,
    pub stopped: Option<Stop>,
    pub videos: Vec<VideoStarted>,
    pub errors: Vec<ItemError>,
    /// The estimates of the items counted `triggered` or `queued` (a dry run:
    /// `would_trigger`), in seconds (13.3).
    pub estimated_seconds: u64,
    /// At `heygen_usd_per_second`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_usd: Option<f64>,
    /// The month's budget after this call's writes.
    pub budget: BudgetView,
    /// A dry run's view of HeyGen's account (13.4): `null` when HeyGen did not
    /// answer in time or the key cannot be read.
    #[serde(skip_serializing_if = "is_not_dry_run")]
    pub heygen_account: Option<Option<Account>>,
}

fn is_not_dry_run(account: &Option<Option<Account>>) -> bool {
    account.is_none()
}

/// How long a dry run waits for HeyGen's account (13.4).
pub const ACCOUNT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The 200 body of a cancel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CancelReport {
    pub month: String,
    pub mode: Mode,
    pub cancelled: usize,
}

/// The callback URL, used exactly as given: the setting, else
/// `HEYGEN_CALLBACK_URL`, else `https://{domainName}/webhooks/heygen`.
pub fn callback_url(settings: &Settings, env_url: Option<&str>, domain_name: Option<&str>) -> Option<String> {
    settings
        .callback_url
        .clone()
        .or_else(|| env_url.map(str::to_string))
        .or_else(|| domain_name.filter(|d| !d.is_empty()).map(|d| format!("https://{d}/webhooks/heygen")))
}

/// Triggers a month: every eligible item into the queue, then as many of them
/// created as free slots and time allow. Validation and the admin check have
/// happened; `invocation` carries the deadline.
pub async fn trigger_month<P: Ports>(
    deps: &Deps<P>,
    request: &TriggerRequest,
    invocation: &Invocation,
) -> Result<TriggerReport, ApiError> {
    let api_key = if request.dry_run { None } else { Some(deps.api_key().await?) };
    let settings = deps.store.settings().await?;
    let callback = match api_key {
        None => None,
        Some(_) => Some(
            callback_url(&settings, deps.config.heygen_callback_url.as_deref(), invocation.domain_name.as_deref())
                .ok_or(ApiError::HeygenNotConfigured(
                    "no callback URL: set the heygen_callback_url setting or HEYGEN_CALLBACK_URL",
                ))?,
        ),
    };

    let creators = deps.store.eligible_creators(request.mode).await?;
    let mut items = Vec::new();
    for creator in &creators {
        let mut theirs = deps.store.content_for(&creator.creator_id, request.month, request.mode).await?;
        items.append(&mut theirs);
    }
    // Each creator's own rate where the month shows enough of its renders (13.1).
    let rates = Rates::learn(settings.seconds_per_word, &items);
    let budget_key = BudgetKey::new(request.month, request.mode);
    let mut budget_row = match (request.dry_run, request.budget_seconds) {
        (false, Some(cap)) => deps.store.set_budget_cap(&budget_key, cap).await?,
        (true, Some(cap)) => crate::domain::BudgetRow { cap_seconds: cap, ..deps.store.budget(&budget_key).await? },
        (_, None) => deps.store.budget(&budget_key).await?,
    };

    let now = Timestamp::now();
    let stale_after = deps.config.claim_stale_after;
    let mut eligible = Vec::new();
    let mut report = TriggerReport {
        month: request.month.to_string(),
        mode: request.mode,
        dry_run: request.dry_run,
        ai_creators: creators.len(),
        would_trigger: 0,
        triggered: 0,
        queued: 0,
        skipped_pending: 0,
        remaining: 0,
        stopped: None,
        videos: Vec::new(),
        errors: Vec::new(),
        estimated_seconds: 0,
        estimated_usd: None,
        budget: budget_row.view(budget_row.cap(settings.budget_seconds)),
        heygen_account: None,
    };
    for mut item in items {
        match item.classify(now, stale_after) {
            Classification::HasVideo => {}
            Classification::Busy => report.skipped_pending += 1,
            Classification::Eligible => {
                item.heygen_estimated_seconds = Some(rates.estimate(&item));
                eligible.push(item);
            }
        }
    }
    eligible.sort_by(processing_order);
    report.would_trigger = eligible.len();
    let (Some(api_key), Some(callback)) = (api_key, callback) else {
        // A dry run: what the month would cost, and what the account has.
        report.estimated_seconds = eligible.iter().filter_map(|item| item.heygen_estimated_seconds).sum();
        report.estimated_usd = settings.usd_per_second.map(|rate| usd(report.estimated_seconds, rate));
        report.heygen_account = Some(account(deps).await);
        return Ok(report);
    };

    // Into the queue, in order, while time allows (section 11: what could not
    // even be queued is `remaining`); an item without a usable script is refused
    // here.
    let mut mine = Vec::new();
    let total = eligible.len();
    let queue_until = invocation.queue_until(&deps.timing);
    for (index, mut item) in eligible.into_iter().enumerate() {
        if Instant::now() >= queue_until {
            tracing::warn!(queued = mine.len(), remaining = total - index, "queueing stopped: the deadline is near");
            report.remaining = total - index;
            report.stopped = Some(Stop::Deadline);
            break;
        }
        if let Err(problem) = item.checked_script() {
            tracing::warn!(content_id = %item.content_id, code = problem.code(), "item not rendered");
            report.errors.push(ItemError::new(&item, problem.code(), None, problem.to_string()));
            continue;
        }
        match deps.store.enqueue(&item, Timestamp::now(), stale_after, &callback).await {
            Ok(()) => {
                // As the queue now holds it, so that a claim's "unchanged since
                // read" matches without reading it again.
                item.heygen_status = Some(JobStatus::Queued);
                item.heygen_claim_id = None;
                item.heygen_slot = None;
                item.heygen_queue_order = Some(item.queue_order());
                item.heygen_callback_url = Some(callback.clone());
                mine.push(item);
            }
            Err(StoreError::Conflict) => {
                tracing::info!(content_id = %item.content_id, "changed by a concurrent call; skipped");
                report.skipped_pending += 1;
            }
            Err(err) if mine.is_empty() && report.errors.is_empty() => return Err(err.into()),
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "queueing stopped: DynamoDB failing");
                report.remaining = total - index;
                report.stopped = Some(Stop::StorageUnavailable);
                break;
            }
        }
    }

    // Then created, in order, while slots are free and time allows.
    let creators = creators.into_iter().map(|c| (request.mode, c));
    let mut dispatcher = Dispatcher::new(deps, &api_key, &settings, creators, None, invocation.deadline)
        .knowing_budget(budget_key.clone(), budget_row);
    let mut left = mine.len();
    // Items this call queued that end up neither created nor queued.
    let mut not_counted = std::collections::HashSet::new();
    for item in &mine {
        if report.stopped.is_some() {
            break;
        }
        left -= 1;
        match dispatcher.dispatch(item).await {
            Dispatched::Created(video) => {
                report.triggered += 1;
                report.videos.push(video);
            }
            Dispatched::Refused(error) => {
                not_counted.insert(item.content_id.as_str());
                report.errors.push(error);
            }
            Dispatched::Taken | Dispatched::LeftQueue(_) => {
                not_counted.insert(item.content_id.as_str());
                report.skipped_pending += 1;
            }
            // Queued by this call, so never backing off; counted as queued if so.
            // One that does not fit its budget waits in the queue (13.2).
            Dispatched::Waiting | Dispatched::Blocked => left += 1,
            Dispatched::NoSlot => {
                left += 1;
                break;
            }
            Dispatched::Stopped { stop, error } => {
                match error {
                    Some(error) => {
                        not_counted.insert(item.content_id.as_str());
                        report.errors.push(error);
                    }
                    None => left += 1,
                }
                report.stopped = Some(stop);
            }
        }
    }
    report.queued += left;
    // Created or waiting in the queue: what this call committed the month to.
    report.estimated_seconds = mine
        .iter()
        .filter(|item| !not_counted.contains(item.content_id.as_str()))
        .filter_map(|item| item.heygen_estimated_seconds)
        .sum();
    report.estimated_usd = settings.usd_per_second.map(|rate| usd(report.estimated_seconds, rate));
    budget_row = deps.store.budget(&budget_key).await.unwrap_or(budget_row);
    report.budget = budget_row.view(budget_row.cap(settings.budget_seconds));
    let r = &report;
    tracing::info!(
        month = %r.month, mode = %r.mode, would_trigger = r.would_trigger, triggered = r.triggered,
        queued = r.queued, skipped_pending = r.skipped_pending, errors = r.errors.len(), remaining = r.remaining,
        stopped = r.stopped.map_or("none", Stop::as_str), "trigger finished"
    );
    Ok(report)
}

/// A dry run's look at HeyGen's account (13.4): `None` when the key cannot be
/// read or HeyGen does not answer within [`ACCOUNT_WAIT`].
async fn account<P: Ports>(deps: &Deps<P>) -> Option<Account> {
    let api_key = deps.api_key().await.ok()?;
    let deadline = Instant::now() + ACCOUNT_WAIT;
    match deps.heygen.account(&api_key, deadline).await {
        Ok(account) => Some(account),
        Err(err) => {
            tracing::warn!(error = %ErrorChain(&err), "HeyGen's account could not be read for the dry run");
            None
        }
    }
}

/// Takes every queued item of a month and mode out of the queue; renders in
/// flight are not touched. An item claimed meanwhile is not counted.
pub async fn cancel_month<P: Ports>(deps: &Deps<P>, request: &CancelRequest) -> Result<CancelReport, ApiError> {
    let mut cancelled = 0;
    for item in deps.store.list_queued().await? {
        if item.mode.known() != Some(request.mode) || !request.month.contains_date(&item.date) {
            continue;
        }
        match deps.store.dequeue(&item.content_id).await {
            Ok(()) => cancelled += 1,
            Err(StoreError::Conflict) => {}
            Err(err) => return Err(err.into()),
        }
    }
    tracing::info!(month = %request.month, mode = %request.mode, cancelled, "queue cancelled");
    Ok(CancelReport { month: request.month.to_string(), mode: request.mode, cancelled })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<TriggerRequest, ApiError> {
        TriggerRequest::parse(body.as_bytes())
    }

    fn field_of(body: &str) -> Option<String> {
        match parse(body) {
            Err(ApiError::InvalidRequest { field, .. }) => field,
            other => panic!("{body}: expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_request_parses() {
        let r = parse(r#"{"month":"2026-03","mode":"bible"}"#).unwrap();
        assert_eq!((r.month.to_string(), r.mode, r.dry_run), ("2026-03".into(), Mode::Bible, false));
        let r = parse(r#"{"month":"2026-12","mode":"positivity","dry_run":true}"#).unwrap();
        assert!(r.dry_run);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (r#"{"mode":"bible"}"#, "month"),
            (r#"{"month":"2026-13","mode":"bible"}"#, "month"),
            (r#"{"month":"26-03","mode":"bible"}"#, "month"),
            (r#"{"month":"2026-3","mode":"bible"}"#, "month"),
            (r#"{"month":"2026-03-01","mode":"bible"}"#, "month"),
            (r#"{"month":202603,"mode":"bible"}"#, "month"),
            (r#"{"month":"2026-03"}"#, "mode"),
            (r#"{"month":"2026-03","mode":"Bible"}"#, "mode"),
            (r#"{"month":"2026-03","mode":"joy"}"#, "mode"),
            (r#"{"month":"2026-03","mode":null}"#, "mode"),
            (r#"{"month":"2026-03","mode":"bible","dry_run":"yes"}"#, "dry_run"),
            (r#"{"month":"2026-03","mode":"bible","dry_run":1}"#, "dry_run"),
            (r#"{"month":"2026-03","mode":"bible","extra":1}"#, "extra"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(body).as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn a_body_that_is_not_a_json_object_names_no_field() {
        for body in ["", "   ", "month=2026-03", "[]", "\"2026-03\"", "null", "{"] {
            assert_eq!(field_of(body), None, "{body:?}");
        }
    }

    #[test]
    fn callback_url_precedence_is_setting_then_env_then_domain() {
        let with = |url: Option<&str>| Settings { callback_url: url.map(str::to_string), ..Settings::default() };
        assert_eq!(
            callback_url(&with(Some("https://s/cb")), Some("https://e/cb"), Some("d.example")).unwrap(),
            "https://s/cb"
        );
        assert_eq!(callback_url(&with(None), Some("https://e/cb"), Some("d.example")).unwrap(), "https://e/cb");
        assert_eq!(callback_url(&with(None), None, Some("d.example")).unwrap(), "https://d.example/webhooks/heygen");
        assert_eq!(callback_url(&with(None), None, None), None);
        assert_eq!(callback_url(&with(None), None, Some("")), None);
    }
}
