//! HeyGen status calls on wiremock: one video (normalised states, fields,
//! outcomes, 404, retries, escaping) and many at once (the bulk statuses).

use serde_json::json;
use shared::domain::Outcome;
use shared::heygen::{Heygen, HeygenError, RenderState};
use tests::stack::fast_policy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::heygen::{KEY, client, error, far, header, key, status_body};

#[tokio::test]
async fn status_values_are_normalised() {
    let cases = [
        ("waiting", RenderState::Pending),
        ("queued", RenderState::Pending),
        ("pending", RenderState::Pending),
        ("processing", RenderState::Processing),
        ("rendering", RenderState::Processing),
        ("completed", RenderState::Completed),
        ("done", RenderState::Completed),
        ("success", RenderState::Completed),
        ("failed", RenderState::Failed),
        ("error", RenderState::Failed),
        ("teleporting", RenderState::Processing),
    ];
    for (raw, want) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET")).and(path("/v3/videos/v-1")).respond_with(status_body(raw)).mount(&server).await;
        let status = client(&server, fast_policy()).video_status(&key(), "v-1", far()).await.unwrap();
        assert_eq!(status.state, want, "{raw}");
        let r = &server.received_requests().await.unwrap()[0];
        assert_eq!(header(r, "x-api-key"), KEY);
        assert_eq!(header(r, "idempotency-key"), "<absent>");
    }
}

#[tokio::test]
async fn status_fields_are_read_and_turned_into_outcomes() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v3/videos/v-1")).respond_with(status_body("completed")).mount(&server).await;
    let status = client(&server, fast_policy()).video_status(&key(), "v-1", far()).await.unwrap();
    assert_eq!(status.video_id, "v-1");
    assert_eq!(
        status.outcome(),
        Some(Outcome::Completed {
            video_url: "https://files.heygen.ai/v-1.mp4?sig=1".into(),
            thumbnail_url: Some("https://files.heygen.ai/v-1.jpg".into()),
            duration: shared::domain::VideoSeconds::from_secs_f64(31.5),
        })
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": "v-2", "status": "failed", "video_url": null,
            "failure_code": "avatar_unavailable", "failure_message": "The avatar was removed",
        }})))
        .mount(&server)
        .await;
    let status = client(&server, fast_policy()).video_status(&key(), "v-2", far()).await.unwrap();
    assert_eq!(
        status.outcome(),
        Some(Outcome::Failed { message: "avatar_unavailable: The avatar was removed".into() })
    );

    // Completed without a URL, or still rendering: no outcome yet.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "v-3", "status": "completed"}})))
        .mount(&server)
        .await;
    let status = client(&server, fast_policy()).video_status(&key(), "v-3", far()).await.unwrap();
    assert_eq!(status.outcome(), None);
}

#[tokio::test]
async fn status_404_is_not_found_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(error(404, "video_not_found")).mount(&server).await;
    let err = client(&server, fast_policy()).video_status(&key(), "v-1", far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::NotFound), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn status_is_retried_on_server_errors_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(error(502, "bad_gateway")).up_to_n_times(2).mount(&server).await;
    Mock::given(method("GET")).respond_with(status_body("processing")).mount(&server).await;
    let status = client(&server, fast_policy()).video_status(&key(), "v-1", far()).await.unwrap();
    assert_eq!(status.state, RenderState::Processing);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_video_id_is_escaped_into_one_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/videos/a%2Fb%3Fc"))
        .respond_with(status_body("pending"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, fast_policy()).video_status(&key(), "a/b?c", far()).await.unwrap();
}

#[tokio::test]
async fn bulk_states_send_the_ids_in_one_query_and_read_each_entry() {
    let server = MockServer::start().await;
    let answer = json!({"data": [
        {"video_id": "v-1", "status": "completed"},
        {"video_id": "v-2", "status": "processing"},
        {"video_id": "v-3", "status": "failed", "error": {"code": "avatar_unavailable", "message": "removed"}},
        {"video_id": "v-4", "status": "not_found"},
        {"video_id": "v-5", "status": null},
        {"video_id": null, "status": "queued", "item_index": 0},
        {"video_id": "v-6", "status": "queued", "error": "odd but readable"},
    ], "has_more": false, "next_token": null});
    Mock::given(method("GET"))
        .and(path("/v3/videos/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let ids = ["v-1", "v-2", "v-3", "v-4", "v-5", "v-6"];
    let states = client(&server, fast_policy()).video_states(&key(), &ids, far()).await.unwrap();
    let got: Vec<_> = states.iter().map(|s| (s.video_id.as_str(), s.state)).collect();
    assert_eq!(
        got,
        [
            ("v-1", Some(RenderState::Completed)),
            ("v-2", Some(RenderState::Processing)),
            ("v-3", Some(RenderState::Failed)),
            ("v-4", None),
            ("v-6", Some(RenderState::Pending)),
        ],
        "an entry without a status or a video id is left out"
    );
    assert_eq!(
        (states[2].failure_code.as_deref(), states[2].failure_message.as_deref()),
        (Some("avatar_unavailable"), Some("removed"))
    );
    assert_eq!(states[4].failure_message.as_deref(), Some("odd but readable"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let query: Vec<(String, String)> = requests[0].url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(query, [("video_ids".to_string(), ids.join(","))]);
    assert_eq!(header(&requests[0], "x-api-key"), KEY);
}

#[tokio::test]
async fn bulk_states_refuse_more_than_100_ids_and_ask_nothing_for_none() {
    let server = MockServer::start().await;
    let ids: Vec<String> = (0..101).map(|n| format!("v-{n}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let c = client(&server, fast_policy());
    assert!(matches!(c.video_states(&key(), &refs, far()).await, Err(HeygenError::Rejected { status: 400, .. })));
    assert_eq!(c.video_states(&key(), &[], far()).await.unwrap(), []);
    assert!(c.video_states(&key(), &refs[..100], far()).await.is_err(), "100 are sent (and 404 here)");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "only the call of 100 was sent");
}

#[tokio::test]
async fn bulk_states_without_the_endpoint_are_not_found_and_failures_retry() {
    let server = MockServer::start().await;
    let err = client(&server, fast_policy()).video_states(&key(), &["v-1"], far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::NotFound), "{err:?}");
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let err = client(&server, fast_policy()).video_states(&key(), &["v-1"], far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Server { status: 503 }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + 3, "a 404 once, a 503 three times");
}
