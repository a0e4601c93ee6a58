//! admin-pending in-process: the listing and `?refresh=true`.

use std::time::Duration;

use serde_json::{Value, json};
use tests::stack::{Stack, call, event, request_with_deadline};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// lambda_http reads `rawQueryString`; `queryStringParameters` is set as API
/// Gateway sends it.
fn with_query(mut ev: Value, query: &str, params: Value) -> Value {
    ev["rawQueryString"] = query.into();
    ev["queryStringParameters"] = params;
    ev
}

/// Four items pending on a video (explicit request times: no ties), one
/// requested, one never touched.
async fn seeded() -> Stack {
    let stack = Stack::new().await;
    let pending = [
        ("c-old", "v-old", "2026-03-01T08:00:00.000Z"),
        ("c-fail", "v-fail", "2026-03-01T09:00:00.000Z"),
        ("c-404", "v-404", "2026-03-01T10:00:00.000Z"),
        ("c-new", "v-new", "2026-03-01T10:00:00.000Z"),
    ];
    for (id, video, at) in pending {
        let attrs = json!({"heygen_status": "pending", "heygen_video_id": video, "heygen_requested_at": at,
                           "heygen_pending": "pending", "heygen_claim_id": "k", "heygen_attempt": 1});
        stack.content(id, "cr-a", "2026-03-01", attrs).await;
    }
    stack
        .content("c-req", "cr-b", "2026-03-02", json!({"heygen_status": "requested", "heygen_requested_at": "2026-03-01T11:00:00.000Z", "heygen_pending": "pending"}))
        .await;
    stack.content("c-untouched", "cr-a", "2026-03-03", json!({})).await;
    stack
}

#[tokio::test]
async fn pending_items_are_listed_oldest_first() {
    let stack = seeded().await;
    let (status, body) = stack.pending(event("pending")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 5);
    let ids: Vec<_> = body["pending"].as_array().unwrap().iter().map(|p| p["content_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c-old", "c-fail", "c-404", "c-new", "c-req"]);
    let first = &body["pending"][0];
    assert_eq!(first["video_id"], "v-old");
    assert_eq!(
        (first["creator_id"].as_str(), first["mode"].as_str(), first["date"].as_str()),
        (Some("cr-a"), Some("bible"), Some("2026-03-01"))
    );
    assert_eq!(first["status"], "pending");
    assert!(first["requested_at"].as_str().unwrap().ends_with('Z'));
    let requested = &body["pending"][4];
    assert_eq!((requested["status"].as_str(), requested["video_id"].clone()), (Some("requested"), Value::Null));
    assert!(body.get("refreshed").is_none());
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn refresh_applies_heygens_answers_like_the_webhook() {
    let stack = seeded().await;
    stack.heygen_status("v-old", "completed").await;
    stack.heygen_status("v-fail", "failed").await;
    stack.heygen_status("v-new", "rendering").await;
    Mock::given(method("GET"))
        .and(path("/v3/videos/v-404"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&stack.heygen)
        .await;

    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["refreshed"],
        json!({"completed": 1, "failed": 1, "still_pending": 2, "unchecked": 1, "stopped": null})
    );
    let ids: Vec<_> = body["pending"].as_array().unwrap().iter().map(|p| p["content_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c-404", "c-new", "c-req"]);
    assert_eq!(body["count"], 3);

    let done = stack.tables.content_raw("c-old").await;
    assert_eq!((done["heygen_status"].as_str(), done["status"].as_str()), (Some("completed"), Some("submitted")));
    assert_eq!(done["creator_video_url"], "https://files.heygen.ai/v-old.mp4?sig=fresh");
    assert_eq!(stack.tables.content_raw("c-fail").await["heygen_status"], "failed");
    assert_eq!(stack.tables.content_raw("c-404").await["heygen_status"], "pending", "404 is left pending");
    // One bulk call for the four pending videos (the requested item is not asked
    // about), then the details of the one that completed, for its URL.
    assert_eq!((stack.states_calls().await, stack.status_calls().await), (1, 1));
}

#[tokio::test]
async fn heygen_failing_stops_the_refresh_but_not_the_answer() {
    let stack = seeded().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&stack.heygen).await;
    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["refreshed"],
        json!({"completed": 0, "failed": 0, "still_pending": 0, "unchecked": 5, "stopped": "heygen_auth_failed"})
    );
    assert_eq!(body["count"], 5);
    let calls = (stack.states_calls().await, stack.status_calls().await);
    assert_eq!(calls, (1, 0), "the first refusal of the key stops the refresh");
}

