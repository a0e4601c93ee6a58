//! The HeyGen v3 client against wiremock: what is sent, how answers map, retries.

use std::time::Duration;

use serde_json::{Value, json};
use shared::app::heygen_policy::{contract_code, stops_batch};
use shared::domain::{Definiteness, ScriptProblem};
use shared::heygen::{CreateVideo, Heygen, HeygenClient, HeygenError, RenderState, RetryPolicy};
use shared::secret::SecretString;
use tests::stack::fast_policy;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub(crate) const KEY: &str = "sk-test-123";

pub(crate) fn client(server: &MockServer, policy: RetryPolicy) -> HeygenClient {
    HeygenClient::new(&server.uri(), policy).unwrap()
}

pub(crate) fn key() -> SecretString {
    SecretString::new(KEY)
}

pub(crate) fn far() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

pub(crate) fn video() -> CreateVideo {
    CreateVideo {
        content_id: "c-1".into(),
        attempt: 2,
        avatar_id: "av-1".into(),
        script: "Blessed are the peacemakers.".into(),
        voice_id: Some("vo-1".into()),
        title: Some("Day 1".into()),
        callback_url: "https://api.example/webhooks/heygen".into(),
    }
}

pub(crate) fn created(video_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": {"video_id": video_id, "status": "waiting"}}))
}

pub(crate) fn error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": format!("{code} happened")}}))
}

pub(crate) fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

pub(crate) fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("<absent>")
}

#[tokio::test]
async fn create_sends_the_exact_body_and_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v3/videos")).respond_with(created("v-1")).mount(&server).await;

    let out = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap();
    assert_eq!(out.video_id, "v-1");
    assert_eq!(out.status, RenderState::Pending);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(header(r, "x-api-key"), KEY);
    assert_eq!(header(r, "idempotency-key"), "c-1:2");
    assert_eq!(header(r, "content-type"), "application/json");
    assert_eq!(
        body(r),
        json!({
            "type": "avatar",
            "avatar_id": "av-1",
            "script": "Blessed are the peacemakers.",
            "voice_id": "vo-1",
            "aspect_ratio": "9:16",
            "resolution": "1080p",
            "title": "Day 1",
            "callback_url": "https://api.example/webhooks/heygen",
            "callback_id": "c-1",
        })
    );
}

#[tokio::test]
async fn voice_and_title_are_left_out_when_not_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1")).mount(&server).await;
    let v = CreateVideo { voice_id: None, title: None, ..video() };
    client(&server, fast_policy()).create_video(&key(), &v, far()).await.unwrap();
    let sent = body(&server.received_requests().await.unwrap()[0]);
    let fields: Vec<_> = sent.as_object().unwrap().keys().cloned().collect();
    assert!(!fields.contains(&"voice_id".to_string()), "{fields:?}");
    assert!(!fields.contains(&"title".to_string()), "{fields:?}");
}

#[tokio::test]
async fn an_empty_or_over_long_script_makes_no_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1")).expect(0).mount(&server).await;
    let c = client(&server, fast_policy());
    for (script, want) in [
        (String::new(), ScriptProblem::Missing),
        ("   ".to_string(), ScriptProblem::Missing),
        ("a".repeat(5_001), ScriptProblem::TooLong { chars: 5_001 }),
    ] {
        let v = CreateVideo { script, ..video() };
        match c.create_video(&key(), &v, far()).await {
            Err(HeygenError::Script(problem)) => assert_eq!(problem, want),
            other => panic!("expected a script error, got {other:?}"),
        }
    }
    // 5,000 characters exactly is accepted.
    let ok = CreateVideo { script: "a".repeat(5_000), ..video() };
    let server_ok = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1")).expect(1).mount(&server_ok).await;
    client(&server_ok, fast_policy()).create_video(&key(), &ok, far()).await.unwrap();
}

