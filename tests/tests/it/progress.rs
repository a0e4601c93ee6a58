//! admin-pending's `GET .../heygen/progress`: the month at a glance (section 12),
//! on moto, with the DynamoDB requests it sends counted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::config::ArchiveConfig;
use shared::domain::Timestamp;
use shared::store::DynamoStore;
use shared::store::prelude::*;
use shared::testkit::{FAKE_VIDEO_SECONDS, FakeHeygen};
use tests::month::{drain, trigger, world};
use tests::requests::{RequestLog, Sent};
use tests::stack::{Stack, event};
use tests::{Tables, local_aws};

const CDN: &str = "https://cdn.example";

fn ago(seconds: u64) -> String {
    Timestamp::now().minus(Duration::from_secs(seconds)).to_string()
}

fn progress_event(query: &str) -> Value {
    let mut ev = event("progress");
    ev["rawQueryString"] = query.into();
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    ev["queryStringParameters"] = Value::Object(params);
    ev
}

/// A stack whose DynamoDB requests are logged, copies served from [`CDN`], two
/// render slots, and two eligible bible creators beside creators who are not.
async fn logged_stack() -> (Stack, RequestLog) {
    let log = RequestLog::default();
    let tables = Tables::create().await;
    let store = DynamoStore::new(log.client(&local_aws().await), tables.names.clone());
    let mut stack = Stack::with_store(tables, store).await;
    stack.deps.config.archive = Some(ArchiveConfig { bucket: "videos".into(), base_url: CDN.into() });
    stack.tables.put_setting("heygen_max_concurrent_renders", "2").await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.creator("cr-b", Some("av-b"), None).await;
    stack
        .tables
        .put_creator(json!({"creator_id": "cr-human", "is_ai": false, "active": true,
                                    "heygen_avatar_ids": {"bible": "av-h"}}))
        .await;
    stack
        .tables
        .put_creator(json!({"creator_id": "cr-idle", "is_ai": true, "active": false,
                                    "heygen_avatar_ids": {"bible": "av-i"}}))
        .await;
    stack
        .tables
        .put_creator(json!({"creator_id": "cr-pos", "is_ai": true, "active": true,
                                    "heygen_avatar_ids": {"positivity": "av-p"}}))
        .await;
    (stack, log)
}