#[tokio::test]
async fn heygen_unavailable_stops_the_refresh_and_says_so() {
    let stack = seeded().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).mount(&stack.heygen).await;
    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refreshed"]["stopped"], "heygen_unavailable");
    assert_eq!(body["refreshed"]["unchecked"], 5);
    let calls = (stack.states_calls().await, stack.status_calls().await);
    assert_eq!(calls, (3, 0), "one bulk call, three attempts, then the refresh stops");
}

#[tokio::test]
async fn one_refused_or_unreadable_video_does_not_stop_the_refresh() {
    let stack = seeded().await;
    // Both completed, says the bulk answer; then the oldest video's details are
    // refused for good, and the next one's cannot be read.
    stack.heygen_state("v-old", "completed");
    stack.heygen_state("v-fail", "completed");
    Mock::given(method("GET"))
        .and(path("/v3/videos/v-old"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "forbidden", "message": "not yours"}})),
        )
        .mount(&stack.heygen)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/videos/v-fail"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&stack.heygen)
        .await;
    stack.heygen_status("v-404", "completed").await;
    stack.heygen_status("v-new", "completed").await;

    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["refreshed"],
        json!({"completed": 2, "failed": 0, "still_pending": 2, "unchecked": 1, "stopped": null})
    );
    for id in ["c-old", "c-fail"] {
        assert_eq!(stack.tables.content_raw(id).await["heygen_status"], "pending", "{id} is left pending");
    }
    assert_eq!(stack.tables.content_raw("c-new").await["status"], "submitted");
}

#[tokio::test]
async fn fields_the_service_does_not_use_cannot_spoil_a_status() {
    let stack = seeded().await;
    let odd = json!({"data": {
        "id": "v-old", "status": "completed", "video_url": "https://files.heygen.ai/v-old.mp4",
        "duration": "12.5", "created_at": "yesterday", "completed_at": {"unix": 1}, "gif_url": 7,
    }});
    stack.heygen_state("v-old", "completed");
    Mock::given(method("GET"))
        .and(path("/v3/videos/v-old"))
        .respond_with(ResponseTemplate::new(200).set_body_json(odd))
        .mount(&stack.heygen)
        .await;
    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refreshed"]["completed"], 1, "{body}");
    assert_eq!(stack.tables.content_raw("c-old").await["heygen_status"], "completed");
}

#[tokio::test]
async fn near_the_deadline_the_refresh_asks_no_one_and_says_so() {
    let stack = seeded().await;
    stack.heygen_status("v-old", "completed").await;
    let request = request_with_deadline(&event("pending-refresh"), Duration::from_secs(3));
    let (status, body) = call(admin_pending::handle_request(&stack.deps, request).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refreshed"]["stopped"], "deadline");
    assert_eq!(body["refreshed"]["unchecked"], 5);
    assert_eq!(stack.status_calls().await, 0);
}

#[tokio::test]
async fn refresh_without_a_key_is_503() {
    let stack = Stack::without_secret().await;
    let (status, body) = stack.pending(event("pending-refresh")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("heygen_not_configured")));
    // Listing alone needs no key.
    assert_eq!(stack.pending(event("pending")).await.0, 200);
}

#[tokio::test]
async fn refresh_takes_only_true_or_false() {
    let stack = Stack::new().await;
    for (query, value) in
        [("refresh=yes", "yes"), ("refresh=TRUE", "TRUE"), ("refresh=", ""), ("refresh=true,false", "true,false")]
    {
        let (status, body) = stack.pending(with_query(event("pending"), query, json!({"refresh": value}))).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (Some("invalid_request"), Some("refresh"))
        );
    }
    let (status, body) =
        stack.pending(with_query(event("pending"), "refresh=false", json!({"refresh": "false"}))).await;
    assert_eq!(status, 200);
    assert!(body.get("refreshed").is_none());
}

#[tokio::test]
async fn the_listing_is_for_admins_only_and_only_by_get() {
    let stack = Stack::new().await;
    let mut no_claims = event("pending");
    no_claims["requestContext"].as_object_mut().unwrap().remove("authorizer");
    assert_eq!(stack.pending(no_claims).await.1["error"]["code"], "unauthorized");
    let mut not_admin = event("pending");
    not_admin["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[editors]".into();
    let (status, body) = stack.pending(not_admin).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    let mut post = event("pending");
    post["requestContext"]["http"]["method"] = "POST".into();
    assert_eq!(stack.pending(post).await.0, 405);
}
