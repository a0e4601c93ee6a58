//! admin-trigger in-process: events from `events/`, moto, and a wiremock HeyGen.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use shared::store::DynamoStore;
use shared::testkit::{Faulty, StoreOp};
use tests::stack::{API_KEY, DOMAIN, Stack, call, event, request_with_deadline};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

pub(crate) fn body_of(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn header(r: &wiremock::Request, name: &str) -> String {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// Two eligible creators and every kind of ineligible creator and item.
pub(crate) async fn seed(stack: &Stack) {
    stack.creator("cr-a", Some("av-a"), Some("vo-a")).await;
    stack.creator("cr-b", Some("av-b"), None).await;
    stack.creator("cr-empty-avatar", Some(""), None).await;
    stack.creator("cr-positivity-only", None, None).await;
    stack
        .tables
        .put_creator(
            json!({"creator_id": "cr-inactive", "is_ai": true, "active": false, "heygen_avatar_ids": {"bible": "x"}}),
        )
        .await;
    stack
        .tables
        .put_creator(
            json!({"creator_id": "cr-human", "is_ai": false, "active": true, "heygen_avatar_ids": {"bible": "x"}}),
        )
        .await;
    stack.tables.put_setting("heygen_default_voice_id", "vo-default").await;

    // Eligible, in processing order: (date, creator, content).
    stack.content("a-2", "cr-a", "2026-03-01", json!({})).await;
    stack.content("b-1", "cr-b", "2026-03-01", json!({})).await;
    stack.content("a-1", "cr-a", "2026-03-02", json!({})).await;
    stack.content("a-empty-url", "cr-a", "2026-03-03", json!({"creator_video_url": ""})).await;
    stack.content("b-failed", "cr-b", "2026-03-04", json!({"heygen_status": "failed", "heygen_attempt": 2})).await;
    // Busy: counted in skipped_pending.
    stack
        .content("a-pending", "cr-a", "2026-03-05", json!({"heygen_status": "pending", "heygen_video_id": "v-old"}))
        .await;
    stack.content("a-completed", "cr-a", "2026-03-06", json!({"heygen_status": "completed"})).await;
    // Not counted at all.
    stack.content("a-video", "cr-a", "2026-03-07", json!({"creator_video_url": "https://cdn/v.mp4"})).await;
    stack.content("a-april", "cr-a", "2026-04-01", json!({})).await;
    stack.content("a-positivity", "cr-a", "2026-03-08", json!({"mode": "positivity"})).await;
    stack.content("inactive-item", "cr-inactive", "2026-03-09", json!({})).await;
    stack.content("human-item", "cr-human", "2026-03-09", json!({})).await;
    stack.content("empty-avatar-item", "cr-empty-avatar", "2026-03-09", json!({})).await;
    stack.content("positivity-only-item", "cr-positivity-only", "2026-03-09", json!({})).await;
    stack
        .tables
        .put_content(json!({"content_id": "unassigned", "date": "2026-03-09", "mode": "bible", "script": "x"}))
        .await;
}

const ORDER: [&str; 5] = ["a-2", "b-1", "a-1", "a-empty-url", "b-failed"];

#[tokio::test]
async fn a_trigger_renders_every_eligible_item_once_in_order_and_counts_each_once() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;

    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["month"], "2026-03");
    assert_eq!(body["mode"], "bible");
    assert_eq!(body["dry_run"], false);
    assert_eq!(body["ai_creators"], 2);
    assert_eq!(body["would_trigger"], 5);
    assert_eq!(body["triggered"], 5);
    assert_eq!(body["skipped_pending"], 2);
    assert_eq!(body["remaining"], 0);
    assert_eq!(body["stopped"], Value::Null);
    assert_eq!(body["errors"], json!([]));
    let videos: Vec<_> = body["videos"].as_array().unwrap().iter().map(|v| v["content_id"].as_str().unwrap()).collect();
    assert_eq!(videos, ORDER);
    assert_eq!(body["videos"][0], json!({"content_id": "a-2", "creator_id": "cr-a", "video_id": "vid-a-2:1"}));

    let creates = stack.creates_received().await;
    let sent: Vec<_> = creates.iter().map(|r| body_of(r)["callback_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(sent, ORDER, "HeyGen was asked in processing order, once per item");
    for r in &creates {
        assert_eq!(header(r, "x-api-key"), API_KEY);
        let b = body_of(r);
        assert_eq!(b["callback_url"], format!("https://{DOMAIN}/webhooks/heygen"));
        assert_eq!((b["aspect_ratio"].as_str(), b["resolution"].as_str()), (Some("9:16"), Some("1080p")));
        let (avatar, voice) = if b["callback_id"].as_str().unwrap().starts_with("a-") {
            ("av-a", "vo-a")
        } else {
            ("av-b", "vo-default")
        };
        assert_eq!((b["avatar_id"].as_str().unwrap(), b["voice_id"].as_str().unwrap()), (avatar, voice));
        assert_eq!(b["script"], format!("Script of {}", b["callback_id"].as_str().unwrap()));
    }
    let keys: Vec<_> = creates.iter().map(|r| header(r, "idempotency-key")).collect();
    assert_eq!(keys, ["a-2:1", "b-1:1", "a-1:1", "a-empty-url:1", "b-failed:2"]);

    for id in ORDER {
        let raw = stack.tables.content_raw(id).await;
        assert_eq!(raw["heygen_status"], "pending", "{id}");
        assert!(raw["heygen_video_id"].as_str().unwrap().starts_with("vid-"), "{id}");
    }
    assert_eq!(stack.tables.content_raw("a-pending").await["heygen_video_id"], "v-old");
}

#[tokio::test]
async fn a_second_trigger_skips_what_the_first_started() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    stack.trigger(event("trigger")).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200);
    assert_eq!((body["would_trigger"].as_u64(), body["triggered"].as_u64()), (Some(0), Some(0)));
    assert_eq!(body["skipped_pending"], 7);
    assert_eq!(stack.creates_received().await.len(), 5);
}