/// One item of March 2026 in each state (two failed), and items that are not
/// the month's: another month, another mode, creators not eligible.
async fn seed_every_state(stack: &Stack) {
    let render = |requested: u64, took: u64| json!({"heygen_requested_at": ago(requested), "heygen_completed_at": ago(requested - took)});
    let merge = |mut a: Value, b: Value| {
        a.as_object_mut().unwrap().extend(b.as_object().cloned().unwrap());
        a
    };
    stack.content("c-01", "cr-a", "2026-03-01", json!({})).await;
    stack
        .content(
            "c-02",
            "cr-a",
            "2026-03-02",
            json!({"heygen_status": "queued", "heygen_queue": "queued",
        "heygen_queue_order": "2026-03-02#cr-a#c-02#bible", "heygen_attempt": 1, "heygen_blocked": "budget"}),
        )
        .await;
    stack
        .content(
            "c-03",
            "cr-a",
            "2026-03-03",
            json!({"heygen_status": "requested", "heygen_pending": "pending",
        "heygen_requested_at": ago(10), "heygen_attempt": 1}),
        )
        .await;
    stack
        .content(
            "c-04",
            "cr-b",
            "2026-03-04",
            json!({"heygen_status": "pending", "heygen_pending": "pending",
        "heygen_video_id": "v-4", "heygen_requested_at": ago(30), "heygen_attempt": 1}),
        )
        .await;
    let copy_failing = json!({"heygen_status": "completed", "heygen_video_id": "v-5",
        "heygen_video_url": "https://files.heygen.ai/v-5.mp4?sig=x", "heygen_archive": "to_copy",
        "heygen_archive_attempts": 3, "heygen_archive_error": "download_failed: the download stalled",
        "heygen_retry_at": ago(1), "heygen_duration_seconds": 40.25});
    stack.content("c-05", "cr-b", "2026-03-05", merge(copy_failing, render(1000, 120))).await;
    let copied = json!({"heygen_status": "completed", "heygen_video_id": "v-6", "status": "submitted",
        "heygen_video_url": "https://files.heygen.ai/v-6.mp4?sig=y", "video_archived_at": ago(500),
        "creator_video_url": format!("{CDN}/videos/c-06/v-6.mp4"), "heygen_duration_seconds": 30.5});
    stack.content("c-06", "cr-a", "2026-03-06", merge(copied, render(900, 60))).await;
    let linked = json!({"heygen_status": "completed", "heygen_video_id": "v-7", "status": "submitted",
        "heygen_video_url": "https://files.heygen.ai/v-7.mp4", "creator_video_url": "https://files.heygen.ai/v-7.mp4",
        "heygen_duration_seconds": 20});
    stack.content("c-07", "cr-b", "2026-03-07", merge(linked, render(800, 90))).await;
    stack
        .content(
            "c-08",
            "cr-a",
            "2026-03-08",
            json!({"heygen_status": "failed", "heygen_attempt": 3,
        "heygen_error": "render_failed: Avatar render failed"}),
        )
        .await;
    stack
        .content(
            "c-00",
            "cr-b",
            "2026-03-01",
            json!({"heygen_status": "failed", "heygen_attempt": 2,
        "heygen_error": "heygen_rejected: avatar not found"}),
        )
        .await;
    // The platform's own video, over a render that had failed.
    stack
        .content(
            "c-09",
            "cr-a",
            "2026-03-09",
            json!({"creator_video_url": "https://platform.example/c-09.mp4",
        "heygen_status": "failed", "heygen_attempt": 2, "heygen_error": "render_failed: x"}),
        )
        .await;
    // Not the month's: counted nowhere.
    stack
        .content("c-april", "cr-a", "2026-04-01", json!({"heygen_status": "queued", "heygen_blocked": "budget"}))
        .await;
    // The month's budget (section 13), and another month's, which is not shown.
    let settings = stack.tables.names.settings.clone();
    stack
        .tables
        .put(
            &settings,
            json!({"key": "_budget#2026-03#bible", "cap_seconds": 1000, "reserved_seconds": 40,
            "spent_seconds": 91, "committed_seconds": 131}),
        )
        .await;
    stack.tables.put(&settings, json!({"key": "_budget#2026-04#bible", "cap_seconds": 5, "spent_seconds": 5})).await;
    stack.content("c-human", "cr-human", "2026-03-02", json!({})).await;
    stack.content("c-idle", "cr-idle", "2026-03-02", json!({})).await;
    stack.content("c-nobody", "cr-none", "2026-03-02", json!({})).await;
    stack
        .tables
        .put_content(json!({"content_id": "c-pos", "assigned_creator_id": "cr-a", "date": "2026-03-02",
        "mode": "positivity", "script": "s", "heygen_status": "failed"}))
        .await;
    stack
        .tables
        .put_content(json!({"content_id": "c-pos-b", "assigned_creator_id": "cr-pos", "date": "2026-03-02",
        "mode": "positivity", "script": "s"}))
        .await;
}

#[tokio::test]
async fn the_progress_of_a_month_with_an_item_in_every_state_is_exact_and_reads_only_what_it_needs() {
    let (stack, log) = logged_stack().await;
    let seeded = Instant::now();
    seed_every_state(&stack).await;
    log.take();

    let (status, mut body) = stack.pending(progress_event("month=2026-03&mode=bible&ignored=1")).await;
    let elapsed = seeded.elapsed().as_secs();
    assert_eq!(status, 200, "{body}");

    // Renders observed: 120, 60 and 90 s (a mean of 90 s), two slots. c-04
    // (30 s in) frees its slot at 60 s, c-03 (10 s in) at 80 s; queued c-02 takes
    // the first at 60 s and is rendered at 150 s, copied by 210 s.
    let left = body["estimated_seconds_left"].as_u64().expect("a number");
    assert!((209u64.saturating_sub(elapsed)..=210).contains(&left), "{left} after {elapsed} s");
    body["estimated_seconds_left"] = json!("checked");
    assert_eq!(
        body,
        json!({
            "month": "2026-03", "mode": "bible",
            "items": 10,
            "states": {"not_started": 1, "queued": 1, "requested": 1, "rendering": 1, "copying": 1,
                       "submitted": 2, "failed": 2, "has_video": 1},
            "failed": [
                {"content_id": "c-00", "creator_id": "cr-b", "date": "2026-03-01", "attempt": 1,
                 "error": "heygen_rejected: avatar not found"},
                {"content_id": "c-08", "creator_id": "cr-a", "date": "2026-03-08", "attempt": 2,
                 "error": "render_failed: Avatar render failed"},
            ],
            "copy_failing": [
                {"content_id": "c-05", "video_id": "v-5", "attempts": 3, "error": "download_failed: the download stalled"},
            ],
            "rendered_seconds": 90.75,
            "estimated_seconds_left": "checked",
            "budget": {"cap_seconds": 1000, "reserved_seconds": 40, "spent_seconds": 91, "left_seconds": 869},
            "blocked_by_budget": 1,
        })
    );

    // Reads only: the creators once, the settings once, the month's budget row,
    // one query per eligible creator by creator and date; no scan of the content
    // table; no HeyGen call.
    let names = &stack.deps.config.tables;
    let mut sent = log.take();
    sent.sort_by(|a, b| (&a.operation, &a.index).cmp(&(&b.operation, &b.index)));
    let query = Sent {
        operation: "Query".into(),
        table: names.content.clone(),
        index: Some("by_creator_date".into()),
        select: None,
    };
    assert_eq!(
        sent,
        [
            Sent { operation: "BatchGetItem".into(), table: names.settings.clone(), index: None, select: None },
            Sent { operation: "GetItem".into(), table: names.settings.clone(), index: None, select: None },
            query.clone(),
            query,
            Sent { operation: "Scan".into(), table: names.creators.clone(), index: None, select: None },
        ]
    );
    assert!(stack.heygen.received_requests().await.unwrap().is_empty(), "no HeyGen call");
}

