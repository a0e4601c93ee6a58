//! The AWS side of the tests: the SDK pointed at moto only, the functions'
//! configuration, a unique prefix per test.

use shared::config::TableNames;

/// The SDK configuration the functions use, after checking that it points at a
/// local emulator: these tests must never reach a real AWS account.
pub async fn local_aws() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at moto on loopback (got {endpoint:?}); run the tests with `make test`"
    );
    shared::wiring::load_aws_config().await
}

/// The configuration the tests run with: `tables`, HeyGen at `heygen`, the
/// secret `secret_id` (else a name nobody reads), claims stale after 600 s,
/// every pending render due for a check, no callback URL, no video bucket.
pub fn test_config(tables: TableNames, heygen: &str, secret_id: Option<String>) -> shared::config::Config {
    shared::config::Config {
        tables,
        heygen_secret_id: secret_id.unwrap_or_else(|| "unused".into()),
        heygen_api_base_url: heygen.to_string(),
        heygen_callback_url: None,
        claim_stale_after: std::time::Duration::from_secs(600),
        reconcile_after: std::time::Duration::ZERO,
        lost_after: std::time::Duration::from_secs(3_600),
        admin_group: "admin".into(),
        admin_groups_claim: "cognito:groups".into(),
        metrics_namespace: "HeygenPipeline".into(),
        archive: None,
        worker_function: None,
    }
}

/// A unique prefix for one test's tables and secrets.
pub fn unique_prefix() -> String {
    format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
