//! `openapi.yaml` against the handlers' real responses: every response of a
//! broad set of scenarios matches the schema documented for its route, method
//! and status, and every documented response is produced by some scenario.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use shared::testkit::StoreOp;
use tests::stack::{Stack, WEBHOOK_SECRET, event, webhook_event, with_body};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

const ADMIN: &str = "/admin/content-production/heygen";
const CANCEL: &str = "/admin/content-production/heygen/cancel";
const PROGRESS: &str = "/admin/content-production/heygen/progress";
const WEBHOOK: &str = "/webhooks/heygen";

struct Spec {
    doc: Value,
    seen: BTreeSet<(String, String, String)>,
}

impl Spec {
    fn load() -> Self {
        let text = std::fs::read_to_string(format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        Self { doc: serde_yaml_ng::from_str(&text).unwrap(), seen: BTreeSet::new() }
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
            None => v,
        }
    }

    fn response(&self, path: &str, method: &str, status: u16) -> &Value {
        let op = self.doc["paths"][path].get(method).unwrap_or_else(|| panic!("{method} {path} not documented"));
        let r = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("{method} {path} {status} not documented"));
        self.resolve(r)
    }

    /// Checks one real response against the document.
    fn check(&mut self, path: &str, method: &str, (status, body): &(u16, Value)) {
        let schema = self.response(path, method, *status)["content"]["application/json"]["schema"].clone();
        assert!(!schema.is_null(), "{method} {path} {status}: no JSON schema documented");
        let root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "components": self.doc["components"], "allOf": [schema]});
        let validator = jsonschema::validator_for(&root).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{method} {path} {status} does not match openapi.yaml: {errors:?}\nbody: {body}");
        self.seen.insert((path.to_string(), method.to_string(), status.to_string()));
    }

    /// Every documented response was produced, except those marked x-not-exercised.
    fn assert_all_exercised(&self) {
        let mut missing = Vec::new();
        for (path, ops) in self.doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                for (status, r) in op["responses"].as_object().unwrap() {
                    let exercised = self.seen.contains(&(path.clone(), method.clone(), status.clone()));
                    if !exercised && self.resolve(r).get("x-not-exercised").is_none() {
                        missing.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "documented but never produced: {missing:?}");
    }
}

fn method_of(ev: &Value, m: &str) -> Value {
    let mut ev = ev.clone();
    ev["requestContext"]["http"]["method"] = m.into();
    ev
}

