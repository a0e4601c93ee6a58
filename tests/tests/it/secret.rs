//! The HeyGen secret read from Secrets Manager on moto server.

use std::time::Duration;

use shared::secret::{DEFAULT_SECRET_TTL, NotConfigured, SecretError, SecretSource, SecretsManagerSource};
use tests::{local_aws, unique_prefix};

struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    id: String,
}

impl Secrets {
    async fn new() -> Self {
        let client = aws_sdk_secretsmanager::Client::new(&local_aws().await);
        Self { client, id: format!("{}heygen", unique_prefix()) }
    }

    async fn create(&self, value: &str) {
        self.client.create_secret().name(&self.id).secret_string(value).send().await.unwrap();
    }

    async fn put(&self, value: &str) {
        self.client.put_secret_value().secret_id(&self.id).secret_string(value).send().await.unwrap();
    }

    fn source(&self, ttl: Duration) -> SecretsManagerSource {
        SecretsManagerSource::new(self.client.clone(), &self.id, ttl)
    }
}

fn not_configured(result: Result<std::sync::Arc<shared::secret::HeygenSecret>, SecretError>) -> NotConfigured {
    match result {
        Err(SecretError::NotConfigured(why)) => why,
        other => panic!("expected not configured, got {other:?}"),
    }
}

#[tokio::test]
async fn a_present_secret_is_read() {
    let secrets = Secrets::new().await;
    secrets.create(r#"{"api_key": "sk-live-1", "webhook_secret": "whsec_1"}"#).await;
    let secret = secrets.source(DEFAULT_SECRET_TTL).heygen_secret().await.unwrap();
    assert_eq!(secret.api_key.expose(), "sk-live-1");
    assert_eq!(secret.webhook_secret.as_ref().unwrap().expose(), "whsec_1");
}

#[tokio::test]
async fn a_missing_secret_is_not_configured() {
    let secrets = Secrets::new().await;
    assert_eq!(not_configured(secrets.source(DEFAULT_SECRET_TTL).heygen_secret().await), NotConfigured::NoSecret);
}

#[tokio::test]
async fn a_secret_that_is_not_json_is_not_configured() {
    let secrets = Secrets::new().await;
    secrets.create("sk-live-1").await;
    assert_eq!(not_configured(secrets.source(DEFAULT_SECRET_TTL).heygen_secret().await), NotConfigured::NotJson);
}

#[tokio::test]
async fn a_secret_without_api_key_is_not_configured() {
    let secrets = Secrets::new().await;
    // As the template creates it, before anyone puts a key.
    secrets.create(r#"{"api_key": ""}"#).await;
    assert_eq!(not_configured(secrets.source(DEFAULT_SECRET_TTL).heygen_secret().await), NotConfigured::NoApiKey);
}

#[tokio::test]
async fn a_read_secret_is_cached_and_a_second_read_makes_no_request() {
    let secrets = Secrets::new().await;
    secrets.create(r#"{"api_key": "sk-first"}"#).await;
    let source = secrets.source(DEFAULT_SECRET_TTL);
    assert_eq!(source.heygen_secret().await.unwrap().api_key.expose(), "sk-first");
    // Gone from Secrets Manager: only a cached copy can still answer.
    secrets.client.delete_secret().secret_id(&secrets.id).force_delete_without_recovery(true).send().await.unwrap();
    assert_eq!(source.heygen_secret().await.unwrap().api_key.expose(), "sk-first");
}

#[tokio::test]
async fn the_cache_expires_so_a_rotated_key_is_picked_up() {
    let secrets = Secrets::new().await;
    secrets.create(r#"{"api_key": "sk-first"}"#).await;
    let source = secrets.source(Duration::ZERO);
    assert_eq!(source.heygen_secret().await.unwrap().api_key.expose(), "sk-first");
    secrets.put(r#"{"api_key": "sk-rotated"}"#).await;
    assert_eq!(source.heygen_secret().await.unwrap().api_key.expose(), "sk-rotated");
}

#[tokio::test]
async fn a_missing_key_is_not_cached_so_storing_one_takes_effect_at_once() {
    let secrets = Secrets::new().await;
    secrets.create(r#"{"api_key": ""}"#).await;
    let source = secrets.source(DEFAULT_SECRET_TTL);
    assert_eq!(not_configured(source.heygen_secret().await), NotConfigured::NoApiKey);
    secrets.put(r#"{"api_key": "sk-now"}"#).await;
    assert_eq!(source.heygen_secret().await.unwrap().api_key.expose(), "sk-now");
}
