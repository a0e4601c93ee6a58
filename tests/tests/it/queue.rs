//! The render queue and the render slots in the DynamoDB store, on moto: every
//! operation and condition the worker and the trigger rely on.

use std::time::Duration;
use tests::ApplyById;

use serde_json::{Value, json};
use shared::domain::{ContentItem, Definiteness, Outcome, Timestamp};
use shared::store::prelude::*;
use tests::Tables;

const STALE: Duration = Duration::from_secs(600);
const CALLBACK: &str = "https://api.example/webhooks/heygen";

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn now() -> Timestamp {
    t("2026-03-01T10:00:00.000Z")
}

async fn put(tables: &Tables, id: &str, creator: &str, date: &str, extra: Value) -> ContentItem {
    let mut item = json!({"content_id": id, "assigned_creator_id": creator, "date": date, "mode": "bible",
                          "script": "Hello", "status": "draft"});
    item.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    tables.put_content(item).await;
    read(tables, id).await
}

async fn read(tables: &Tables, id: &str) -> ContentItem {
    tables.store().get_content(id).await.unwrap().unwrap()
}

fn ids(items: &[ContentItem]) -> Vec<&str> {
    items.iter().map(|i| i.content_id.as_str()).collect()
}

#[tokio::test]
async fn the_queue_is_listed_in_order_and_an_item_leaves_it_when_claimed() {
    let tables = Tables::create().await;
    let store = tables.store();
    for (id, creator, date) in [
        ("c-3", "cr-a", "2026-03-02"),
        ("c-2", "cr-b", "2026-03-01"),
        ("c-1", "cr-a", "2026-03-01"),
        ("c-0", "cr-a", "2026-03-01"),
    ] {
        let item = put(&tables, id, creator, date, json!({})).await;
        store.enqueue(&item, now(), STALE, CALLBACK).await.unwrap();
    }
    put(&tables, "c-not-queued", "cr-a", "2026-03-01", json!({})).await;
    let queue = store.list_queued().await.unwrap();
    assert_eq!(ids(&queue), ["c-0", "c-1", "c-2", "c-3"], "(date, creator, content)");

    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "queued");
    assert_eq!(raw["heygen_queued_at"], "2026-03-01T10:00:00.000Z");
    assert_eq!(raw["heygen_callback_url"], CALLBACK);
    assert_eq!(raw["heygen_queue_order"], "2026-03-01#cr-a#c-1#bible");
    assert!(read(&tables, "c-1").await.still_as_queued());

    store.take_slot(0, "c-1", now()).await.unwrap();
    let claim = store.claim(&queue[1], now(), STALE, Some(0)).await.unwrap();
    assert_eq!((claim.attempt, claim.slot), (1, Some(0)));
    let raw = tables.content_raw("c-1").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_slot"].as_u64()), (Some("requested"), Some(0)));
    assert!(raw.get("heygen_queue").is_none(), "out of the queue's index");
    assert_eq!(ids(&store.list_queued().await.unwrap()), ["c-0", "c-2", "c-3"]);
    assert_eq!(store.list_in_flight().await.unwrap().len(), 1);
}

#[tokio::test]
async fn only_an_eligible_unchanged_item_is_queued() {
    let tables = Tables::create().await;
    let store = tables.store();
    let pending = put(&tables, "c-pending", "cr-a", "2026-03-01", json!({"heygen_status": "pending"})).await;
    let video = put(&tables, "c-video", "cr-a", "2026-03-01", json!({"creator_video_url": "https://cdn/v.mp4"})).await;
    for item in [&pending, &video] {
        assert!(matches!(store.enqueue(item, now(), STALE, CALLBACK).await, Err(StoreError::Conflict)));
    }
    let fresh = put(&tables, "c-1", "cr-a", "2026-03-01", json!({})).await;
    store.enqueue(&fresh, now(), STALE, CALLBACK).await.unwrap();
    // Queued already: the same read cannot queue it twice, nor can a new one
    // (a moment later: at the very same millisecond and callback, a second
    // call reads as the SDK's retry of the first, whose write it finds).
    let later = t("2026-03-01T10:00:00.001Z");
    assert!(matches!(store.enqueue(&fresh, later, STALE, CALLBACK).await, Err(StoreError::Conflict)));
    let queued = read(&tables, "c-1").await;
    assert!(matches!(store.enqueue(&queued, later, STALE, CALLBACK).await, Err(StoreError::Conflict)));
    // A stale claim may be queued again, keeping its attempt.
    let stale = put(
        &tables,
        "c-stale",
        "cr-a",
        "2026-03-01",
        json!({"heygen_status": "requested", "heygen_requested_at": "2026-03-01T09:00:00.000Z",
               "heygen_claim_id": "old", "heygen_attempt": 2, "heygen_pending": "pending"}),
    )
    .await;
    store.enqueue(&stale, now(), STALE, CALLBACK).await.unwrap();
    let raw = tables.content_raw("c-stale").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_attempt"].as_u64()), (Some("queued"), Some(2)));
    assert!(raw.get("heygen_pending").is_none() && raw.get("heygen_claim_id").is_none());
}

