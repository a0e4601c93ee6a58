//! The store on moto, after the claim: a refusal released, HeyGen's answers
//! applied (completion, failure, the platform's video winning, stale or settled
//! answers), finding a video, and the listing of what is in flight.

use serde_json::json;
use shared::domain::{Definiteness, Outcome};
use shared::store::prelude::*;
use tests::ApplyById;
use tests::Tables;

use crate::store::{STALE, seeded_item, t};

/// Claims `id` and records `video_id` for it.
async fn pending_item(tables: &Tables, id: &str, video_id: &str, at: &str) {
    let store = tables.store();
    let read = seeded_item(tables, id).await;
    let claim = store.claim(&read, t(at), STALE, None).await.unwrap();
    store.record_video(&claim, video_id).await.unwrap();
}

#[tokio::test]
async fn a_completion_attaches_the_video_and_submits_the_item() {
    let tables = Tables::create().await;
    let store = tables.store();
    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    let done = Outcome::Completed {
        video_url: "https://files.heygen.ai/v-1.mp4?sig=abc".into(),
        thumbnail_url: Some("https://files.heygen.ai/v-1.jpg".into()),
        duration: shared::domain::VideoSeconds::from_secs_f64(42.5),
    };
    let now = t("2026-03-01T10:05:00.000Z");
    store.apply_outcome_of("c-1", "v-1", &done, now, true).await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "completed");
    assert_eq!(raw["heygen_video_url"], "https://files.heygen.ai/v-1.mp4?sig=abc");
    assert_eq!(raw["creator_video_url"], "https://files.heygen.ai/v-1.mp4?sig=abc");
    assert_eq!(raw["status"], "submitted");
    assert_eq!(raw["heygen_duration_seconds"], 42.5, "HeyGen's duration, a number");
    assert_eq!(raw["heygen_thumbnail_url"], "https://files.heygen.ai/v-1.jpg");
    assert_eq!(raw["heygen_completed_at"], "2026-03-01T10:05:00.000Z");
    assert!(raw.get("heygen_pending").is_none());

    // A duplicate notice changes nothing twice.
    let before = tables.content_raw("c-1").await;
    let later = t("2026-03-01T11:00:00.000Z");
    assert!(matches!(store.apply_outcome_of("c-1", "v-1", &done, later, true).await, Err(StoreError::Conflict)));
    assert_eq!(tables.content_raw("c-1").await, before);
}

#[tokio::test]
async fn a_completion_without_attaching_leaves_the_item_for_archiving() {
    let tables = Tables::create().await;
    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    let done =
        Outcome::Completed { video_url: "https://files.heygen.ai/v-1.mp4".into(), thumbnail_url: None, duration: None };
    tables.store().apply_outcome_of("c-1", "v-1", &done, t("2026-03-01T10:05:00.000Z"), false).await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "completed");
    assert!(raw.get("creator_video_url").is_none());
    assert_eq!(raw["status"], "draft");
    assert!(raw.get("heygen_thumbnail_url").is_none());
}

#[tokio::test]
async fn a_render_failure_records_the_message_and_advances_the_attempt() {
    let tables = Tables::create().await;
    let store = tables.store();
    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    let failed = Outcome::Failed { message: "avatar_unavailable: the avatar was removed".into() };
    store.apply_outcome_of("c-1", "v-1", &failed, t("2026-03-01T10:05:00.000Z"), true).await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "failed");
    assert_eq!(raw["heygen_error"], "avatar_unavailable: the avatar was removed");
    assert_eq!(raw["heygen_attempt"], 2);
    assert!(raw.get("creator_video_url").is_none());
    assert!(raw.get("heygen_pending").is_none());
}