/// (status, HeyGen code, expected contract code, definite, attempts made)
const CREATE_CASES: [(u16, &str, &str, bool, usize); 11] = [
    (400, "invalid_parameter", "heygen_rejected", true, 1),
    // A refused key names no account: nothing to replay, the attempt is kept (6.1).
    (401, "authentication_failed", "heygen_auth_failed", false, 1),
    (402, "insufficient_credit", "heygen_insufficient_credit", true, 1),
    (403, "forbidden", "heygen_rejected", true, 1),
    (404, "not_found", "heygen_rejected", true, 1),
    (408, "request_timeout", "heygen_unavailable", false, 3),
    (409, "request_in_progress", "heygen_unavailable", false, 3),
    (422, "unprocessable", "heygen_rejected", true, 1),
    (429, "rate_limit_exceeded", "heygen_unavailable", false, 3),
    (500, "internal_error", "heygen_unavailable", false, 3),
    (503, "unavailable", "heygen_unavailable", false, 3),
];

#[tokio::test]
async fn each_create_status_maps_to_its_error_definiteness_and_attempts() {
    for (status, heygen_code, code, definite, attempts) in CREATE_CASES {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(error(status, heygen_code)).mount(&server).await;
        let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
        assert_eq!(contract_code(&err), code, "{status}: {err:?}");
        let want = if definite { Definiteness::Definite } else { Definiteness::Indefinite };
        assert_eq!(err.definiteness(), want, "{status}");
        assert_eq!(server.received_requests().await.unwrap().len(), attempts, "{status}");
        assert_eq!(stops_batch(&err), code != "heygen_rejected", "{status}");
        let expected_variant = match status {
            // A 404 on a create is HeyGen refusing it (an avatar it does not know).
            400 | 403 | 404 | 422 => matches!(&err, HeygenError::Rejected { code, .. } if code == heygen_code),
            401 => matches!(err, HeygenError::Unauthorized { .. }),
            402 => matches!(err, HeygenError::InsufficientCredit { .. }),
            408 => matches!(err, HeygenError::RequestTimeout { .. }),
            409 => matches!(err, HeygenError::InProgress { .. }),
            429 => matches!(err, HeygenError::RateLimited { .. }),
            _ => matches!(err, HeygenError::Server { status: s } if s == status),
        };
        assert!(expected_variant, "{status}: {err:?}");
    }
}

#[tokio::test]
async fn a_rejection_carries_heygens_code_and_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(error(400, "invalid_parameter")).mount(&server).await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
    assert_eq!(err.heygen_code(), Some("invalid_parameter"));
    assert!(err.to_string().contains("invalid_parameter happened"), "{err}");
    assert!(!format!("{err} {err:?}").contains(KEY));
}

#[tokio::test]
async fn a_non_json_error_body_still_maps_by_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("<html>bad</html>"))
        .mount(&server)
        .await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
    assert_eq!(err.heygen_code(), Some("http_400"));
}

#[tokio::test]
async fn retries_reuse_the_same_idempotency_key_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(error(503, "unavailable")).up_to_n_times(2).mount(&server).await;
    Mock::given(method("POST")).respond_with(created("v-9")).mount(&server).await;
    let out = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap();
    assert_eq!(out.video_id, "v-9");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(header(r, "idempotency-key"), "c-1:2");
        assert_eq!(body(r), body(&requests[0]));
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(429, "rate_limit_exceeded").insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(created("v-1")).mount(&server).await;
    let started = Instant::now();
    client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "waited {elapsed:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_deadline_cuts_retries_short() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(429, "rate_limit_exceeded").insert_header("Retry-After", "5"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let policy = RetryPolicy { create_timeout: Duration::from_secs(1), ..fast_policy() };
    let err = client(&server, policy).create_video(&key(), &video(), deadline).await.unwrap_err();
    assert!(matches!(err, HeygenError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(5)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "a 5 s wait does not fit in 2 s");
    assert!(started.elapsed() < Duration::from_secs(1), "returned without waiting");
}

