//! The DynamoDB adapter of the store, a file per section of the port, each
//! implementing its section's trait: `reads` ([`ReadStore`]: settings,
//! creators, content), `queue` ([`QueueStore`]: the queue and the claims),
//! `flight` ([`FlightStore`]: renders in flight, checks and HeyGen's answers),
//! `slots` ([`SlotStore`]: the render slots), `archive` ([`ArchiveStore`]: the
//! durable copies), `budget` ([`BudgetStore`]: budgets, and the transactions
//! that reserve, settle and release). This file holds the adapter and what the
//! sections share.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, Select};

use super::codec::Item;
use super::codec::{decode, decode_all, key_of, n, s, unavailable, update_error};
use super::prelude::*;
use super::{ARCHIVE_KEY_VALUE, PENDING_KEY_VALUE, QUEUE_KEY_ATTR, QUEUE_KEY_VALUE, index};
use crate::config::TableNames;
use crate::domain::setting_keys::KNOWN_KEYS;
use crate::domain::{
    Backoff, Claim, Classification, ContentItem, Creator, Definiteness, HolderState, JobStatus, Mode, Month, Outcome,
    RenderSlot, Reservation, Settings, SlotHolder, Timestamp, slot_key,
};
use crate::error_chain::ErrorChain;

mod archive;
mod budget;
mod flight;
mod queue;
mod reads;
mod slots;

/// The DynamoDB adapter.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

/// Unprocessed batch keys are retried this many times before giving up.
const BATCH_GET_TRIES: u32 = 5;

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// Every item of a sparse index whose hash key `key_attr` is `key_value`.
    async fn sparse_index(
        &self,
        index_name: &'static str,
        key_attr: &'static str,
        key_value: &'static str,
    ) -> Result<Vec<ContentItem>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.tables.content)
            .index_name(index_name)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_values(":v", s(key_value))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| unavailable("Query", e))?;
        Ok(decode_all(items, "content_id"))
    }

    /// Whether the item, read consistently, still carries `claim` and `also` holds.
    async fn holds(&self, claim: &Claim, also: impl Fn(&ContentItem) -> bool) -> Result<bool, StoreError> {
        let item = self.get_item(&claim.content_id).await?;
        Ok(item.is_some_and(|item| item.heygen_claim_id.as_deref() == Some(&claim.claim_id) && also(&item)))
    }

    async fn get_item(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.content)
            .key("content_id", s(content_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.map(|item| decode(content_id, item)).transpose()
    }
}
