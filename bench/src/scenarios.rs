//! One scenario per binary: its spawns (init and a first invocation of an event
//! that changes nothing) and its warm operations, on fresh tables.

use std::time::Duration;

use devkit::runtime_api::Function;
use serde_json::{Value, json};
use shared::domain::{Cap, Reservation, Timestamp};
use shared::store::prelude::*;
use tests::Tables;
use tests::stack::{event, sign, with_body};

use crate::{Bench, Binary, Op, Sample, WEBHOOK_SECRET, peak_rss_kib};

const MONTH: &str = "2027-01";

/// `creators` eligible bible creators with `days` items each in [`MONTH`].
async fn world(creators: usize, days: usize) -> (Tables, Vec<Value>) {
    let tables = Tables::create().await;
    tables.put_setting("heygen_requests_per_second", "1000").await;
    let mut items = Vec::new();
    for c in 0..creators {
        tables
            .put_creator(json!({"creator_id": format!("cr-{c:02}"), "is_ai": true, "active": true,
                                "heygen_avatar_ids": {"bible": format!("av-{c}")}}))
            .await;
        for day in 1..=days {
            let item = json!({"content_id": format!("c-{c:02}-{day:02}"), "assigned_creator_id": format!("cr-{c:02}"),
                              "date": format!("{MONTH}-{day:02}"), "mode": "bible",
                              "script": "Blessed are the peacemakers, for they shall be called children of God.",
                              "status": "draft"});
            tables.put_content(item.clone()).await;
            items.push(item);
        }
    }
    (tables, items)
}

