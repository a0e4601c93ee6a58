//! Who may trigger or cancel, and with what: the admin check, validation, the
//! media type, size and method, the key and the callback URL, a dry run (each
//! refusal changes nothing); and what a cancel takes out of the queue.

use serde_json::json;
use tests::stack::{Stack, event, with_body};

use crate::trigger::{body_of, seed};

#[tokio::test]
async fn a_dry_run_needs_no_key_claims_nothing_and_calls_no_one() {
    let stack = Stack::without_secret().await;
    seed(&stack).await;
    let before = stack.tables.content_raw("a-1").await;
    let (status, body) = stack.trigger(event("trigger-dry-run")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["would_trigger"], 5);
    assert_eq!((body["triggered"].as_u64(), body["remaining"].as_u64()), (Some(0), Some(0)));
    assert_eq!((body["videos"].clone(), body["errors"].clone()), (json!([]), json!([])));
    assert_eq!(body["ai_creators"], 2);
    assert_eq!(stack.tables.content_raw("a-1").await, before);
    assert!(stack.heygen.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_claim_form_is_admin() {
    for name in ["trigger-dry-run", "trigger-claims-json-array", "trigger-claims-bare"] {
        let stack = Stack::new().await;
        let ev = with_body(event(name), r#"{"month":"2026-03","mode":"bible","dry_run":true}"#);
        let (status, body) = stack.trigger(ev).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
}

#[tokio::test]
async fn a_group_whose_name_only_contains_admin_is_not_admin() {
    let stack = Stack::new().await;
    for groups in ["ops,admin", "[ops,admin]", r#"["ops,admin"]"#, r#""admin""#] {
        let mut ev = with_body(event("trigger"), r#"{"month":"2026-03","mode":"bible","dry_run":true}"#);
        ev["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = groups.into();
        let (status, body) = stack.trigger(ev).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{groups}");
    }
}

#[tokio::test]
async fn no_claims_is_401_and_no_admin_group_is_403_and_nothing_happens() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    let (status, body) = stack.trigger(event("trigger-no-claims")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = stack.trigger(event("trigger-not-admin")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    assert!(stack.heygen.received_requests().await.unwrap().is_empty());
    assert!(stack.tables.content_raw("a-1").await.get("heygen_status").is_none());
}

#[tokio::test]
async fn invalid_requests_are_400_naming_the_field_and_change_nothing() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    let before = stack.tables.content_raw("a-1").await;
    let cases = [
        (r#"{"month":"2026-13","mode":"bible"}"#, Some("month")),
        (r#"{"month":"2026-03","mode":"Bible"}"#, Some("mode")),
        (r#"{"month":"2026-03","mode":"bible","dry_run":"no"}"#, Some("dry_run")),
        (r#"{"month":"2026-03","mode":"bible","force":true}"#, Some("force")),
        (r#"{"mode":"bible"}"#, Some("month")),
        ("not json", None),
        ("", None),
    ];
    for (body, field) in cases {
        let (status, resp) = stack.trigger(with_body(event("trigger"), body)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(resp["error"]["code"], "invalid_request");
        assert_eq!(resp["error"]["field"].as_str(), field, "{body}");
        assert!(!resp["error"]["message"].as_str().unwrap().is_empty());
    }
    // Validation comes before the admin check.
    let (status, _) = stack.trigger(with_body(event("trigger-no-claims"), "{}")).await;
    assert_eq!(status, 400);
    assert_eq!(stack.tables.content_raw("a-1").await, before);
    assert!(stack.heygen.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_body_over_256_kib_is_413_and_another_method_405() {
    let stack = Stack::new().await;
    let big = format!(r#"{{"month":"2026-03","mode":"bible","pad":"{}"}}"#, "x".repeat(256 * 1024));
    let (status, body) = stack.trigger(with_body(event("trigger"), &big)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let mut get = event("trigger");
    get["requestContext"]["http"]["method"] = "GET".into();
    let (status, body) = stack.trigger(get).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn without_a_key_the_trigger_is_503_saying_which() {
    let stack = Stack::without_secret().await;
    seed(&stack).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("heygen_not_configured")));
    assert!(body["error"]["message"].as_str().unwrap().contains("does not exist"), "{body}");

    stack.put_secret(r#"{"api_key": ""}"#).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 503);
    assert!(body["error"]["message"].as_str().unwrap().contains("api_key"), "{body}");
    assert!(stack.tables.content_raw("a-1").await.get("heygen_status").is_none());
}

#[tokio::test]
async fn without_any_callback_url_the_trigger_is_503() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    let mut ev = event("trigger");
    ev["requestContext"].as_object_mut().unwrap().remove("domainName");
    let (status, body) = stack.trigger(ev).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("heygen_not_configured")));
    assert!(body["error"]["message"].as_str().unwrap().contains("callback"), "{body}");
    assert!(stack.creates_received().await.is_empty());
}

#[tokio::test]
async fn the_callback_url_setting_wins_over_the_request_domain() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.tables.put_setting("heygen_callback_url", "https://hooks.example/heygen").await;
    stack.heygen_accepts_creates().await;
    let (status, _) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200);
    let b = body_of(&stack.creates_received().await[0]);
    assert_eq!(b["callback_url"], "https://hooks.example/heygen");
    assert!(b.get("voice_id").is_none(), "no creator voice and no default: HeyGen uses the avatar's");
}

#[tokio::test]
async fn a_post_that_is_not_json_is_415_and_changes_nothing() {
    let stack = Stack::new().await;
    seed(&stack).await;
    stack.heygen_accepts_creates().await;
    let valid = r#"{"month":"2026-03","mode":"bible"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx"), None]
    {
        let mut ev = with_body(event("trigger"), valid);
        match content_type {
            Some(t) => ev["headers"]["content-type"] = t.into(),
            None => {
                ev["headers"].as_object_mut().unwrap().remove("content-type");
            }
        }
        let (status, body) = stack.trigger(ev).await;
        assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{content_type:?}");
    }
    // Before the body is read: a bad body with the wrong type is 415, not 400.
    let mut bad = with_body(event("trigger"), "month=2026-03");
    bad["headers"]["content-type"] = "text/plain".into();
    assert_eq!(stack.trigger(bad).await.0, 415);
    // After the size and the method.
    let mut big = with_body(event("trigger"), &"x".repeat(256 * 1024 + 1));
    big["headers"]["content-type"] = "text/plain".into();
    assert_eq!(stack.trigger(big).await.0, 413);
    let mut get = event("trigger");
    get["requestContext"]["http"]["method"] = "GET".into();
    get["headers"]["content-type"] = "text/plain".into();
    assert_eq!(stack.trigger(get).await.0, 405);
    assert!(stack.creates_received().await.is_empty());
    assert!(stack.tables.content_raw("a-1").await.get("heygen_status").is_none());

    // JSON with parameters, in any case, is JSON.
    let mut charset = with_body(event("trigger-dry-run"), r#"{"month":"2026-03","mode":"bible","dry_run":true}"#);
    charset["headers"]["content-type"] = "Application/JSON; charset=utf-8".into();
    let (status, body) = stack.trigger(charset).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn cancel_takes_a_month_out_of_the_queue_and_leaves_renders_in_flight() {
    let stack = Stack::new().await;
    stack.tables.put_setting("heygen_max_concurrent_renders", "1").await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=4 {
        let attempt = if day == 4 { json!({"heygen_status": "failed", "heygen_attempt": 3}) } else { json!({}) };
        stack.content(&format!("c-{day}"), "cr-a", &format!("2026-03-{day:02}"), attempt).await;
    }
    stack.content("c-april", "cr-a", "2026-04-01", json!({})).await;
    stack.heygen_accepts_creates().await;
    let (status, run) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!((run["triggered"].as_u64(), run["queued"].as_u64()), (Some(1), Some(3)), "one slot: {run}");
    let april = with_body(event("trigger"), r#"{"month":"2026-04","mode":"bible"}"#);
    assert_eq!(stack.trigger(april).await.1["queued"], 1, "April's waits too");

    let (status, listing) = stack.pending(event("pending")).await;
    assert_eq!(status, 200);
    let queued: Vec<_> = listing["queued"].as_array().unwrap().iter().map(|q| q["content_id"].clone()).collect();
    assert_eq!(queued, [json!("c-2"), json!("c-3"), json!("c-4"), json!("c-april")], "in the order it is worked");
    assert!(listing["queued"][0]["queued_at"].as_str().unwrap().ends_with('Z'));

    let (status, body) = stack.trigger(event("cancel")).await;
    assert_eq!((status, body), (200, json!({"month": "2026-03", "mode": "bible", "cancelled": 3})));
    for id in ["c-2", "c-3", "c-4"] {
        assert!(stack.tables.content_raw(id).await.get("heygen_status").is_none(), "{id} left the queue");
    }
    assert_eq!(stack.tables.content_raw("c-4").await["heygen_attempt"], 3, "the attempt is kept");
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "pending", "in flight: untouched");
    assert_eq!(stack.tables.content_raw("c-april").await["heygen_status"], "queued", "another month: untouched");
    // Cancelled items are eligible again for a later trigger.
    let (_, again) = stack.trigger(event("trigger")).await;
    assert_eq!((again["queued"].as_u64(), again["skipped_pending"].as_u64()), (Some(3), Some(1)), "{again}");

    // Exactly month and mode: anything else is a 400 that changes nothing.
    let (status, body) =
        stack.trigger(with_body(event("cancel"), r#"{"month":"2026-03","mode":"bible","dry_run":false}"#)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("dry_run")));
    assert_eq!(stack.tables.content_raw("c-2").await["heygen_status"], "queued");
}