#[tokio::test]
async fn every_response_matches_openapi_and_every_documented_one_is_produced() {
    let mut spec = Spec::load();

    // A configured stack with work to do: videos, per-item errors and a stop.
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.content("c-empty", "cr-a", "2026-03-02", json!({"script": ""})).await;
    stack.content("c-2", "cr-a", "2026-03-03", json!({})).await;
    stack.content("c-3", "cr-a", "2026-03-04", json!({})).await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::header("idempotency-key", "c-2:1"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "invalid_parameter", "message": "bad"}})),
        )
        .mount(&stack.heygen)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::header("idempotency-key", "c-3:1"))
        .respond_with(
            ResponseTemplate::new(402)
                .set_body_json(json!({"error": {"code": "insufficient_credit", "message": "top up"}})),
        )
        .mount(&stack.heygen)
        .await;
    stack.heygen_accepts_creates().await;

    let trigger = event("trigger");
    spec.check(ADMIN, "post", &stack.trigger(event("trigger-dry-run")).await);
    let run = stack.trigger(trigger.clone()).await;
    assert_eq!(run.1["stopped"], "heygen_insufficient_credit");
    spec.check(ADMIN, "post", &run);
    spec.check(ADMIN, "post", &stack.trigger(with_body(trigger.clone(), r#"{"month":"2026-3","mode":"bible"}"#)).await);
    spec.check(ADMIN, "post", &stack.trigger(with_body(trigger.clone(), "nope")).await);
    spec.check(ADMIN, "post", &stack.trigger(event("trigger-no-claims")).await);
    spec.check(ADMIN, "post", &stack.trigger(event("trigger-not-admin")).await);
    spec.check(ADMIN, "post", &stack.trigger(method_of(&trigger, "PUT")).await);
    spec.check(ADMIN, "post", &stack.trigger(with_body(trigger.clone(), &"x".repeat(300 * 1024))).await);
    let mut text_plain = trigger.clone();
    text_plain["headers"]["content-type"] = "text/plain".into();
    spec.check(ADMIN, "post", &stack.trigger(text_plain).await);

    // Cancel: the queue of a month, in every answer.
    let cancel = event("cancel");
    spec.check(CANCEL, "post", &stack.trigger(cancel.clone()).await);
    spec.check(
        CANCEL,
        "post",
        &stack.trigger(with_body(cancel.clone(), r#"{"month":"2026-03","mode":"bible","dry_run":true}"#)).await,
    );
    let mut cancel_no_claims = cancel.clone();
    cancel_no_claims["requestContext"].as_object_mut().unwrap().remove("authorizer");
    spec.check(CANCEL, "post", &stack.trigger(cancel_no_claims).await);
    let mut cancel_not_admin = cancel.clone();
    cancel_not_admin["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[editors]".into();
    spec.check(CANCEL, "post", &stack.trigger(cancel_not_admin).await);
    spec.check(CANCEL, "post", &stack.trigger(method_of(&cancel, "PUT")).await);
    spec.check(CANCEL, "post", &stack.trigger(with_body(cancel.clone(), &"x".repeat(300 * 1024))).await);
    let mut cancel_text = cancel.clone();
    cancel_text["headers"]["content-type"] = "text/plain".into();
    spec.check(CANCEL, "post", &stack.trigger(cancel_text).await);
    let queue_down = Stack::flaky(StoreOp::ListQueued, 0).await;
    spec.check(CANCEL, "post", &queue_down.trigger(cancel.clone()).await);

    spec.check(ADMIN, "get", &stack.pending(event("pending")).await);
    let c1_video = stack.tables.content_raw("c-1").await["heygen_video_id"].as_str().unwrap().to_string();
    stack.heygen_status(&c1_video, "completed").await;
    spec.check(ADMIN, "get", &stack.pending(event("pending-refresh")).await);
    let mut bad_refresh = event("pending");
    bad_refresh["rawQueryString"] = "refresh=maybe".into();
    spec.check(ADMIN, "get", &stack.pending(bad_refresh).await);
    let mut no_claims = event("pending");
    no_claims["requestContext"].as_object_mut().unwrap().remove("authorizer");
    spec.check(ADMIN, "get", &stack.pending(no_claims).await);
    let mut not_admin = event("pending");
    not_admin["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[editors]".into();
    spec.check(ADMIN, "get", &stack.pending(not_admin).await);
    spec.check(ADMIN, "get", &stack.pending(method_of(&event("pending"), "DELETE")).await);
    spec.check(ADMIN, "get", &stack.pending(with_body(event("pending"), &"x".repeat(300 * 1024))).await);

    // The month's progress: items in several states, then every refusal.
    spec.check(PROGRESS, "get", &stack.pending(event("progress")).await);
    let mut bad_month = event("progress");
    bad_month["rawQueryString"] = "month=2026-3&mode=bible".into();
    spec.check(PROGRESS, "get", &stack.pending(bad_month).await);
    let mut progress_no_claims = event("progress");
    progress_no_claims["requestContext"].as_object_mut().unwrap().remove("authorizer");
    spec.check(PROGRESS, "get", &stack.pending(progress_no_claims).await);
    let mut progress_not_admin = event("progress");
    progress_not_admin["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[editors]".into();
    spec.check(PROGRESS, "get", &stack.pending(progress_not_admin).await);
    spec.check(PROGRESS, "get", &stack.pending(method_of(&event("progress"), "POST")).await);
    spec.check(PROGRESS, "get", &stack.pending(with_body(event("progress"), &"x".repeat(300 * 1024))).await);
    let creators_down = Stack::flaky(StoreOp::Creators, 0).await;
    spec.check(PROGRESS, "get", &creators_down.pending(event("progress")).await);

    // The webhook, in every state.
    stack.content("w-1", "cr-a", "2026-03-05", json!({})).await;
    stack.pending_item("w-1", "v-w1").await;
    stack.heygen_status("v-w1", "completed").await;
    let notice =
        json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v-w1", "callback_id": "w-1"}});
    spec.check(
        WEBHOOK,
        "post",
        &stack.webhook(webhook_event(&notice, Some(("heygen-signature", WEBHOOK_SECRET)))).await,
    );
    spec.check(WEBHOOK, "post", &stack.webhook(webhook_event(&notice, Some(("heygen-signature", "wrong")))).await);
    stack
        .content(
            "w-2",
            "cr-a",
            "2026-03-06",
            json!({"heygen_status": "requested", "heygen_requested_at": "2026-03-01T00:00:00.000Z"}),
        )
        .await;
    let requested =
        json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v-w2", "callback_id": "w-2"}});
    spec.check(WEBHOOK, "post", &stack.webhook(webhook_event(&requested, None)).await);
    spec.check(WEBHOOK, "post", &stack.webhook(method_of(&event("webhook-success"), "PATCH")).await);
    spec.check(WEBHOOK, "post", &stack.webhook(with_body(event("webhook-success"), &"x".repeat(300 * 1024))).await);
    spec.check(WEBHOOK, "get", &stack.webhook(event("webhook-get")).await);
    spec.check(WEBHOOK, "options", &stack.webhook(event("webhook-options")).await);
    spec.check(WEBHOOK, "get", &stack.webhook(with_body(event("webhook-get"), &"x".repeat(300 * 1024))).await);
    spec.check(WEBHOOK, "options", &stack.webhook(with_body(event("webhook-options"), &"x".repeat(300 * 1024))).await);

    // HeyGen refusing the key during a confirmation.
    let refused = Stack::new().await;
    refused.content("r-1", "cr-a", "2026-03-01", json!({})).await;
    refused.pending_item("r-1", "v-r1").await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&refused.heygen).await;
    let notice =
        json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v-r1", "callback_id": "r-1"}});
    spec.check(WEBHOOK, "post", &refused.webhook(webhook_event(&notice, None)).await);

    // Nothing configured; DynamoDB failing.
    let bare = Stack::without_secret().await;
    spec.check(ADMIN, "post", &bare.trigger(trigger.clone()).await);
    spec.check(ADMIN, "get", &bare.pending(event("pending-refresh")).await);
    let failing = Stack::flaky(StoreOp::Settings, 0).await;
    spec.check(ADMIN, "post", &failing.trigger(trigger.clone()).await);

    spec.assert_all_exercised();
}
