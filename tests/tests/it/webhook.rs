//! heygen-webhook in-process: a notice changes an item only on HeyGen's own answer.

use serde_json::{Value, json};
use shared::testkit::StoreOp;
use tests::stack::{Stack, WEBHOOK_SECRET, event, webhook_event, with_body};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

fn success(video_id: &str, callback_id: Option<&str>) -> Value {
    let mut data = json!({"video_id": video_id, "url": "https://notice.example/forged.mp4"});
    if let Some(c) = callback_id {
        data["callback_id"] = c.into();
    }
    json!({"event_type": "avatar_video.success", "event_data": data})
}

/// A stack with c-1 pending on video v-1.
async fn pending_stack() -> Stack {
    let stack = Stack::new().await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.pending_item("c-1", "v-1").await;
    stack
}

fn assert_received(resp: &(u16, Value)) {
    assert_eq!(resp.0, 200, "{}", resp.1);
    assert_eq!(resp.1, json!({"received": true}));
}

#[tokio::test]
async fn a_success_confirmed_by_heygen_attaches_heygens_url_and_submits() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "completed");
    assert_eq!(
        raw["creator_video_url"], "https://files.heygen.ai/v-1.mp4?sig=fresh",
        "HeyGen's URL, never the notice's"
    );
    assert_eq!(raw["heygen_video_url"], "https://files.heygen.ai/v-1.mp4?sig=fresh");
    assert_eq!(raw["heygen_thumbnail_url"], "https://files.heygen.ai/v-1.jpg");
    assert_eq!(raw["status"], "submitted");
    assert!(raw["heygen_completed_at"].as_str().is_some());
    assert_eq!(stack.status_calls().await, 1);
}

#[tokio::test]
async fn a_failure_confirmed_by_heygen_is_recorded() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "failed").await;
    let notice = json!({"event_type": "avatar_video.fail", "event_data": {"video_id": "v-1", "msg": "boom", "callback_id": "c-1"}});
    assert_received(&stack.webhook(webhook_event(&notice, None)).await);
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "failed");
    assert_eq!(raw["heygen_error"], "avatar_unavailable: the avatar was removed");
    assert!(raw.get("creator_video_url").is_none());
    assert_eq!(raw["status"], "draft");
}

#[tokio::test]
async fn a_forged_success_while_heygen_is_still_rendering_changes_nothing() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "processing").await;
    let before = stack.tables.content_raw("c-1").await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await, before);
    assert_eq!(stack.status_calls().await, 1);
}

#[tokio::test]
async fn a_duplicate_notice_changes_nothing_twice_and_asks_heygen_once() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    let after_first = stack.tables.content_raw("c-1").await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await, after_first);
    assert_eq!(stack.status_calls().await, 1, "a settled item needs no HeyGen call");
}

#[tokio::test]
async fn a_notice_for_a_stale_video_or_an_unknown_one_is_ignored_without_heygen() {
    let stack = pending_stack().await;
    let before = stack.tables.content_raw("c-1").await;
    // The callback id names c-1, but c-1's current video is v-1.
    assert_received(&stack.webhook(webhook_event(&success("v-old", Some("c-1")), None)).await);
    // Neither the callback id nor the video id names an item.
    assert_received(&stack.webhook(webhook_event(&success("v-nobody", Some("c-nobody")), None)).await);
    assert_received(&stack.webhook(webhook_event(&success("v-nobody", None), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await, before);
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn an_unsigned_genuine_notice_found_by_video_id_is_applied() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    // No callback id: found through the video-id index.
    assert_received(&stack.webhook(webhook_event(&success("v-1", None), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "completed");
}

#[tokio::test]
async fn the_flat_payload_is_understood() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    let flat = json!({"video_id": "v-1", "status": "completed", "url": "https://notice.example/x.mp4"});
    assert_received(&stack.webhook(webhook_event(&flat, None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await["status"], "submitted");
}

#[tokio::test]
async fn correct_signatures_in_either_header_are_accepted() {
    for header in ["heygen-signature", "signature"] {
        let stack = pending_stack().await;
        stack.heygen_status("v-1", "completed").await;
        let resp = stack.webhook(webhook_event(&success("v-1", Some("c-1")), Some((header, WEBHOOK_SECRET)))).await;
        assert_received(&resp);
        assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "completed", "{header}");
    }
}

#[tokio::test]
async fn a_wrong_signature_is_401_and_changes_nothing() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    let before = stack.tables.content_raw("c-1").await;
    for header in ["heygen-signature", "signature"] {
        let (status, body) =
            stack.webhook(webhook_event(&success("v-1", Some("c-1")), Some((header, "whsec_wrong")))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_signature")), "{header}");
    }
    // A signature of another body.
    let mut ev = webhook_event(&success("v-1", Some("c-1")), Some(("heygen-signature", WEBHOOK_SECRET)));
    ev["body"] = success("v-1", None).to_string().into();
    assert_eq!(stack.webhook(ev).await.0, 401);
    assert_eq!(stack.tables.content_raw("c-1").await, before);
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn a_signature_while_the_secret_cannot_be_read_is_503() {
    let stack = Stack::without_secret().await;
    let (status, body) =
        stack.webhook(webhook_event(&success("v-1", Some("c-1")), Some(("heygen-signature", "k")))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("heygen_not_configured")));
}

#[tokio::test]
async fn other_events_and_malformed_payloads_are_acknowledged_and_ignored() {
    let stack = pending_stack().await;
    let before = stack.tables.content_raw("c-1").await;
    let gif =
        json!({"event_type": "avatar_video_gif.success", "event_data": {"video_id": "v-1", "callback_id": "c-1"}});
    assert_received(&stack.webhook(webhook_event(&gif, None)).await);
    assert_received(&stack.webhook(with_body(event("webhook-success"), "{not json")).await);
    assert_received(&stack.webhook(with_body(event("webhook-success"), "")).await);
    assert_eq!(stack.tables.content_raw("c-1").await, before);
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn a_notice_for_an_item_still_requested_asks_for_redelivery() {
    let stack = Stack::new().await;
    stack
        .content(
            "c-1",
            "cr-a",
            "2026-03-01",
            json!({"heygen_status": "requested", "heygen_requested_at": "2026-03-01T00:00:00.000Z"}),
        )
        .await;
    let (status, body) = stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("retry_later")));
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn heygen_failing_during_confirmation_is_503_and_a_redelivery_completes() {
    let stack = pending_stack().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(3).mount(&stack.heygen).await;
    let (status, body) = stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("heygen_unavailable")));
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "pending");

    stack.heygen_status("v-1", "completed").await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "completed");
}