#[tokio::test]
async fn script_problems_are_per_item_errors_that_claim_nothing() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-empty", "cr-a", "2026-03-01", json!({"script": ""})).await;
    stack.content("c-long", "cr-a", "2026-03-02", json!({"script": "é".repeat(5_001)})).await;
    stack.content("c-ok", "cr-a", "2026-03-03", json!({})).await;
    stack.heygen_accepts_creates().await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200);
    assert_eq!((body["would_trigger"].as_u64(), body["triggered"].as_u64()), (Some(3), Some(1)));
    let codes: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["content_id"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [("c-empty", "script_missing"), ("c-long", "script_too_long")]);
    for id in ["c-empty", "c-long"] {
        assert!(stack.tables.content_raw(id).await.get("heygen_status").is_none(), "{id} untouched");
    }
    assert_eq!(stack.creates_received().await.len(), 1);
}

#[tokio::test]
async fn a_rejected_item_is_released_with_heygens_code_and_the_batch_goes_on() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.content("c-2", "cr-a", "2026-03-02", json!({})).await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::header("idempotency-key", "c-1:1"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "invalid_parameter", "message": "avatar_id is invalid"}})),
        )
        .mount(&stack.heygen)
        .await;
    stack.heygen_accepts_creates().await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["triggered"], 1);
    assert_eq!(body["stopped"], Value::Null);
    let err = &body["errors"][0];
    assert_eq!((err["content_id"].as_str(), err["creator_id"].as_str()), (Some("c-1"), Some("cr-a")));
    assert_eq!(
        (err["code"].as_str(), err["heygen_code"].as_str()),
        (Some("heygen_rejected"), Some("invalid_parameter"))
    );
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "failed");
    assert!(raw["heygen_error"].as_str().unwrap().starts_with("heygen_rejected: "), "{raw}");
    assert_eq!(raw["heygen_attempt"], 2, "a definite refusal advances the attempt");
}

