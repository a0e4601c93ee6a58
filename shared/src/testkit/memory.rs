//! An in-memory store with the DynamoDB adapter's semantics: the same reads, and
//! the same conditions on every write, applied atomically per item.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::{
    Claim, Classification, ContentItem, Creator, Definiteness, JobStatus, Mode, Month, Outcome, Settings, Timestamp,
};
use crate::store::{Store, StoreError};

#[derive(Default)]
struct Tables {
    settings: HashMap<String, String>,
    creators: BTreeMap<String, Creator>,
    content: BTreeMap<String, ContentItem>,
}

/// The three tables in memory. Cheap to build; one per test case.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    claims: Mutex<u64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put_setting(&self, key: &str, value: &str) {
        self.tables.lock().unwrap().settings.insert(key.to_string(), value.to_string());
    }

    pub fn put_creator(&self, creator: Creator) {
        self.tables.lock().unwrap().creators.insert(creator.creator_id.clone(), creator);
    }

    pub fn put_content(&self, item: ContentItem) {
        self.tables.lock().unwrap().content.insert(item.content_id.clone(), item);
    }

    /// Every content item, by content id.
    pub fn content(&self) -> Vec<ContentItem> {
        self.tables.lock().unwrap().content.values().cloned().collect()
    }

    pub fn item(&self, content_id: &str) -> Option<ContentItem> {
        self.tables.lock().unwrap().content.get(content_id).cloned()
    }

    /// Runs `write` on the item if `condition` holds, else `Conflict`, as one step.
    fn update(
        &self,
        content_id: &str,
        condition: impl FnOnce(&ContentItem) -> bool,
        write: impl FnOnce(&mut ContentItem),
    ) -> Result<(), StoreError> {
        let mut tables = self.tables.lock().unwrap();
        match tables.content.get_mut(content_id) {
            Some(item) if condition(item) => {
                write(item);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

fn status_is(item: &ContentItem, status: JobStatus) -> bool {
    item.heygen_status.as_deref() == Some(status.as_str())
}

impl Store for MemoryStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(Settings::from_values(&self.tables.lock().unwrap().settings))
    }

    async fn eligible_creators(&self, mode: Mode) -> Result<Vec<Creator>, StoreError> {
        let tables = self.tables.lock().unwrap();
        Ok(tables.creators.values().filter(|c| c.is_eligible_for(mode)).cloned().collect())
    }

    async fn content_for(&self, creator_id: &str, month: Month, mode: Mode) -> Result<Vec<ContentItem>, StoreError> {
        let tables = self.tables.lock().unwrap();
        Ok(tables
            .content
            .values()
            .filter(|i| {
                i.assigned_creator_id.as_deref() == Some(creator_id)
                    && month.contains_date(&i.date)
                    && i.mode == mode.as_str()
            })
            .cloned()
            .collect())
    }

    async fn get_content(&self, content_id: &str) -> Result<Option<ContentItem>, StoreError> {
        Ok(self.item(content_id))
    }

    async fn find_by_video_id(&self, video_id: &str) -> Result<Option<ContentItem>, StoreError> {
        let tables = self.tables.lock().unwrap();
        Ok(tables.content.values().find(|i| i.heygen_video_id.as_deref() == Some(video_id)).cloned())
    }

    async fn claim(&self, seen: &ContentItem, now: Timestamp, stale_after: Duration) -> Result<Claim, StoreError> {
        let claim_id = {
            let mut n = self.claims.lock().unwrap();
            *n += 1;
            format!("claim-{n}")
        };
        let claim = Claim { content_id: seen.content_id.clone(), claim_id, attempt: seen.next_attempt() };
        // Eligible now, and unchanged since it was read (status, claim, attempt).
        let condition = |item: &ContentItem| {
            item.classify(now, stale_after) == Classification::Eligible
                && item.heygen_status == seen.heygen_status
                && item.heygen_claim_id == seen.heygen_claim_id
                && item.heygen_attempt == seen.heygen_attempt
        };
        self.update(&seen.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Requested.as_str().to_string());
            item.heygen_claim_id = Some(claim.claim_id.clone());
            item.heygen_attempt = Some(claim.attempt);
            item.heygen_requested_at = Some(now.to_string());
            item.heygen_video_id = None;
            item.heygen_video_url = None;
            item.heygen_thumbnail_url = None;
            item.heygen_error = None;
            item.heygen_completed_at = None;
        })?;
        Ok(claim)
    }

    async fn record_video(&self, claim: &Claim, video_id: &str) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            item.heygen_claim_id.as_deref() == Some(&claim.claim_id) && status_is(item, JobStatus::Requested)
        };
        self.update(&claim.content_id, condition, |item| {
            item.heygen_video_id = Some(video_id.to_string());
            item.heygen_status = Some(JobStatus::Pending.as_str().to_string());
        })
    }

    async fn release(&self, claim: &Claim, error: &str, definiteness: Definiteness) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| {
            item.heygen_claim_id.as_deref() == Some(&claim.claim_id) && status_is(item, JobStatus::Requested)
        };
        self.update(&claim.content_id, condition, |item| {
            item.heygen_status = Some(JobStatus::Failed.as_str().to_string());
            item.heygen_error = Some(error.to_string());
            item.heygen_attempt = Some(claim.attempt_after_release(definiteness));
        })
    }

    async fn apply_outcome(
        &self,
        content_id: &str,
        video_id: &str,
        outcome: &Outcome,
        now: Timestamp,
        attach_video: bool,
    ) -> Result<(), StoreError> {
        let condition = |item: &ContentItem| item.heygen_video_id.as_deref() == Some(video_id) && item.is_pending();
        self.update(content_id, condition, |item| match outcome {
            Outcome::Completed { video_url, thumbnail_url } => {
                item.heygen_status = Some(JobStatus::Completed.as_str().to_string());
                item.heygen_video_url = Some(video_url.clone());
                item.heygen_completed_at = Some(now.to_string());
                if let Some(thumb) = thumbnail_url {
                    item.heygen_thumbnail_url = Some(thumb.clone());
                }
                item.heygen_error = None;
                if attach_video && !item.has_video() {
                    item.creator_video_url = Some(video_url.clone());
                    item.status = Some("submitted".to_string());
                }
            }
            Outcome::Failed { message } => {
                item.heygen_status = Some(JobStatus::Failed.as_str().to_string());
                item.heygen_error = Some(message.clone());
                item.heygen_attempt = Some(item.heygen_attempt.unwrap_or(1) + 1);
            }
        })
    }

    async fn list_pending(&self) -> Result<Vec<ContentItem>, StoreError> {
        let tables = self.tables.lock().unwrap();
        let mut items: Vec<ContentItem> = tables.content.values().filter(|i| i.is_pending()).cloned().collect();
        items.sort_by(|a, b| {
            (a.heygen_requested_at.as_deref(), a.content_id.as_str())
                .cmp(&(b.heygen_requested_at.as_deref(), b.content_id.as_str()))
        });
        Ok(items)
    }
}
