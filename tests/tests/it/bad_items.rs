//! One bad item never holds up the month (contract section 11): an item HeyGen
//! keeps failing, a render it forgot, a render that failed once, a row the
//! service cannot read, a write whose answer was lost, and the tick's own cost
//! and failures; each on moto with the HeyGen stand-in, and two whole months.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use shared::app::Deps;
use shared::app::trigger::{TriggerRequest, trigger_month};
use shared::app::worker::tick;
use shared::domain::{Mode, SlotHolder, Timestamp};
use shared::store::prelude::*;
use shared::testkit::{FakeAnswer, FakeHeygen, Faulty, StaticSecret, StoreOp};
use tests::lost_answers::LostAnswers;
use tests::month::{
    Moto, counted, every_item_has_one_video, invocation, tick_until, trigger, videos_per_item, world, world_on,
};
use tests::{Tables, local_aws};

#[tokio::test]
async fn an_item_heygen_keeps_failing_waits_aside_while_the_rest_of_the_month_is_created() {
    // c-0-01 comes first and HeyGen answers its every create with a 5xx. Old
    // behaviour: it went back to the head of the queue and stopped every
    // dispatch, for ever; nothing after it was created.
    let heygen = FakeHeygen::rendering_for(1);
    heygen.plan("c-0-01", [FakeAnswer::Server; 50]);
    let (tables, deps) = world(1, 6, 2, heygen).await;
    let first = trigger(&deps).await;
    assert_eq!((first.triggered, first.stopped.map(|s| s.as_str())), (0, Some("heygen_unavailable")), "{first:?}");
    let reports = tick_until(&deps, 20, |_| videos_per_item(&deps.heygen).len() == 5).await;
    assert!(reports[0].waiting >= 1 && reports[0].created == 2, "passed over at once: {:?}", reports[0]);
    tick_until(&deps, 20, |r| r.in_flight == Some(0)).await;
    for day in 2..=6 {
        let raw = tables.content_raw(&format!("c-0-{day:02}")).await;
        assert_eq!(raw["status"], "submitted", "c-0-{day:02}: {raw}");
    }
    let bad = tables.content_raw("c-0-01").await;
    assert_eq!((bad["heygen_status"].as_str(), bad["heygen_attempt"].as_u64()), (Some("queued"), Some(1)), "{bad}");
    let retry_at = Timestamp::parse(bad["heygen_retry_at"].as_str().unwrap()).unwrap();
    assert!(retry_at > Timestamp::now(), "still waiting aside: {bad}");
    assert_eq!(bad["heygen_create_failures"], 1, "tried once: the back-off had not run out since");
    assert!(deps.heygen.peak_rendering() <= 2);
}

#[tokio::test]
async fn a_render_heygen_forgot_is_given_up_after_the_lost_time_and_its_slot_goes_to_the_queue() {
    // One slot: c-0-01 rendering, c-0-02 queued. HeyGen then forgets c-0-01's
    // video. Old behaviour: it kept its slot for ever and c-0-02 never started.
    let (tables, mut deps) = world(1, 2, 1, FakeHeygen::new()).await;
    assert_eq!(trigger(&deps).await.triggered, 1);
    let lost_video = deps.heygen.videos()[0].1.clone();
    deps.heygen.forget(&lost_video);

    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.lost, report.created), (0, 0), "first sighting: {report:?}");
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!(raw["heygen_status"], "pending");
    let since = raw["heygen_not_found_since"].as_str().unwrap().to_string();
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!(report.lost, 0, "not for HEYGEN_LOST_AFTER_SECONDS yet: {report:?}");
    assert_eq!(tables.content_raw("c-0-01").await["heygen_not_found_since"], since, "the first answer is kept");

    deps.config.lost_after = Duration::ZERO;
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.lost, report.created), (1, 1), "given up, and its slot used at once: {report:?}");
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_attempt"].as_u64()), (Some("failed"), Some(2)), "{raw}");
    let error = raw["heygen_error"].as_str().unwrap();
    assert!(error.starts_with("heygen_video_not_found: ") && error.contains(&lost_video), "{error}");
    assert!(raw.get("heygen_slot").is_none() && raw.get("heygen_not_found_since").is_none(), "{raw}");
    assert_eq!(tables.content_raw("c-0-02").await["heygen_status"], "pending");

    // Not tried again by itself; and an answer that knows a video clears the mark.
    tables.update_content("c-0-02", json!({"heygen_not_found_since": "2026-01-01T00:00:00.000Z"})).await;
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.lost, report.created, report.queue_depth), (0, 0, Some(0)), "{report:?}");
    assert!(tables.content_raw("c-0-02").await.get("heygen_not_found_since").is_none());
    assert_eq!(tables.content_raw("c-0-01").await["heygen_status"], "failed");
}

