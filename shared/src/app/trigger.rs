//! `POST /admin/content-production/heygen`: render a month of content (section 2).
//!
//! Every item of the eligible creators, month and mode without a video is counted
//! exactly once: in `triggered`, `skipped_pending`, `errors` or `remaining`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::heygen_policy::{contract_code, stops_batch};
use super::pacing::Pacer;
use super::{ApiError, Deps, Invocation, Ports};
use crate::domain::{
    Classification, ContentItem, Creator, Definiteness, Mode, Month, Settings, Timestamp, processing_order,
    request_error_text,
};
use crate::error_chain::ErrorChain;
use crate::heygen::{CreateVideo, Heygen, HeygenError};
use crate::secret::SecretString;
use crate::store::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerRequest {
    pub month: Month,
    pub mode: Mode,
    pub dry_run: bool,
}

const FIELDS: [&str; 3] = ["month", "mode", "dry_run"];

impl TriggerRequest {
    /// `{"month": "YYYY-MM", "mode": "bible" | "positivity", "dry_run"?: bool}`;
    /// anything else is 400 `invalid_request` naming the field.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let expected =
            r#"the body must be a JSON object {"month": "YYYY-MM", "mode": "bible" | "positivity", "dry_run"?: bool}"#;
        let value: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid(None, expected))?;
        let Value::Object(fields) = value else {
            return Err(ApiError::invalid(None, expected));
        };
        if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let shown: String = unknown.chars().take(64).collect();
            return Err(ApiError::invalid(Some(&shown), format!("unknown field \"{shown}\"")));
        }
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
        let dry_run = match fields.get("dry_run") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::invalid(Some("dry_run"), "dry_run must be true or false")),
        };
        Ok(Self { month, mode, dry_run })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VideoStarted {
    pub content_id: String,
    pub creator_id: String,
    pub video_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemError {
    pub content_id: String,
    pub creator_id: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heygen_code: Option<String>,
    pub message: String,
}

/// The 200 body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TriggerReport {
    pub month: String,
    pub mode: Mode,
    pub dry_run: bool,
    pub ai_creators: usize,
    pub would_trigger: usize,
    pub triggered: usize,
    pub skipped_pending: usize,
    pub remaining: usize,
    pub stopped: Option<String>,
    pub videos: Vec<VideoStarted>,
    pub errors: Vec<ItemError>,
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

struct Batch<'a> {
    report: TriggerReport,
    creators: HashMap<&'a str, &'a Creator>,
    /// Whether an item has been claimed: DynamoDB failing before that is a 503.
    attempted: bool,
}

/// Triggers a month's renders. Validation and the admin check have happened;
/// `invocation` carries the deadline.
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

    let now = Timestamp::now();
    let mut eligible = Vec::new();
    let mut skipped_pending = 0;
    for item in items {
        match item.classify(now, deps.config.claim_stale_after) {
            Classification::HasVideo => {}
            Classification::Busy => skipped_pending += 1,
            Classification::Eligible => eligible.push(item),
        }
    }
    eligible.sort_by(processing_order);

    let mut batch = Batch {
        report: TriggerReport {
            month: request.month.to_string(),
            mode: request.mode,
            dry_run: request.dry_run,
            ai_creators: creators.len(),
            would_trigger: eligible.len(),
            triggered: 0,
            skipped_pending,
            remaining: 0,
            stopped: None,
            videos: Vec::new(),
            errors: Vec::new(),
        },
        creators: creators.iter().map(|c| (c.creator_id.as_str(), c)).collect(),
        attempted: false,
    };
    let (Some(api_key), Some(callback)) = (api_key, callback) else {
        return Ok(batch.report);
    };

    let heygen_deadline = invocation.heygen_deadline(&deps.timing);
    // A create starts only when a whole attempt fits before HeyGen's deadline
    // (contract section 7): none is cut short by the function's own end.
    let last_create = heygen_deadline.checked_sub(deps.heygen.create_attempt_time()).unwrap_or(heygen_deadline);
    let start_until = invocation.start_until(&deps.timing).min(last_create);
    let mut pacer = Pacer::per_second(settings.requests_per_second);
    let context = RunContext {
        mode: request.mode,
        settings: &settings,
        api_key: &api_key,
        callback_url: &callback,
        heygen_deadline,
    };
    let total = eligible.len();
    for (index, item) in eligible.iter().enumerate() {
        let step = batch.process(deps, &context, item, &mut pacer, start_until).await?;
        if let Some(stop) = step {
            // This item (when it was not attempted) and every later one are left.
            let untried = total - index - usize::from(stop.item_counted);
            batch.report.remaining += untried;
            batch.report.stopped = Some(stop.code.to_string());
            break;
        }
    }
    let r = &batch.report;
    tracing::info!(
        month = %r.month, mode = %r.mode, would_trigger = r.would_trigger, triggered = r.triggered,
        skipped_pending = r.skipped_pending, errors = r.errors.len(), remaining = r.remaining,
        stopped = r.stopped.as_deref().unwrap_or("none"), "trigger finished"
    );
    Ok(batch.report)
}

struct RunContext<'a> {
    mode: Mode,
    settings: &'a Settings,
    api_key: &'a SecretString,
    callback_url: &'a str,
    heygen_deadline: Instant,
}

/// Why the batch stops, and whether the current item is already counted.
struct Stop {
    code: &'static str,
    item_counted: bool,
}

