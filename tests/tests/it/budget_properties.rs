//! The budget's arithmetic on moto over random interleavings (contract 13.2):
//! reservations, settlements and releases of several items in a random order,
//! delivered twice, or with DynamoDB's answer lost after the write was applied.
//! After every step the row, read as anyone could read it, never holds more
//! than the cap (plus what HeyGen billed beyond the estimates of the renders it
//! settled), holds exactly the reservations of the items in flight, and has
//! spent exactly what the completions billed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tests::ApplyById;

use proptest::prelude::*;
use shared::domain::{BudgetKey, Cap, Definiteness, Mode, Outcome, Reservation, VideoSeconds};
use shared::store::DynamoStore;
use shared::store::prelude::*;
use tests::lost_answers::LostAnswers;
use tests::{Tables, local_aws};

use crate::store::{STALE, t};

const ITEMS: usize = 5;

#[derive(Clone, Debug)]
enum Step {
    /// Claim item `i` with a reservation of its estimate.
    Reserve(usize),
    /// HeyGen finished item `i`'s render, billing `billed` seconds.
    Complete(usize, u64),
    /// Item `i`'s render failed.
    Fail(usize),
    /// Item `i`'s claim went back to the queue (HeyGen failing, or a refusal).
    Requeue(usize),
    /// The previous step delivered again.
    Again,
}

fn step() -> impl Strategy<Value = (Step, bool)> {
    let i = 0..ITEMS;
    let step = prop_oneof![
        4 => i.clone().prop_map(Step::Reserve),
        3 => (i.clone(), 1u64..60).prop_map(|(i, billed)| Step::Complete(i, billed)),
        1 => i.clone().prop_map(Step::Fail),
        1 => i.prop_map(Step::Requeue),
        1 => Just(Step::Again),
    ];
    // Whether this step's first answer is lost after DynamoDB applied it.
    (step, proptest::bool::weighted(0.3))
}

/// What the test knows of an item.
#[derive(Clone, Debug, PartialEq)]
enum Model {
    Queued,
    /// In flight holding its estimate, under this claim (and video, once recorded).
    Held(shared::domain::Claim, Option<String>),
    Done,
}

struct World {
    tables: Tables,
    store: DynamoStore,
    lose_next: Arc<AtomicBool>,
    estimates: Vec<u64>,
    cap: u64,
}

fn key() -> BudgetKey {
    BudgetKey::new("2026-03".parse().unwrap(), Mode::Bible)
}

async fn world(estimates: Vec<u64>, cap: u64) -> World {
    let lose_next = Arc::new(AtomicBool::new(false));
    let losing = Arc::clone(&lose_next);
    // Loses the first answer of the next transaction once armed.
    let lost = LostAnswers::new(move |body| body.contains("TransactItems") && losing.swap(false, Ordering::SeqCst));
    let client = lost.client(&local_aws().await);
    let tables = Tables::create().await;
    let store = DynamoStore::new(client, tables.names.clone());
    crate::budget::queued(&tables, estimates.len()).await;
    store.set_budget_cap(&key(), Some(cap)).await.unwrap();
    World { tables, store, lose_next, estimates, cap }
}

impl World {
    /// The video of a held item, recorded now if it was not yet.
    async fn video(&self, model: &mut Model, i: usize) -> Option<String> {
        let Model::Held(claim, video) = model else { return None };
        if video.is_none() {
            let id = format!("v-{i}-{}", claim.claim_id);
            self.store.record_video(claim, &id).await.unwrap();
            *video = Some(id);
        }
        video.clone()
    }
}