#[tokio::test]
async fn a_failed_render_is_queued_again_under_its_next_attempt_until_the_attempts_run_out() {
    let heygen = FakeHeygen::new();
    heygen.fail_next_render("c-0-01");
    let (tables, deps) = world(1, 1, 1, heygen).await;
    assert_eq!(trigger(&deps).await.triggered, 1);
    // HeyGen reports attempt 1 failed: back to the queue and created at once,
    // under the next key.
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.retried, report.failed, report.created), (1, 0, 1), "{report:?}");
    let keys: Vec<String> = deps.heygen.creates().into_iter().map(|(_, key)| key).collect();
    assert_eq!(keys, ["c-0-01:1", "c-0-01:2"]);
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_attempt"].as_u64()), (Some("pending"), Some(2)));
    // Attempt 2 fails too: with the default of 2 attempts, it stays failed.
    deps.heygen.fail_next_render("c-0-01");
    let video = deps.heygen.videos()[1].1.clone();
    deps.heygen.set_status(shared::heygen::VideoStatus {
        video_id: video,
        state: shared::heygen::RenderState::Failed,
        video_url: None,
        thumbnail_url: None,
        failure_code: Some("render_failed".into()),
        failure_message: Some("again".into()),
        duration: None,
    });
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.retried, report.failed, report.created), (0, 1, 0), "{report:?}");
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_attempt"].as_u64()), (Some("failed"), Some(3)), "{raw}");
    assert_eq!(raw["heygen_error"], "render_failed: again");
    assert!(deps.store.render_slots(1).await.unwrap()[0].is_free());
}

#[tokio::test]
async fn with_one_render_attempt_a_failed_render_stays_failed() {
    let heygen = FakeHeygen::new();
    heygen.fail_next_render("c-0-01");
    let (tables, deps) = world(1, 1, 1, heygen).await;
    tables.put_setting("heygen_max_render_attempts", "1").await;
    assert_eq!(trigger(&deps).await.triggered, 1);
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!((report.retried, report.failed, report.created), (0, 1, 0), "{report:?}");
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!(
        (raw["heygen_status"].as_str(), raw["heygen_error"].as_str()),
        (Some("failed"), Some("render_failed: Avatar render failed"))
    );
}

/// An item the platform wrote with `title` as a number, in flight on slot 0
/// (taken an hour ago): the service cannot decode it.
async fn unreadable_in_flight(tables: &Tables) {
    let hour_ago = Timestamp::now().minus(Duration::from_secs(3_600)).to_string();
    tables
        .put_content(json!({"content_id": "c-bad", "assigned_creator_id": "cr-0", "date": "2026-03-04",
                            "mode": "bible", "script": "Hello", "title": 42, "status": "draft",
                            "heygen_status": "pending", "heygen_pending": "pending", "heygen_slot": 0,
                            "heygen_video_id": "v-bad", "heygen_requested_at": hour_ago.clone()}))
        .await;
    tables.put(&tables.names.settings, json!({"key": "_render_slot/0", "holder": "c-bad", "taken_at": hour_ago})).await;
}

