//! A month of content on moto, worked by the real use cases with a HeyGen
//! stand-in (`FakeHeygen`) that records its most jobs at once: the world of the
//! worker's and the bad items' tests.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use shared::app::trigger::{TriggerReport, TriggerRequest, trigger_month};
use shared::app::worker::{TickReport, tick};
use shared::app::{Deps, Invocation, Timing};
use shared::domain::Mode;
use shared::store::DynamoStore;
use shared::store::prelude::*;
use shared::testkit::{FakeHeygen, Faulty, StaticSecret};
use tokio::time::Instant;

use crate::Tables;

pub type Moto = (DynamoStore, StaticSecret, FakeHeygen);

/// Tables on moto with `creators` eligible bible creators (`cr-{c}`) and `days`
/// items each (`c-{c}-{day:02}`) in March 2026, a render limit of `limit`, and
/// `heygen`; the store talks to moto through `client` when one is given.
pub async fn world_on(
    creators: usize,
    days: usize,
    limit: u32,
    heygen: FakeHeygen,
    client: Option<aws_sdk_dynamodb::Client>,
) -> (Tables, Deps<Moto>) {
    let tables = Tables::create().await;
    tables.put_setting("heygen_requests_per_second", "100000").await;
    tables.put_setting("heygen_max_concurrent_renders", &limit.to_string()).await;
    for c in 0..creators {
        tables
            .put_creator(json!({"creator_id": format!("cr-{c}"), "is_ai": true, "active": true,
                                "heygen_avatar_ids": {"bible": format!("av-{c}")}}))
            .await;
        for day in 1..=days {
            tables
                .put_content(json!({"content_id": format!("c-{c}-{day:02}"), "assigned_creator_id": format!("cr-{c}"),
                                    "date": format!("2026-03-{day:02}"), "mode": "bible", "script": "Hello",
                                    "status": "draft"}))
                .await;
        }
    }
    let mut config = crate::test_config(tables.names.clone(), "http://heygen.invalid", None);
    config.heygen_callback_url = Some("https://api.example/webhooks/heygen".into());
    let store = match client {
        Some(client) => DynamoStore::new(client, tables.names.clone()),
        None => tables.store(),
    };
    let deps = Deps {
        store,
        secrets: StaticSecret::with_key("sk-fake"),
        heygen,
        config,
        archive: None,
        timing: Timing::default(),
        worker: None,
    };
    (tables, deps)
}

/// [`world_on`] with the plain moto client.
pub async fn world(creators: usize, days: usize, limit: u32, heygen: FakeHeygen) -> (Tables, Deps<Moto>) {
    world_on(creators, days, limit, heygen, None).await
}

pub fn invocation(seconds: u64) -> Invocation {
    Invocation { deadline: Instant::now() + Duration::from_secs(seconds), domain_name: None }
}

/// The admin's one call: March 2026, bible.
pub async fn trigger(deps: &Deps<Moto>) -> TriggerReport {
    let request =
        TriggerRequest { month: "2026-03".parse().unwrap(), mode: Mode::Bible, dry_run: false, budget_seconds: None };
    trigger_month(deps, &request, &invocation(25)).await.unwrap()
}

/// Ticks until the queue and the flight are empty, asserting that no tick
/// stopped; the number of ticks.
pub async fn drain(deps: &Deps<Moto>, most: usize) -> usize {
    for n in 1..=most {
        let report = tick(deps, &invocation(50)).await;
        assert_eq!(report.stopped, None, "{report:?}");
        if report.drained() {
            return n;
        }
    }
    panic!("not drained after {most} ticks");
}

/// Ticks until `done` holds of a tick's report; every report, in order.
pub async fn tick_until(deps: &Deps<Moto>, most: usize, done: impl Fn(&TickReport) -> bool) -> Vec<TickReport> {
    let mut reports = Vec::new();
    for _ in 0..most {
        let report = tick(deps, &invocation(50)).await;
        let finished = done(&report);
        reports.push(report);
        if finished {
            return reports;
        }
    }
    panic!("not done after {most} ticks: {:?}", reports.last());
}

/// How many videos HeyGen made for each item.
pub fn videos_per_item(heygen: &FakeHeygen) -> HashMap<String, usize> {
    let mut per_item: HashMap<String, usize> = HashMap::new();
    for (content_id, _) in heygen.videos() {
        *per_item.entry(content_id).or_default() += 1;
    }
    per_item
}

/// Every item has exactly one video from HeyGen, and it is attached.
pub async fn every_item_has_one_video(tables: &Tables, deps: &Deps<Moto>, items: usize) {
    let per_item = videos_per_item(&deps.heygen);
    assert_eq!(per_item.len(), items, "every item rendered");
    assert!(per_item.values().all(|n| *n == 1), "never twice: {per_item:?}");
    for content_id in per_item.keys() {
        let raw = tables.content_raw(content_id).await;
        assert_eq!((raw["heygen_status"].as_str(), raw["status"].as_str()), (Some("completed"), Some("submitted")));
        assert!(raw.get("heygen_slot").is_none());
    }
    assert!(deps.store.render_slots(100).await.unwrap().iter().all(|s| s.is_free()), "every slot free again");
}

/// The world's dependencies over a store that counts its calls (and can be
/// given faults), and a HeyGen of its own.
pub fn counted(tables: &Tables, deps: &Deps<Moto>) -> Deps<(Faulty<DynamoStore>, StaticSecret, FakeHeygen)> {
    Deps {
        store: Faulty::new(tables.store()),
        secrets: StaticSecret::with_key("sk-fake"),
        heygen: FakeHeygen::new(),
        config: deps.config.clone(),
        archive: None,
        timing: deps.timing.clone(),
        worker: None,
    }
}
