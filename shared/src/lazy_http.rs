//! An HTTP client built on first use, not at start-up. Building a reqwest client
//! loads the system's root certificates (on Debian, a bundle and some 300 files:
//! milliseconds of a cold start), which an invocation that never calls out (a
//! duplicate webhook, a listing) should not pay for.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

#[derive(Clone, Debug)]
pub struct LazyHttp {
    cell: Arc<OnceCell<reqwest::Client>>,
    connect_timeout: Duration,
}

impl LazyHttp {
    pub fn new(connect_timeout: Duration) -> Self {
        Self { cell: Arc::default(), connect_timeout }
    }

    /// The client, built by the first caller; a failed build is tried again by
    /// the next one.
    pub async fn client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        self.cell
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .user_agent(concat!("heygen-pipeline/", env!("CARGO_PKG_VERSION")))
                    .build()
            })
            .await
    }

    /// Whether the client has been built yet.
    pub fn is_built(&self) -> bool {
        self.cell.initialized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_client_is_built_once_on_first_use() {
        let lazy = LazyHttp::new(Duration::from_secs(1));
        let copy = lazy.clone();
        assert!(!lazy.is_built(), "nothing is built at start-up");
        let first: *const reqwest::Client = lazy.client().await.unwrap();
        assert!(copy.is_built(), "clones share the one client");
        let again: *const reqwest::Client = copy.client().await.unwrap();
        assert_eq!(first, again);
    }
}
