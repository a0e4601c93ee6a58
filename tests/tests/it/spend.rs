//! Spend (contract section 13) through the shipped binaries on moto: a cap that
//! admits exactly the renders it has room for while the trigger and two workers
//! race, completions that settle at HeyGen's shorter durations and free room for
//! exactly the renders the arithmetic allows, doubled notices and a racing
//! refresh that settle each render once; refused creates that keep the item's
//! render attempts.

use std::collections::HashSet;

use serde_json::{Value, json};
use shared::store::prelude::*;
use tests::runtime_api::Function;
use tests::stack::{Stack, event, with_body};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use shared::domain::Mode;
use shared::testkit::{FakeAnswer, FakeHeygen};
use tests::month::{invocation, tick_until, trigger, world};

use crate::refill::{Heygen, env, notice};

/// Every item's script has 3 words: at 6.666 s a word, an estimate of 20 s.
const SECONDS_PER_WORD: &str = "6.666";

/// A month of `items` items of one creator: the first `pre_queued` waiting in
/// the queue from an earlier trigger (estimated at 20 s), the rest new; a cap of
/// `cap` seconds set by the setting; 10 render slots (the cap, not the slots,
/// binds).
async fn month(items: usize, pre_queued: usize, cap: u64) -> (Stack, Heygen) {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for day in 1..=items {
        let id = format!("c-{day:02}");
        let date = format!("2026-03-{day:02}");
        let queued = json!({"heygen_status": "queued", "heygen_queue": "queued",
            "heygen_queue_order": format!("{date}#cr-a#{id}#bible"), "heygen_estimated_seconds": 20,
            "heygen_callback_url": "https://api.example/webhooks/heygen"});
        stack.content(&id, "cr-a", &date, if day <= pre_queued { queued } else { json!({}) }).await;
    }
    stack.tables.put_setting("heygen_max_concurrent_renders", "10").await;
    stack.tables.put_setting("heygen_seconds_per_word", SECONDS_PER_WORD).await;
    stack.tables.put_setting("heygen_budget_seconds", &cap.to_string()).await;
    stack.tables.put_setting("heygen_usd_per_second", "0.05").await;
    let heygen = Heygen::mounted(&stack).await;
    (stack, heygen)
}

/// The items HeyGen was asked to create, each once however often it was asked.
fn created(heygen: &Heygen) -> HashSet<String> {
    heygen.0.lock().unwrap().creates.iter().cloned().collect()
}

