//! The DynamoDB store against moto server: every operation and every condition.

use std::sync::Arc;
use std::time::Duration;
use tests::ApplyById;

use serde_json::{Value, json};
use shared::domain::Timestamp;
use shared::domain::{Definiteness, Mode, Month, Outcome};
use shared::store::prelude::*;
use tests::{Tables, local_aws};

pub(crate) const STALE: Duration = Duration::from_secs(600);

pub(crate) fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub(crate) fn content(id: &str, creator: &str, date: &str, mode: &str) -> Value {
    json!({
        "content_id": id,
        "assigned_creator_id": creator,
        "date": date,
        "mode": mode,
        "script": format!("Script of {id}"),
        "title": format!("Title of {id}"),
        "status": "draft",
    })
}

fn month(s: &str) -> Month {
    s.parse().unwrap()
}

pub(crate) async fn seeded_item(tables: &Tables, id: &str) -> shared::domain::ContentItem {
    tables.put_content(content(id, "cr-1", "2026-03-05", "bible")).await;
    tables.store().get_content(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn settings_default_when_absent() {
    let tables = Tables::create().await;
    let settings = tables.store().settings().await.unwrap();
    assert_eq!(settings, shared::domain::Settings::default());
}

#[tokio::test]
async fn settings_are_read_with_fallbacks() {
    let tables = Tables::create().await;
    tables.put_setting("heygen_callback_url", "https://api.example/webhooks/heygen").await;
    tables.put_setting("heygen_default_voice_id", "voice-9").await;
    tables.put_setting("heygen_requests_per_second", "0.5").await;
    tables.put_setting("unrelated", "x").await;
    let settings = tables.store().settings().await.unwrap();
    assert_eq!(settings.callback_url.as_deref(), Some("https://api.example/webhooks/heygen"));
    assert_eq!(settings.default_voice_id.as_deref(), Some("voice-9"));
    assert_eq!(settings.requests_per_second, 0.5);

    tables.put_setting("heygen_requests_per_second", "-2").await;
    assert_eq!(tables.store().settings().await.unwrap().requests_per_second, 1.0);
    tables.put_setting("heygen_requests_per_second", "fast").await;
    assert_eq!(tables.store().settings().await.unwrap().requests_per_second, 1.0);
}

#[tokio::test]
async fn only_active_ai_creators_with_an_avatar_for_the_mode_are_eligible() {
    let tables = Tables::create().await;
    let creators = [
        json!({"creator_id": "cr-b", "name": "B", "is_ai": true, "active": true,
               "heygen_avatar_ids": {"bible": "av-b"}, "heygen_voice_ids": {"bible": "vo-b"}}),
        json!({"creator_id": "cr-a", "name": "A", "is_ai": true, "active": true,
               "heygen_avatar_ids": {"bible": "av-a", "positivity": "av-a2"}}),
        json!({"creator_id": "inactive", "is_ai": true, "active": false, "heygen_avatar_ids": {"bible": "x"}}),
        json!({"creator_id": "human", "is_ai": false, "active": true, "heygen_avatar_ids": {"bible": "x"}}),
        json!({"creator_id": "empty-avatar", "is_ai": true, "active": true, "heygen_avatar_ids": {"bible": ""}}),
        json!({"creator_id": "other-mode", "is_ai": true, "active": true, "heygen_avatar_ids": {"positivity": "x"}}),
        json!({"creator_id": "no-avatars", "is_ai": true, "active": true}),
    ];
    for c in creators {
        tables.put_creator(c).await;
    }
    let store = tables.store();
    let bible: Vec<_> = store.eligible_creators(Mode::Bible).await.unwrap();
    let ids: Vec<_> = bible.iter().map(|c| c.creator_id.as_str()).collect();
    assert_eq!(ids, ["cr-a", "cr-b"]);
    assert_eq!(bible[1].voice_for(Mode::Bible), Some("vo-b"));
    assert_eq!(bible[1].avatar_for(Mode::Bible), Some("av-b"));

    let positivity: Vec<_> = store.eligible_creators(Mode::Positivity).await.unwrap();
    let ids: Vec<_> = positivity.iter().map(|c| c.creator_id.as_str()).collect();
    assert_eq!(ids, ["cr-a", "other-mode"]);
}

#[tokio::test]
async fn content_for_returns_the_creators_items_of_that_month_and_mode_only() {
    let tables = Tables::create().await;
    for item in [
        content("in-1", "cr-1", "2026-03-01", "bible"),
        content("in-2", "cr-1", "2026-03-31", "bible"),
        content("other-mode", "cr-1", "2026-03-02", "positivity"),
        content("other-month", "cr-1", "2026-04-01", "bible"),
        content("prev-month", "cr-1", "2026-02-28", "bible"),
        content("other-creator", "cr-2", "2026-03-03", "bible"),
        json!({"content_id": "unassigned", "date": "2026-03-04", "mode": "bible", "script": "x"}),
    ] {
        tables.put_content(item).await;
    }
    let mut items = tables.store().content_for("cr-1", month("2026-03"), Mode::Bible).await.unwrap();
    items.sort_by(shared::domain::processing_order);
    let ids: Vec<_> = items.iter().map(|i| i.content_id.as_str()).collect();
    assert_eq!(ids, ["in-1", "in-2"]);
    assert_eq!(items[0].script.as_deref(), Some("Script of in-1"));
    assert_eq!(items[0].title.as_deref(), Some("Title of in-1"));
}

#[tokio::test]
async fn get_content_of_an_unknown_id_is_none() {
    let tables = Tables::create().await;
    assert_eq!(tables.store().get_content("nope").await.unwrap(), None);
}

#[tokio::test]
async fn claim_writes_requested_with_a_fresh_claim_id_and_first_attempt() {
    let tables = Tables::create().await;
    let item = seeded_item(&tables, "c-1").await;
    let now = t("2026-03-01T10:00:00.000Z");
    let claim = tables.store().claim(&item, now, STALE, None).await.unwrap();
    assert_eq!(claim.attempt, 1);
    assert_eq!(claim.content_id, "c-1");
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "requested");
    assert_eq!(raw["heygen_claim_id"], claim.claim_id.as_str());
    assert_eq!(raw["heygen_attempt"], 1);
    assert_eq!(raw["heygen_requested_at"], "2026-03-01T10:00:00.000Z");
    assert_eq!(raw["status"], "draft", "the platform's status is untouched by a claim");
}

#[tokio::test]
async fn claim_fails_as_conflict_when_the_item_is_not_eligible() {
    let tables = Tables::create().await;
    let store = tables.store();
    let now = t("2026-03-01T10:00:00.000Z");
    let mut cases = vec![
        ("with-video", json!({"creator_video_url": "https://cdn/v.mp4"})),
        ("pending", json!({"heygen_status": "pending", "heygen_video_id": "v-1"})),
        ("completed", json!({"heygen_status": "completed", "heygen_video_id": "v-1"})),
        ("fresh-claim", json!({"heygen_status": "requested", "heygen_requested_at": "2026-03-01T09:55:00.000Z"})),
    ];
    for (id, extra) in cases.drain(..) {
        let mut item = content(id, "cr-1", "2026-03-05", "bible");
        item.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        tables.put_content(item).await;
        let read = store.get_content(id).await.unwrap().unwrap();
        let before = tables.content_raw(id).await;
        assert!(matches!(store.claim(&read, now, STALE, None).await, Err(StoreError::Conflict)), "{id}");
        assert_eq!(tables.content_raw(id).await, before, "{id} unchanged");
    }
}

#[tokio::test]
async fn claim_condition_holds_against_changes_made_after_the_read() {
    let tables = Tables::create().await;
    let store = tables.store();
    let now = t("2026-03-01T10:00:00.000Z");

    // A video attached by the platform after the trigger read the item.
    let read = seeded_item(&tables, "video-later").await;
    let mut with_video = content("video-later", "cr-1", "2026-03-05", "bible");
    with_video["creator_video_url"] = json!("https://cdn/v.mp4");
    tables.put_content(with_video).await;
    assert!(matches!(store.claim(&read, now, STALE, None).await, Err(StoreError::Conflict)));

    // Claimed and released by another call after the read: the item is eligible
    // again, but not as read (its attempt moved on), so this stale read loses.
    let read = seeded_item(&tables, "claimed-later").await;
    let other = store.claim(&read, now, STALE, None).await.unwrap();
    store.release(&other, "heygen_rejected: bad avatar", Definiteness::Definite).await.unwrap();
    assert!(matches!(store.claim(&read, now, STALE, None).await, Err(StoreError::Conflict)));

    // An item deleted after the read is not recreated by a claim.
    let read = seeded_item(&tables, "deleted-later").await;
    tables
        .client
        .delete_item()
        .table_name(&tables.names.content)
        .key("content_id", aws_sdk_dynamodb::types::AttributeValue::S("deleted-later".into()))
        .send()
        .await
        .unwrap();
    assert!(matches!(store.claim(&read, now, STALE, None).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_content("deleted-later").await.unwrap(), None);
}

#[tokio::test]
async fn eight_concurrent_claims_of_one_item_make_exactly_one_winner() {
    let tables = Tables::create().await;
    let store = Arc::new(tables.store());
    let now = t("2026-03-01T10:00:00.000Z");
    for trial in 0..25 {
        let id = format!("race-{trial}");
        let read = Arc::new(seeded_item(&tables, &id).await);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, read) = (Arc::clone(&store), Arc::clone(&read));
                tokio::spawn(async move { store.claim(&read, now, STALE, None).await })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(claim) => winners.push(claim),
                Err(StoreError::Conflict) => {}
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "trial {trial}");
        assert_eq!(tables.content_raw(&id).await["heygen_claim_id"], winners[0].claim_id.as_str());
    }
}