#[tokio::test]
async fn an_unreadable_item_stops_no_trigger_listing_or_tick_and_keeps_its_slot() {
    // Old behaviour: once its slot was two minutes old every tick failed at its
    // first step (the holder could not be read), and nothing moved again.
    let (tables, deps) = world(1, 3, 2, FakeHeygen::rendering_for(1)).await;
    unreadable_in_flight(&tables).await;
    let first = trigger(&deps).await;
    assert_eq!((first.would_trigger, first.triggered, first.queued), (3, 1, 2), "{first:?}");
    assert!(deps.store.list_in_flight().await.unwrap().iter().all(|i| i.content_id != "c-bad"));
    let reports = tick_until(&deps, 20, |r| r.queue_depth == Some(0) && r.in_flight == Some(0)).await;
    assert!(reports.iter().all(|r| r.stopped.is_none()), "{reports:?}");
    let slot = &deps.store.render_slots(2).await.unwrap()[0];
    assert_eq!(slot.holder.as_ref().map(|h| h.content_id.as_str()), Some("c-bad"), "its slot stays held");
    assert_eq!(deps.heygen.peak_rendering(), 1, "the limit held: one slot was the unreadable item's");
    every_item_has_one_video_but(&tables, &deps, 3).await;
}

/// As `every_item_has_one_video`, with slot 0 still held by the unreadable item.
async fn every_item_has_one_video_but(tables: &Tables, deps: &Deps<Moto>, items: usize) {
    let per_item = videos_per_item(&deps.heygen);
    assert_eq!(per_item.len(), items);
    assert!(per_item.values().all(|n| *n == 1), "{per_item:?}");
    for content_id in per_item.keys() {
        assert_eq!(tables.content_raw(content_id).await["status"], "submitted", "{content_id}");
    }
}

#[tokio::test]
async fn a_claim_applied_with_its_answer_lost_keeps_its_slot_so_the_limit_holds() {
    // Every answer to c-0-01's first claim is lost after DynamoDB applied it.
    // Old behaviour: the dispatcher freed the slot; c-0-02 took it; the claim
    // was later sent again on the same slot: two renders under a limit of one.
    let losing = Arc::new(AtomicBool::new(true));
    let during_trigger = Arc::clone(&losing);
    let lost = LostAnswers::new(move |body| {
        body.contains(":pending_key") && body.contains("\"c-0-01\"") && during_trigger.load(Ordering::SeqCst)
    });
    let client = lost.client(&local_aws().await);
    let (tables, mut deps) = world_on(1, 2, 1, FakeHeygen::rendering_for(1), Some(client)).await;
    deps.config.claim_stale_after = Duration::ZERO;
    let first = trigger(&deps).await;
    assert_eq!(first.stopped.map(|s| s.as_str()), Some("storage_unavailable"), "{first:?}");
    assert!(lost.lost() >= 2, "every attempt's answer lost: {}", lost.lost());
    losing.store(false, Ordering::SeqCst);
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!((raw["heygen_status"].as_str(), raw["heygen_slot"].as_u64()), (Some("requested"), Some(0)));
    let slot = &deps.store.render_slots(1).await.unwrap()[0];
    assert_eq!(slot.holder.as_ref().map(|h| h.content_id.as_str()), Some("c-0-01"), "the slot stays held");
    tick_until(&deps, 20, |r| r.drained()).await;
    assert_eq!(deps.heygen.peak_rendering(), 1, "never two renders under a limit of one");
    every_item_has_one_video(&tables, &deps, 2).await;
}

#[tokio::test]
async fn the_leak_repair_frees_a_slot_only_while_it_is_held_as_judged() {
    // Two repairs overlap: the first frees the slot; the item takes it again;
    // the second, judging from its earlier read, must not free it.
    let tables = Tables::create().await;
    let store = tables.store();
    let (t1, t2) = (Timestamp::parse("2026-03-01T10:00:00.000Z").unwrap(), Timestamp::now());
    store.take_slot(0, "c-1", t1).await.unwrap();
    let judged = SlotHolder { content_id: "c-1".into(), taken_at: t1.to_string() };
    store.free_leaked_slot(0, &judged).await.unwrap();
    store.take_slot(0, "c-1", t2).await.unwrap();
    assert!(matches!(store.free_leaked_slot(0, &judged).await, Err(StoreError::Conflict)));
    let held = store.render_slots(1).await.unwrap()[0].holder.clone().unwrap();
    assert_eq!(held.taken_at, t2.to_string(), "taken again, still held");
    store.free_leaked_slot(0, &held).await.unwrap();
    assert!(store.render_slots(1).await.unwrap()[0].is_free());
}

