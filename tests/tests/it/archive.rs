//! Durable copies (contract section 8) on moto's S3, from files wiremock serves
//! as HeyGen's CDN: the object, its key, bytes, size and type; the item untouched
//! until the copy is complete; expired links; failures counted and retried; a
//! second copy making one object and one update; the platform's video winning.

use serde_json::{Value, json};
use shared::archive::S3Archive;
use shared::config::ArchiveConfig;
use shared::domain::{Outcome, Timestamp};
use shared::store::prelude::*;
use tests::ApplyById;
use tests::stack::Stack;
use tests::{local_aws, unique_prefix};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const BASE_URL: &str = "https://cdn.example";

struct Bucket {
    s3: aws_sdk_s3::Client,
    name: String,
}

impl Bucket {
    /// A versioned bucket on moto, so that a second object would show.
    async fn create() -> Self {
        let s3 = shared::wiring::s3_client(&local_aws().await);
        let name = format!("{}videos", unique_prefix()).to_lowercase();
        s3.create_bucket().bucket(&name).send().await.unwrap();
        s3.put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Self { s3, name }
    }

    async fn object(&self, key: &str) -> (Vec<u8>, Option<String>) {
        let out = self.s3.get_object().bucket(&self.name).key(key).send().await.unwrap();
        let content_type = out.content_type().map(str::to_string);
        (out.body.collect().await.unwrap().into_bytes().to_vec(), content_type)
    }

    async fn versions(&self, key: &str) -> usize {
        let out = self.s3.list_object_versions().bucket(&self.name).prefix(key).send().await.unwrap();
        out.versions().len()
    }

    async fn keys(&self) -> Vec<String> {
        let out = self.s3.list_objects_v2().bucket(&self.name).send().await.unwrap();
        out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
    }
}

/// 12 MiB of varied bytes: three parts of 5 MiB.
fn video_bytes() -> Vec<u8> {
    (0..12 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
}

/// A stack whose worker copies to `bucket` (5 MiB parts), with c-1 completed on
/// v-1 at `file` (as HeyGen's CDN link) and waiting for its copy.
async fn completed_stack(bucket: &Bucket, file: &str) -> Stack {
    let mut stack = Stack::new().await;
    let archive = S3Archive::new(bucket.s3.clone(), &bucket.name).with_part_size(5 * 1024 * 1024);
    stack.deps.archive = Some(shared::archive::shared_archive(archive));
    stack.deps.config.archive = Some(ArchiveConfig { bucket: bucket.name.clone(), base_url: BASE_URL.into() });
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.pending_item("c-1", "v-1").await;
    let done =
        Outcome::Completed { video_url: format!("{}{file}", stack.heygen.uri()), thumbnail_url: None, duration: None };
    stack.deps.store.apply_outcome_of("c-1", "v-1", &done, Timestamp::now(), false).await.unwrap();
    stack
}

async fn serve(stack: &Stack, file: &str, bytes: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(file))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes).insert_header("content-type", "video/mp4"))
        .mount(&stack.heygen)
        .await;
}

async fn downloads(stack: &Stack, file: &str) -> usize {
    let all = stack.heygen.received_requests().await.unwrap_or_default();
    all.iter().filter(|r| r.url.path() == file).count()
}

#[tokio::test]
async fn a_completed_video_is_copied_whole_then_attached() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/v-1.mp4").await;
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "completed");
    assert!(raw.get("creator_video_url").is_none(), "HeyGen's link is never attached: {raw}");
    assert_eq!(raw["status"], "draft");
    let bytes = video_bytes();
    serve(&stack, "/files/v-1.mp4", bytes.clone()).await;

    let report = stack.tick().await;
    assert_eq!((report.archived, report.archive_failures), (1, 0), "{report:?}");
    let (stored, content_type) = bucket.object("videos/c-1/v-1.mp4").await;
    assert_eq!(stored.len(), bytes.len());
    assert!(stored == bytes, "the same bytes");
    assert_eq!(content_type.as_deref(), Some("video/mp4"));
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["creator_video_url"], "https://cdn.example/videos/c-1/v-1.mp4");
    assert_eq!(raw["status"], "submitted");
    assert!(raw["video_archived_at"].as_str().unwrap().ends_with('Z'));
    assert!(raw.get("heygen_archive").is_none(), "out of the archive index");
}