impl Batch<'_> {
    fn error(&mut self, item: &ContentItem, code: &str, heygen_code: Option<&str>, message: String) {
        self.report.errors.push(ItemError {
            content_id: item.content_id.clone(),
            creator_id: creator_id(item).to_string(),
            code: code.to_string(),
            heygen_code: heygen_code.map(str::to_string),
            message,
        });
    }

    /// Storage failing: a 503 when nothing was attempted yet (logged where it
    /// becomes the response), else the batch stops here and the answer is a 200.
    fn storage_failed(&self, err: StoreError, item_counted: bool) -> Result<Option<Stop>, ApiError> {
        if !self.attempted {
            return Err(err.into());
        }
        tracing::error!(error = %ErrorChain(&err), "batch stopped: DynamoDB failing");
        Ok(Some(Stop { code: "storage_unavailable", item_counted }))
    }

    async fn process<P: Ports>(
        &mut self,
        deps: &Deps<P>,
        cx: &RunContext<'_>,
        item: &ContentItem,
        pacer: &mut Pacer,
        start_until: Instant,
    ) -> Result<Option<Stop>, ApiError> {
        let creator_id = creator_id(item);
        let Some(creator) = self.creators.get(creator_id).copied() else {
            return Err(ApiError::Internal("an item's creator is not among those it was fetched for"));
        };
        let script = match item.checked_script() {
            Ok(script) => script,
            Err(problem) => {
                tracing::warn!(content_id = %item.content_id, code = problem.code(), "item not rendered");
                self.error(item, problem.code(), None, problem.to_string());
                return Ok(None);
            }
        };
        if Instant::now() >= start_until || !pacer.ready(start_until).await {
            return Ok(Some(Stop { code: "deadline", item_counted: false }));
        }
        let claim = match deps.store.claim(item, Timestamp::now(), deps.config.claim_stale_after, None).await {
            Ok(claim) => claim,
            Err(StoreError::Conflict) => {
                tracing::info!(content_id = %item.content_id, "claimed by a concurrent call; skipped");
                self.report.skipped_pending += 1;
                return Ok(None);
            }
            Err(err) => return self.storage_failed(err, false),
        };
        self.attempted = true;
        let avatar_id = creator.avatar_for(cx.mode).unwrap_or_default().to_string();
        let video = CreateVideo {
            content_id: item.content_id.clone(),
            attempt: claim.attempt,
            avatar_id,
            script: script.to_string(),
            voice_id: creator.choose_voice(cx.mode, cx.settings.default_voice_id.as_deref()).map(str::to_string),
            title: item.title.clone(),
            callback_url: cx.callback_url.to_string(),
        };
        match deps.heygen.create_video(cx.api_key, &video, cx.heygen_deadline).await {
            Ok(created) => match deps.store.record_video(&claim, &created.video_id).await {
                Ok(()) => {
                    tracing::info!(
                        content_id = %item.content_id, creator_id, video_id = %created.video_id,
                        attempt = claim.attempt, "render requested"
                    );
                    self.report.triggered += 1;
                    self.report.videos.push(VideoStarted {
                        content_id: item.content_id.clone(),
                        creator_id: creator_id.to_string(),
                        video_id: created.video_id,
                    });
                    Ok(None)
                }
                Err(StoreError::Conflict) => {
                    // A stale reclaim took the item while HeyGen answered; the same
                    // idempotency key gives the new claimant this same video.
                    tracing::warn!(content_id = %item.content_id, video_id = %created.video_id, "claim lost before the video id was recorded");
                    self.report.skipped_pending += 1;
                    Ok(None)
                }
                Err(err) => {
                    // HeyGen has the request; the claim stays `requested` and a
                    // stale reclaim replays the same key to record this video.
                    tracing::error!(content_id = %item.content_id, video_id = %created.video_id, "video id not recorded");
                    self.error(
                        item,
                        "storage_unavailable",
                        None,
                        "the video was requested but could not be recorded".into(),
                    );
                    self.storage_failed(err, true)
                }
            },
            Err(HeygenError::Deadline) => {
                // The batch stops either way; an unreleased claim goes stale.
                let text = "deadline: not sent before the invocation's deadline";
                if let Err(err) = deps.store.release(&claim, text, Definiteness::Indefinite).await {
                    unreleased(item, &err);
                }
                Ok(Some(Stop { code: "deadline", item_counted: false }))
            }
            Err(err) => {
                let code = contract_code(&err);
                let text = request_error_text(code, &err.to_string());
                tracing::warn!(content_id = %item.content_id, code, error = %ErrorChain(&err), "HeyGen refused the request");
                let released = deps.store.release(&claim, &text, err.definiteness()).await;
                self.error(item, code, err.heygen_code(), err.to_string());
                match (stops_batch(&err), released) {
                    (true, released) => {
                        if let Err(store_err) = released {
                            unreleased(item, &store_err);
                        }
                        Ok(Some(Stop { code, item_counted: true }))
                    }
                    (false, Ok(())) => Ok(None),
                    (false, Err(store_err)) => self.storage_failed(store_err, true),
                }
            }
        }
    }
}

/// A claim that could not be released goes stale and is taken again later.
fn unreleased(item: &ContentItem, err: &StoreError) {
    tracing::error!(content_id = %item.content_id, error = %ErrorChain(err), "claim not released; it will go stale");
}

fn creator_id(item: &ContentItem) -> &str {
    item.assigned_creator_id.as_deref().unwrap_or_default()
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
