//! The budget on moto (contract section 13): a reservation made with its claim
//! in one step and never past the cap, settled with HeyGen's duration or given
//! back, each exactly once, whatever is delivered twice or has its answer lost.

use serde_json::json;
use shared::domain::{BudgetKey, BudgetRow, Cap, ContentItem, Definiteness, Mode, Outcome, Reservation, VideoSeconds};
use shared::store::prelude::*;
use tests::ApplyById;
use tests::lost_answers::LostAnswers;
use tests::{Tables, local_aws};

use crate::store::{STALE, content, t};

const NOW: &str = "2026-03-01T10:00:00.000Z";

fn key() -> BudgetKey {
    BudgetKey::new("2026-03".parse().unwrap(), Mode::Bible)
}

fn reservation(seconds: u64) -> Reservation {
    Reservation { budget: key(), seconds }
}

/// Queued items `c-0`..`c-{n-1}` of March's bible month, read back.
pub(crate) async fn queued(tables: &Tables, n: usize) -> Vec<ContentItem> {
    let mut items = Vec::new();
    for i in 0..n {
        let id = format!("c-{i}");
        let date = format!("2026-03-{:02}", i + 1);
        let mut item = content(&id, "cr-1", &date, "bible");
        item["heygen_status"] = json!("queued");
        item["heygen_queue_order"] = json!(format!("{date}#cr-1#{id}#bible"));
        tables.put_content(item).await;
        items.push(tables.store().get_content(&id).await.unwrap().unwrap());
    }
    items
}

async fn row(tables: &Tables) -> BudgetRow {
    tables.store().budget(&key()).await.unwrap()
}