#[tokio::test]
async fn heygen_refusing_the_key_is_502() {
    let stack = pending_stack().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&stack.heygen).await;
    let (status, body) = stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("heygen_auth_failed")));
}

#[tokio::test]
async fn a_video_heygen_does_not_know_is_left_pending() {
    let stack = pending_stack().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(404)).mount(&stack.heygen).await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "pending");
}

#[tokio::test]
async fn dynamodb_failing_while_applying_is_503_so_heygen_redelivers() {
    let stack = Stack::flaky(StoreOp::ApplyOutcome, 0).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.pending_item("c-1", "v-1").await;
    stack.heygen_status("v-1", "completed").await;
    let (status, body) = stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("storage_unavailable")));
    assert!(!body.to_string().contains("injected"));
}

#[tokio::test]
async fn health_checks_answer_200_other_methods_405_big_bodies_413() {
    let stack = Stack::new().await;
    for name in ["webhook-get", "webhook-options"] {
        assert_eq!(stack.webhook(event(name)).await.0, 200, "{name}");
    }
    let mut put = event("webhook-success");
    put["requestContext"]["http"]["method"] = "PUT".into();
    let (status, body) = stack.webhook(put).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("method_not_allowed")));
    for name in ["webhook-success", "webhook-get", "webhook-options"] {
        let big = with_body(event(name), &"x".repeat(256 * 1024 + 1));
        let (status, body) = stack.webhook(big).await;
        assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{name}");
    }
    // 256 KiB exactly is accepted.
    let (status, _) = stack.webhook(with_body(event("webhook-get"), &"x".repeat(256 * 1024))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oversized_ids_are_ignored_as_malformed_without_reading_anything() {
    // A flaky store that fails every read: a notice that reached it would be a 503.
    let stack = Stack::flaky(StoreOp::GetContent, 0).await;
    let long = "v".repeat(1025);
    for notice in [
        success(&long, None),
        success("v-1", Some(&"c".repeat(1025))),
        json!({"video_id": long, "status": "completed"}),
    ] {
        assert_received(&stack.webhook(webhook_event(&notice, None)).await);
    }
    assert_eq!(stack.deps.store.calls(StoreOp::GetContent), 0);
    assert_eq!(stack.deps.store.calls(StoreOp::FindByVideoId), 0);
    assert_eq!(stack.status_calls().await, 0);
    // 1,024 bytes is still an id.
    let at_limit = success(&"v".repeat(1024), None);
    let (status, _) = stack.webhook(webhook_event(&at_limit, None)).await;
    assert_eq!(status, 200);
    assert_eq!(stack.deps.store.calls(StoreOp::FindByVideoId), 1);
}

#[tokio::test]
async fn a_completion_keeps_the_video_the_platform_attached_meanwhile() {
    let stack = pending_stack().await;
    stack.heygen_status("v-1", "completed").await;
    stack
        .content_update("c-1", json!({"creator_video_url": "https://cdn.platform/own.mp4", "status": "published"}))
        .await;
    assert_received(&stack.webhook(webhook_event(&success("v-1", Some("c-1")), None)).await);
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["creator_video_url"], "https://cdn.platform/own.mp4");
    assert_eq!(raw["status"], "published");
    assert_eq!(raw["heygen_status"], "completed");
    assert_eq!(raw["heygen_video_url"], "https://files.heygen.ai/v-1.mp4?sig=fresh");
}
