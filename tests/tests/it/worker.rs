//! The render queue drained by worker ticks, on moto (DynamoDB's own conditions
//! for the queue and the render slots) with a HeyGen stand-in that records the
//! most jobs it ever rendered at once; and the worker binary through the Lambda
//! Runtime API.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;
use shared::app::bulk_status::BulkStatus;
use shared::app::worker::tick;
use shared::app::{Deps, Timing};
use shared::domain::{Outcome, Timestamp};
use shared::heygen::{CreateVideo, Heygen, RenderState, VideoStatus};
use shared::secret::SecretString;
use shared::store::prelude::*;
use shared::testkit::{FakeHeygen, StoreOp};
use tests::month::{Moto, counted, drain, every_item_has_one_video, invocation, trigger, world};
use tests::runtime_api::Function;
use tests::stack::Stack;
use tokio::time::Instant;

#[tokio::test]
async fn a_month_of_60_items_drains_through_4_slots_after_one_admin_call() {
    // Each video renders until HeyGen has been asked about it twice; no webhook
    // ever comes: the ticks reconcile every render.
    let (tables, deps) = world(3, 20, 4, FakeHeygen::rendering_for(2)).await;
    let first = trigger(&deps).await;
    assert_eq!((first.would_trigger, first.triggered, first.queued, first.remaining), (60, 4, 56, 0), "{first:?}");
    assert_eq!(first.stopped, None, "the slots being full is the normal end");
    let ticks = drain(&deps, 80).await;
    assert!(deps.heygen.peak_rendering() <= 4, "HeyGen rendered {} at once", deps.heygen.peak_rendering());
    assert_eq!(deps.heygen.peak_rendering(), 4, "and the slots were used");
    every_item_has_one_video(&tables, &deps, 60).await;
    eprintln!("60 items, 4 slots: drained in {ticks} ticks");
}

#[tokio::test]
async fn triggers_and_ticks_at_once_never_exceed_the_limit_nor_create_twice() {
    let heygen = FakeHeygen::rendering_for(1).with_create_delay(Duration::from_millis(15));
    let (tables, deps) = world(2, 10, 3, heygen).await;
    let run = invocation(50);
    let (a, b, _, _, _) =
        tokio::join!(trigger(&deps), trigger(&deps), tick(&deps, &run), tick(&deps, &run), tick(&deps, &run));
    for report in [&a, &b] {
        let counted =
            report.triggered + report.queued + report.skipped_pending + report.remaining + report.errors.len();
        assert_eq!(counted, 20, "{report:?}");
    }
    let started: HashSet<_> = a.videos.iter().chain(&b.videos).map(|v| v.content_id.clone()).collect();
    assert_eq!(started.len(), a.videos.len() + b.videos.len(), "no item started by both");
    drain(&deps, 60).await;
    assert!(deps.heygen.peak_rendering() <= 3, "HeyGen rendered {} at once", deps.heygen.peak_rendering());
    every_item_has_one_video(&tables, &deps, 20).await;
}