/// The budget row as stored, every attribute.
async fn row_raw(tables: &Tables) -> serde_json::Value {
    let out = tables
        .client
        .get_item()
        .table_name(&tables.names.settings)
        .key("key", aws_sdk_dynamodb::types::AttributeValue::S(key().item_key()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    serde_dynamo::from_item(out.item.unwrap()).unwrap()
}

fn completed(seconds: f64) -> Outcome {
    Outcome::Completed {
        video_url: "https://files.heygen.ai/v.mp4".into(),
        thumbnail_url: None,
        duration: VideoSeconds::from_secs_f64(seconds),
    }
}

#[tokio::test]
async fn a_cap_of_110_admits_exactly_five_reservations_of_20_with_their_claims() {
    let tables = Tables::create().await;
    let store = tables.store();
    assert_eq!(store.set_budget_cap(&key(), Some(110)).await.unwrap().cap_seconds, Some(110));
    let items = queued(&tables, 7).await;
    let mut admitted = Vec::new();
    for item in &items {
        match store.claim_reserving(item, t(NOW), STALE, None, &reservation(20), Cap::Row(110)).await {
            Ok(claim) => admitted.push(claim),
            Err(StoreError::OverBudget) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted.len(), 5, "5 x 20 = 100 <= 110; a sixth would be 120");
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: Some(110), reserved_seconds: 100, spent_seconds: 0 });
    let raw = tables.content_raw("c-0").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_reserved_seconds"].as_u64()), (Some("requested"), Some(20)));
    assert_eq!(raw["heygen_reserved_budget"], "2026-03#bible");
    assert_eq!(admitted[0].reservation, Some(reservation(20)));
    // The refused claims wrote nothing: still queued, nothing reserved.
    let raw = tables.content_raw("c-5").await;
    assert_eq!(raw["heygen_status"], "queued");
    assert!(raw.get("heygen_reserved_seconds").is_none());
    // A cap judged from an older read is refused too (the row's is now 200).
    store.set_budget_cap(&key(), Some(200)).await.unwrap();
    let stale_cap = store.claim_reserving(&items[5], t(NOW), STALE, None, &reservation(20), Cap::Row(110)).await;
    assert!(matches!(stale_cap, Err(StoreError::OverBudget)), "{stale_cap:?}");
    // The setting's cap holds only while the row has none of its own.
    let setting_cap = store.claim_reserving(&items[5], t(NOW), STALE, None, &reservation(20), Cap::Setting(500)).await;
    assert!(matches!(setting_cap, Err(StoreError::OverBudget)), "{setting_cap:?}");
    store.claim_reserving(&items[5], t(NOW), STALE, None, &reservation(20), Cap::Row(200)).await.unwrap();
    assert_eq!(row(&tables).await.reserved_seconds, 120);
    // An estimate larger than the whole cap never fits.
    store.set_budget_cap(&key(), None).await.unwrap();
    let huge = store.claim_reserving(&items[6], t(NOW), STALE, None, &reservation(501), Cap::Setting(500)).await;
    assert!(matches!(huge, Err(StoreError::OverBudget)), "{huge:?}");
    store.claim_reserving(&items[6], t(NOW), STALE, None, &reservation(501), Cap::None).await.unwrap();
    assert_eq!(row_raw(&tables).await["committed_seconds"], 621, "reserved + spent, kept for the condition");
}

#[tokio::test]
async fn a_completion_settles_its_reservation_once_at_what_heygen_billed() {
    let tables = Tables::create().await;
    let store = tables.store();
    store.set_budget_cap(&key(), Some(100)).await.unwrap();
    let items = queued(&tables, 2).await;
    let claim = store.claim_reserving(&items[0], t(NOW), STALE, None, &reservation(20), Cap::Row(100)).await.unwrap();
    store.record_video(&claim, "v-0").await.unwrap();
    store.apply_outcome_of("c-0", "v-0", &completed(12.2), t(NOW), true).await.unwrap();
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: Some(100), reserved_seconds: 0, spent_seconds: 13 });
    let raw = tables.content_raw("c-0").await;
    assert!(raw.get("heygen_reserved_seconds").is_none() && raw.get("heygen_reserved_budget").is_none());
    assert_eq!(raw["status"], "submitted");
    // Delivered again: nothing is settled twice.
    let again = store.apply_outcome_of("c-0", "v-0", &completed(12.2), t(NOW), true).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(row(&tables).await.spent_seconds, 13);
    // Without a duration, the estimate is what it cost.
    let claim = store.claim_reserving(&items[1], t(NOW), STALE, None, &reservation(20), Cap::Row(100)).await.unwrap();
    store.record_video(&claim, "v-1").await.unwrap();
    let no_duration = Outcome::Completed { video_url: "https://x/v.mp4".into(), thumbnail_url: None, duration: None };
    store.apply_outcome_of("c-1", "v-1", &no_duration, t(NOW), false).await.unwrap();
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: Some(100), reserved_seconds: 0, spent_seconds: 33 });
    assert_eq!(row_raw(&tables).await["committed_seconds"], 33);
}

#[tokio::test]
async fn failures_refusals_and_requeues_give_their_reservation_back() {
    let tables = Tables::create().await;
    let store = tables.store();
    let items = queued(&tables, 3).await;
    // A render that failed.
    let claim = store.claim_reserving(&items[0], t(NOW), STALE, None, &reservation(30), Cap::None).await.unwrap();
    store.record_video(&claim, "v-0").await.unwrap();
    let failed = Outcome::Failed { message: "render_failed: x".into() };
    store.apply_outcome_of("c-0", "v-0", &failed, t(NOW), true).await.unwrap();
    // A create HeyGen refused.
    let claim = store.claim_reserving(&items[1], t(NOW), STALE, None, &reservation(30), Cap::None).await.unwrap();
    store.release(&claim, "heygen_rejected: no", Definiteness::Definite).await.unwrap();
    // A create put back in the queue (HeyGen failing).
    let claim = store.claim_reserving(&items[2], t(NOW), STALE, None, &reservation(30), Cap::None).await.unwrap();
    assert_eq!(row(&tables).await.reserved_seconds, 30);
    store.requeue(&claim, Definiteness::Indefinite, None).await.unwrap();
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: None, reserved_seconds: 0, spent_seconds: 0 });
    assert_eq!(row_raw(&tables).await["committed_seconds"], 0);
    for id in ["c-0", "c-1", "c-2"] {
        assert!(tables.content_raw(id).await.get("heygen_reserved_seconds").is_none(), "{id}");
    }
    // A failed render counts among the renders; a refusal does not.
    assert_eq!(tables.content_raw("c-0").await["heygen_render_failures"], 1);
    assert!(tables.content_raw("c-1").await.get("heygen_render_failures").is_none());
    // Released twice: the second changes nothing.
    assert!(matches!(store.requeue(&claim, Definiteness::Indefinite, None).await, Err(StoreError::Conflict)));
    assert_eq!(row(&tables).await.reserved_seconds, 0);
}