#[tokio::test]
async fn nothing_in_the_works_is_no_estimate_and_an_empty_month_is_zeros() {
    let (stack, _log) = logged_stack().await;
    stack
        .content(
            "c-1",
            "cr-a",
            "2026-05-01",
            json!({"heygen_status": "failed", "heygen_attempt": 2,
        "heygen_error": "render_failed: x"}),
        )
        .await;
    let (status, body) = stack.pending(progress_event("month=2026-05&mode=bible")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["items"].as_u64(), body["states"]["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(body["estimated_seconds_left"], Value::Null);

    let (status, body) = stack.pending(progress_event("month=2026-06&mode=positivity")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], 0);
    assert_eq!(body["rendered_seconds"], 0.0);
    assert_eq!(body["estimated_seconds_left"], Value::Null);
    assert_eq!(body["states"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 0);
}

#[tokio::test]
async fn a_worked_month_shows_every_video_submitted_and_what_heygen_rendered() {
    let (tables, deps) = world(2, 3, 2, FakeHeygen::rendering_for(1)).await;
    trigger(&deps).await;
    drain(&deps, 20).await;
    let request = shared::app::progress::ProgressRequest::parse(&["2026-03"], &["bible"]).unwrap();
    let progress = shared::app::progress::month_progress(&deps, &request).await.unwrap();
    assert_eq!((progress.items, progress.states.submitted), (6, 6), "{progress:?}");
    assert_eq!(progress.rendered_seconds, 6.0 * FAKE_VIDEO_SECONDS.as_secs_f64());
    assert_eq!(progress.estimated_seconds_left, None);
    let stored = tables.content_raw("c-0-01").await;
    assert_eq!(stored["heygen_duration_seconds"], FAKE_VIDEO_SECONDS.as_secs_f64());
    assert!(deps.store.list_in_flight().await.unwrap().is_empty());
}

#[tokio::test]
async fn month_and_mode_are_required_and_checked_before_the_admin_check() {
    let (stack, log) = logged_stack().await;
    log.take();
    for (query, field) in [
        ("mode=bible", "month"),
        ("month=2026-13&mode=bible", "month"),
        ("month=2026-03&month=2026-04&mode=bible", "month"),
        ("month=2026-03", "mode"),
        ("month=2026-03&mode=Bible", "mode"),
    ] {
        let mut ev = progress_event(query);
        ev["requestContext"]["authorizer"] = Value::Null;
        let (status, body) = stack.pending(ev).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request");
    }
    let mut no_claims = progress_event("month=2026-03&mode=bible");
    no_claims["requestContext"]["authorizer"] = Value::Null;
    let (status, body) = stack.pending(no_claims).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let mut not_admin = progress_event("month=2026-03&mode=bible");
    not_admin["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[editors administrators]".into();
    let (status, body) = stack.pending(not_admin).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    let mut post = progress_event("month=2026-03&mode=bible");
    post["requestContext"]["http"]["method"] = "POST".into();
    let (status, _) = stack.pending(post).await;
    assert_eq!(status, 405);
    assert_eq!(log.take(), [], "a refused request reads nothing");
}