async fn run(estimates: Vec<u64>, cap: u64, steps: Vec<(Step, bool)>) {
    let w = world(estimates, cap).await;
    let at = t("2026-03-01T10:00:00.000Z");
    let mut model = vec![Model::Queued; ITEMS];
    let (mut spent, mut overrun) = (0u64, 0u64);
    let mut last: Option<Step> = None;
    for (step, lose) in steps {
        let step = match step {
            Step::Again => match last.clone() {
                Some(previous) => previous,
                None => continue,
            },
            other => other,
        };
        last = Some(step.clone());
        match step {
            Step::Reserve(i) => {
                let read = w.store.get_content(&format!("c-{i}")).await.unwrap().unwrap();
                let reservation = Reservation { budget: key(), seconds: w.estimates[i] };
                let in_flight = held(&model, &w.estimates);
                w.lose_next.store(lose, Ordering::SeqCst);
                let claimed = w.store.claim_reserving(&read, at, STALE, None, &reservation, Cap::Row(w.cap)).await;
                match (&model[i], claimed) {
                    // A lost answer is recognised: the claim is read back.
                    (Model::Queued, Ok(claim)) => {
                        assert!(in_flight + spent + w.estimates[i] <= w.cap, "admitted past the cap");
                        model[i] = Model::Held(claim, None);
                    }
                    (Model::Queued, Err(StoreError::OverBudget)) => {
                        assert!(in_flight + spent + w.estimates[i] > w.cap, "refused although it fit");
                    }
                    (Model::Held(..) | Model::Done, Err(StoreError::Conflict)) => {}
                    (state, other) => panic!("reserve {i} in {state:?}: {other:?}"),
                }
            }
            Step::Complete(i, billed) => {
                let video = w.video(&mut model[i], i).await.unwrap_or_else(|| "v-none".into());
                let done = Outcome::Completed {
                    video_url: "https://files.heygen.ai/v.mp4".into(),
                    thumbnail_url: None,
                    duration: VideoSeconds::from_secs_f64(billed as f64),
                };
                w.lose_next.store(lose, Ordering::SeqCst);
                let applied = w.store.apply_outcome_of(&format!("c-{i}"), &video, &done, at, true).await;
                match (&model[i], applied) {
                    // Applied; with its answer lost, the retry meets its own
                    // condition as a duplicate would.
                    (Model::Held(..), Ok(())) if !lose => {}
                    (Model::Held(..), Err(StoreError::Conflict)) if lose => {}
                    (Model::Queued | Model::Done, Err(StoreError::Conflict)) => {
                        continue_check(&w, &model, spent, overrun).await
                    }
                    (state, other) => panic!("complete {i} in {state:?} (lose {lose}): {other:?}"),
                }
                if matches!(model[i], Model::Held(..)) {
                    spent += billed;
                    overrun += billed.saturating_sub(w.estimates[i]);
                    model[i] = Model::Done;
                }
            }
            Step::Fail(i) => {
                let video = w.video(&mut model[i], i).await.unwrap_or_else(|| "v-none".into());
                let failed = Outcome::Retry { message: "render_failed: x".into() };
                w.lose_next.store(lose, Ordering::SeqCst);
                let applied = w.store.apply_outcome_of(&format!("c-{i}"), &video, &failed, at, true).await;
                match (&model[i], applied) {
                    (Model::Held(..), Ok(())) if !lose => model[i] = Model::Queued,
                    (Model::Held(..), Err(StoreError::Conflict)) if lose => model[i] = Model::Queued,
                    (Model::Queued | Model::Done, Err(StoreError::Conflict)) => {}
                    (state, other) => panic!("fail {i} in {state:?} (lose {lose}): {other:?}"),
                }
            }
            Step::Requeue(i) => {
                // Only a claim whose create has not answered goes back this way.
                let Model::Held(claim, None) = &model[i] else { continue };
                w.lose_next.store(lose, Ordering::SeqCst);
                let requeued = w.store.requeue(claim, Definiteness::Indefinite, None).await;
                match requeued {
                    Ok(()) if !lose => model[i] = Model::Queued,
                    Err(StoreError::Conflict) if lose => model[i] = Model::Queued,
                    other => panic!("requeue {i} (lose {lose}): {other:?}"),
                }
            }
            Step::Again => unreachable!("resolved above"),
        }
        continue_check(&w, &model, spent, overrun).await;
    }
    assert_eq!(w.tables.content_raw("c-0").await["content_id"], "c-0");
}

/// What anyone reading the row now sees.
async fn continue_check(w: &World, model: &[Model], spent: u64, overrun: u64) {
    let row = w.store.budget(&key()).await.unwrap();
    assert_eq!(row.reserved_seconds, held(model, &w.estimates), "reserved = the estimates in flight");
    assert_eq!(row.spent_seconds, spent, "spent = what the completions billed");
    assert!(row.committed() <= w.cap + overrun, "{row:?} over the cap {} (+{overrun} billed beyond)", w.cap);
}

fn held(model: &[Model], estimates: &[u64]) -> u64 {
    model.iter().zip(estimates).filter(|(m, _)| matches!(m, Model::Held(..))).map(|(_, e)| *e).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_budget_never_holds_more_than_its_cap_and_counts_each_render_once(
        estimates in proptest::collection::vec(5u64..40, ITEMS),
        cap in 20u64..120,
        steps in proptest::collection::vec(step(), 10..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(estimates, cap, steps));
    }
}