#[tokio::test]
async fn an_expired_link_is_refreshed_through_heygen_and_the_copy_retried() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/expired.mp4").await;
    Mock::given(method("GET"))
        .and(path("/files/expired.mp4"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&stack.heygen)
        .await;
    let fresh = format!("{}/files/fresh.mp4", stack.heygen.uri());
    Mock::given(method("GET"))
        .and(path("/v3/videos/v-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": "v-1", "status": "completed", "video_url": fresh,
        }})))
        .mount(&stack.heygen)
        .await;
    serve(&stack, "/files/fresh.mp4", b"a short video".to_vec()).await;
    let report = stack.tick().await;
    assert_eq!(report.archived, 1, "{report:?}");
    assert_eq!(bucket.object("videos/c-1/v-1.mp4").await.0, b"a short video");
    assert_eq!(stack.tables.content_raw("c-1").await["status"], "submitted");
}

#[tokio::test]
async fn a_failed_copy_is_counted_kept_and_retried_and_never_submitted() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/v-1.mp4").await;
    // The CDN fails twice.
    Mock::given(method("GET"))
        .and(path("/files/v-1.mp4"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&stack.heygen)
        .await;
    for attempts in 1..=2u32 {
        let before = Timestamp::now();
        let report = stack.tick().await;
        assert_eq!((report.archived, report.archive_failures), (0, 1), "{report:?}");
        let raw = stack.tables.content_raw("c-1").await;
        assert_eq!(raw["heygen_archive_attempts"], attempts);
        assert!(raw["heygen_archive_error"].as_str().unwrap().contains("500"), "{raw}");
        assert!(raw.get("creator_video_url").is_none() && raw["status"] == "draft", "never submitted: {raw}");
        assert!(bucket.keys().await.is_empty(), "no object");
        // A back-off of 1 minute, then 2: the next tick passes it over.
        let retry_at = Timestamp::parse(raw["heygen_retry_at"].as_str().unwrap()).unwrap();
        let backoff = retry_at.seconds_since(before);
        assert!((60 * u64::from(attempts) - 1..=60 * u64::from(attempts) + 5).contains(&backoff), "{backoff} s");
        let report = stack.tick().await;
        assert_eq!((report.archived, report.archive_failures), (0, 0), "waiting: {report:?}");
        // Time passes.
        stack.tables.update_content("c-1", json!({"heygen_retry_at": "2026-01-01T00:00:00.000Z"})).await;
    }
    serve(&stack, "/files/v-1.mp4", b"at last".to_vec()).await;
    let report = stack.tick().await;
    assert_eq!(report.archived, 1, "{report:?}");
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["status"], "submitted");
    assert!(raw.get("heygen_archive_error").is_none() && raw.get("heygen_retry_at").is_none(), "{raw}");
}

#[tokio::test]
async fn a_second_copy_of_the_same_video_makes_one_object_and_one_update() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/v-1.mp4").await;
    serve(&stack, "/files/v-1.mp4", b"the video".to_vec()).await;
    assert_eq!(stack.tick().await.archived, 1);
    let first: Value = stack.tables.content_raw("c-1").await;
    // An earlier copy whose record was lost: the item waits again.
    stack.content_update("c-1", json!({"heygen_archive": "to_copy"})).await;
    let report = stack.tick().await;
    assert_eq!(report.archived, 0, "already archived: no second update ({report:?})");
    assert_eq!(stack.tables.content_raw("c-1").await["video_archived_at"], first["video_archived_at"]);
    // And with the record lost for real, the object is found, not copied again.
    let store = &stack.deps.store;
    stack
        .tables
        .client
        .update_item()
        .table_name(&stack.tables.names.content)
        .key("content_id", aws_sdk_dynamodb::types::AttributeValue::S("c-1".into()))
        .update_expression("REMOVE video_archived_at, creator_video_url")
        .send()
        .await
        .unwrap();
    assert_eq!(store.list_unarchived().await.unwrap().len(), 1);
    assert_eq!(stack.tick().await.archived, 1);
    assert_eq!(downloads(&stack, "/files/v-1.mp4").await, 1, "downloaded once");
    assert_eq!(bucket.versions("videos/c-1/v-1.mp4").await, 1, "one object");
}

#[tokio::test]
async fn the_platforms_video_still_wins_over_the_copy() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/v-1.mp4").await;
    serve(&stack, "/files/v-1.mp4", b"the video".to_vec()).await;
    stack
        .content_update("c-1", json!({"creator_video_url": "https://cdn.platform/own.mp4", "status": "published"}))
        .await;
    assert_eq!(stack.tick().await.archived, 1);
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(
        (raw["creator_video_url"].as_str(), raw["status"].as_str()),
        (Some("https://cdn.platform/own.mp4"), Some("published"))
    );
    assert!(raw["video_archived_at"].is_string(), "the copy is recorded: {raw}");
    assert_eq!(bucket.keys().await, ["videos/c-1/v-1.mp4"]);
}