#[tokio::test]
async fn no_request_starts_after_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1")).expect(0).mount(&server).await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), Instant::now()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Deadline), "{err:?}");
    assert_eq!(contract_code(&err), "heygen_unavailable");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_not_a_network_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1").set_delay(Duration::from_secs(3))).mount(&server).await;
    let policy = RetryPolicy { create_timeout: Duration::from_millis(200), ..fast_policy() };
    let err = client(&server, policy).create_video(&key(), &video(), far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Timeout), "{err:?}");
    assert_eq!(err.definiteness(), Definiteness::Indefinite);
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "timeouts are retried under the same key");
}

#[tokio::test]
async fn a_create_is_waited_for_longer_than_a_read() {
    // HeyGen's create is slow at its tail (p99 30.8 s) while its reads are fast:
    // the two timeouts differ, and a slow create is not cut off.
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(created("v-1").set_delay(Duration::from_millis(600))).mount(&server).await;
    Mock::given(method("GET"))
        .respond_with(status_body("completed").set_delay(Duration::from_millis(600)))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        request_timeout: Duration::from_millis(300),
        create_timeout: Duration::from_secs(2),
        max_attempts: 1,
        ..fast_policy()
    };
    let c = client(&server, policy);
    assert_eq!(c.create_video(&key(), &video(), far()).await.unwrap().video_id, "v-1");
    assert!(matches!(c.video_status(&key(), "v-1", far()).await, Err(HeygenError::Timeout)));
    assert_eq!(c.create_attempt_time(), Duration::from_secs(2), "a create starts only when all of it fits");
}

#[tokio::test]
async fn a_status_request_is_shortened_to_the_deadline_and_a_create_not_started() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(status_body("completed").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client(&server, fast_policy()).video_status(&key(), "v-1", started + Duration::from_millis(400)).await;
    assert!(matches!(err, Err(HeygenError::Timeout)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // A create cut short might have made a video nobody records: with less than
    // a whole attempt left, it is not sent at all.
    let err =
        client(&server, fast_policy()).create_video(&key(), &video(), Instant::now() + Duration::from_secs(4)).await;
    assert!(matches!(err, Err(HeygenError::Deadline)), "{err:?}");
    let posts = server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(posts, 0);
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error() {
    // Bind a port, then close it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = HeygenClient::new(&format!("http://127.0.0.1:{port}"), fast_policy()).unwrap();
    let err = c.create_video(&key(), &video(), far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Network(_)), "{err:?}");
    assert_eq!(contract_code(&err), "heygen_unavailable");
}

#[tokio::test]
async fn an_unreadable_success_is_undecodable_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("{oops")).mount(&server).await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Undecodable { status: 200 }), "{err:?}");
    assert_eq!(err.definiteness(), Definiteness::Indefinite);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

pub(crate) fn status_body(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": {
        "id": "v-1", "status": status,
        "video_url": "https://files.heygen.ai/v-1.mp4?sig=1",
        "thumbnail_url": "https://files.heygen.ai/v-1.jpg",
        "duration": 31.5,
        "failure_code": null, "failure_message": null,
    }}))
}

#[tokio::test]
async fn a_base_url_with_a_path_and_trailing_slash_is_respected() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/proxy/v3/videos"))
        .respond_with(created("v-1"))
        .expect(1)
        .mount(&server)
        .await;
    let c = HeygenClient::new(&format!("{}/proxy/", server.uri()), fast_policy()).unwrap();
    c.create_video(&key(), &video(), far()).await.unwrap();
}

