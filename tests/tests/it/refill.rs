//! Refill on completion (contract section 9), through the shipped binaries: the
//! webhook binary invokes the worker through Lambda's `Invoke` API, answered by
//! the worker's Runtime API emulator, which runs a tick as Lambda would. No
//! schedule: the month drains on completions alone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::runtime_api::Function;
use tests::stack::{Stack, WEBHOOK_SECRET, event, webhook_event};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// HeyGen, as far as this flow needs it: creates (one video per idempotency
/// key), each video rendering until the test finishes it; the most rendering at
/// once is recorded.
#[derive(Clone, Default)]
pub(crate) struct Heygen(pub(crate) Arc<Mutex<Renders>>);

#[derive(Default)]
pub(crate) struct Renders {
    pub(crate) by_key: HashMap<String, String>,
    /// Content ids in the order HeyGen got their creates (replays included).
    pub(crate) creates: Vec<String>,
    rendering: HashSet<String>,
    done: HashSet<String>,
    peak: usize,
}

impl Respond for Heygen {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut r = self.0.lock().unwrap();
        if request.method.as_str() == "POST" {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let key = request.headers.get("idempotency-key").unwrap().to_str().unwrap().to_string();
            r.creates.push(body["callback_id"].as_str().unwrap().to_string());
            let n = r.by_key.len() + 1;
            let video = r.by_key.entry(key).or_insert_with(|| format!("v-{n}")).clone();
            r.rendering.insert(video.clone());
            r.peak = r.peak.max(r.rendering.len());
            return ResponseTemplate::new(200).set_body_json(json!({"data": {"video_id": video, "status": "waiting"}}));
        }
        let video = request.url.path().rsplit('/').next().unwrap().to_string();
        let status = if r.done.contains(&video) { "completed" } else { "processing" };
        ResponseTemplate::new(200).set_body_json(json!({"data": {"id": video, "status": status,
            "video_url": format!("https://files.heygen.example/{video}.mp4"), "duration": 3.0}}))
    }
}

impl Heygen {
    /// A new one, answering the stack's creates and status reads.
    pub(crate) async fn mounted(stack: &Stack) -> Self {
        let heygen = Heygen::default();
        Mock::given(method("POST")).and(path("/v3/videos")).respond_with(heygen.clone()).mount(&stack.heygen).await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v3/videos/v-\d+$"))
            .respond_with(heygen.clone())
            .mount(&stack.heygen)
            .await;
        heygen
    }

    /// Finishes every video rendering now; returns them.
    pub(crate) fn finish_all(&self) -> Vec<String> {
        let mut r = self.0.lock().unwrap();
        let now: Vec<String> = r.rendering.drain().collect();
        r.done.extend(now.iter().cloned());
        now
    }
}

async fn month(items: usize, slots: u32) -> (Stack, Heygen) {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=items {
        stack.content(&format!("c-{day:02}"), "cr-a", &format!("2026-03-{day:02}"), json!({})).await;
    }
    stack.tables.put_setting("heygen_max_concurrent_renders", &slots.to_string()).await;
    let heygen = Heygen::mounted(&stack).await;
    (stack, heygen)
}

/// The functions' environment: the worker reconciles nothing by itself (its
/// checks are an hour away), so only notices settle renders.
pub(crate) fn env(stack: &Stack) -> Vec<(&'static str, String)> {
    let mut env = stack.lambda_env();
    env.push(("HEYGEN_RECONCILE_AFTER_SECONDS", "3600".into()));
    env
}