#[tokio::test]
async fn a_completion_through_the_webhook_waits_for_its_copy() {
    let bucket = Bucket::create().await;
    let mut stack = Stack::new().await;
    stack.deps.config.archive = Some(ArchiveConfig { bucket: bucket.name.clone(), base_url: BASE_URL.into() });
    stack.creator("cr-a", Some("av-a"), None).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.pending_item("c-1", "v-1").await;
    stack.heygen_status("v-1", "completed").await;
    let notice = json!({"event_type": "avatar_video.success", "event_data": {"video_id": "v-1", "callback_id": "c-1"}});
    let (status, _) = stack.webhook(tests::stack::webhook_event(&notice, None)).await;
    assert_eq!(status, 200);
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_status"], "completed");
    assert!(raw.get("creator_video_url").is_none(), "{raw}");
    assert_eq!(raw["heygen_archive"], "to_copy");
}

/// The process's peak resident memory so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
#[ignore = "moves 200 MB through moto; run alone: cargo test -p tests --test it -- --ignored copying_a_200"]
async fn copying_a_200_mb_video_keeps_memory_bounded() {
    const SIZE: u64 = 200 * 1024 * 1024;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/archive-bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join("video.mp4")).unwrap().set_len(SIZE).unwrap();
    // Served by another process, so that only the copy's memory is this one's.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = tokio::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/video.mp4");
    for _ in 0..100 {
        if reqwest::Client::new().head(&url).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let bucket = Bucket::create().await;
    let archive = S3Archive::new(bucket.s3.clone(), &bucket.name);
    // Start the peak afresh (Linux: writing 5 to clear_refs resets VmHWM).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_rss_kib();
    let far = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    let size = shared::archive::VideoArchive::copy(&archive, &url, "videos/big/v.mp4", far).await.unwrap();
    let peak = peak_rss_kib();
    let _ = server.kill().await;
    assert_eq!(size, SIZE);
    let grown_mib = (peak.saturating_sub(before)) / 1024;
    eprintln!("copying 200 MiB: peak RSS {} MiB (from {} MiB, +{grown_mib} MiB)", peak / 1024, before / 1024);
    assert!(grown_mib < 64, "the copy held {grown_mib} MiB");
}

#[tokio::test]
async fn the_worker_binary_copies_and_counts_copies_in_its_metrics() {
    let bucket = Bucket::create().await;
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), None).await;
    for (id, file) in [("c-1", "/files/ok.mp4"), ("c-2", "/files/broken.mp4")] {
        stack.content(id, "cr-a", "2026-03-01", json!({})).await;
        stack.pending_item(id, &format!("v-{id}")).await;
        let done = Outcome::Completed {
            video_url: format!("{}{file}", stack.heygen.uri()),
            thumbnail_url: None,
            duration: None,
        };
        stack.deps.store.apply_outcome_of(id, &format!("v-{id}"), &done, Timestamp::now(), false).await.unwrap();
    }
    // A third link is presigned and leads nowhere (the port is closed): the
    // error names no URL, so its signature reaches no log line (section 11).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let presigned = format!("http://127.0.0.1:{closed}/v/c-3.mp4?Expires=1&Signature=s3cr3t-sig&Key-Pair-Id=K");
    stack.content("c-3", "cr-a", "2026-03-01", json!({})).await;
    stack.pending_item("c-3", "v-c-3").await;
    let done = Outcome::Completed { video_url: presigned, thumbnail_url: None, duration: None };
    stack.deps.store.apply_outcome_of("c-3", "v-c-3", &done, Timestamp::now(), false).await.unwrap();
    serve(&stack, "/files/ok.mp4", b"a video".to_vec()).await;
    Mock::given(method("GET"))
        .and(path("/files/broken.mp4"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&stack.heygen)
        .await;
    let mut env = stack.lambda_env();
    env.extend([("VIDEO_BUCKET", bucket.name.clone()), ("VIDEO_BASE_URL", BASE_URL.to_string())]);
    let worker = tests::runtime_api::Function::start("heygen-worker", &env).await;
    let report = worker.invoke(&json!({})).await.unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    assert_eq!((report["archived"].as_u64(), report["archive_failures"].as_u64()), (Some(1), Some(2)), "{report}");
    assert_eq!(bucket.keys().await, ["videos/c-1/v-c-1.mp4"]);
    let logs = worker.logs();
    assert!(logs.contains("video not copied") && logs.contains("c-3"), "{logs}");
    assert!(!logs.contains("s3cr3t-sig") && !logs.contains("Expires=1"), "a presigned URL was logged: {logs}");
    let raw = stack.tables.content_raw("c-3").await;
    assert!(!raw["heygen_archive_error"].as_str().unwrap().contains("s3cr3t"), "{raw}");
    assert_eq!(stack.tables.content_raw("c-1").await["creator_video_url"], "https://cdn.example/videos/c-1/v-c-1.mp4");
    let metrics = tests::emf_metrics(&worker.logs());
    let value = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| (m.value, m.dimensions.is_empty()));
    assert_eq!(value("VideosArchived"), Some((1.0, true)), "{metrics:?}");
    assert_eq!(value("ArchiveFailures"), Some((2.0, true)), "{metrics:?}");
}