async fn budget(stack: &Stack) -> Value {
    let (status, body) = stack.pending(event("progress")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_cap_of_110_admits_exactly_five_renders_of_20_while_the_trigger_and_two_workers_race() {
    let (stack, heygen) = month(10, 5, 110).await;
    let env = env(&stack);
    let trigger = Function::start("admin-trigger", &env).await;
    let workers = [Function::start("heygen-worker", &env).await, Function::start("heygen-worker", &env).await];

    // The trigger queues c-06..c-10 and creates what fits while both workers
    // dispatch the queue: all three reserve against the same row.
    let tick = json!({});
    let trigger_event = event("trigger");
    let ((status, body), a, b) =
        tokio::join!(trigger.call(&trigger_event), workers[0].invoke(&tick), workers[1].invoke(&tick));
    assert_eq!(status, 200, "{body}");
    let (a, b) = (a.unwrap(), b.unwrap());
    let made = created(&heygen);
    println!(
        "race: trigger created {}, workers {} and {}; HeyGen made {} renders: {made:?}",
        body["triggered"],
        a["created"],
        b["created"],
        made.len()
    );
    assert_eq!(made.len(), 5, "110 s admits five renders of 20 s, whoever claims them: {made:?}");
    assert_eq!(heygen.0.lock().unwrap().by_key.len(), 5, "five videos made");
    assert_eq!(body["estimated_seconds"], 100, "its five items, created or queued: {body}");
    assert_eq!(body["estimated_usd"], 5.0, "{body}");
    let progress = budget(&stack).await;
    assert_eq!(
        progress["budget"],
        json!({"cap_seconds": 110, "reserved_seconds": 100, "spent_seconds": 0, "left_seconds": 10}),
        "{progress}"
    );
    assert_eq!(progress["blocked_by_budget"], 5, "the rest wait, marked: {progress}");
    // The gauge of a tick that read the whole queue.
    let again = workers[0].invoke(&tick).await.unwrap();
    assert_eq!((again["created"].as_u64(), again["budget_blocked"].as_u64()), (Some(0), Some(5)), "{again}");
    // Spend against the cap, for the dashboard: this tick's view of the month.
    let spend = tests::emf_metrics(&workers[0].logs());
    let last = |name: &str| spend.iter().rev().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"));
    let month = vec![("Budget".to_string(), "2026-03#bible".to_string())];
    assert_eq!((last("BudgetCommittedSeconds").value, &last("BudgetCommittedSeconds").dimensions), (100.0, &month));
    assert_eq!((last("BudgetCapSeconds").value, &last("BudgetCapSeconds").dimensions), (110.0, &month));
    let blocked = |logs: &str| tests::emf_metrics(logs).into_iter().filter(|m| m.name == "BudgetBlocked").count();
    let written = blocked(&workers[0].logs());
    assert!(written >= 1, "the EMF line carries BudgetBlocked");
    // Every slot taken: the next tick does not read the queue, and this warm
    // sandbox writes no BudgetBlocked at all, not the last tick's 5 again.
    let store = stack.tables.store();
    for slot in store.render_slots(10).await.unwrap().into_iter().filter(|s| s.is_free()) {
        store.take_slot(slot.index, "c-elsewhere", shared::domain::Timestamp::now()).await.unwrap();
    }
    let full = workers[0].invoke(&tick).await.unwrap();
    assert_eq!(full["budget_blocked"], Value::Null, "{full}");
    assert_eq!(blocked(&workers[0].logs()), written, "gauges are this tick's");
}

#[tokio::test]
async fn shorter_renders_free_room_for_exactly_the_renders_the_arithmetic_allows_and_settle_once() {
    let (stack, heygen) = month(10, 0, 110).await;
    let env = env(&stack);
    let webhooks = [Function::start("heygen-webhook", &env).await, Function::start("heygen-webhook", &env).await];
    let worker = Function::start("heygen-worker", &env).await;
    let pending = Function::start("admin-pending", &env).await;

    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["triggered"].as_u64(), body["queued"].as_u64()), (200, Some(5), Some(5)), "{body}");
    assert_eq!(body["estimated_seconds"], 200, "ten items of 20 s: {body}");

    // Each render lasts 3 s against its estimate of 20: every notice twice, in
    // two sandboxes, while a refresh asks HeyGen about the same renders.
    let mut rounds = Vec::new();
    for expected in [5usize, 9, 10] {
        let finished = heygen.finish_all();
        assert_eq!(created(&heygen).len(), expected, "after {rounds:?}");
        for video in &finished {
            let ev = notice(video);
            let refresh_event = event("pending-refresh");
            let refresh = pending.call(&refresh_event);
            let (a, b, (r, _)) = tokio::join!(webhooks[0].call(&ev), webhooks[1].call(&ev), refresh);
            assert_eq!((a.0, b.0, r), (200, 200, 200), "{a:?} {b:?}");
        }
        rounds.push(finished.len());
        worker.invoke(&json!({})).await.unwrap();
    }
    // 5 x 3 s spent leaves 95: four more (80); then 27 spent leaves 83: the last.
    assert_eq!(rounds, [5, 4, 1]);
    let finished = heygen.finish_all();
    for video in &finished {
        webhooks[0].call(&notice(video)).await;
    }
    let progress = budget(&stack).await;
    assert_eq!(
        progress["budget"],
        json!({"cap_seconds": 110, "reserved_seconds": 0, "spent_seconds": 30, "left_seconds": 80}),
        "ten renders of 3 s, each settled once: {progress}"
    );
    assert_eq!((progress["states"]["submitted"].as_u64(), progress["blocked_by_budget"].as_u64()), (Some(10), Some(0)));
}

