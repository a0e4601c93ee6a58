//! Scans and queries followed to their last page.

use std::future::Future;

use super::StoreError;
use super::codec::{Item, decode_all};

/// Runs a paginated Scan or Query to its end: `page` sends one request from the
/// given start key and returns its items and the next start key.
pub(super) async fn all_pages<T, F, Fut>(key_attr: &str, mut page: F) -> Result<Vec<T>, StoreError>
where
    T: serde::de::DeserializeOwned,
    F: FnMut(Option<Item>) -> Fut,
    Fut: Future<Output = Result<(Option<Vec<Item>>, Option<Item>), StoreError>>,
{
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let (items, next) = page(start).await?;
        decode_all(items.unwrap_or_default(), key_attr, &mut out);
        start = next;
        if start.is_none() {
            return Ok(out);
        }
    }
}
