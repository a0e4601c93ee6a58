//! The Secrets Manager adapter of the [`SecretSource`] port, with an in-process
//! cache.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use tokio::sync::Mutex;

use super::{HeygenSecret, NotConfigured, SecretError, SecretSource};

/// How long a read secret is trusted before it is read again (so a rotated key is
/// picked up without a redeploy).
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// Secrets Manager adapter with an in-process cache. Only a good secret is cached:
/// after an admin stores the key, the next request sees it.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<HeygenSecret>)>>,
}

impl fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerSource")
            .field("secret_id", &self.secret_id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>, ttl: Duration) -> Self {
        Self { client, secret_id: secret_id.into(), ttl, cache: Mutex::new(None) }
    }

    async fn fetch(&self) -> Result<HeygenSecret, SecretError> {
        let out = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(classify_sdk_error)?;
        let value = out.secret_string().ok_or(NotConfigured::NoSecret)?;
        Ok(HeygenSecret::parse(value)?)
    }
}

fn classify_sdk_error(err: SdkError<GetSecretValueError, HttpResponse>) -> SecretError {
    if err.as_service_error().is_some_and(GetSecretValueError::is_resource_not_found_exception) {
        NotConfigured::NoSecret.into()
    } else {
        SecretError::Unavailable(Box::new(err))
    }
}

impl SecretSource for SecretsManagerSource {
    async fn heygen_secret(&self) -> Result<Arc<HeygenSecret>, SecretError> {
        // Held across the fetch so that concurrent first reads make one request.
        let mut cache = self.cache.lock().await;
        if let Some((at, secret)) = cache.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(secret));
        }
        let secret = Arc::new(self.fetch().await?);
        *cache = Some((Instant::now(), Arc::clone(&secret)));
        Ok(secret)
    }
}