#[tokio::test]
async fn an_outcome_for_another_video_or_a_settled_item_changes_nothing() {
    let tables = Tables::create().await;
    let store = tables.store();
    let now = t("2026-03-01T10:05:00.000Z");
    let done = Outcome::Completed { video_url: "https://forged/v.mp4".into(), thumbnail_url: None, duration: None };

    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    let before = tables.content_raw("c-1").await;
    assert!(matches!(store.apply_outcome_of("c-1", "v-old", &done, now, true).await, Err(StoreError::Conflict)));
    assert_eq!(tables.content_raw("c-1").await, before);

    let failed = Outcome::Failed { message: "x".into() };
    store.apply_outcome_of("c-1", "v-1", &failed, now, true).await.unwrap();
    let before = tables.content_raw("c-1").await;
    assert!(matches!(store.apply_outcome_of("c-1", "v-1", &done, now, true).await, Err(StoreError::Conflict)));
    assert_eq!(tables.content_raw("c-1").await, before);

    assert!(matches!(store.apply_outcome_of("missing", "v-1", &done, now, true).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_content("missing").await.unwrap(), None);
}

#[tokio::test]
async fn find_by_video_id_finds_the_current_video_only() {
    let tables = Tables::create().await;
    let store = tables.store();
    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    assert_eq!(store.find_by_video_id("v-1").await.unwrap().unwrap().content_id, "c-1");
    assert_eq!(store.find_by_video_id("v-unknown").await.unwrap(), None);

    // After a render failure and a new claim, the old video no longer names the item.
    store
        .apply_outcome_of("c-1", "v-1", &Outcome::Failed { message: "x".into() }, t("2026-03-01T10:01:00.000Z"), true)
        .await
        .unwrap();
    let reread = store.get_content("c-1").await.unwrap().unwrap();
    let claim = store.claim(&reread, t("2026-03-01T10:02:00.000Z"), STALE, None).await.unwrap();
    assert_eq!(claim.attempt, 2);
    assert_eq!(store.find_by_video_id("v-1").await.unwrap(), None);
    store.record_video(&claim, "v-2").await.unwrap();
    assert_eq!(store.find_by_video_id("v-2").await.unwrap().unwrap().content_id, "c-1");
}

#[tokio::test]
async fn pending_items_are_listed_oldest_first_ties_by_content_id() {
    let tables = Tables::create().await;
    let store = tables.store();
    pending_item(&tables, "c-late", "v-3", "2026-03-01T12:00:00.000Z").await;
    pending_item(&tables, "c-b", "v-2", "2026-03-01T10:00:00.000Z").await;
    pending_item(&tables, "c-a", "v-1", "2026-03-01T10:00:00.000Z").await;
    // Requested (no video id yet) is pending too.
    let read = seeded_item(&tables, "c-requested").await;
    store.claim(&read, t("2026-03-01T11:00:00.000Z"), STALE, None).await.unwrap();
    // Settled items are not listed.
    pending_item(&tables, "c-done", "v-4", "2026-03-01T09:00:00.000Z").await;
    let done = Outcome::Completed { video_url: "https://v/4.mp4".into(), thumbnail_url: None, duration: None };
    store.apply_outcome_of("c-done", "v-4", &done, t("2026-03-01T09:30:00.000Z"), true).await.unwrap();
    pending_item(&tables, "c-failed", "v-5", "2026-03-01T09:00:00.000Z").await;
    let failed = Outcome::Failed { message: "x".into() };
    store.apply_outcome_of("c-failed", "v-5", &failed, t("2026-03-01T09:30:00.000Z"), true).await.unwrap();
    seeded_item(&tables, "c-untouched").await;

    let pending = store.list_in_flight().await.unwrap();
    let listed: Vec<_> =
        pending.iter().map(|i| (i.content_id.as_str(), i.heygen_status.as_ref().map_or("", |s| s.as_str()))).collect();
    assert_eq!(listed, [("c-a", "pending"), ("c-b", "pending"), ("c-requested", "requested"), ("c-late", "pending")]);
    assert_eq!(pending[2].heygen_video_id, None);
}

#[tokio::test]
async fn a_completion_leaves_a_video_the_platform_attached_meanwhile() {
    let tables = Tables::create().await;
    let store = tables.store();
    pending_item(&tables, "c-1", "v-1", "2026-03-01T10:00:00.000Z").await;
    // While HeyGen rendered, the platform attached its own video and published it.
    tables
        .update_content("c-1", json!({"creator_video_url": "https://cdn.platform/own.mp4", "status": "published"}))
        .await;
    let done =
        Outcome::Completed { video_url: "https://files.heygen.ai/v-1.mp4".into(), thumbnail_url: None, duration: None };
    store.apply_outcome_of("c-1", "v-1", &done, t("2026-03-01T10:05:00.000Z"), true).await.unwrap();
    let raw = tables.content_raw("c-1").await;
    assert_eq!(raw["creator_video_url"], "https://cdn.platform/own.mp4", "the platform's video wins");
    assert_eq!(raw["status"], "published");
    assert_eq!(raw["heygen_status"], "completed");
    assert_eq!(raw["heygen_video_url"], "https://files.heygen.ai/v-1.mp4");
    assert_eq!(raw["heygen_completed_at"], "2026-03-01T10:05:00.000Z");
    // Still idempotent: a second answer changes nothing.
    let again = store.apply_outcome_of("c-1", "v-1", &done, t("2026-03-01T11:00:00.000Z"), true).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

#[tokio::test]
async fn release_records_the_error_and_advances_the_attempt_only_when_definite() {
    let tables = Tables::create().await;
    let store = tables.store();
    let now = t("2026-03-01T10:00:00.000Z");

    let read = seeded_item(&tables, "definite").await;
    let claim = store.claim(&read, now, STALE, None).await.unwrap();
    store.release(&claim, "heygen_rejected: invalid_parameter", Definiteness::Definite).await.unwrap();
    let raw = tables.content_raw("definite").await;
    assert_eq!(raw["heygen_status"], "failed");
    assert_eq!(raw["heygen_error"], "heygen_rejected: invalid_parameter");
    assert_eq!(raw["heygen_attempt"], 2);
    assert!(raw.get("heygen_pending").is_none());
    // The next claim uses the advanced attempt number.
    let reread = store.get_content("definite").await.unwrap().unwrap();
    assert_eq!(store.claim(&reread, now, STALE, None).await.unwrap().attempt, 2);

    let read = seeded_item(&tables, "indefinite").await;
    let claim = store.claim(&read, now, STALE, None).await.unwrap();
    store.release(&claim, "heygen_unavailable: 503", Definiteness::Indefinite).await.unwrap();
    assert_eq!(tables.content_raw("indefinite").await["heygen_attempt"], 1);
    let reread = store.get_content("indefinite").await.unwrap().unwrap();
    assert_eq!(store.claim(&reread, now, STALE, None).await.unwrap().attempt, 1);
}