/// The batch-stopping answers: (status, stopped code, attempt stored after).
const STOPPERS: [(u16, &str, u64); 6] = [
    (401, "heygen_auth_failed", 1),
    (402, "heygen_insufficient_credit", 2),
    (408, "heygen_unavailable", 1),
    (409, "heygen_unavailable", 1),
    (429, "heygen_unavailable", 1),
    (503, "heygen_unavailable", 1),
];

#[tokio::test]
async fn batch_stopping_answers_put_the_item_back_in_the_queue_and_stop() {
    for (http_status, code, attempt_after) in STOPPERS {
        let stack = Stack::new().await;
        stack.creator("cr-a", Some("av-a"), None).await;
        for (i, date) in ["2026-03-01", "2026-03-02", "2026-03-03"].iter().enumerate() {
            stack.content(&format!("c-{i}"), "cr-a", date, json!({})).await;
        }
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(http_status).set_body_json(json!({"error": {"code": "x", "message": "no"}})),
            )
            .mount(&stack.heygen)
            .await;
        let (status, body) = stack.trigger(event("trigger")).await;
        assert_eq!(status, 200, "{http_status}: {body}");
        assert_eq!(body["stopped"], code, "{http_status}");
        assert_eq!(body["errors"], json!([]), "{http_status}: nothing is marked failed");
        let counts = ["triggered", "queued", "remaining"].map(|k| body[k].as_u64().unwrap());
        assert_eq!(counts, [0, 3, 0], "{http_status}: {body}");
        let raw = stack.tables.content_raw("c-0").await;
        assert_eq!(raw["heygen_status"], "queued", "{http_status}: back in the queue");
        assert_eq!(raw["heygen_attempt"], attempt_after, "{http_status}");
        assert!(raw.get("heygen_slot").is_none(), "{http_status}: its slot is free");
        // HeyGen failing on the item (not its concurrency, key or credit) puts it
        // aside for a minute, so that it cannot stop every dispatch (section 11).
        let aside = matches!(http_status, 408 | 409 | 503);
        assert_eq!(raw.get("heygen_retry_at").is_some(), aside, "{http_status}: {raw}");
        assert_eq!(raw.get("heygen_create_failures").and_then(Value::as_u64), aside.then_some(1), "{http_status}");
        assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "queued", "{http_status}: untried");
        let expected_requests = if matches!(http_status, 408 | 409 | 429 | 503) { 3 } else { 1 };
        assert_eq!(stack.creates_received().await.len(), expected_requests, "{http_status}");
    }
}

#[tokio::test]
async fn dynamodb_failing_before_any_item_is_503() {
    let stack = Stack::flaky(StoreOp::Settings, 0).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("storage_unavailable")));
    assert!(!body.to_string().contains("injected"), "no internals in the body: {body}");
}

/// Three items of one creator, a trigger while `op` fails after `after` calls:
/// the stack, the body and its (triggered, queued, remaining).
async fn three_items_with_dynamodb_failing(op: StoreOp, after: usize) -> (Stack<Faulty<DynamoStore>>, Value, [u64; 3]) {
    let stack = Stack::flaky(op, after).await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for (i, date) in ["2026-03-01", "2026-03-02", "2026-03-03"].iter().enumerate() {
        stack.content(&format!("c-{i}"), "cr-a", date, json!({})).await;
    }
    stack.heygen_accepts_creates().await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stopped"], "storage_unavailable");
    let counts = ["triggered", "queued", "remaining"].map(|k| body[k].as_u64().unwrap());
    (stack, body, counts)
}

#[tokio::test]
async fn dynamodb_failing_mid_batch_stops_it_with_the_rest_queued() {
    let (stack, body, counts) = three_items_with_dynamodb_failing(StoreOp::Claim, 1).await;
    assert_eq!(counts, [1, 2, 0], "{body}");
    assert_eq!(stack.creates_received().await.len(), 1);
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "queued");
}