#[tokio::test]
async fn a_stale_claim_is_sent_again_under_its_key_and_ends_with_one_video() {
    let (tables, deps) = world(1, 1, 2, FakeHeygen::rendering_for(1)).await;
    let store = &deps.store;
    let item = store.get_content("c-0-01").await.unwrap().unwrap();
    let long_ago = Timestamp::now().minus(Duration::from_secs(3_600));
    store.enqueue(&item, long_ago, deps.config.claim_stale_after, "https://api.example/webhooks/heygen").await.unwrap();
    let queued = store.get_content("c-0-01").await.unwrap().unwrap();
    store.take_slot(1, "c-0-01", long_ago).await.unwrap();
    let claim = store.claim(&queued, long_ago, deps.config.claim_stale_after, Some(1)).await.unwrap();
    // HeyGen made the video, but its answer never reached us.
    let video = CreateVideo {
        content_id: "c-0-01".into(),
        attempt: claim.attempt,
        avatar_id: "av-0".into(),
        script: "Hello".into(),
        voice_id: None,
        title: None,
        callback_url: "https://api.example/webhooks/heygen".into(),
    };
    let made = deps.heygen.create_video(&SecretString::new("k"), &video, Instant::now() + Duration::from_secs(5)).await;
    let made = made.unwrap().video_id;

    let report = tick(&deps, &invocation(50)).await;
    assert_eq!(report.recovered, 1, "{report:?}");
    let creates = deps.heygen.creates();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0].1, creates[1].1, "the same idempotency key");
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!(
        (raw["heygen_status"].as_str(), raw["heygen_video_id"].as_str()),
        (Some("pending"), Some(made.as_str()))
    );
    assert_eq!(raw["heygen_slot"], 1, "it keeps its slot");
    drain(&deps, 5).await;
    every_item_has_one_video(&tables, &deps, 1).await;
}

#[tokio::test]
async fn a_tick_killed_half_way_loses_nothing_and_doubles_nothing() {
    let heygen = FakeHeygen::rendering_for(1).with_create_delay(Duration::from_millis(150));
    let (tables, mut deps) = world(1, 12, 4, heygen).await;
    // Claims and slots left behind are taken again at once in this test.
    deps.config.claim_stale_after = Duration::ZERO;
    deps.timing = Timing { slot_leak_after: Duration::ZERO, ..Timing::default() };
    let first = trigger(&deps).await;
    assert_eq!(first.triggered, 4);
    // Killed mid-create: HeyGen has made a video whose id nobody recorded.
    let killed = tokio::time::timeout(Duration::from_millis(250), tick(&deps, &invocation(50))).await;
    assert!(killed.is_err(), "the tick was cut off");
    drain(&deps, 40).await;
    every_item_has_one_video(&tables, &deps, 12).await;
}

#[tokio::test]
async fn the_worker_binary_ticks_through_the_runtime_api() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.heygen_accepts_creates().await;
    // Queued by a trigger when no slot was free.
    stack.tables.put_setting("heygen_callback_url", "https://api.example/webhooks/heygen").await;
    queue(&stack, "c-1").await;
    let env = stack.lambda_env();
    // A second item HeyGen refuses: counted in HeygenErrors under its code.
    stack.content("c-2", "cr-a", "2026-03-02", json!({})).await;
    queue(&stack, "c-2").await;
    wiremock::Mock::given(wiremock::matchers::header("idempotency-key", "c-2:1"))
        .respond_with(
            wiremock::ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "invalid_parameter", "message": "no"}})),
        )
        .with_priority(1)
        .mount(&stack.heygen)
        .await;
    let worker = Function::start("heygen-worker", &env).await;
    let report = worker.invoke(&json!({})).await.unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    assert_eq!((report["created"].as_u64(), report["refused"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!((report["queue_depth"].as_u64(), report["in_flight"].as_u64()), (Some(0), Some(1)), "{report}");
    let metrics = tests::emf_metrics(&worker.logs());
    let find = |name: &str| metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}: {metrics:?}"));
    assert_eq!((find("QueueDepth").value, find("InFlight").value), (0.0, 1.0));
    assert!(find("OldestInFlightSeconds").value < 60.0);
    assert_eq!(find("RendersRequested").value, 1.0);
    assert_eq!(find("TickFailures").value, 0.0, "a tick that did its work");
    let errors = find("HeygenErrors");
    assert_eq!((errors.dimensions.clone(), errors.value), (vec![("Code".into(), "heygen_rejected".into())], 1.0));
    assert!(metrics.iter().all(|m| m.namespace == "HeygenPipeline"));
    let dimensioned = ["HeygenErrors", "BudgetCommittedSeconds", "BudgetCapSeconds"];
    assert!(metrics.iter().filter(|m| !dimensioned.contains(&m.name.as_str())).all(|m| m.dimensions.is_empty()));
    // The month's spend as the tick left it: c-1 holds its 2 s; c-2's refusal gave its 2 s back.
    let committed = find("BudgetCommittedSeconds");
    assert_eq!((committed.value, committed.dimensions.clone()), (2.0, vec![("Budget".into(), "2026-03#bible".into())]));
    let create: serde_json::Value = serde_json::from_slice(&stack.creates_received().await[0].body).unwrap();
    assert_eq!(create["callback_url"], "https://api.example/cb", "the URL resolved when it was queued");
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "pending");
    let logs = worker.logs();
    assert!(logs.lines().any(|l| l.starts_with('{') && l.contains("tick finished")), "{logs}");
    assert!(!logs.contains(tests::stack::API_KEY));
}