#[tokio::test]
async fn two_ticks_copying_at_once_make_one_object_and_one_update() {
    let bucket = Bucket::create().await;
    let stack = completed_stack(&bucket, "/files/v-1.mp4").await;
    // Slow enough that both ticks are downloading before either writes.
    Mock::given(method("GET"))
        .and(path("/files/v-1.mp4"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(b"the video".to_vec())
                .set_delay(std::time::Duration::from_millis(300)),
        )
        .mount(&stack.heygen)
        .await;
    let (a, b) = tokio::join!(stack.tick(), stack.tick());
    assert_eq!(a.archived + b.archived, 1, "one update: {a:?} {b:?}");
    assert_eq!(a.archive_failures + b.archive_failures, 0, "{a:?} {b:?}");
    assert_eq!(downloads(&stack, "/files/v-1.mp4").await, 2, "both copied");
    assert_eq!(bucket.versions("videos/c-1/v-1.mp4").await, 1, "one object: the second write was refused");
    assert_eq!(stack.tables.content_raw("c-1").await["status"], "submitted");
}

/// A CDN that answers a download's headers and its first `bytes`, then holds
/// the connection open for ever: HeyGen's CDN stalling mid-file.
async fn stalling_cdn(bytes: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: 104857600\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![7u8; bytes]).await;
                tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
            });
        }
    });
    format!("http://{addr}/v/stalled.mp4")
}

#[tokio::test]
async fn a_stalled_download_is_cut_at_its_deadline_aborted_counted_and_the_next_video_copied() {
    // c-1's link stalls after 6 MiB (one 5 MiB part uploaded); c-2, completed
    // later, is fine. Old behaviour: the tick hung on c-1 until Lambda killed
    // it, and c-2 was never copied.
    let bucket = Bucket::create().await;
    let mut stack = completed_stack(&bucket, "/files/unused.mp4").await;
    stack.deps.timing.min_copy_time = std::time::Duration::from_secs(1);
    let stalled = stalling_cdn(6 * 1024 * 1024).await;
    stack.tables.update_content("c-1", json!({"heygen_video_url": stalled})).await;
    stack.content("c-2", "cr-a", "2026-03-02", json!({})).await;
    stack.pending_item("c-2", "v-2").await;
    let done = Outcome::Completed {
        video_url: format!("{}/files/v-2.mp4", stack.heygen.uri()),
        thumbnail_url: None,
        duration: None,
    };
    stack.deps.store.apply_outcome_of("c-2", "v-2", &done, Timestamp::now(), false).await.unwrap();
    serve(&stack, "/files/v-2.mp4", b"the second video".to_vec()).await;

    // 8 s to the deadline: copies end 5 s before it, and start only with 1 s left.
    let tick = |seconds| {
        let invocation = shared::app::Invocation {
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(seconds),
            domain_name: None,
        };
        let deps = &stack.deps;
        async move { shared::app::worker::tick(deps, &invocation).await }
    };
    let started = std::time::Instant::now();
    let first = tick(8).await;
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(6), "the tick outlived its copy deadline: {took:?}");
    assert_eq!((first.archived, first.archive_failures), (0, 1), "{first:?}");
    let raw = stack.tables.content_raw("c-1").await;
    assert_eq!(raw["heygen_archive_attempts"], 1);
    assert!(raw["heygen_archive_error"].as_str().unwrap().contains("deadline"), "{raw}");
    assert!(raw.get("heygen_retry_at").is_some() && raw.get("creator_video_url").is_none(), "{raw}");
    let uploads = bucket.s3.list_multipart_uploads().bucket(&bucket.name).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "the multipart upload was aborted: {uploads:?}");
    assert!(bucket.keys().await.is_empty());

    // The next tick passes over c-1 while it backs off: c-2 is copied.
    let second = tick(8).await;
    assert_eq!((second.archived, second.archive_failures), (1, 0), "{second:?}");
    assert_eq!(bucket.keys().await, ["videos/c-2/v-2.mp4"]);
    assert_eq!(stack.tables.content_raw("c-2").await["status"], "submitted");
}