#[tokio::test]
async fn dynamodb_failing_while_queueing_leaves_the_rest_remaining() {
    let (stack, body, counts) = three_items_with_dynamodb_failing(StoreOp::Enqueue, 1).await;
    assert_eq!(counts, [0, 1, 2], "the first is queued; the rest not even that: {body}");
    assert!(stack.creates_received().await.is_empty());
}

#[tokio::test]
async fn a_video_id_that_cannot_be_recorded_is_an_error_and_stops_the_batch() {
    let stack = Stack::flaky(StoreOp::RecordVideo, 0).await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-0", "cr-a", "2026-03-01", json!({})).await;
    stack.content("c-1", "cr-a", "2026-03-02", json!({})).await;
    stack.heygen_accepts_creates().await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stopped"], "storage_unavailable");
    assert_eq!(body["errors"][0]["code"], "storage_unavailable");
    let counts = ["triggered", "queued", "remaining"].map(|k| body[k].as_u64().unwrap());
    assert_eq!(counts, [0, 1, 0], "{body}");
    // The claim stays `requested`: a stale reclaim replays the same key.
    assert_eq!(stack.tables.content_raw("c-0").await["heygen_status"], "requested");
}

#[tokio::test]
async fn near_the_deadline_the_rest_stays_queued_and_a_tick_creates_it() {
    let mut stack = Stack::new().await;
    // Queueing is quick here; only the creates' window is under test.
    stack.deps.timing.queue_margin = Duration::from_secs(1);
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=6 {
        stack.content(&format!("c-{day}"), "cr-a", &format!("2026-03-{day:02}"), json!({})).await;
    }
    stack.tables.put_setting("heygen_requests_per_second", "2").await;
    stack.heygen_accepts_creates().await;

    // With 8.6 s left, HeyGen calls end by 6.6 s and a create attempt may take
    // 5 s: starts at 0, 0.5, 1.0 and 1.5 s fit before 1.6 s; 2.0 s does not.
    let (status, first) = call(
        admin_trigger::handle_request(
            &stack.deps,
            request_with_deadline(&event("trigger"), Duration::from_millis(8_600)),
        )
        .await,
    );
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["stopped"], "deadline");
    let (t1, q1) = (first["triggered"].as_u64().unwrap(), first["queued"].as_u64().unwrap());
    assert!(t1 >= 1 && q1 >= 1 && t1 + q1 == 6, "triggered {t1}, queued {q1}");
    assert_eq!(first["remaining"], 0);

    // A second trigger leaves the queue to the worker; a tick creates the rest.
    let (status, second) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200);
    assert_eq!((second["triggered"].as_u64(), second["skipped_pending"].as_u64()), (Some(0), Some(6)));
    let tick = stack.tick().await;
    assert_eq!(tick.created as u64, q1, "{tick:?}");
    assert_eq!((tick.queue_depth, tick.in_flight), (Some(0), Some(6)), "{tick:?}");

    let keys: Vec<_> = stack.creates_received().await.iter().map(|r| header(r, "idempotency-key")).collect();
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!((keys.len(), unique.len()), (6, 6), "one create per item: {keys:?}");
}

#[tokio::test]
async fn two_triggers_at_once_make_exactly_one_video_per_item() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    let (a, b) = tokio::join!(stack.trigger(event("trigger")), stack.trigger(event("trigger")));
    assert_eq!((a.0, b.0), (200, 200));
    let creates = stack.creates_received().await;
    let ids: HashSet<_> = creates.iter().map(|r| body_of(r)["callback_id"].as_str().unwrap().to_string()).collect();
    assert_eq!((creates.len(), ids.len()), (5, 5), "exactly one create per eligible item");
    let triggered = a.1["triggered"].as_u64().unwrap() + b.1["triggered"].as_u64().unwrap();
    assert_eq!(triggered, 5);
    for body in [&a.1, &b.1] {
        let counted =
            ["triggered", "skipped_pending", "remaining"].iter().map(|k| body[*k].as_u64().unwrap()).sum::<u64>()
                + body["errors"].as_array().unwrap().len() as u64;
        assert_eq!(counted, 7, "each call counts every item without a video once: {body}");
    }
}