#[tokio::test]
async fn a_stale_claim_is_taken_again_keeping_the_attempt() {
    let tables = Tables::create().await;
    let store = tables.store();
    let t0 = t("2026-03-01T10:00:00.000Z");
    let read = seeded_item(&tables, "c-1").await;
    let first = store.claim(&read, t0, STALE, None).await.unwrap();

    // Not yet stale at 599 s.
    let reread = store.get_content("c-1").await.unwrap().unwrap();
    let at_599 = t0.plus(Duration::from_secs(599));
    assert!(matches!(store.claim(&reread, at_599, STALE, None).await, Err(StoreError::Conflict)));

    let at_600 = t0.plus(STALE);
    let second = store.claim(&reread, at_600, STALE, None).await.unwrap();
    assert_eq!(second.attempt, first.attempt, "a stale reclaim replays the same idempotency key");
    assert_ne!(second.claim_id, first.claim_id);
    assert_eq!(tables.content_raw("c-1").await["heygen_requested_at"], "2026-03-01T10:10:00.000Z");

    // The first claimant's late answer can no longer be recorded or released.
    assert!(matches!(store.record_video(&first, "v-late").await, Err(StoreError::Conflict)));
    assert!(matches!(store.release(&first, "x: y", Definiteness::Definite).await, Err(StoreError::Conflict)));
    store.record_video(&second, "v-1").await.unwrap();
    assert_eq!(tables.content_raw("c-1").await["heygen_video_id"], "v-1");
}

