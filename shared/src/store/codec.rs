//! Between DynamoDB's attribute values and the domain's types: `serde_dynamo`
//! for whole items, small helpers for the values of expressions, and the mapping
//! of SDK failures onto [`StoreError`].

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::StoreError;
use crate::error_chain::ErrorChain;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: u32) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn unavailable(operation: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable { operation, source: Box::new(err) }
}

pub(super) fn update_error(operation: &'static str, err: SdkError<UpdateItemError, HttpResponse>) -> StoreError {
    if err.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception) {
        StoreError::Conflict
    } else {
        unavailable(operation, err)
    }
}

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn decode<T: serde::de::DeserializeOwned>(key: &str, item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt { key: key.to_string(), source: Box::new(e) })
}

pub(super) fn key_of(item: &Item, attr: &str) -> String {
    match item.get(attr) {
        Some(AttributeValue::S(k)) => k.clone(),
        _ => "<no key>".to_string(),
    }
}

/// Decodes a page of items, skipping any that do not have the contract's shape
/// rather than failing the whole listing (section 11): each is logged at error
/// level with its key, for someone to mend.
pub(super) fn decode_all<T: serde::de::DeserializeOwned>(items: Vec<Item>, key_attr: &str) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let key = key_of(&item, key_attr);
        match decode(&key, item) {
            Ok(v) => out.push(v),
            Err(err) if key_attr == "content_id" => {
                tracing::error!(content_id = %key, error = %ErrorChain(&err), "skipping a content item that cannot be read")
            }
            Err(err) => {
                tracing::error!(key_attr, key = %key, error = %ErrorChain(&err), "skipping an item that cannot be read")
            }
        }
    }
    out
}
