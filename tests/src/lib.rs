//! Helpers for the integration tests (`tests/it`), one module per role:
//!
//! - [`aws`]: the SDK pointed at moto server on loopback (never a real
//!   account), the functions' configuration, a unique prefix per test;
//! - [`tables`]: one test's tables, created from `template.yaml` under its
//!   prefix (so tests run in parallel), raw item reads and writes;
//! - [`stack`]: a whole service (moto, a wiremock HeyGen, the production `Deps`)
//!   and the API Gateway events the handlers are called with;
//! - [`month`]: a month of content worked by the real use cases with a HeyGen
//!   stand-in that records its peak;
//! - [`lost_answers`]: DynamoDB answers lost after the write was applied;
//! - [`requests`]: the DynamoDB requests a client sent, by operation and table;
//! - [`emf`]: the metrics a function logged, read back;
//! - `runtime_api` (from `devkit`): the shipped binaries run as Lambda runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod emf;
pub mod lost_answers;
pub mod month;
pub mod requests;
pub mod stack;
pub mod tables;

pub use aws::{local_aws, test_config, unique_prefix};
pub use devkit::{TEMPLATE, runtime_api};
pub use emf::{Emf, emf_metrics};
pub use tables::Tables;

/// [`shared::store::Store::apply_outcome`] on the item as it stands now (read
/// consistently first), as the tests of the store name items by id; no such
/// item: a conflict, as a write to it would be.
#[allow(async_fn_in_trait)]
pub trait ApplyById {
    async fn apply_outcome_of(
        &self,
        content_id: &str,
        video_id: &str,
        outcome: &shared::domain::Outcome,
        now: shared::domain::Timestamp,
        attach: bool,
    ) -> Result<(), shared::store::StoreError>;
}

impl<S: shared::store::Store> ApplyById for S {
    async fn apply_outcome_of(
        &self,
        content_id: &str,
        video_id: &str,
        outcome: &shared::domain::Outcome,
        now: shared::domain::Timestamp,
        attach: bool,
    ) -> Result<(), shared::store::StoreError> {
        match self.get_content(content_id).await? {
            Some(item) => self.apply_outcome(&item, video_id, outcome, now, attach).await,
            None => Err(shared::store::StoreError::Conflict),
        }
    }
}