#[tokio::test]
async fn a_recovered_claim_keeps_its_reservation_and_settles_it_once() {
    let tables = Tables::create().await;
    let store = tables.store();
    let items = queued(&tables, 1).await;
    store.claim_reserving(&items[0], t(NOW), STALE, None, &reservation(25), Cap::None).await.unwrap();
    // Stale: claimed again under the same key, as the worker's recovery does.
    let stale = store.get_content("c-0").await.unwrap().unwrap();
    let later = t("2026-03-01T11:00:00.000Z");
    let again = store.claim(&stale, later, STALE, None).await.unwrap();
    assert_eq!(again.reservation, Some(reservation(25)), "the reservation travels with the item");
    assert_eq!(row(&tables).await.reserved_seconds, 25, "not reserved twice");
    store.record_video(&again, "v-0").await.unwrap();
    store.apply_outcome_of("c-0", "v-0", &completed(20.0), later, true).await.unwrap();
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: None, reserved_seconds: 0, spent_seconds: 20 });
}

#[tokio::test]
async fn answers_lost_after_the_transaction_was_applied_count_it_once() {
    // The first answer to c-0's claim and to its completion is lost: the SDK
    // sends each again, and the retry meets its own condition.
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    let lost = LostAnswers::new(move |body| {
        let step = if body.contains(":pending_key") { "claim" } else { "settle" };
        body.contains("TransactItems") && body.contains("\"c-0\"") && seen.lock().unwrap().insert(step)
    });
    let client = lost.client(&local_aws().await);
    let tables = Tables::create().await;
    let store = shared::store::DynamoStore::new(client, tables.names.clone());
    let items = queued(&tables, 1).await;
    store.set_budget_cap(&key(), Some(50)).await.unwrap();
    let claim = store.claim_reserving(&items[0], t(NOW), STALE, None, &reservation(20), Cap::Row(50)).await;
    // Applied, every answer lost: the claim is read back as held.
    let claim = claim.expect("the claim was applied; its lost answer is recognised");
    assert_eq!(lost.lost(), 1);
    assert_eq!(row(&tables).await.reserved_seconds, 20, "reserved once");
    store.record_video(&claim, "v-0").await.unwrap();
    let settled = store.apply_outcome_of("c-0", "v-0", &completed(9.5), t(NOW), true).await;
    // Applied with its answer lost: the retry finds it settled (as a duplicate
    // notice would), and the budget counts it once.
    assert!(matches!(settled, Err(StoreError::Conflict)), "{settled:?}");
    assert_eq!(lost.lost(), 2);
    assert_eq!(row(&tables).await, BudgetRow { cap_seconds: Some(50), reserved_seconds: 0, spent_seconds: 10 });
    assert_eq!(tables.content_raw("c-0").await["heygen_status"], "completed");
}

#[tokio::test]
async fn an_item_that_does_not_fit_is_marked_once_and_a_claim_clears_the_mark() {
    let tables = Tables::create().await;
    let store = tables.store();
    let items = queued(&tables, 1).await;
    store.mark_blocked("c-0").await.unwrap();
    assert_eq!(tables.content_raw("c-0").await["heygen_blocked"], "budget");
    assert!(matches!(store.mark_blocked("c-0").await, Err(StoreError::Conflict)), "marked once");
    let read = store.get_content("c-0").await.unwrap().unwrap();
    assert!(read.blocked_by_budget());
    store.claim_reserving(&read, t(NOW), STALE, None, &reservation(5), Cap::None).await.unwrap();
    assert!(tables.content_raw("c-0").await.get("heygen_blocked").is_none());
    // Only a queued item is marked.
    assert!(matches!(store.mark_blocked("c-0").await, Err(StoreError::Conflict)));
    drop(items);
}