#[tokio::test]
async fn the_worker_binary_says_when_a_tick_fails_and_reports_no_gauge_it_could_not_read() {
    let gauges = ["QueueDepth", "InFlight", "OldestInFlightSeconds"];
    // No secret: the tick cannot work, yet it read the queue and the flight.
    let stack = Stack::without_secret().await;
    let worker = Function::start("heygen-worker", &stack.lambda_env()).await;
    let report = worker.invoke(&json!({})).await.unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    assert_eq!(report["stopped"], "heygen_not_configured", "{report}");
    let metrics = tests::emf_metrics(&worker.logs());
    let value = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(value("TickFailures"), Some(1.0), "{metrics:?}");
    assert!(gauges.iter().all(|g| value(g) == Some(0.0)), "read, and empty: {metrics:?}");
    // DynamoDB unreachable: TickFailures, and no gauge at all (never zeros).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut env = stack.lambda_env();
    env.push(("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")));
    let worker = Function::start("heygen-worker", &env).await;
    let report = worker.invoke(&json!({})).await.unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    assert_eq!(report["stopped"], "storage_unavailable", "{report}");
    let metrics = tests::emf_metrics(&worker.logs());
    let value = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(value("TickFailures"), Some(1.0), "{metrics:?}");
    assert!(gauges.iter().all(|g| value(g).is_none()), "no gauge from a tick that read nothing: {metrics:?}");
    assert!(worker.logs().lines().any(|l| l.contains("\"ERROR\"") && l.contains("tick finished")));
}

#[tokio::test]
async fn a_worker_process_killed_mid_tick_loses_nothing_and_doubles_nothing() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=3 {
        let id = format!("c-{day}");
        stack.content(&id, "cr-a", &format!("2026-03-{day:02}"), json!({})).await;
        queue(&stack, &id).await;
        stack.heygen_status(&format!("vid-c-{day}:1"), "completed").await;
    }
    // HeyGen takes 1.5 s to accept a create (it has made the video by then).
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(|req: &wiremock::Request| {
            let key = req.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("none");
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"video_id": format!("vid-{key}"), "status": "waiting"}}))
                .set_delay(Duration::from_millis(1_500))
        })
        .mount(&stack.heygen)
        .await;
    let mut env = stack.lambda_env();
    env.extend([("HEYGEN_CLAIM_STALE_SECONDS", "1".to_string()), ("HEYGEN_RECONCILE_AFTER_SECONDS", "0".to_string())]);
    let mut doomed = Function::start("heygen-worker", &env).await;
    doomed.start_invoke(&json!({})).await;
    // Killed while its first create is in flight.
    for _ in 0..100 {
        if !stack.creates_received().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    doomed.kill().await;
    assert_eq!(stack.tables.content_raw("c-1").await["heygen_status"], "requested", "the claim it left behind");

    tokio::time::sleep(Duration::from_millis(1_100)).await; // the claim goes stale
    let worker = Function::start("heygen-worker", &env).await;
    let mut reports = Vec::new();
    for _ in 0..4 {
        let report = worker.invoke(&json!({})).await.unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
        let done = report["queue_depth"] == 0 && report["in_flight"] == 0;
        reports.push(report);
        if done {
            break;
        }
    }
    let last = reports.last().unwrap();
    assert_eq!((last["queue_depth"].as_u64(), last["in_flight"].as_u64()), (Some(0), Some(0)), "{reports:?}");
    assert_eq!(reports[0]["recovered"], 1, "{reports:?}");
    let mut keys: Vec<String> = stack
        .creates_received()
        .await
        .iter()
        .map(|r| r.headers.get("idempotency-key").unwrap().to_str().unwrap().to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["c-1:1", "c-1:1", "c-2:1", "c-3:1"], "the lost create sent again under its key, no other twice");
    for day in 1..=3 {
        let raw = stack.tables.content_raw(&format!("c-{day}")).await;
        assert_eq!((raw["heygen_status"].as_str(), raw["status"].as_str()), (Some("completed"), Some("submitted")));
        assert_eq!(raw["heygen_video_id"], format!("vid-c-{day}:1"));
    }
    assert!(stack.deps.store.render_slots(10).await.unwrap().iter().all(|s| s.is_free()));
}