#[tokio::test]
async fn a_tick_with_no_free_slot_reads_no_queued_item_and_reads_the_creators_once() {
    let (tables, deps) = world(2, 15, 2, FakeHeygen::new()).await;
    assert_eq!(trigger(&deps).await.triggered, 2);
    let counted = counted(&tables, &deps);
    let report = tick(&counted, &invocation(50)).await;
    assert_eq!((report.queue_depth, report.in_flight), (Some(28), Some(2)), "{report:?}");
    let store = &counted.store;
    assert_eq!(store.calls(StoreOp::ListQueued), 0, "the queue is counted, not read");
    assert_eq!(store.calls(StoreOp::CountQueued), 1);
    assert_eq!(store.calls(StoreOp::Creators), 1, "one scan of the creators for both modes");
    // A slot frees: the queue is read, once.
    tables.update_content(&deps.heygen.videos()[0].0, json!({"heygen_status": "failed"})).await;
    let mut timing = counted.timing.clone();
    timing.slot_leak_after = Duration::ZERO;
    let counted = Deps { timing, ..counted };
    let report = tick(&counted, &invocation(50)).await;
    assert_eq!((report.slots_freed, report.created), (1, 1), "{report:?}");
    assert_eq!(counted.store.calls(StoreOp::ListQueued), 1);
}

#[tokio::test]
async fn ticks_say_when_they_fail_and_report_only_the_gauges_they_read() {
    let (tables, deps) = world(1, 2, 1, FakeHeygen::new()).await;
    assert_eq!(trigger(&deps).await.triggered, 1);
    let ok = tick(&deps, &invocation(50)).await;
    assert!(!ok.failed_to_work() && ok.queue_depth == Some(1) && ok.in_flight == Some(1), "{ok:?}");
    // No key: the tick cannot work, but it read the queue and the flight.
    let keyless = Deps { secrets: StaticSecret(None), ..counted(&tables, &deps) };
    let report = tick(&keyless, &invocation(50)).await;
    assert!(report.failed_to_work(), "{report:?}");
    assert_eq!((report.queue_depth, report.in_flight), (Some(1), Some(1)), "{report:?}");
    // DynamoDB failing: nothing read, no gauge at all (never zeros).
    let failing =
        Deps { store: Faulty::new(tables.store()).fail_after(StoreOp::ListInFlight, 0), ..counted(&tables, &deps) };
    let report = tick(&failing, &invocation(50)).await;
    assert!(report.failed_to_work(), "{report:?}");
    assert_eq!(report.stopped.map(|s| s.as_str()), Some("storage_unavailable"));
    assert_eq!((report.queue_depth, report.in_flight, report.oldest_in_flight_seconds), (None, None, None));
}

