//! The trigger over the fakes of `shared::testkit`, for generated months: random
//! items (some with a video, some busy, some without a script) and random
//! per-item failures (HeyGen refusing the item, the key or the credit, 429, 5xx
//! before or after creating the video, timeouts, DynamoDB failing a claim, a
//! record or a release). Whatever happens, every item is counted exactly once,
//! and HeyGen never makes two videos for one item, even when two triggers run
//! at once and a third one follows.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use shared::app::trigger::{TriggerRequest, trigger_month};
use shared::app::{Deps, Invocation, Timing};
use shared::config::{Config, TableNames};
use shared::domain::{ContentItem, Creator, JobStatus, Mode, Timestamp};
use shared::store::prelude::*;
use shared::testkit::{FakeAnswer, FakeHeygen, Faulty, MemoryStore, StaticSecret, StoreOp};

/// The ports as the fakes serve them.
type Fakes = (Faulty<MemoryStore>, StaticSecret, FakeHeygen);

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// No job yet.
    Fresh,
    /// A refused earlier attempt.
    Failed,
    /// Has the platform's video: not counted.
    HasVideo,
    /// Rendering: skipped.
    Pending,
    /// No script: a per-item error.
    NoScript,
}

#[derive(Clone, Copy, Debug)]
enum StoreFault {
    None,
    Claim,
    Record,
    Release,
}

#[derive(Clone, Debug)]
struct Case {
    creator: u8,
    day: u8,
    kind: Kind,
    answers: Vec<FakeAnswer>,
    fault: StoreFault,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => Just(Kind::Fresh),
        1 => Just(Kind::Failed),
        1 => Just(Kind::HasVideo),
        1 => Just(Kind::Pending),
        1 => Just(Kind::NoScript),
    ]
}

fn answer() -> impl Strategy<Value = FakeAnswer> {
    prop_oneof![
        8 => Just(FakeAnswer::Accept),
        2 => Just(FakeAnswer::Rejected),
        1 => Just(FakeAnswer::Unauthorized),
        1 => Just(FakeAnswer::InsufficientCredit),
        1 => Just(FakeAnswer::RateLimited),
        1 => Just(FakeAnswer::Server),
        1 => Just(FakeAnswer::ServerAfterCreating),
        1 => Just(FakeAnswer::Timeout),
    ]
}

fn fault() -> impl Strategy<Value = StoreFault> {
    prop_oneof![
        12 => Just(StoreFault::None),
        1 => Just(StoreFault::Claim),
        1 => Just(StoreFault::Record),
        1 => Just(StoreFault::Release),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (0u8..3, 1u8..=28, kind(), proptest::collection::vec(answer(), 0..3), fault())
        .prop_map(|(creator, day, kind, answers, fault)| Case { creator, day, kind, answers, fault })
}

fn config() -> Config {
    let names = TableNames { settings: "s".into(), creators: "c".into(), content: "t".into() };
    let mut config = tests::test_config(names, "http://fake.invalid", None);
    config.heygen_callback_url = Some("https://example.test/webhooks/heygen".into());
    config
}

fn content_id(index: usize) -> String {
    format!("c-{index:03}")
}

/// The fakes for one generated month.
fn world(cases: &[Case]) -> Deps<Fakes> {
    let store = MemoryStore::new();
    store.put_setting("heygen_requests_per_second", "100000");
    store.put_setting("heygen_max_concurrent_renders", &LIMIT.to_string());
    for creator in 0..3 {
        let mut c = Creator {
            creator_id: format!("cr-{creator}"),
            name: None,
            is_ai: true,
            active: true,
            heygen_avatar_ids: Default::default(),
            heygen_voice_ids: Default::default(),
        };
        c.heygen_avatar_ids.insert("bible".into(), format!("av-{creator}"));
        store.put_creator(c);
    }
    let heygen = FakeHeygen::new();
    let mut faulty_ids = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let id = content_id(index);
        let mut item = ContentItem {
            content_id: id.clone(),
            date: format!("2026-03-{:02}", case.day),
            mode: "bible".into(),
            script: Some(format!("Script {index}")),
            assigned_creator_id: Some(format!("cr-{}", case.creator)),
            ..Default::default()
        };
        match case.kind {
            Kind::Fresh => {}
            Kind::Failed => {
                item.heygen_status = Some(JobStatus::Failed);
                item.heygen_attempt = Some(2);
            }
            Kind::HasVideo => item.creator_video_url = Some("https://cdn.example/v.mp4".into()),
            Kind::Pending => {
                item.heygen_status = Some(JobStatus::Pending);
                item.heygen_video_id = Some(format!("old-{index}"));
            }
            Kind::NoScript => item.script = None,
        }
        store.put_content(item);
        heygen.plan(&id, case.answers.iter().copied());
        faulty_ids.push((id, case.fault));
    }
    let mut store = Faulty::new(store);
    for (id, fault) in faulty_ids {
        store = match fault {
            StoreFault::None => store,
            StoreFault::Claim => store.fail_for(StoreOp::Claim, &id),
            StoreFault::Record => store.fail_for(StoreOp::RecordVideo, &id),
            StoreFault::Release => store.fail_for(StoreOp::Release, &id),
        };
    }
    Deps {
        config: config(),
        store,
        secrets: StaticSecret::with_key("sk-fake"),
        heygen,
        archive: None,
        timing: Timing::default(),
        worker: None,
    }
}

/// The render limit of the generated worlds.
const LIMIT: u32 = 3;

async fn tick(deps: &Deps<Fakes>) -> shared::app::worker::TickReport {
    shared::app::worker::tick(deps, &invocation()).await
}