/// Puts `id` in the render queue, as a trigger finding no free slot leaves it.
async fn queue(stack: &Stack, id: &str) {
    let item = stack.deps.store.get_content(id).await.unwrap().unwrap();
    let callback = "https://api.example/cb";
    stack.deps.store.enqueue(&item, Timestamp::now(), Duration::from_secs(600), callback).await.unwrap();
}

/// `n` videos made on the fake, as creates would have made them.
async fn videos(heygen: &FakeHeygen, n: usize) -> Vec<String> {
    for i in 0..n {
        let video = CreateVideo {
            content_id: format!("c-{i}"),
            attempt: 1,
            avatar_id: "av".into(),
            script: "Hello".into(),
            voice_id: None,
            title: None,
            callback_url: "https://api.example/cb".into(),
        };
        heygen.create_video(&SecretString::new("k"), &video, Instant::now() + Duration::from_secs(5)).await.unwrap();
    }
    heygen.videos().into_iter().map(|(_, video_id)| video_id).collect()
}

fn finished(video_id: &str, state: RenderState) -> VideoStatus {
    VideoStatus {
        video_id: video_id.to_string(),
        state,
        video_url: (state == RenderState::Completed).then(|| format!("https://files.fake/{video_id}.mp4")),
        thumbnail_url: None,
        failure_code: (state == RenderState::Failed).then(|| "avatar_gone".to_string()),
        failure_message: None,
        duration: None,
    }
}

#[tokio::test]
async fn a_survey_of_250_videos_takes_3_bulk_calls_and_one_per_completed_video() {
    let heygen = FakeHeygen::new();
    let ids = videos(&heygen, 250).await;
    for id in &ids[..20] {
        heygen.set_status(finished(id, RenderState::Completed));
    }
    for id in &ids[20..25] {
        heygen.set_status(finished(id, RenderState::Failed));
    }
    let mut refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    refs.push("never-made");
    let key = SecretString::new("k");
    let deadline = Instant::now() + Duration::from_secs(5);
    let survey = BulkStatus::take(&heygen, &key, &refs, deadline).await.unwrap();
    assert_eq!(heygen.status_calls(), (0, 3), "251 ids: three bulk calls");
    let mut states = HashMap::new();
    for id in &refs {
        let state = match survey.status(&heygen, &key, id, deadline).await {
            Ok(status) => format!("{:?}", status.outcome().map(|o| matches!(o, Outcome::Completed { .. }))),
            Err(err) => format!("{err:?}"),
        };
        *states.entry(state).or_insert(0) += 1;
    }
    assert_eq!(heygen.status_calls(), (20, 3), "details for the 20 completed videos only");
    let want = HashMap::from([
        ("Some(true)".to_string(), 20),
        ("Some(false)".to_string(), 5),
        ("None".to_string(), 225),
        ("NotFound".to_string(), 1),
    ]);
    assert_eq!(states, want);
}

