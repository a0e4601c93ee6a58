//! The in-memory store of `shared::testkit` against the DynamoDB store on moto:
//! the same operations on the same items give the same answers and leave the
//! same job state, so that what the property tests prove over the fake holds
//! over DynamoDB.

use std::time::Duration;
use tests::ApplyById;

use shared::domain::{ContentItem, Definiteness, Outcome, Timestamp};
use shared::store::prelude::*;
use shared::testkit::MemoryStore;
use tests::Tables;

const STALE: Duration = Duration::from_secs(600);

fn now() -> Timestamp {
    Timestamp::parse("2026-03-01T10:00:00.000Z").unwrap()
}

fn item(id: &str, date: &str) -> ContentItem {
    ContentItem {
        content_id: id.into(),
        date: date.into(),
        mode: "bible".into(),
        script: Some("Hello".into()),
        assigned_creator_id: Some("cr-a".into()),
        status: Some("draft".into()),
        ..Default::default()
    }
}

/// What a step answered: `ok`, `conflict`, or an error.
fn answer<T>(result: Result<T, StoreError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(StoreError::Conflict) => "conflict",
        Err(_) => "error",
    }
}

/// The job state of an item that both stores must agree on.
fn state(item: &ContentItem) -> String {
    format!(
        "{}:{:?}:{:?}:{:?}:claimed={}:{:?}",
        item.content_id,
        item.heygen_status,
        item.heygen_attempt,
        item.heygen_slot,
        item.heygen_claim_id.is_some(),
        item.creator_video_url
    )
}

/// One scenario of queue, slot and claim operations; the answers and the states.
async fn scenario(store: &impl Store) -> Vec<String> {
    let mut log = Vec::new();
    let read = |id: &'static str| async move { store.get_content(id).await.unwrap().unwrap() };
    for id in ["c-2", "c-1", "c-3"] {
        log.push(format!("enqueue {id} {}", answer(store.enqueue(&read(id).await, now(), STALE, "https://cb").await)));
    }
    let first = read("c-1").await;
    log.push(format!("enqueue again {}", answer(store.enqueue(&first, now(), STALE, "https://cb").await)));
    let queue: Vec<String> = store.list_queued().await.unwrap().into_iter().map(|i| i.content_id).collect();
    log.push(format!("queue {queue:?}"));
    log.push(format!("take 0 {}", answer(store.take_slot(0, "c-1", now()).await)));
    log.push(format!("take 0 again {}", answer(store.take_slot(0, "c-2", now()).await)));
    let claim = store.claim(&first, now(), STALE, Some(0)).await;
    log.push(format!("claim c-1 {}", answer(claim.as_ref().map(|_| ()).map_err(|_| StoreError::Conflict))));
    log.push(format!("claim c-1 again {}", answer(store.claim(&first, now(), STALE, Some(0)).await)));
    if let Ok(claim) = claim {
        log.push(format!("requeue {}", answer(store.requeue(&claim, Definiteness::Definite, None).await)));
    }
    log.push(format!("dequeue c-3 {}", answer(store.dequeue("c-3").await)));
    log.push(format!("dequeue c-3 again {}", answer(store.dequeue("c-3").await)));
    let c2 = read("c-2").await;
    log.push(format!("take 1 {}", answer(store.take_slot(1, "c-2", now()).await)));
    if let Ok(claim) = store.claim(&c2, now(), STALE, Some(1)).await {
        log.push(format!("record {}", answer(store.record_video(&claim, "v-2").await)));
        log.push(format!("checked {}", answer(store.mark_checked("c-2", "v-2", now()).await)));
        let done =
            Outcome::Completed { video_url: "https://files/v-2.mp4".into(), thumbnail_url: None, duration: None };
        log.push(format!("complete {}", answer(store.apply_outcome_of("c-2", "v-2", &done, now(), true).await)));
        log.push(format!("complete again {}", answer(store.apply_outcome_of("c-2", "v-2", &done, now(), true).await)));
    }
    let slots: Vec<bool> = store.render_slots(3).await.unwrap().iter().map(|s| s.is_free()).collect();
    log.push(format!("slots free {slots:?}"));
    for id in ["c-1", "c-2", "c-3"] {
        log.push(state(&read(id).await));
    }
    log
}

#[tokio::test]
async fn the_memory_store_answers_as_dynamodb_does() {
    let tables = Tables::create().await;
    let memory = MemoryStore::new();
    for (id, date) in [("c-1", "2026-03-01"), ("c-2", "2026-03-02"), ("c-3", "2026-03-03")] {
        let it = item(id, date);
        tables.put_content(serde_json::to_value(&it).unwrap()).await;
        memory.put_content(it);
    }
    let on_dynamodb = scenario(&tables.store()).await;
    let in_memory = scenario(&memory).await;
    assert_eq!(in_memory, on_dynamodb);
    // And the scenario says what it should.
    assert!(on_dynamodb.contains(&"enqueue again conflict".to_string()), "{on_dynamodb:#?}");
    assert!(on_dynamodb.contains(&r#"queue ["c-1", "c-2", "c-3"]"#.to_string()), "{on_dynamodb:#?}");
    assert!(on_dynamodb.contains(&"slots free [true, true, true]".to_string()), "{on_dynamodb:#?}");
}