#[tokio::test]
async fn record_video_makes_the_item_pending_once_and_only_for_its_claim() {
    let tables = Tables::create().await;
    let store = tables.store();
    let now = t("2026-03-01T10:00:00.000Z");
    let read = seeded_item(&tables, "c-1").await;
    let claim = store.claim(&read, now, STALE, None).await.unwrap();

    let mut forged = claim.clone();
    forged.claim_id = "someone-else".into();
    assert!(matches!(store.record_video(&forged, "v-x").await, Err(StoreError::Conflict)));

    store.record_video(&claim, "v-1").await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "pending");
    assert_eq!(raw["heygen_video_id"], "v-1");
    // Recorded already: a second record (a duplicate answer) changes nothing.
    assert!(matches!(store.record_video(&claim, "v-2").await, Err(StoreError::Conflict)));
    assert_eq!(tables.content_raw("c-1").await["heygen_video_id"], "v-1");
}

#[tokio::test]
async fn attributes_the_service_does_not_know_survive_every_write() {
    let tables = Tables::create().await;
    let store = tables.store();
    let mut item = content("c-1", "cr-1", "2026-03-05", "bible");
    let extra = json!({
        "platform_gsi_pk": "FEED#2026-03",
        "likes": 42,
        "tags": {"season": "lent", "nested": {"deep": true}},
        "published": false,
    });
    item.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    tables.put_content(item).await;
    let keeps_extras = |raw: &Value| {
        for (k, v) in extra.as_object().unwrap() {
            assert_eq!(&raw[k], v, "{k} survived");
        }
        for k in ["date", "mode", "script", "title", "assigned_creator_id"] {
            assert!(raw.get(k).is_some(), "{k} survived");
        }
    };
    let now = t("2026-03-01T10:00:00.000Z");

    let read = store.get_content("c-1").await.unwrap().unwrap();
    let claim = store.claim(&read, now, STALE, None).await.unwrap();
    keeps_extras(&tables.content_raw("c-1").await);
    store.release(&claim, "heygen_rejected: x", Definiteness::Definite).await.unwrap();
    keeps_extras(&tables.content_raw("c-1").await);
    let read = store.get_content("c-1").await.unwrap().unwrap();
    let claim = store.claim(&read, now, STALE, None).await.unwrap();
    store.record_video(&claim, "v-1").await.unwrap();
    keeps_extras(&tables.content_raw("c-1").await);
    let done = Outcome::Completed { video_url: "https://v/1.mp4".into(), thumbnail_url: None, duration: None };
    store.apply_outcome_of("c-1", "v-1", &done, now, true).await.unwrap();
    keeps_extras(&tables.content_raw("c-1").await);
}

