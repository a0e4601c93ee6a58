//! What the client sends, and what the test doubles answer, held to HeyGen's own
//! JSON Schemas (`tests/heygen-schemas/`, from HeyGen's CLI).

use std::time::Duration;

use serde_json::{Value, json};
use shared::heygen::{CreateVideo, Heygen, HeygenClient};
use shared::secret::SecretString;
use tests::stack::{Stack, fast_policy};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A schema file, with OpenAPI 3.0's `nullable: true` read as JSON Schema's
/// `null` type (and `null` added to an `enum`).
fn schema(name: &str) -> Value {
    let path = format!("{}/heygen-schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    nullable_to_null(&mut schema);
    schema
}

fn nullable_to_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            // OpenAPI's discriminator is an annotation, and its mapping points at
            // components this file does not carry.
            map.remove("discriminator");
            map.values_mut().for_each(nullable_to_null);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_null),
        _ => {}
    }
}

fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match HeyGen's schema: {errors:#?}\n{instance}");
}

#[tokio::test]
async fn what_the_client_sends_is_a_create_heygen_accepts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"video_id": "v-1", "status": "waiting"}})),
        )
        .mount(&server)
        .await;
    let client = HeygenClient::new(&server.uri(), fast_policy()).unwrap();
    let full = CreateVideo {
        content_id: "c-1".into(),
        attempt: 1,
        avatar_id: "av-1".into(),
        script: "Blessed are the peacemakers.".into(),
        voice_id: Some("vo-1".into()),
        title: Some("Day 1".into()),
        callback_url: "https://api.example/webhooks/heygen".into(),
    };
    let bare = CreateVideo { voice_id: None, title: None, ..full.clone() };
    let deadline = Instant::now() + Duration::from_secs(30);
    for video in [&full, &bare] {
        client.create_video(&SecretString::new("k"), video, deadline).await.unwrap();
    }
    let request = schema("create-video.request.json");
    let avatar = &request["oneOf"][0];
    assert_eq!(avatar["required"], json!(["type", "avatar_id"]), "the avatar variant");
    for sent in server.received_requests().await.unwrap() {
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_valid(&request, &body, "the create body");
        assert_valid(avatar, &body, "the create body, as an avatar video");
        for key in body.as_object().unwrap().keys() {
            assert!(avatar["properties"].get(key).is_some(), "{key} is not a field HeyGen knows");
        }
    }
}

#[tokio::test]
async fn the_test_doubles_answer_as_heygen_does() {
    let stack = Stack::new().await;
    stack.heygen_accepts_creates().await;
    stack.heygen_status("v-done", "completed").await;
    stack.heygen_status("v-failed", "failed").await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/v3/videos", stack.heygen.uri()))
        .header("idempotency-key", "c-1:1")
        .json(&json!({"type": "avatar", "avatar_id": "a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(&schema("create-video.response.json"), &created, "the stand-in's create answer");
    for video in ["v-done", "v-failed"] {
        let status: Value =
            http.get(format!("{}/v3/videos/{video}", stack.heygen.uri())).send().await.unwrap().json().await.unwrap();
        assert_valid(&schema("video-detail.response.json"), &status, "the stand-in's status answer");
    }
}

#[tokio::test]
async fn the_bulk_statuses_doubles_answer_as_heygen_does() {
    let stack = Stack::new().await;
    stack.heygen_status("v-done", "completed").await;
    stack.heygen_status("v-failed", "failed").await;
    let sim = devkit::sim::start(devkit::sim::SimConfig::new("k", "s", Duration::ZERO)).await.unwrap();
    let http = reqwest::Client::new();
    for script in ["Hello", "Hello [fail]", "Hello [hold]"] {
        http.post(format!("{sim}/v3/videos"))
            .header("x-api-key", "k")
            .json(&json!({"type": "avatar", "avatar_id": "a", "script": script, "aspect_ratio": "9:16"}))
            .send()
            .await
            .unwrap();
    }
    let schema = schema("video-statuses.response.json");
    for (base, ids) in [(stack.heygen.uri(), "v-done,v-failed,v-unknown"), (sim, "sim-00001,sim-00002,sim-00003,nope")]
    {
        let answer: Value = http
            .get(format!("{base}/v3/videos/statuses?video_ids={ids}"))
            .header("x-api-key", "k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_valid(&schema, &answer, "a double's bulk statuses");
        let statuses: Vec<&str> =
            answer["data"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        let want: &[&str] = if ids.starts_with("v-") {
            &["completed", "failed", "not_found"]
        } else {
            &["completed", "failed", "processing", "not_found"]
        };
        assert_eq!(statuses, want, "{base}");
    }
}