#[tokio::test]
async fn without_the_bulk_endpoint_each_video_is_asked_about_alone() {
    let heygen = FakeHeygen::new();
    let ids = videos(&heygen, 3).await;
    heygen.set_status(finished(&ids[0], RenderState::Completed));
    heygen.without_states_endpoint();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let key = SecretString::new("k");
    let deadline = Instant::now() + Duration::from_secs(5);
    let survey = BulkStatus::take(&heygen, &key, &refs, deadline).await.unwrap();
    let mut completed = 0;
    for id in &refs {
        completed += usize::from(survey.status(&heygen, &key, id, deadline).await.unwrap().outcome().is_some());
    }
    assert_eq!((completed, heygen.status_calls()), (1, (3, 1)));
}

#[tokio::test]
async fn a_tick_reconciles_100_renders_with_one_bulk_call_and_one_per_finished_one() {
    let (tables, deps) = world(4, 30, 100, FakeHeygen::new()).await;
    let first = trigger(&deps).await;
    assert_eq!((first.triggered, first.queued), (100, 20), "{first:?}");
    let made: Vec<String> = deps.heygen.videos().into_iter().map(|(_, video_id)| video_id).collect();
    for id in &made[..7] {
        deps.heygen.set_status(finished(id, RenderState::Completed));
    }
    for id in &made[7..10] {
        deps.heygen.set_status(finished(id, RenderState::Failed));
    }
    let report = tick(&deps, &invocation(50)).await;
    assert_eq!(report.stopped, None, "{report:?}");
    // The 3 failed renders go back to the queue under their second attempt.
    let counts = (report.checked, report.completed, report.failed, report.retried);
    assert_eq!(counts, (100, 7, 0, 3), "{report:?}");
    assert_eq!(deps.heygen.status_calls(), (7, 1), "one bulk call, then the 7 completed videos' details");
    assert_eq!(report.created, 10, "the freed slots went to the queue: {report:?}");
    let (checked, unchecked): (Vec<_>, Vec<_>) =
        deps.store.list_in_flight().await.unwrap().into_iter().partition(|item| item.heygen_checked_at.is_some());
    assert_eq!((checked.len(), unchecked.len()), (90, 10), "the 90 still rendering were marked checked");
    assert_eq!(tables.content_raw(&first_item_of(&deps, &made[0])).await["status"], "submitted");
}

fn first_item_of(deps: &Deps<Moto>, video_id: &str) -> String {
    deps.heygen.videos().into_iter().find(|(_, v)| v == video_id).map(|(c, _)| c).unwrap()
}

#[tokio::test]
async fn slots_held_by_renders_listed_in_flight_cost_no_read_and_leaked_ones_are_freed() {
    let (tables, deps) = world(1, 6, 4, FakeHeygen::new()).await;
    assert_eq!(trigger(&deps).await.triggered, 4);
    // Every slot counts as old enough to have leaked; its holders are rendering.
    let counted =
        Deps { timing: Timing { slot_leak_after: Duration::ZERO, ..Timing::default() }, ..counted(&tables, &deps) };
    let report = tick(&counted, &invocation(50)).await;
    assert_eq!((report.slots_freed, report.in_flight), (0, Some(4)), "{report:?}");
    assert_eq!(counted.store.calls(StoreOp::HolderState), 0, "no holder read: all four listed in flight");
    // One holder leaves the flight without its slot (as if a write had died):
    // the next tick reads that holder, and only it, and frees its slot.
    let leaked = deps.heygen.videos()[0].0.clone();
    tables.update_content(&leaked, json!({"heygen_status": "failed"})).await;
    let report = tick(&counted, &invocation(50)).await;
    assert_eq!(report.slots_freed, 1, "{report:?}");
    assert_eq!(counted.store.calls(StoreOp::HolderState), 1);
}