#[tokio::test]
async fn a_key_that_is_not_a_header_value_is_never_sent_and_not_blamed_on_heygen() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v3/videos")).respond_with(created("v-1")).mount(&server).await;
    let bad_key = SecretString::new("sk-line\nbreak");
    let err = client(&server, fast_policy()).create_video(&bad_key, &video(), far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::KeyNotSendable), "{err:?}");
    assert!(!err.to_string().contains("HeyGen refused"), "{err}");
    assert!(!format!("{err} {err:?}").contains("sk-line"), "the key never shows");
    // Nothing reached HeyGen, so the attempt number stays; the batch stops.
    assert_eq!(err.definiteness(), Definiteness::Indefinite);
    assert_eq!(contract_code(&err), "heygen_auth_failed");
    assert!(stops_batch(&err));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn answers_over_one_mib_are_unreadable() {
    let server = MockServer::start().await;
    let huge = format!(r#"{{"data": {{"video_id": "v-1", "pad": "{}"}}}}"#, "x".repeat(1024 * 1024));
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string(huge)).mount(&server).await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
    assert!(matches!(err, HeygenError::Undecodable { status: 200 }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "not retried");

    let server = MockServer::start().await;
    let huge_error = format!(r#"{{"error": {{"code": "invalid_parameter", "message": "{}"}}}}"#, "x".repeat(2 << 20));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(huge_error))
        .mount(&server)
        .await;
    let err = client(&server, fast_policy()).create_video(&key(), &video(), far()).await.unwrap_err();
    // The status still says what happened; the unread body gives no code.
    assert_eq!(err.heygen_code(), Some("http_400"), "{err:?}");
}

#[tokio::test]
async fn a_retry_starts_only_when_its_whole_timeout_fits() {
    let server = MockServer::start().await;
    let slow_failure = error(503, "unavailable").set_delay(Duration::from_secs(1));
    Mock::given(method("POST")).respond_with(slow_failure).mount(&server).await;
    // Each attempt may take 5 s; with 5.5 s left the first fits, and after its
    // 1 s answer a retry does not.
    let deadline = Instant::now() + Duration::from_millis(5_500);
    let err = client(&server, fast_policy()).create_video(&key(), &video(), deadline).await.unwrap_err();
    assert!(matches!(err, HeygenError::Server { status: 503 }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // With less than one whole attempt left, nothing is sent.
    let deadline = Instant::now() + Duration::from_secs(4);
    let err = client(&server, fast_policy()).create_video(&key(), &video(), deadline).await.unwrap_err();
    assert!(matches!(err, HeygenError::Deadline), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_account_is_read_once_with_the_key_and_each_billing_type_is_understood() {
    use shared::heygen::Account;
    let server = MockServer::start().await;
    let answers = [
        (
            json!({"username": "u", "email": "e", "billing_type": "wallet",
                   "wallet": {"remaining_balance": 12.5, "currency": "USD",
                              "auto_reload": {"enabled": true, "amount_usd": 50, "threshold_usd": 5}}}),
            Account {
                billing_type: Some("wallet".into()),
                remaining_usd: Some(12.5),
                remaining_credits: None,
                auto_reload: Some(true),
            },
        ),
        (
            json!({"billing_type": "usage_based", "usage_based": {"included_credits": 100, "remaining_credits": 42,
                   "spending_cap_usd": 500, "spending_current_usd": 12}}),
            Account { billing_type: Some("usage_based".into()), remaining_credits: Some(42.0), ..Account::default() },
        ),
        (
            json!({"billing_type": "subscription", "subscription": {"credits": 7}}),
            Account { billing_type: Some("subscription".into()), remaining_credits: Some(7.0), ..Account::default() },
        ),
        // Fields HeyGen leaves out or spells otherwise: each null, never an error.
        (json!({"billing_type": 3, "wallet": {"remaining_balance": "lots"}}), Account::default()),
    ];
    for (data, expected) in answers {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/v3/users/me"))
            .and(wiremock::matchers::header("x-api-key", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
            .expect(1)
            .mount(&server)
            .await;
        let account = client(&server, fast_policy()).account(&key(), far()).await.unwrap();
        assert_eq!(account, expected, "{data}");
        server.verify().await;
    }
    // A failure is not retried: the dry run waits for it only briefly.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/v3/users/me"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client(&server, fast_policy()).account(&key(), far()).await.is_err());
}
