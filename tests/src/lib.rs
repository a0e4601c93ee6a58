//! Helpers for the integration tests: the AWS SDK pointed at moto server, tables
//! created from `template.yaml` under a unique prefix per test (so tests run in
//! parallel), and raw item reads and writes for seeding and checking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::config::TableNames;
use shared::store::DynamoStore;

pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// The SDK configuration the functions use, after checking that it points at a
/// local emulator: these tests must never reach a real AWS account.
pub async fn local_aws() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at moto on loopback (got {endpoint:?}); run the tests with `make test`"
    );
    shared::load_aws_config().await
}

/// A unique prefix for one test's tables and secrets.
pub fn unique_prefix() -> String {
    format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// One test's tables on moto, created from `template.yaml`.
pub struct Tables {
    pub client: aws_sdk_dynamodb::Client,
    pub names: TableNames,
}

impl Tables {
    pub async fn create() -> Self {
        let client = aws_sdk_dynamodb::Client::new(&local_aws().await);
        let names = shared::tables::create_tables(&client, TEMPLATE, &unique_prefix()).await.unwrap();
        Self { client, names }
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.client.clone(), self.names.clone())
    }

    /// Writes `item` (a JSON object) as-is: strings, numbers, booleans and maps
    /// become S, N, BOOL and M.
    pub async fn put(&self, table: &str, item: Value) {
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(item).unwrap();
        self.client.put_item().table_name(table).set_item(Some(item)).send().await.unwrap();
    }

    pub async fn put_content(&self, item: Value) {
        self.put(&self.names.content.clone(), item).await;
    }

    pub async fn put_creator(&self, item: Value) {
        self.put(&self.names.creators.clone(), item).await;
    }

    pub async fn put_setting(&self, key: &str, value: &str) {
        self.put(&self.names.settings.clone(), serde_json::json!({"key": key, "value": value})).await;
    }

    /// The stored content item as JSON, every attribute included.
    pub async fn content_raw(&self, content_id: &str) -> Value {
        let out = self
            .client
            .get_item()
            .table_name(&self.names.content)
            .key("content_id", AttributeValue::S(content_id.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        serde_dynamo::from_item(out.item.expect("item exists")).unwrap()
    }
}