#[tokio::test]
async fn dequeue_keeps_the_attempt_and_takes_only_queued_items() {
    let tables = Tables::create().await;
    let store = tables.store();
    let failed =
        put(&tables, "c-1", "cr-a", "2026-03-01", json!({"heygen_status": "failed", "heygen_attempt": 3})).await;
    store.enqueue(&failed, now(), STALE, CALLBACK).await.unwrap();
    store.dequeue("c-1").await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert!(raw.get("heygen_status").is_none(), "{raw}");
    assert_eq!(raw["heygen_attempt"], 3);
    for gone in ["heygen_queue", "heygen_queue_order", "heygen_queued_at", "heygen_callback_url"] {
        assert!(raw.get(gone).is_none(), "{gone}");
    }
    assert!(store.list_queued().await.unwrap().is_empty());
    assert!(matches!(store.dequeue("c-1").await, Err(StoreError::Conflict)));
    put(&tables, "c-2", "cr-a", "2026-03-01", json!({"heygen_status": "pending"})).await;
    assert!(matches!(store.dequeue("c-2").await, Err(StoreError::Conflict)));
    assert_eq!(tables.content_raw("c-2").await["heygen_status"], "pending");
}

#[tokio::test]
async fn a_requeued_claim_keeps_or_advances_its_attempt_and_frees_its_slot() {
    let tables = Tables::create().await;
    let store = tables.store();
    let item = put(&tables, "c-1", "cr-a", "2026-03-01", json!({})).await;
    store.enqueue(&item, now(), STALE, CALLBACK).await.unwrap();
    for (definiteness, attempt) in [(Definiteness::Indefinite, 1), (Definiteness::Definite, 2)] {
        let queued = read(&tables, "c-1").await;
        store.take_slot(2, "c-1", now()).await.unwrap();
        let claim = store.claim(&queued, now(), STALE, Some(2)).await.unwrap();
        store.requeue(&claim, definiteness, None).await.unwrap();
        let raw = tables.content_raw("c-1").await;
        assert_eq!((raw["heygen_status"].as_str(), raw["heygen_attempt"].as_u64()), (Some("queued"), Some(attempt)));
        assert!(raw.get("heygen_slot").is_none() && raw.get("heygen_pending").is_none());
        assert!(store.render_slots(3).await.unwrap()[2].is_free(), "the slot is free again");
        assert_eq!(ids(&store.list_queued().await.unwrap()), ["c-1"]);
        // Only the claim that holds it can put it back.
        assert!(matches!(store.requeue(&claim, definiteness, None).await, Err(StoreError::Conflict)));
    }
}

#[tokio::test]
async fn a_slot_is_taken_once_and_freed_only_by_its_holder() {
    let tables = Tables::create().await;
    let store = tables.store();
    assert!(store.render_slots(4).await.unwrap().iter().all(|s| s.is_free()));
    store.take_slot(1, "c-1", now()).await.unwrap();
    assert!(matches!(store.take_slot(1, "c-2", now()).await, Err(StoreError::Conflict)));
    assert!(matches!(store.free_slot(1, "c-2").await, Err(StoreError::Conflict)));
    let slots = store.render_slots(4).await.unwrap();
    let holder = slots[1].holder.as_ref().unwrap();
    assert_eq!((holder.content_id.as_str(), holder.taken_at.as_str()), ("c-1", "2026-03-01T10:00:00.000Z"));
    assert!(slots.iter().enumerate().all(|(i, s)| s.is_free() == (i != 1)));
    store.free_slot(1, "c-1").await.unwrap();
    assert!(store.render_slots(4).await.unwrap()[1].is_free());
    // Past one BatchGetItem's 100 keys.
    store.take_slot(110, "c-9", now()).await.unwrap();
    let many = store.render_slots(120).await.unwrap();
    assert_eq!(many.len(), 120);
    assert_eq!(many.iter().filter(|s| !s.is_free()).map(|s| s.index).collect::<Vec<_>>(), [110]);
}