/// A video made on the simulator (completed at once; rendering for ever when
/// `hold`), as a create would have made it.
async fn sim_video(bench: &Bench, hold: bool) -> String {
    let script = if hold { "Hello [hold]" } else { "Hello" };
    let answer: Value = bench
        .http
        .post(format!("{}/v3/videos", bench.sim))
        .header("x-api-key", crate::SIM_KEY)
        .json(&json!({"type": "avatar", "avatar_id": "av", "script": script, "aspect_ratio": "9:16"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["video_id"].as_str().unwrap().to_string()
}

/// Makes `item` pending on `video_id`, as a create would have.
/// Puts `item` in flight on `video_id` as a dispatch does: claimed with a
/// reservation of 20 s in its month's budget (so that its completion settles
/// it, contract section 13), its video recorded.
async fn make_pending(tables: &Tables, item: &Value, video_id: &str) {
    let store = tables.store();
    let item = store.get_content(item["content_id"].as_str().unwrap()).await.unwrap().unwrap();
    let reservation = Reservation { budget: item.budget_key().unwrap(), seconds: 20 };
    let stale = Duration::from_secs(600);
    let claim = store.claim_reserving(&item, Timestamp::now(), stale, None, &reservation, Cap::None).await.unwrap();
    store.record_video(&claim, video_id).await.unwrap();
}

fn api_event(name: &str, body: Option<Value>) -> Value {
    match body {
        Some(body) => with_body(event(name), &body.to_string()),
        None => event(name),
    }
}

fn status_of(answer: &Value) -> (u64, Value) {
    let status = answer["statusCode"].as_u64().unwrap_or(0);
    let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (status, body)
}

/// Warm invocations of `event` on a running function, each checked by `check`.
async fn warm(bench: &Bench, function: &Function, event: &Value, n: usize, check: impl Fn(&Value)) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let (answer, sample) = bench.measure(function, event).await;
        check(&answer);
        samples.push(sample);
    }
    samples
}

async fn binary(
    bench: &Bench,
    name: &'static str,
    env: &[(&str, String)],
    first_event: &'static str,
    event: &Value,
) -> Binary {
    let (size, zip) = bench.sizes(name);
    let (init, first) = bench.spawns(name, env, event).await;
    Binary { name, size, zip, init, first, first_event, peak_rss_kib: 0 }
}

pub async fn floor(bench: &Bench) -> (Binary, Vec<Op>) {
    let request = api_event("pending", None);
    let mut binary = binary(bench, "bench-floor", &[], "any API Gateway request", &request).await;
    let function = Function::start_binary(&bench.path("bench-floor"), "bench-floor", &[]).await;
    let samples = warm(bench, &function, &request, bench.invocations, |a| assert_eq!(status_of(a).0, 200)).await;
    binary.peak_rss_kib = peak_rss_kib(&function);
    (binary, vec![Op { function: "bench-floor", name: "hello world".into(), samples }])
}

pub async fn pending(bench: &Bench) -> (Binary, Vec<Op>) {
    let (tables, items) = world(5, 10).await;
    for item in &items {
        make_pending(&tables, item, &format!("v-{}", item["content_id"].as_str().unwrap())).await;
    }
    let env = bench.env(&tables.names);
    let list = api_event("pending", None);
    let check = |a: &Value| {
        let (status, body) = status_of(a);
        assert_eq!((status, body["count"].as_u64()), (200, Some(50)), "{body}");
    };
    let mut binary = binary(bench, "admin-pending", &env, "GET, 50 in flight", &list).await;
    let function = Function::start_binary(&bench.path("admin-pending"), "admin-pending", &env).await;
    let samples = warm(bench, &function, &list, bench.invocations, check).await;
    binary.peak_rss_kib = peak_rss_kib(&function);
    (binary, vec![Op { function: "admin-pending", name: "GET: 50 renders in flight".into(), samples }])
}

pub async fn trigger(bench: &Bench) -> (Binary, Vec<Op>) {
    let (creators, days) = (2, 10);
    let (tables, items) = world(creators, days).await;
    tables.put_setting("heygen_max_concurrent_renders", "20").await;
    let env = bench.env(&tables.names);
    let dry = api_event("trigger", Some(json!({"month": MONTH, "mode": "bible", "dry_run": true})));
    let mut binary = binary(bench, "admin-trigger", &env, "POST, dry run of 20 items", &dry).await;
    let request = api_event("trigger", Some(json!({"month": MONTH, "mode": "bible"})));
    let function = Function::start_binary(&bench.path("admin-trigger"), "admin-trigger", &env).await;
    let store = tables.store();
    let mut samples = Vec::new();
    for _ in 0..bench.invocations {
        let (answer, sample) = bench.measure(&function, &request).await;
        let (status, body) = status_of(&answer);
        if (status, body["triggered"].as_u64()) != (200, Some(20)) {
            let logs = function.logs();
            let unusual: Vec<&str> =
                logs.lines().filter(|l| !l.contains("\"INFO\"") || l.contains("skipped")).collect();
            panic!("{body}\n{}", unusual[unusual.len().saturating_sub(30)..].join("\n"));
        }
        samples.push(sample);
        // Back to where it started: every item a draft, every slot free.
        for item in &items {
            tables.put_content(item.clone()).await;
        }
        for slot in store.render_slots(100).await.unwrap() {
            if let Some(holder) = &slot.holder {
                // A conflict: freed already, by a retry of this very request
                // whose first answer the connection lost.
                match store.free_slot(slot.index, &holder.content_id).await {
                    Ok(()) | Err(shared::store::StoreError::Conflict) => {}
                    Err(err) => panic!("{err}"),
                }
            }
        }
    }
    binary.peak_rss_kib = peak_rss_kib(&function);
    let name = format!("POST: K = {} items over C = {creators} creators, all created", creators * days);
    (binary, vec![Op { function: "admin-trigger", name, samples }])
}

pub async fn webhook(bench: &Bench) -> (Binary, Vec<Op>) {
    let n = bench.invocations;
    let (tables, items) = world(n.div_ceil(25), 25).await;
    let mut notices = Vec::new();
    for item in items.iter().take(n) {
        let video_id = sim_video(bench, false).await;
        make_pending(&tables, item, &video_id).await;
        let body = json!({"event_type": "avatar_video.success", "event_data": {
            "video_id": video_id, "url": format!("{}/files/{video_id}.mp4", bench.sim),
            "callback_id": item["content_id"]}});
        notices.push(signed(&body));
    }
    // As deployed: a completion wakes the worker when items wait (none here:
    // the queue is counted, and nothing is invoked).
    let mut env = bench.env(&tables.names);
    env.push(("HEYGEN_WORKER_FUNCTION", "heygen-worker".into()));
    let unknown = signed(&json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v-unknown"}}));
    let mut binary = binary(bench, "heygen-webhook", &env, "a notice for an unknown video", &unknown).await;
    let function = Function::start_binary(&bench.path("heygen-webhook"), "heygen-webhook", &env).await;
    let ok = |a: &Value| assert_eq!(status_of(a).0, 200, "{a}");
    let mut completing = Vec::new();
    for notice in &notices {
        completing.append(&mut warm(bench, &function, notice, 1, ok).await);
    }
    let mut duplicates = Vec::new();
    for notice in &notices {
        duplicates.append(&mut warm(bench, &function, notice, 1, ok).await);
    }
    let done = tables.content_raw(items[0]["content_id"].as_str().unwrap()).await;
    assert_eq!(done["heygen_status"], "completed", "{done}");
    binary.peak_rss_kib = peak_rss_kib(&function);
    let ops = vec![
        Op {
            function: "heygen-webhook",
            name: "a completing notice, confirmed with HeyGen".into(),
            samples: completing,
        },
        Op { function: "heygen-webhook", name: "the same notice again (a duplicate)".into(), samples: duplicates },
    ];
    (binary, ops)
}

fn signed(body: &Value) -> Value {
    let raw = body.to_string();
    let mut ev = with_body(event("webhook-success"), &raw);
    ev["headers"]["heygen-signature"] = sign(raw.as_bytes(), WEBHOOK_SECRET).into();
    ev
}

/// Ticks with every slot held: `queued` items behind 10 renders in flight, made
/// by one trigger over `creators` x `days` items.
async fn full_slots_ticks(bench: &Bench, creators: usize, days: usize, n: usize) -> Vec<Sample> {
    let tick = json!({});
    let queued = (creators * days - 10) as u64;
    let (tables, _) = world(creators, days).await;
    let mut env = bench.env(&tables.names);
    let trigger = Function::start_binary(&bench.path("admin-trigger"), "admin-trigger", &env).await;
    let (answer, _) =
        bench.measure(&trigger, &api_event("trigger", Some(json!({"month": MONTH, "mode": "bible"})))).await;
    let (_, body) = status_of(&answer);
    assert_eq!((body["triggered"].as_u64(), body["queued"].as_u64()), (Some(10), Some(queued)), "{body}");
    drop(trigger);
    env.push(("HEYGEN_RECONCILE_AFTER_SECONDS", "3600".into()));
    let check =
        |a: &Value| assert_eq!((a["queue_depth"].as_u64(), a["in_flight"].as_u64()), (Some(queued), Some(10)), "{a}");
    let function = Function::start_binary(&bench.path("heygen-worker"), "heygen-worker", &env).await;
    warm(bench, &function, &tick, n, check).await
}

pub async fn worker(bench: &Bench) -> (Binary, Vec<Op>) {
    let tick = json!({});
    // A queue of 510 behind 10 renders in flight (HeyGen's default limit), made
    // by one trigger; the renders never finish and are not yet due a check.
    let (tables, _) = world(20, 26).await;
    let mut env = bench.env(&tables.names);
    let trigger = Function::start_binary(&bench.path("admin-trigger"), "admin-trigger", &env).await;
    let (answer, _) =
        bench.measure(&trigger, &api_event("trigger", Some(json!({"month": MONTH, "mode": "bible"})))).await;
    let (_, body) = status_of(&answer);
    assert_eq!((body["triggered"].as_u64(), body["queued"].as_u64()), (Some(10), Some(510)), "{body}");
    drop(trigger);
    env.push(("HEYGEN_RECONCILE_AFTER_SECONDS", "3600".into()));
    env.push(("VIDEO_BUCKET", bench.bucket.clone()));
    env.push(("VIDEO_BASE_URL", "https://videos.example".into()));
    let queued =
        |a: &Value| assert_eq!((a["queue_depth"].as_u64(), a["in_flight"].as_u64()), (Some(510), Some(10)), "{a}");
    let mut binary = binary(bench, "heygen-worker", &env, "a tick: 510 queued, slots full", &tick).await;
    let function = Function::start_binary(&bench.path("heygen-worker"), "heygen-worker", &env).await;
    let over_queue = warm(bench, &function, &tick, bench.invocations, queued).await;
    binary.peak_rss_kib = peak_rss_kib(&function);
    drop(function);

    // 500 renders in flight, all due a check: 50 completed at HeyGen, 450 still
    // rendering. No archive, so that the tick's HeyGen calls are its reconcile's.
    let (tables, items) = world(20, 25).await;
    for (i, item) in items.iter().enumerate() {
        let video_id = sim_video(bench, i % 10 != 0).await;
        make_pending(&tables, item, &video_id).await;
    }
    let mut env = bench.env(&tables.names);
    env.push(("HEYGEN_RECONCILE_AFTER_SECONDS", "0".into()));
    let function = Function::start_binary(&bench.path("heygen-worker"), "heygen-worker", &env).await;
    let (report, first) = bench.measure(&function, &tick).await;
    assert_eq!((report["checked"].as_u64(), report["completed"].as_u64()), (Some(500), Some(50)), "{report}");
    let rest = |a: &Value| assert_eq!((a["checked"].as_u64(), a["completed"].as_u64()), (Some(450), Some(0)), "{a}");
    let again = warm(bench, &function, &tick, bench.reconcile_ticks, rest).await;
    binary.peak_rss_kib = binary.peak_rss_kib.max(peak_rss_kib(&function));
    // The same tick over shorter queues: its cost should not depend on the length.
    let short = full_slots_ticks(bench, 1, 20, bench.reconcile_ticks).await;
    let middle = full_slots_ticks(bench, 5, 22, bench.reconcile_ticks).await;
    let ops = vec![
        Op { function: "heygen-worker", name: "a tick: 10 queued, 10 in flight, slots full".into(), samples: short },
        Op { function: "heygen-worker", name: "a tick: 100 queued, 10 in flight, slots full".into(), samples: middle },
        Op {
            function: "heygen-worker",
            name: "a tick: 510 queued, 10 in flight, slots full".into(),
            samples: over_queue,
        },
        Op {
            function: "heygen-worker",
            name: "a tick reconciling N = 500 pending, 50 completed".into(),
            samples: vec![first],
        },
        Op {
            function: "heygen-worker",
            name: "a tick reconciling N = 450 pending, none completed".into(),
            samples: again,
        },
    ];
    (binary, ops)
}
