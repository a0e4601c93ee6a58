//! Durable copies of finished videos (contract section 8) behind a port: copy
//! the file at HeyGen's (expiring) link into the video bucket, streamed, its
//! size checked. The S3 adapter is in `s3`.
//!
//! Uses nothing of this crate but the logging helper: the application decides
//! which video to copy, where, and what to record.

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

mod s3;

pub use s3::S3Archive;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future: the port is used through `dyn`, so that a deployment without
/// a bucket simply has none.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// HeyGen's link answered 403 or 404: it has expired; ask for a fresh one.
    #[error("the video's link has expired (HTTP {status})")]
    LinkExpired { status: u16 },
    /// Any other answer to the download, or a broken transfer.
    #[error("the video could not be downloaded (HTTP {status})")]
    DownloadStatus { status: u16 },
    /// Never carries the link itself: HeyGen's presigned URL is a credential to
    /// the file (section 11), so no error built here names it.
    #[error("the video could not be downloaded")]
    Download(#[source] BoxError),
    /// The copy did not finish before the tick's copy deadline; abandoned.
    #[error("the copy was cut short at the tick's deadline")]
    Deadline,
    /// Fewer or more bytes than announced, or stored, than were downloaded.
    #[error("size mismatch: {expected} bytes expected, {got} received")]
    SizeMismatch { expected: u64, got: u64 },
    #[error("the video bucket failed")]
    Storage(#[source] BoxError),
}

/// Where finished videos are kept.
pub trait VideoArchive: Send + Sync {
    /// Copies the file at `url` to `key` (`video/mp4`), streamed, and returns its
    /// size. If `key` holds an object already (an earlier copy whose record was
    /// lost), that object's size is returned and nothing is downloaded: copying
    /// twice makes one object. Nothing outlives `deadline`: a copy still running
    /// then is abandoned (its upload aborted) and is [`ArchiveError::Deadline`].
    fn copy<'a>(&'a self, url: &'a str, key: &'a str, deadline: Instant) -> BoxFuture<'a, Result<u64, ArchiveError>>;
}

/// `archive` as the archive port of a `(store, secret, HeyGen)` triple.
pub fn shared_archive(archive: impl VideoArchive + 'static) -> std::sync::Arc<dyn VideoArchive> {
    std::sync::Arc::new(archive)
}

/// A shared archive is an archive (production's is an `Arc<dyn VideoArchive>`).
impl<T: VideoArchive + ?Sized> VideoArchive for std::sync::Arc<T> {
    fn copy<'a>(&'a self, url: &'a str, key: &'a str, deadline: Instant) -> BoxFuture<'a, Result<u64, ArchiveError>> {
        (**self).copy(url, key, deadline)
    }
}

/// A download failure, without the URL reqwest would otherwise name in it.
pub(crate) fn download_error(err: reqwest::Error) -> ArchiveError {
    ArchiveError::Download(Box::new(err.without_url()))
}

/// A URL as it may be logged: scheme, host and path; never the query (a
/// presigned URL's signature) nor user information.
pub fn loggable_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or_default(), url.path()),
        Err(_) => "<not a URL>".to_string(),
    }
}

/// The object key of a video: `videos/{content_id}/{video_id}.mp4`.
pub fn video_key(content_id: &str, video_id: &str) -> String {
    format!("videos/{content_id}/{video_id}.mp4")
}

/// The public URL of a key under `base_url`, each path segment percent-encoded.
pub fn video_url(base_url: &str, content_id: &str, video_id: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(base_url.trim_end_matches('/')).ok()?;
    url.path_segments_mut().ok()?.pop_if_empty().extend(["videos", content_id, &format!("{video_id}.mp4")]);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_urls_follow_the_contract() {
        assert_eq!(video_key("c-1", "v-9"), "videos/c-1/v-9.mp4");
        assert_eq!(
            video_url("https://d111.cloudfront.net", "c-1", "v-9").as_deref(),
            Some("https://d111.cloudfront.net/videos/c-1/v-9.mp4")
        );
        assert_eq!(
            video_url("https://cdn.example/media/", "c 1/x", "v").as_deref(),
            Some("https://cdn.example/media/videos/c%201%2Fx/v.mp4"),
            "a content id is one path segment"
        );
        assert_eq!(video_url("not a url", "c", "v"), None);
    }

    #[test]
    fn a_logged_url_keeps_no_query_and_no_credentials() {
        let presigned = "https://user:pw@files.heygen.ai/v/abc.mp4?Expires=1&Signature=s3cr3t&Key-Pair-Id=K";
        assert_eq!(loggable_url(presigned), "https://files.heygen.ai/v/abc.mp4");
        assert_eq!(loggable_url("not a url?Signature=s3cr3t"), "<not a URL>");
    }
}