#[tokio::test]
async fn a_month_with_a_fifth_of_dynamodb_answers_lost_stays_within_the_limit_and_pays_once() {
    // 20 items, a limit of 3; every UpdateItem's answer is lost after it was
    // applied with probability 0.2 (each SDK attempt alike).
    let lost = LostAnswers::at_random(0.2);
    let client = lost.client(&local_aws().await);
    let (tables, mut deps) = world_on(2, 10, 3, FakeHeygen::rendering_for(1), Some(client)).await;
    deps.config.claim_stale_after = Duration::ZERO;
    deps.timing.slot_leak_after = Duration::ZERO;
    // A cap the month fits in: every claim reserves under it (section 13).
    tables.put_setting("heygen_budget_seconds", "100000").await;
    let started = std::time::Instant::now();
    // The admin calls again while the answer says some items could not even be
    // queued (`remaining`, or a 503 before any was): DynamoDB failing for them.
    let request =
        TriggerRequest { month: "2026-03".parse().unwrap(), mode: Mode::Bible, dry_run: false, budget_seconds: None };
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls <= 10, "the month could not be queued in 10 calls");
        match trigger_month(&deps, &request, &invocation(25)).await {
            Ok(report) if report.remaining == 0 => break,
            _ => continue,
        }
    }
    let reports = tick_until(&deps, 200, |r| r.drained() && videos_per_item(&deps.heygen).len() == 20).await;
    let creates = deps.heygen.creates().len();
    eprintln!(
        "lost answers: {} lost, {calls} trigger calls, {} ticks, {:?}, peak {} in flight, {creates} creates for 20 items",
        lost.lost(),
        reports.len(),
        started.elapsed(),
        deps.heygen.peak_rendering()
    );
    assert!(lost.lost() >= 5, "answers were lost: {}", lost.lost());
    assert!(deps.heygen.peak_rendering() <= 3, "HeyGen rendered {} at once", deps.heygen.peak_rendering());
    // A slot whose freeing was lost is repaired by the next tick.
    tick(&deps, &invocation(50)).await;
    every_item_has_one_video(&tables, &deps, 20).await;
    // Each render settled once at HeyGen's 30.5 s (31 billed), nothing left
    // reserved, however many answers were lost.
    let key = shared::domain::BudgetKey::new("2026-03".parse().unwrap(), Mode::Bible);
    let budget = deps.store.budget(&key).await.unwrap();
    assert_eq!((budget.spent_seconds, budget.reserved_seconds), (20 * 31, 0), "{budget:?}");
}

#[tokio::test]
async fn a_month_with_one_bad_item_of_each_kind_finishes_every_other_item_on_ticks_alone() {
    // 16 items, a limit of 3, copies to S3; among them a download that stalls,
    // an item HeyGen always answers 5xx, a video HeyGen forgets, a render that
    // fails once, and a row the service cannot read.
    let files = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path_regex("^/fake-c-0-02-"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(3_600)))
        .with_priority(1)
        .mount(&files)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_bytes(b"a video".to_vec()))
        .mount(&files)
        .await;
    let heygen = FakeHeygen::rendering_for(2).with_files_at(&files.uri());
    heygen.plan("c-0-03", [FakeAnswer::Server; 100]);
    heygen.fail_next_render("c-1-02");
    let (tables, mut deps) = world(2, 8, 3, heygen).await;
    tables
        .put_content(json!({"content_id": "c-bad", "assigned_creator_id": "cr-0", "date": "2026-03-05",
                            "mode": "bible", "script": "Hello", "title": 42, "status": "draft"}))
        .await;
    let s3 = shared::wiring::s3_client(&local_aws().await);
    let bucket = format!("{}videos", tests::unique_prefix()).to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    deps.archive = Some(shared::archive::shared_archive(shared::archive::S3Archive::new(s3, &bucket)));
    deps.config.archive = Some(shared::config::ArchiveConfig { bucket, base_url: "https://cdn.example".into() });
    deps.config.lost_after = Duration::ZERO;
    deps.timing.min_copy_time = Duration::from_secs(1);

    let started = std::time::Instant::now();
    let first = trigger(&deps).await;
    assert_eq!((first.would_trigger, first.triggered), (16, 3), "the unreadable row is left out: {first:?}");
    let forgotten = deps.heygen.videos().into_iter().find(|(c, _)| c == "c-1-01").unwrap().1;
    deps.heygen.forget(&forgotten);

    let good: Vec<String> = (0..2)
        .flat_map(|c| (1..=8).map(move |day| format!("c-{c}-{day:02}")))
        .filter(|id| !["c-0-02", "c-0-03", "c-1-01"].contains(&id.as_str()))
        .collect();
    let mut ticks = 0;
    loop {
        ticks += 1;
        assert!(ticks <= 40, "the month did not finish in 40 ticks");
        // 8 s to the deadline: copies end by 3 s (the stalled one is cut there).
        let report = tick(&deps, &invocation(8)).await;
        assert!(!report.failed_to_work(), "{report:?}");
        let mut submitted = 0;
        for id in &good {
            submitted += usize::from(tables.content_raw(id).await["status"] == "submitted");
        }
        let lost = tables.content_raw("c-1-01").await["heygen_status"] == "failed";
        if submitted == good.len() && lost && report.in_flight == Some(0) {
            break;
        }
    }
    let per_item = videos_per_item(&deps.heygen);
    eprintln!(
        "one bad item of each kind: 16 items quiet after {ticks} ticks, {:?}; peak {} in flight; {} creates; videos per item {per_item:?}",
        started.elapsed(),
        deps.heygen.peak_rendering(),
        deps.heygen.creates().len(),
    );
    assert!(deps.heygen.peak_rendering() <= 3);
    for id in &good {
        let want = if id == "c-1-02" { 2 } else { 1 };
        assert_eq!(per_item.get(id), Some(&want), "{id}: {per_item:?}");
    }
    let retried = tables.content_raw("c-1-02").await;
    assert_eq!((retried["status"].as_str(), retried["heygen_attempt"].as_u64()), (Some("submitted"), Some(2)));
    let stalled = tables.content_raw("c-0-02").await;
    assert_eq!(stalled["heygen_status"], "completed", "{stalled}");
    assert!(stalled["heygen_archive_attempts"].as_u64() >= Some(1) && stalled.get("heygen_retry_at").is_some());
    assert!(stalled.get("creator_video_url").is_none(), "never submitted without its copy");
    let failing = tables.content_raw("c-0-03").await;
    assert_eq!((failing["heygen_status"].as_str(), failing["heygen_attempt"].as_u64()), (Some("queued"), Some(1)));
    assert!(failing.get("heygen_retry_at").is_some() && !per_item.contains_key("c-0-03"), "{failing}");
    let lost = tables.content_raw("c-1-01").await;
    assert!(lost["heygen_error"].as_str().unwrap().starts_with("heygen_video_not_found"), "{lost}");
    assert!(tables.content_raw("c-bad").await.get("heygen_status").is_none(), "the unreadable row is untouched");
}