#[tokio::test]
async fn a_404_on_create_is_a_refusal_with_heygens_code() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-gone"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "avatar_not_found", "message": "avatar av-gone not found"}})),
        )
        .mount(&stack.heygen)
        .await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    let err = &body["errors"][0];
    assert_eq!(
        (err["code"].as_str(), err["heygen_code"].as_str()),
        (Some("heygen_rejected"), Some("avatar_not_found"))
    );
    assert!(err["message"].as_str().unwrap().contains("avatar av-gone not found"), "{err}");
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_attempt"], 2, "definite");
}

#[tokio::test]
async fn no_create_is_cut_short_by_the_functions_own_deadline() {
    // HeyGen takes 4.1 s to accept a create; a create attempt may take 5 s.
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=3 {
        stack.content(&format!("c-{day}"), "cr-a", &format!("2026-03-{day:02}"), json!({})).await;
    }
    Mock::given(method("POST"))
        .respond_with(|req: &wiremock::Request| {
            let key = req.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("none");
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"video_id": format!("vid-{key}"), "status": "waiting"}}))
                .set_delay(Duration::from_millis(4_100))
        })
        .mount(&stack.heygen)
        .await;
    // 9.5 s left: HeyGen calls must end by 7.5 s. A second create at 4.1 s would
    // have 3.4 s, less than HeyGen needs: it must not start.
    let request = request_with_deadline(&event("trigger"), Duration::from_millis(9_500));
    let (status, body) = call(admin_trigger::handle_request(&stack.deps, request).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stopped"], "deadline", "{body}");
    let received = stack.creates_received().await.len();
    assert_eq!(body["triggered"].as_u64().unwrap() as usize, received, "every create HeyGen got was recorded: {body}");
    assert!(body["errors"].as_array().unwrap().is_empty(), "{body}");
    for day in 1..=3 {
        let raw = stack.tables.content_raw(&format!("c-{day}")).await;
        assert_ne!(raw["heygen_status"], "failed", "no paid video released as failed: {raw}");
    }
}

#[tokio::test]
async fn queueing_stops_at_the_deadline_and_what_was_not_queued_is_remaining() {
    // A slow DynamoDB (150 ms a write) and 10.6 s left, of which the last 10 s
    // queue nothing: a few items are queued, the rest are `remaining`, untouched.
    let tables = tests::Tables::create().await;
    let store = Faulty::new(tables.store()).slow(StoreOp::Enqueue, Duration::from_millis(150));
    let stack = Stack::with_store(tables, store).await;
    stack.put_secret(&json!({"api_key": API_KEY}).to_string()).await;
    assert_eq!(stack.deps.timing.queue_margin, Duration::from_secs(10));
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=20 {
        stack.content(&format!("c-{day:02}"), "cr-a", &format!("2026-03-{day:02}"), json!({})).await;
    }
    stack.heygen_accepts_creates().await;
    let request = request_with_deadline(&event("trigger"), Duration::from_millis(10_600));
    let (status, body) = call(admin_trigger::handle_request(&stack.deps, request).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stopped"], "deadline", "{body}");
    let [triggered, queued, remaining] = ["triggered", "queued", "remaining"].map(|k| body[k].as_u64().unwrap());
    assert!((1..=19).contains(&remaining), "{body}");
    assert_eq!(triggered + queued + remaining, 20, "every item counted once: {body}");
    let mut untouched = 0;
    for day in 1..=20 {
        if stack.tables.content_raw(&format!("c-{day:02}")).await.get("heygen_status").is_none() {
            untouched += 1;
        }
    }
    assert_eq!(untouched, remaining, "what is remaining was not written");
}