fn invocation() -> Invocation {
    Invocation { deadline: tokio::time::Instant::now() + Duration::from_secs(25), domain_name: None }
}

/// The report's counted items, each with where it was counted.
fn counted(report: &Value) -> usize {
    let n = |k: &str| report[k].as_u64().unwrap() as usize;
    n("triggered") + n("queued") + n("skipped_pending") + n("remaining") + report["errors"].as_array().unwrap().len()
}

async fn run_once(deps: &Deps<Fakes>) -> Option<Value> {
    let request =
        TriggerRequest { month: "2026-03".parse().unwrap(), mode: Mode::Bible, dry_run: false, budget_seconds: None };
    // DynamoDB failing before any claim is a 503; nothing to count then.
    let report = trigger_month(deps, &request, &invocation()).await.ok()?;
    Some(serde_json::to_value(report).unwrap())
}

fn check(cases: Vec<Case>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let deps = world(&cases);
        let without_video = cases.iter().filter(|c| !matches!(c.kind, Kind::HasVideo)).count();

        let (first, second, _) = tokio::join!(run_once(&deps), run_once(&deps), tick(&deps));
        let third = run_once(&deps).await;
        for _ in 0..3 {
            tick(&deps).await;
        }
        for report in [&first, &second, &third].into_iter().flatten() {
            prop_assert_eq!(counted(report), without_video, "counting rule broken: {}", report);
            let started: Vec<&str> =
                report["videos"].as_array().unwrap().iter().map(|v| v["content_id"].as_str().unwrap()).collect();
            let unique: HashSet<&str> = started.iter().copied().collect();
            prop_assert_eq!(unique.len(), started.len(), "an item started twice in one call: {}", report);
        }
        // Between the two concurrent calls, an item is started by one at most.
        if let (Some(a), Some(b)) = (&first, &second) {
            let ids = |r: &Value| -> HashSet<String> {
                r["videos"].as_array().unwrap().iter().map(|v| v["content_id"].as_str().unwrap().to_string()).collect()
            };
            prop_assert!(ids(a).is_disjoint(&ids(b)), "both concurrent calls started an item: {} {}", a, b);
        }
        // HeyGen never made two videos for one item: every retry of an item that
        // had no definite refusal replayed the same key.
        let mut videos: HashMap<String, usize> = HashMap::new();
        for (content_id, _) in deps.heygen.videos() {
            *videos.entry(content_id).or_default() += 1;
        }
        for (content_id, n) in &videos {
            prop_assert_eq!(*n, 1, "{} got {} videos; creates: {:?}", content_id, n, deps.heygen.creates());
        }
        // Render slots: at most LIMIT items in flight that this run claimed, each
        // holding its own slot.
        let claimed: Vec<_> =
            deps.store.inner.content().into_iter().filter(|i| i.is_pending() && i.heygen_slot.is_some()).collect();
        prop_assert!(claimed.len() <= LIMIT as usize, "{} in flight", claimed.len());
        let slots: HashSet<u32> = claimed.iter().filter_map(|i| i.heygen_slot).collect();
        prop_assert_eq!(slots.len(), claimed.len(), "two items on one slot");
        let held = deps.store.inner.render_slots(LIMIT).await.unwrap();
        for item in &claimed {
            let slot = &held[item.heygen_slot.unwrap() as usize];
            prop_assert_eq!(slot.holder.as_ref().map(|h| h.content_id.as_str()), Some(item.content_id.as_str()));
        }
        // Every item HeyGen made a video for and whose id was recorded is pending.
        for item in deps.store.inner.content() {
            if let Some(video_id) = &item.heygen_video_id
                && item.status_is(JobStatus::Pending)
                && !video_id.starts_with("old-")
            {
                prop_assert!(deps.heygen.videos().iter().any(|(_, v)| v == video_id));
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_item_is_counted_once_and_never_rendered_twice(cases in proptest::collection::vec(case(), 0..24)) {
        check(cases)?;
    }
}

#[test]
fn a_failure_after_creating_is_replayed_not_paid_twice() {
    // 5xx after HeyGen made the video: back in the queue (attempt kept); the
    // next tick sends the same key and records that video.
    let case = Case {
        creator: 0,
        day: 1,
        kind: Kind::Fresh,
        answers: vec![FakeAnswer::ServerAfterCreating],
        fault: StoreFault::None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let deps = world(&[case]);
        let first = run_once(&deps).await.unwrap();
        assert_eq!(first["stopped"], "heygen_unavailable", "{first}");
        assert_eq!(first["queued"], 1, "{first}");
        // HeyGen failed on it: it waits aside (section 11), then is sent again.
        let mut item = deps.store.inner.item(&content_id(0)).unwrap();
        assert!(item.heygen_retry_at.is_some() && item.heygen_create_failures == Some(1), "{item:?}");
        let report = tick(&deps).await;
        assert_eq!((report.created, report.waiting), (0, 1), "{report:?}");
        item.heygen_retry_at = Timestamp::parse("2026-01-01T00:00:00.000Z").ok();
        deps.store.inner.put_content(item);
        let report = tick(&deps).await;
        assert_eq!(report.created, 1, "{report:?}");
        let item = deps.store.inner.item(&content_id(0)).unwrap();
        assert_eq!(item.heygen_create_failures, None, "a create that succeeds resets the count");
        let creates = deps.heygen.creates();
        assert_eq!(creates.len(), 2);
        assert_eq!(creates[0].1, creates[1].1, "the same idempotency key both times");
        assert_eq!(deps.heygen.videos().len(), 1);
        let item = deps.store.inner.item(&content_id(0)).unwrap();
        assert_eq!(item.heygen_video_id.as_deref(), Some(deps.heygen.videos()[0].1.as_str()));
    });
}