#[tokio::test]
async fn the_simulator_of_make_dev_fakes_each_bad_item_on_request() {
    let config = devkit::sim::SimConfig {
        always_5xx_every: 2,
        forget_every: 2,
        stall_download_every: 1,
        ..devkit::sim::SimConfig::new("k", "s", Duration::ZERO)
    };
    let sim = devkit::sim::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let create = |content_id: &str| {
        let body = json!({"type": "avatar", "avatar_id": "a", "script": "Hello", "aspect_ratio": "9:16",
                          "callback_id": content_id});
        http.post(format!("{sim}/v3/videos")).header("x-api-key", "k").json(&body).send()
    };
    // The second item, by its first create, is answered 503 every time.
    let first = create("c-1").await.unwrap().json::<serde_json::Value>().await.unwrap();
    assert_eq!(create("c-2").await.unwrap().status(), 503);
    assert_eq!(create("c-2").await.unwrap().status(), 503);
    let third = create("c-3").await.unwrap().json::<serde_json::Value>().await.unwrap();
    let (v1, v2) = (first["data"]["video_id"].as_str().unwrap(), third["data"]["video_id"].as_str().unwrap());
    // The second video made is forgotten once rendered.
    let status = |id: String| http.get(format!("{sim}/v3/videos/{id}")).header("x-api-key", "k").send();
    assert_eq!(status(v1.to_string()).await.unwrap().status(), 200);
    assert_eq!(status(v2.to_string()).await.unwrap().status(), 404);
    let bulk = http.get(format!("{sim}/v3/videos/statuses?video_ids={v1},{v2}")).header("x-api-key", "k").send();
    let bulk = bulk.await.unwrap().json::<serde_json::Value>().await.unwrap();
    assert_eq!(
        (bulk["data"][0]["status"].as_str(), bulk["data"][1]["status"].as_str()),
        (Some("completed"), Some("not_found"))
    );
    // Every download stalls half-way: headers and some bytes, then nothing.
    let mut download = http.get(format!("{sim}/files/{v1}.mp4")).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let announced = download.content_length().unwrap();
    let mut received = 0;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_millis(500), download.chunk()).await {
        received += chunk.len() as u64;
    }
    assert!(received > 0 && received < announced, "{received} of {announced} bytes, then a stall");
}