#[tokio::test]
async fn eight_concurrent_takers_of_one_slot_make_one_holder() {
    let tables = Tables::create().await;
    let takes = (0..8).map(|i| {
        let store = tables.store();
        tokio::spawn(async move { store.take_slot(0, &format!("c-{i}"), now()).await })
    });
    let results: Vec<_> = futures_results(takes).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::Conflict))));
}

async fn futures_results(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<(), StoreError>>>,
) -> Vec<Result<(), StoreError>> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn leaving_flight_frees_the_slot_whichever_way() {
    let tables = Tables::create().await;
    let store = tables.store();
    let done =
        Outcome::Completed { video_url: "https://files.heygen.ai/v.mp4".into(), thumbnail_url: None, duration: None };
    let failed = Outcome::Failed { message: "render failed".into() };
    for (slot, id) in [(0, "c-release"), (1, "c-complete"), (2, "c-fail")] {
        let item = put(&tables, id, "cr-a", "2026-03-01", json!({})).await;
        store.enqueue(&item, now(), STALE, CALLBACK).await.unwrap();
        store.take_slot(slot, id, now()).await.unwrap();
        let claim = store.claim(&read(&tables, id).await, now(), STALE, Some(slot)).await.unwrap();
        match id {
            "c-release" => store.release(&claim, "heygen_rejected: no", Definiteness::Definite).await.unwrap(),
            _ => {
                store.record_video(&claim, &format!("v-{id}")).await.unwrap();
                let outcome = if id == "c-complete" { &done } else { &failed };
                store.apply_outcome_of(id, &format!("v-{id}"), outcome, now(), true).await.unwrap();
            }
        }
        assert!(store.render_slots(3).await.unwrap()[slot as usize].is_free(), "{id}");
        let raw = tables.content_raw(id).await;
        assert!(raw.get("heygen_slot").is_none(), "{id}: {raw}");
    }
    assert_eq!(tables.content_raw("c-complete").await["heygen_checked_at"], "2026-03-01T10:00:00.000Z");
}

#[tokio::test]
async fn a_check_is_recorded_only_for_the_current_pending_video() {
    let tables = Tables::create().await;
    let store = tables.store();
    let item = put(&tables, "c-1", "cr-a", "2026-03-01", json!({})).await;
    let claim = store.claim(&item, now(), STALE, None).await.unwrap();
    store.record_video(&claim, "v-1").await.unwrap();
    let later = t("2026-03-01T10:05:00.000Z");
    store.mark_checked("c-1", "v-1", later).await.unwrap();
    assert_eq!(tables.content_raw("c-1").await["heygen_checked_at"], "2026-03-01T10:05:00.000Z");
    assert!(matches!(store.mark_checked("c-1", "v-other", later).await, Err(StoreError::Conflict)));
    assert!(matches!(store.mark_checked("missing", "v-1", later).await, Err(StoreError::Conflict)));
}

#[tokio::test]
async fn an_enqueue_applied_with_its_answer_lost_is_recognised_not_skipped() {
    // The first answer to c-1's enqueue is lost after moto applied it (as a
    // connection dropped on the way back, or an attempt timed out while DynamoDB
    // applied it): the SDK's retry meets the write's own condition.
    let lose = std::sync::atomic::AtomicBool::new(true);
    let lost = tests::lost_answers::LostAnswers::new(move |body| {
        body.contains(":queued_status") && lose.swap(false, std::sync::atomic::Ordering::SeqCst)
    });
    let tables = Tables::create().await;
    let store = shared::store::DynamoStore::new(lost.client(&tests::local_aws().await), tables.names.clone());
    let item = put(&tables, "c-1", "cr-a", "2026-03-01", json!({})).await;
    store.enqueue(&item, now(), STALE, CALLBACK).await.expect("its own write, recognised");
    assert_eq!(lost.lost(), 1);
    assert_eq!(read(&tables, "c-1").await.heygen_status, Some(shared::domain::JobStatus::Queued));
    // Queued by someone else, at another time: still a conflict.
    let other = put(&tables, "c-2", "cr-a", "2026-03-02", json!({})).await;
    tables.store().enqueue(&other, t("2026-03-01T09:00:00.000Z"), STALE, CALLBACK).await.unwrap();
    let again = store.enqueue(&other, now(), STALE, CALLBACK).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}