/// The worker under the Runtime API emulator, and the environment of a webhook
/// that wakes `worker_name` through that emulator's `Invoke` API.
async fn worker_and_webhook_env(stack: &Stack, worker_name: &str) -> (Function, Vec<(&'static str, String)>) {
    let worker = Function::start("heygen-worker", &env(stack)).await;
    let mut webhook_env = env(stack);
    webhook_env.push(("HEYGEN_WORKER_FUNCTION", worker_name.into()));
    webhook_env.push(("AWS_ENDPOINT_URL_LAMBDA", worker.invoke_endpoint()));
    (worker, webhook_env)
}

pub(crate) fn notice(video: &str) -> Value {
    let notice = json!({"event_type": "avatar_video.success", "event_data": {"video_id": video}});
    webhook_event(&notice, Some(("heygen-signature", WEBHOOK_SECRET)))
}

async fn submitted(stack: &Stack, items: usize) -> usize {
    let mut n = 0;
    for day in 1..=items {
        let raw = stack.tables.content_raw(&format!("c-{day:02}")).await;
        n += usize::from(raw["status"] == "submitted" && raw["heygen_status"] == "completed");
    }
    n
}

#[tokio::test]
async fn a_month_drains_on_completions_alone_within_the_limit_and_pays_once() {
    let (items, slots) = (12, 4);
    let (stack, heygen) = month(items, slots).await;
    let (worker, webhook_env) = worker_and_webhook_env(&stack, "heygen-worker").await;
    // Two sandboxes: notices are handled two at a time, as Lambda scales.
    let webhooks =
        [Function::start("heygen-webhook", &webhook_env).await, Function::start("heygen-webhook", &webhook_env).await];

    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["triggered"].as_u64(), body["queued"].as_u64()), (200, Some(4), Some(8)), "{body}");

    let started = Instant::now();
    let mut notices = 0;
    while submitted(&stack, items).await < items {
        assert!(started.elapsed() < Duration::from_secs(90), "not drained: {}\n{}", worker.logs(), webhooks[0].logs());
        let finished = heygen.finish_all();
        // Each finished video's notice, twice (HeyGen redelivers), the two
        // sandboxes at once.
        for video in &finished {
            let ev = notice(video);
            let (a, b) = tokio::join!(webhooks[0].call(&ev), webhooks[1].call(&ev));
            assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
            notices += 2;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let r = heygen.0.lock().unwrap();
    let distinct: HashSet<&String> = r.creates.iter().collect();
    assert_eq!((distinct.len(), r.by_key.len()), (items, items), "one video per item: {:?}", r.creates);
    assert!(r.peak <= slots as usize, "at most {slots} rendering at once; saw {}", r.peak);
    // Woken by notices that freed a slot while items waited: at most one wake
    // per notice, and no tick but those.
    let woken = worker.invoked();
    assert!((2..=notices).contains(&woken), "{woken} wakes for {notices} notices");
    println!("drained {items} items through {slots} slots on {woken} wakes in {:?}", started.elapsed());
}

#[tokio::test]
async fn an_invoke_that_fails_changes_nothing() {
    let (stack, heygen) = month(3, 1).await;
    // Lambda answers 404: no such function.
    let (worker, webhook_env) = worker_and_webhook_env(&stack, "no-such-worker").await;
    let webhook = Function::start("heygen-webhook", &webhook_env).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["triggered"].as_u64()), (200, Some(1)), "{body}");

    let finished = heygen.finish_all();
    let (status, body) = webhook.call(&notice(&finished[0])).await;
    assert_eq!((status, body), (200, json!({"received": true})), "{}", webhook.logs());
    assert_eq!(submitted(&stack, 3).await, 1, "the completion is recorded");
    assert_eq!(worker.invoked(), 0);
    let logs = webhook.logs();
    assert!(logs.contains("the worker could not be woken"), "{logs}");
    // The queue is as it was: the schedule's next tick feeds it.
    let report = worker.invoke(&json!({})).await.unwrap();
    assert_eq!(report["created"], 1, "{report}");
}

#[tokio::test]
async fn a_notice_with_nothing_queued_wakes_no_one() {
    let (stack, heygen) = month(1, 2).await;
    let (worker, webhook_env) = worker_and_webhook_env(&stack, "heygen-worker").await;
    let webhook = Function::start("heygen-webhook", &webhook_env).await;
    stack.trigger(event("trigger")).await;
    let finished = heygen.finish_all();
    let (status, _) = webhook.call(&notice(&finished[0])).await;
    assert_eq!(status, 200);
    assert_eq!(submitted(&stack, 1).await, 1);
    assert_eq!(worker.invoked(), 0, "nothing queued: no wake");
}

/// What a tick sends to DynamoDB with every slot (4) held, behind a month of
/// `creators` x `days` items.
async fn full_slots_tick(creators: usize, days: usize) -> Vec<tests::requests::Sent> {
    let queued = creators * days - 4;
    let log = tests::requests::RequestLog::default();
    let client = log.client(&tests::local_aws().await);
    let (_tables, deps) =
        tests::month::world_on(creators, days, 4, shared::testkit::FakeHeygen::new(), Some(client)).await;
    let report = tests::month::trigger(&deps).await;
    assert_eq!((report.triggered, report.queued), (4, queued), "{report:?}");
    log.take();
    let tick = shared::app::worker::tick(&deps, &tests::month::invocation(25)).await;
    assert_eq!((tick.created, tick.queue_depth), (0, Some(queued)), "{tick:?}");
    let mut sent = log.take();
    sent.sort_by(|a, b| (&a.operation, &a.table, &a.index).cmp(&(&b.operation, &b.table, &b.index)));
    sent
}

#[tokio::test]
async fn a_tick_with_every_slot_held_costs_the_same_whatever_the_queues_length() {
    let short = full_slots_tick(1, 9).await; // 5 queued
    let long = full_slots_tick(16, 19).await; // 300 queued
    // Table names differ between the two worlds: compare what was asked of which table.
    let shape = |sent: &[tests::requests::Sent]| -> Vec<(String, Option<String>, Option<String>)> {
        sent.iter().map(|s| (s.operation.clone(), s.index.clone(), s.select.clone())).collect()
    };
    assert_eq!(shape(&short), shape(&long), "{short:#?}\n{long:#?}");
    // The queue is counted, never read: a read grows with it, even in one page.
    let queue_reads: Vec<_> = long.iter().filter(|s| s.index.as_deref() == Some("queue_by_order")).collect();
    assert!(queue_reads.iter().all(|s| s.select.as_deref() == Some("COUNT")), "{queue_reads:#?}");
    println!("a tick with every slot held: {:?}", shape(&long));
}
