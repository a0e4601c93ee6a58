//! One test's tables on moto, created from `template.yaml`, with raw item reads
//! and writes for seeding and checking.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::config::TableNames;
use shared::store::DynamoStore;

use crate::{TEMPLATE, local_aws, unique_prefix};

/// One test's tables on moto, created from `template.yaml`.
pub struct Tables {
    pub client: aws_sdk_dynamodb::Client,
    pub names: TableNames,
}

impl Tables {
    pub async fn create() -> Self {
        let client = aws_sdk_dynamodb::Client::new(&local_aws().await);
        let names = devkit::tables::create_tables(&client, TEMPLATE, &unique_prefix()).await.unwrap();
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

    /// Sets `attrs` (a JSON object) on an existing content item, as another
    /// writer of the table would: one UpdateItem, other attributes kept.
    pub async fn update_content(&self, content_id: &str, attrs: Value) {
        let attrs: HashMap<String, AttributeValue> = serde_dynamo::to_item(attrs).unwrap();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.names.content)
            .key("content_id", AttributeValue::S(content_id.into()))
            .condition_expression("attribute_exists(content_id)");
        let mut sets = Vec::new();
        for (i, (name, value)) in attrs.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        request.update_expression(format!("SET {}", sets.join(", "))).send().await.unwrap();
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