#[tokio::test]
async fn dynamodb_failures_are_typed_unavailable() {
    // Tables that do not exist stand in for DynamoDB failing.
    let tables = Tables::create().await;
    let mut names = tables.names.clone();
    names.content = "no-such-table".into();
    names.settings = "no-such-table".into();
    names.creators = "no-such-table".into();
    let store = shared::store::DynamoStore::new(tables.client.clone(), names);
    let now = t("2026-03-01T10:00:00.000Z");
    let item = shared::domain::ContentItem { content_id: "c-1".into(), ..Default::default() };
    let claim = shared::domain::Claim {
        content_id: "c-1".into(),
        claim_id: "k".into(),
        attempt: 1,
        slot: None,
        reservation: None,
    };
    let done = Outcome::Completed { video_url: "u".into(), thumbnail_url: None, duration: None };
    let results = [
        store.settings().await.err(),
        store.eligible_creators(Mode::Bible).await.err(),
        store.content_for("cr-1", month("2026-03"), Mode::Bible).await.err(),
        store.get_content("c-1").await.err(),
        store.find_by_video_id("v-1").await.err(),
        store.claim(&item, now, STALE, None).await.err(),
        store.record_video(&claim, "v").await.err(),
        store.release(&claim, "x", Definiteness::Definite).await.err(),
        store.apply_outcome_of("c-1", "v", &done, now, true).await.err(),
        store.list_in_flight().await.err(),
    ];
    for (i, result) in results.into_iter().enumerate() {
        assert!(matches!(result, Some(StoreError::Unavailable { .. })), "operation {i}: {result:?}");
    }
}

/// About 100 KB of an attribute the service does not know: 12 items pass
/// DynamoDB's (and moto's) 1 MB page.
fn padding() -> String {
    "x".repeat(100_000)
}

#[tokio::test]
async fn listings_follow_every_page() {
    let tables = Tables::create().await;
    let store = tables.store();
    for i in 0..12 {
        let mut item = content(&format!("c-{i:02}"), "cr-1", "2026-03-05", "bible");
        item["padding"] = padding().into();
        item["heygen_status"] = "pending".into();
        item["heygen_video_id"] = format!("v-{i}").into();
        item["heygen_pending"] = "pending".into();
        item["heygen_requested_at"] = format!("2026-03-01T10:00:{i:02}.000Z").into();
        tables.put_content(item).await;
        tables
            .put_creator(json!({"creator_id": format!("cr-{i:02}"), "is_ai": true, "active": true,
                                "heygen_avatar_ids": {"bible": "av"}, "padding": padding()}))
            .await;
    }
    // One request does not hold them all.
    let first_page = tables
        .client
        .query()
        .table_name(&tables.names.content)
        .index_name(shared::store::index::CONTENT_BY_CREATOR_DATE)
        .key_condition_expression("assigned_creator_id = :c")
        .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S("cr-1".into()))
        .send()
        .await
        .unwrap();
    assert!(first_page.last_evaluated_key.is_some(), "the seed must span more than one page");

    assert_eq!(store.content_for("cr-1", month("2026-03"), Mode::Bible).await.unwrap().len(), 12);
    assert_eq!(store.list_in_flight().await.unwrap().len(), 12);
    assert_eq!(store.eligible_creators(Mode::Bible).await.unwrap().len(), 12);
}

#[tokio::test]
async fn a_claim_applied_but_answered_with_a_failure_is_still_ours() {
    // The first UpdateItem of the claim is applied by DynamoDB, but its answer is
    // replaced by a 500: the SDK retries, meets its own condition, and fails it.
    let aws = local_aws().await;
    let lost = LoseFirstUpdateAnswer::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&aws).interceptor(lost.clone()).build();
    let lossy = aws_sdk_dynamodb::Client::from_conf(config);
    let tables = Tables::create().await;
    tables.put_content(content("c-1", "cr-1", "2026-03-05", "bible")).await;
    let store = shared::store::DynamoStore::new(lossy, tables.names.clone());
    let read = seeded_item(&tables, "c-1").await;
    let claim = store.claim(&read, t("2026-03-01T10:00:00.000Z"), STALE, None).await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "requested");
    assert_eq!(raw["heygen_claim_id"].as_str(), Some(claim.claim_id.as_str()));
    assert!(lost.0.load(std::sync::atomic::Ordering::SeqCst), "the first answer was lost");
    store.record_video(&claim, "v-1").await.unwrap();
}

/// Turns the answer of the first UpdateItem into a 500, after DynamoDB applied it.
#[derive(Clone, Debug, Default)]
struct LoseFirstUpdateAnswer(Arc<std::sync::atomic::AtomicBool>, Arc<std::sync::atomic::AtomicBool>);

impl aws_sdk_dynamodb::config::Intercept for LoseFirstUpdateAnswer {
    fn name(&self) -> &'static str {
        "LoseFirstUpdateAnswer"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        self.1.store(target.ends_with("UpdateItem"), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let is_update = self.1.load(std::sync::atomic::Ordering::SeqCst);
        if is_update && !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // A 500 is retried by the SDK whatever its body says.
            *context.response_mut().status_mut() = 500u16.try_into().unwrap();
        }
        Ok(())
    }
}
