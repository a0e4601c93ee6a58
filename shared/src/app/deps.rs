//! What a use case runs with: the ports, the configuration and the time rules,
//! built once per process (see `crate::wiring` for the production set).

use std::time::Duration;

use tokio::time::Instant;

use super::ApiError;
use crate::archive::VideoArchive;
use crate::config::Config;
use crate::heygen::Heygen;
use crate::secret::{SecretSource, SecretString};
use crate::store::Store;

/// Time rules for an invocation (contract section 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// No new HeyGen work starts with less than this left before the deadline.
    pub start_margin: Duration,
    /// HeyGen calls end at least this long before the deadline, to answer in time.
    pub response_margin: Duration,
    /// The webhook's budget for confirming with HeyGen (HeyGen waits about 10 s).
    pub webhook_confirm_budget: Duration,
    /// A render slot held this long by an item not in flight on it is freed.
    pub slot_leak_after: Duration,
    /// The trigger queues no item with less than this left before the deadline:
    /// one DynamoDB write (the SDK's 8 s operation timeout) and the answer fit.
    pub queue_margin: Duration,
    /// A durable copy starts only with this long left before the copy deadline:
    /// one started later would most likely be cut short, and counted as failed.
    pub min_copy_time: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            start_margin: Duration::from_secs(5),
            response_margin: Duration::from_secs(2),
            webhook_confirm_budget: Duration::from_secs(5),
            slot_leak_after: crate::domain::SLOT_LEAK_AFTER,
            queue_margin: Duration::from_secs(10),
            min_copy_time: Duration::from_secs(10),
        }
    }
}

/// Which adapter serves each port. Any `(store, secret source, HeyGen)` triple
/// is one: production runs `(DynamoStore, SecretsManagerSource, HeygenClient)`,
/// the property tests run the fakes of `testkit`. The video archive is a port
/// too; a triple's is `Arc<dyn VideoArchive>`, so that only the worker's
/// binary names (and carries) the S3 adapter; a fourth member names another.
pub trait Ports {
    type Store: Store;
    type Secrets: SecretSource;
    type Heygen: Heygen;
    type Archive: VideoArchive;
}

impl<S: Store, K: SecretSource, H: Heygen> Ports for (S, K, H) {
    type Store = S;
    type Secrets = K;
    type Heygen = H;
    type Archive = std::sync::Arc<dyn VideoArchive>;
}

impl<S: Store, K: SecretSource, H: Heygen, A: VideoArchive> Ports for (S, K, H, A) {
    type Store = S;
    type Secrets = K;
    type Heygen = H;
    type Archive = A;
}

/// Everything a function needs: the store, the secret and HeyGen behind their
/// ports, the configuration and the time rules.
pub struct Deps<P: Ports> {
    pub config: Config,
    pub store: P::Store,
    pub secrets: P::Secrets,
    pub heygen: P::Heygen,
    /// The video bucket, when durable copies are configured (`VIDEO_BUCKET`).
    pub archive: Option<P::Archive>,
    pub timing: Timing,
    /// The worker, woken when a render slot frees (`HEYGEN_WORKER_FUNCTION`;
    /// section 9); `None`: the schedule alone ticks.
    pub worker: Option<std::sync::Arc<dyn crate::refill::WakeWorker>>,
}

impl<P: Ports> Deps<P> {
    /// The HeyGen API key, read (or taken from the cache) now.
    pub async fn api_key(&self) -> Result<SecretString, ApiError> {
        let secret = self.secrets.heygen_secret().await?;
        Ok(secret.api_key.clone())
    }
}

/// One invocation as the application layer sees it.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// When the function must have answered.
    pub deadline: Instant,
    /// `requestContext.domainName`, for the default callback URL.
    pub domain_name: Option<String>,
}

impl Invocation {
    /// From the Lambda context's deadline (milliseconds since the Unix epoch);
    /// without one (0: a hand-made event), `budget` from now.
    pub fn from_lambda(deadline_ms: u64, budget: Duration, domain_name: Option<String>) -> Self {
        let now = Instant::now();
        let deadline = if deadline_ms > 0 {
            let at = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
            now + at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO)
        } else {
            now + budget
        };
        Self { deadline, domain_name }
    }

    /// The last moment to start new HeyGen work.
    pub fn start_until(&self, timing: &Timing) -> Instant {
        self.deadline.checked_sub(timing.start_margin).unwrap_or(self.deadline)
    }

    /// The last moment to queue an item (the trigger).
    pub fn queue_until(&self, timing: &Timing) -> Instant {
        self.deadline.checked_sub(timing.queue_margin).unwrap_or(self.deadline)
    }

    /// The moment HeyGen calls must have ended by, to answer in time.
    pub fn heygen_deadline(&self, timing: &Timing) -> Instant {
        self.deadline.checked_sub(timing.response_margin).unwrap_or(self.deadline)
    }
}
