//! Tables as `template.yaml` declares them, created through the SDK: how tests and
//! the local stack make their tables, so that nothing else declares one.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use serde_yaml_ng::Value;

use shared::config::TableNames;

/// The template's logical ids of the three tables.
pub const SETTINGS_TABLE: &str = "SettingsTable";
pub const CREATORS_TABLE: &str = "CreatorsTable";
pub const CONTENT_TABLE: &str = "ContentTable";

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("template.yaml cannot be parsed: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
    #[error("creating table {table} failed")]
    Create {
        table: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn shape(msg: impl Into<String>) -> TableError {
    TableError::Shape(msg.into())
}

/// One `AWS::DynamoDB::Table` of the template.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    pub attributes: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_indexes: Vec<GlobalSecondaryIndex>,
}

fn str_field<'a>(v: &'a Value, field: &str, ctx: &str) -> Result<&'a str, TableError> {
    v.get(field).and_then(Value::as_str).ok_or_else(|| shape(format!("{ctx}: {field} missing or not a string")))
}

fn seq<'a>(v: &'a Value, field: &str, ctx: &str) -> Result<&'a [Value], TableError> {
    match v.get(field) {
        None => Ok(&[]),
        Some(Value::Sequence(items)) => Ok(items),
        Some(_) => Err(shape(format!("{ctx}: {field} is not a list"))),
    }
}

fn key_schema(v: &Value, ctx: &str) -> Result<Vec<KeySchemaElement>, TableError> {
    seq(v, "KeySchema", ctx)?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(str_field(k, "AttributeName", ctx)?)
                .key_type(KeyType::from(str_field(k, "KeyType", ctx)?))
                .build()
                .map_err(|e| shape(format!("{ctx}: {e}")))
        })
        .collect()
}

/// Reads every `AWS::DynamoDB::Table` resource of a SAM/CloudFormation template.
pub fn table_specs(template_yaml: &str) -> Result<Vec<TableSpec>, TableError> {
    let doc: Value = serde_yaml_ng::from_str(template_yaml)?;
    let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or_else(|| shape("no Resources"))?;
    let mut specs = Vec::new();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let logical_id = id.as_str().ok_or_else(|| shape("a resource id is not a string"))?.to_string();
        let props = resource.get("Properties").ok_or_else(|| shape(format!("{logical_id}: no Properties")))?;
        let attributes = seq(props, "AttributeDefinitions", &logical_id)?
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(str_field(a, "AttributeName", &logical_id)?)
                    .attribute_type(ScalarAttributeType::from(str_field(a, "AttributeType", &logical_id)?))
                    .build()
                    .map_err(|e| shape(format!("{logical_id}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let global_indexes = seq(props, "GlobalSecondaryIndexes", &logical_id)?
            .iter()
            .map(|g| {
                let name = str_field(g, "IndexName", &logical_id)?;
                let ctx = format!("{logical_id}.{name}");
                let projection = g.get("Projection").ok_or_else(|| shape(format!("{ctx}: no Projection")))?;
                let non_key = seq(projection, "NonKeyAttributes", &ctx)?
                    .iter()
                    .map(|a| a.as_str().map(str::to_string).ok_or_else(|| shape(format!("{ctx}: NonKeyAttributes"))))
                    .collect::<Result<Vec<_>, _>>()?;
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key_schema(g, &ctx)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(str_field(projection, "ProjectionType", &ctx)?))
                            .set_non_key_attributes((!non_key.is_empty()).then_some(non_key))
                            .build(),
                    )
                    .build()
                    .map_err(|e| shape(format!("{ctx}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        specs.push(TableSpec { key_schema: key_schema(props, &logical_id)?, logical_id, attributes, global_indexes });
    }
    Ok(specs)
}

/// Creates every table of the template, named `{prefix}{logical_id}`, on demand
/// billing, and returns the names of the three the service uses.
pub async fn create_tables(client: &Client, template_yaml: &str, prefix: &str) -> Result<TableNames, TableError> {
    for spec in table_specs(template_yaml)? {
        let table = format!("{prefix}{}", spec.logical_id);
        client
            .create_table()
            .table_name(&table)
            .set_attribute_definitions(Some(spec.attributes))
            .set_key_schema(Some(spec.key_schema))
            .set_global_secondary_indexes((!spec.global_indexes.is_empty()).then_some(spec.global_indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| TableError::Create { table: table.clone(), source: Box::new(e) })?;
    }
    Ok(table_names(prefix))
}

/// The names [`create_tables`] gives the service's three tables.
pub fn table_names(prefix: &str) -> TableNames {
    TableNames {
        settings: format!("{prefix}{SETTINGS_TABLE}"),
        creators: format!("{prefix}{CREATORS_TABLE}"),
        content: format!("{prefix}{CONTENT_TABLE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::TEMPLATE;

    #[test]
    fn template_declares_the_three_tables_with_the_contract_keys() {
        let specs = table_specs(TEMPLATE).unwrap();
        let hash_key = |id: &str| {
            let spec = specs.iter().find(|s| s.logical_id == id).unwrap();
            assert_eq!(spec.key_schema.len(), 1, "{id} has only a hash key");
            assert_eq!(spec.key_schema[0].key_type, KeyType::Hash);
            spec.key_schema[0].attribute_name.clone()
        };
        assert_eq!(hash_key(SETTINGS_TABLE), "key");
        assert_eq!(hash_key(CREATORS_TABLE), "creator_id");
        assert_eq!(hash_key(CONTENT_TABLE), "content_id");
    }

    #[test]
    fn content_table_declares_the_indexes_the_store_queries() {
        use shared::store::index;
        let specs = table_specs(TEMPLATE).unwrap();
        let content = specs.iter().find(|s| s.logical_id == CONTENT_TABLE).unwrap();
        let names: Vec<_> = content.global_indexes.iter().map(|g| g.index_name.as_str()).collect();
        for wanted in
            [index::CONTENT_BY_CREATOR_DATE, index::CONTENT_BY_VIDEO_ID, index::CONTENT_PENDING, index::CONTENT_QUEUE]
        {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
    }

    #[test]
    fn malformed_templates_are_reported_not_panicked() {
        assert!(matches!(table_specs("Resources: ["), Err(TableError::Yaml(_))));
        assert!(matches!(table_specs("Foo: 1"), Err(TableError::Shape(_))));
        let bad = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      KeySchema:\n        - KeyType: HASH\n";
        assert!(matches!(table_specs(bad), Err(TableError::Shape(_))));
    }
}