#[tokio::test]
async fn a_higher_cap_from_the_trigger_lets_the_next_tick_take_the_blocked_items() {
    let (stack, heygen) = month(4, 0, 40).await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!((status, body["triggered"].as_u64(), body["queued"].as_u64()), (200, Some(2), Some(2)), "{body}");
    assert_eq!(body["budget"]["left_seconds"], 0, "{body}");
    let report = stack.tick().await;
    assert_eq!((report.created, report.budget_blocked), (0, Some(2)), "{report:?}");
    // The admin raises this month's cap: the row keeps it, over the setting.
    let raise = with_body(event("trigger"), r#"{"month": "2026-03", "mode": "bible", "budget_seconds": 100}"#);
    let (status, body) = stack.trigger(raise).await;
    assert_eq!((status, body["budget"]["cap_seconds"].as_u64()), (200, Some(100)), "{body}");
    let report = stack.tick().await;
    assert_eq!((report.created, report.budget_blocked), (2, Some(0)), "{report:?}");
    assert_eq!(created(&heygen).len(), 4);
    // `null` removes the month's own cap: the setting's 40 governs again.
    let remove = with_body(event("trigger"), r#"{"month": "2026-03", "mode": "bible", "budget_seconds": null}"#);
    let (_, body) = stack.trigger(remove).await;
    assert_eq!(
        body["budget"],
        json!({"cap_seconds": 40, "reserved_seconds": 80, "spent_seconds": 0, "left_seconds": 0})
    );
}

#[tokio::test]
async fn a_dry_run_estimates_reads_the_account_and_writes_nothing() {
    let (stack, heygen) = month(3, 0, 1000).await;
    Mock::given(method("GET"))
        .and(path("/v3/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "username": "u", "email": "e", "billing_type": "wallet",
            "wallet": {"remaining_balance": 12.5, "currency": "USD",
                       "auto_reload": {"enabled": true, "amount_usd": 50, "threshold_usd": 5}}}})))
        .expect(1)
        .mount(&stack.heygen)
        .await;
    let before = stack.tables.content_raw("c-01").await;
    let dry =
        with_body(event("trigger"), r#"{"month": "2026-03", "mode": "bible", "dry_run": true, "budget_seconds": 7}"#);
    let (status, body) = stack.trigger(dry).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["would_trigger"].as_u64(), body["estimated_seconds"].as_u64()), (Some(3), Some(60)), "{body}");
    assert_eq!(body["estimated_usd"], 3.0);
    assert_eq!(body["budget"]["cap_seconds"], 7, "the cap it would set, not written: {body}");
    assert_eq!(
        body["heygen_account"],
        json!({"billing_type": "wallet", "remaining_usd": 12.5, "remaining_credits": null, "auto_reload": true})
    );
    assert_eq!(stack.tables.content_raw("c-01").await, before, "nothing written");
    assert_eq!(budget(&stack).await["budget"]["cap_seconds"], 1000, "the row's cap untouched");
    assert!(created(&heygen).is_empty());
    stack.heygen.verify().await;
    // HeyGen not answering: the dry run still answers, without the account.
    stack.heygen.reset().await;
    Mock::given(method("GET"))
        .and(path("/v3/users/me"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)))
        .mount(&stack.heygen)
        .await;
    let started = std::time::Instant::now();
    let (status, body) =
        stack.trigger(with_body(event("trigger"), r#"{"month": "2026-03", "mode": "bible", "dry_run": true}"#)).await;
    assert_eq!((status, body["heygen_account"].clone()), (200, Value::Null), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn estimates_are_written_with_the_queue_at_the_creators_learned_rate() {
    let (stack, _heygen) = month(5, 0, 1000).await;
    // Three finished renders of cr-a this month: 30 s over 3 scripts of 3 words.
    for day in 1..=3 {
        stack
            .content_update(
                &format!("c-{day:02}"),
                json!({"creator_video_url": format!("https://cdn.example/{day}.mp4"), "status": "submitted",
                       "heygen_status": "completed", "heygen_duration_seconds": 10.0}),
            )
            .await;
    }
    stack
        .content("c-04", "cr-a", "2026-03-04", json!({"script": "one two three four five six seven eight nine ten"}))
        .await;
    let (status, body) = stack.trigger(event("trigger")).await;
    assert_eq!(status, 200, "{body}");
    // 30 s over 9 words, 10/3 s a word (not the setting's 6.666): 10 words ->
    // 34 s (33.3 rounded up); 3 words -> 10 s.
    assert_eq!(stack.tables.content_raw("c-04").await["heygen_estimated_seconds"], 34);
    assert_eq!(stack.tables.content_raw("c-05").await["heygen_estimated_seconds"], 10);
    assert_eq!(body["estimated_seconds"], 44, "{body}");
}

#[tokio::test]
async fn a_night_without_credit_leaves_the_item_its_render_attempts() {
    // HeyGen refuses c-0-01's creates for want of credit on the trigger and five
    // ticks (each refusal moves the key on), then accepts: that render fails,
    // and with heygen_max_render_attempts = 2 it is rendered once more.
    // Before, the six refusals had used up its attempts: failed for good.
    let heygen = FakeHeygen::rendering_for(1);
    heygen.plan("c-0-01", [FakeAnswer::InsufficientCredit; 6]);
    heygen.fail_next_render("c-0-01");
    let (tables, deps) = world(1, 1, 1, heygen).await;
    let first = trigger(&deps).await;
    assert_eq!(first.stopped.map(|s| s.as_str()), Some("heygen_insufficient_credit"), "{first:?}");
    for _ in 0..5 {
        let report = shared::app::worker::tick(&deps, &invocation(50)).await;
        assert_eq!(report.stopped.map(|s| s.as_str()), Some("heygen_insufficient_credit"), "{report:?}");
    }
    tick_until(&deps, 10, |r| r.drained()).await;
    let raw = tables.content_raw("c-0-01").await;
    assert_eq!(
        (raw["status"].as_str(), raw["heygen_status"].as_str()),
        (Some("submitted"), Some("completed")),
        "{raw}"
    );
    assert_eq!(raw["heygen_render_failures"], 1, "one render failed; six refusals counted nothing");
    assert_eq!(raw["heygen_attempt"], 8, "every refusal and the failure moved the key on");
    let keys: Vec<String> = deps.heygen.creates().into_iter().map(|(_, key)| key).collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    let key = shared::domain::BudgetKey::new("2026-03".parse().unwrap(), Mode::Bible);
    let budget = deps.store.budget(&key).await.unwrap();
    assert_eq!(
        (budget.spent_seconds, budget.reserved_seconds),
        (31, 0),
        "refusals and the failure gave back; {budget:?}"
    );
}
