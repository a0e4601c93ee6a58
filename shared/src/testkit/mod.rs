//! Fakes of three of the five ports (the store, HeyGen, the secret), for tests
//! only (feature `testkit`): an in-memory [`MemoryStore`] with the DynamoDB
//! adapter's conditions, a [`Faulty`] wrapper
//! that makes any store fail chosen operations as DynamoDB would, a scripted
//! [`FakeHeygen`] that replays an idempotency key's first answer as HeyGen does,
//! and a [`StaticSecret`].
//!
//! The moto and wiremock tests prove the real semantics these imitate; the fakes
//! make the use cases cheap to drive through thousands of generated cases.

mod faulty;
mod heygen;
mod memory;

pub use faulty::{Faulty, StoreOp};
pub use heygen::{FAKE_VIDEO_SECONDS, FakeAnswer, FakeHeygen};
pub use memory::MemoryStore;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::secret::{HeygenSecret, NotConfigured, SecretError, SecretSource, SecretString};

/// A secret fixed at construction; `None` answers "no secret".
#[derive(Clone, Debug)]
pub struct StaticSecret(pub Option<Arc<HeygenSecret>>);

impl StaticSecret {
    pub fn with_key(api_key: &str) -> Self {
        Self(Some(Arc::new(HeygenSecret { api_key: SecretString::new(api_key), webhook_secret: None })))
    }
}

impl SecretSource for StaticSecret {
    async fn heygen_secret(&self) -> Result<Arc<HeygenSecret>, SecretError> {
        self.0.clone().ok_or(SecretError::NotConfigured(NotConfigured::NoSecret))
    }
}

/// A fake's lock: a panic in another test thread leaves the data usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
