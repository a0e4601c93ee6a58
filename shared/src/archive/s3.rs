//! The S3 adapter of the archive port: the download streamed from HeyGen's link
//! into the bucket, one part at a time, so that memory stays bounded whatever
//! the file's size.
//!
//! Parts are 8 MiB: S3's minimum part is 5 MiB (the last excepted) and its
//! maximum part count 10,000, so 8 MiB parts take files up to 78 GiB while the
//! buffer stays small; a file under one part is a single `PutObject`. A copy that
//! fails after a multipart upload began aborts it (the bucket's lifecycle rule
//! aborts any that a dying function leaves).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use tokio::time::Instant;

use super::{ArchiveError, BoxFuture, VideoArchive, download_error};
use crate::lazy_http::LazyHttp;

/// The default part size.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
const CONTENT_TYPE: &str = "video/mp4";

/// Videos in one bucket.
#[derive(Clone, Debug)]
pub struct S3Archive {
    s3: aws_sdk_s3::Client,
    http: LazyHttp,
    bucket: String,
    part_size: usize,
}

fn storage(err: impl std::error::Error + Send + Sync + 'static) -> ArchiveError {
    ArchiveError::Storage(Box::new(err))
}

/// Whether S3 refused a write with `If-None-Match: *` because the key holds an
/// object already: a concurrent copy of the same video got there first.
fn already_there<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    R: std::fmt::Debug,
    aws_sdk_s3::error::SdkError<E, R>: aws_sdk_s3::error::ProvideErrorMetadata,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    err.code() == Some("PreconditionFailed")
}

impl S3Archive {
    /// Its HTTP client for downloads is built on the first copy.
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        let http = LazyHttp::new(std::time::Duration::from_secs(5));
        Self { s3, http, bucket: bucket.into(), part_size: PART_SIZE }
    }

    /// Another part size (at least S3's 5 MiB), for tests that want several parts
    /// of a small file.
    pub fn with_part_size(mut self, part_size: usize) -> Self {
        self.part_size = part_size;
        self
    }

    /// The size of the object at `key`, if there is one.
    async fn stored_size(&self, key: &str) -> Result<Option<u64>, ArchiveError> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0))),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(storage(err)),
        }
    }

    /// The copy, bounded by `deadline`: whatever is still running then (a
    /// download HeyGen's CDN keeps open, a slow upload) is dropped, and a
    /// multipart upload begun is aborted.
    async fn copy_now(&self, url: &str, key: &str, deadline: Instant) -> Result<u64, ArchiveError> {
        let mut upload = Upload { archive: self, key, id: None, parts: Vec::new() };
        let copied = match tokio::time::timeout_at(deadline, self.copy_within(url, &mut upload)).await {
            Ok(copied) => copied,
            Err(_elapsed) => Err(ArchiveError::Deadline),
        };
        if copied.is_err() {
            upload.abort().await;
        }
        copied
    }

    async fn copy_within(&self, url: &str, upload: &mut Upload<'_>) -> Result<u64, ArchiveError> {
        let key = upload.key;
        if let Some(size) = self.stored_size(key).await? {
            tracing::info!(key, size, "already in the bucket; not copied again");
            return Ok(size);
        }
        let http = self.http.client().await.map_err(download_error)?;
        let mut response = http.get(url).send().await.map_err(download_error)?;
        let status = response.status().as_u16();
        if matches!(status, 403 | 404) {
            return Err(ArchiveError::LinkExpired { status });
        }
        if !response.status().is_success() {
            return Err(ArchiveError::DownloadStatus { status });
        }
        let announced = response.content_length();
        let size = upload.stream(&mut response, announced).await?;
        // What the bucket holds is what was downloaded.
        match self.stored_size(key).await? {
            Some(stored) if stored == size => Ok(size),
            stored => Err(ArchiveError::SizeMismatch { expected: size, got: stored.unwrap_or(0) }),
        }
    }
}

/// One upload in progress: a single `PutObject`, or a multipart upload once the
/// file outgrows one part.
struct Upload<'a> {
    archive: &'a S3Archive,
    key: &'a str,
    id: Option<String>,
    parts: Vec<CompletedPart>,
}

impl Upload<'_> {
    async fn stream(&mut self, response: &mut reqwest::Response, announced: Option<u64>) -> Result<u64, ArchiveError> {
        let part_size = self.archive.part_size;
        let mut buffer: Vec<u8> = Vec::with_capacity(part_size);
        let mut received: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(download_error)? {
            received += chunk.len() as u64;
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= part_size {
                let part = buffer.split_off(part_size);
                let full = std::mem::replace(&mut buffer, part);
                self.upload_part(full).await?;
            }
        }
        if let Some(expected) = announced
            && expected != received
        {
            return Err(ArchiveError::SizeMismatch { expected, got: received });
        }
        if self.id.is_none() {
            let put = self
                .archive
                .s3
                .put_object()
                .bucket(&self.archive.bucket)
                .key(self.key)
                .content_type(CONTENT_TYPE)
                .if_none_match("*")
                .body(ByteStream::from(buffer))
                .send()
                .await;
            return match put {
                Err(err) if !already_there(&err) => Err(storage(err)),
                _ => Ok(received),
            };
        }
        if !buffer.is_empty() {
            self.upload_part(buffer).await?;
        }
        let id = self.id.clone().unwrap_or_default();
        let completed = self
            .archive
            .s3
            .complete_multipart_upload()
            .bucket(&self.archive.bucket)
            .key(self.key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(self.parts.clone())).build())
            .if_none_match("*")
            .send()
            .await;
        match completed {
            Err(err) if !already_there(&err) => Err(storage(err)),
            _ => {
                // Completed (or made by a concurrent copy): nothing left to abort.
                self.id = None;
                Ok(received)
            }
        }
    }

    async fn upload_part(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let s3 = &self.archive.s3;
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let created = s3
                    .create_multipart_upload()
                    .bucket(&self.archive.bucket)
                    .key(self.key)
                    .content_type(CONTENT_TYPE)
                    .send()
                    .await
                    .map_err(storage)?;
                let id = created.upload_id().unwrap_or_default().to_string();
                self.id = Some(id.clone());
                id
            }
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let uploaded = s3
            .upload_part()
            .bucket(&self.archive.bucket)
            .key(self.key)
            .upload_id(id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(storage)?;
        self.parts
            .push(CompletedPart::builder().part_number(number).set_e_tag(uploaded.e_tag().map(str::to_string)).build());
        Ok(())
    }

    /// Best effort: the bucket's lifecycle rule aborts what this leaves.
    async fn abort(&self) {
        if let Some(id) = &self.id {
            let aborted = self
                .archive
                .s3
                .abort_multipart_upload()
                .bucket(&self.archive.bucket)
                .key(self.key)
                .upload_id(id)
                .send()
                .await;
            if let Err(err) = aborted {
                tracing::warn!(key = self.key, error = %crate::error_chain::ErrorChain(&err), "multipart upload not aborted");
            }
        }
    }
}

impl VideoArchive for S3Archive {
    fn copy<'a>(&'a self, url: &'a str, key: &'a str, deadline: Instant) -> BoxFuture<'a, Result<u64, ArchiveError>> {
        Box::pin(self.copy_now(url, key, deadline))
    }
}
