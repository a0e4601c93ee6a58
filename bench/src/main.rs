//! `make bench`: the release binaries, and a hello-world `lambda_http` binary
//! built with the same profile (the floor), each run under the Lambda Runtime API
//! emulator against moto and the HeyGen simulator, both reached through counting
//! proxies. Writes `BENCHMARKS.md`. See `scripts/bench.sh` for what it expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::time::Duration;

use devkit::runtime_api::Function;
use serde_json::Value;
use shared::config::TableNames;

use proxy::{Counts, Proxy};

/// Everything the scenarios share.
pub struct Bench {
    pub release: PathBuf,
    /// Warm invocations per operation, and spawns per binary for init.
    pub invocations: usize,
    pub spawns: usize,
    /// Ticks over 450 pending renders (each re-checks them all).
    pub reconcile_ticks: usize,
    pub aws: Proxy,
    pub heygen: Proxy,
    pub sim: String,
    pub secret_id: String,
    pub bucket: String,
    pub http: reqwest::Client,
}

pub const SIM_KEY: &str = "sk-bench";
pub const WEBHOOK_SECRET: &str = "whsec_bench";

/// One invocation: its time from delivery to answer and the requests it made.
#[derive(Clone, Debug)]
pub struct Sample {
    pub took: Duration,
    pub aws: Counts,
    pub heygen: Counts,
}

impl Sample {
    /// The invocation's own time: its whole time less the time its DynamoDB,
    /// Secrets Manager, S3 and HeyGen requests took.
    pub fn own(&self) -> Duration {
        self.took.saturating_sub(self.aws.time + self.heygen.time)
    }
}

/// A measured operation of one function.
pub struct Op {
    pub function: &'static str,
    pub name: String,
    pub samples: Vec<Sample>,
}

/// A binary's own figures.
pub struct Binary {
    pub name: &'static str,
    pub size: u64,
    pub zip: u64,
    pub init: Vec<Duration>,
    pub first: Vec<Duration>,
    pub first_event: &'static str,
    pub peak_rss_kib: u64,
}

impl Bench {
    pub fn path(&self, name: &str) -> PathBuf {
        self.release.join(name)
    }

    /// The environment a function gets in the stack, with its AWS and HeyGen
    /// requests sent through the counting proxies.
    pub fn env(&self, tables: &TableNames) -> Vec<(&'static str, String)> {
        vec![
            ("SETTINGS_TABLE", tables.settings.clone()),
            ("CREATORS_TABLE", tables.creators.clone()),
            ("CONTENT_TABLE", tables.content.clone()),
            ("HEYGEN_SECRET_ID", self.secret_id.clone()),
            ("HEYGEN_API_BASE_URL", self.heygen.url.clone()),
            ("HEYGEN_CALLBACK_URL", "https://api.example/webhooks/heygen".into()),
            ("AWS_ENDPOINT_URL", self.aws.url.clone()),
            ("METRICS_NAMESPACE", "HeygenPipelineBench".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        ]
    }

    /// Invokes `event` once, counting what it asked of its dependencies.
    pub async fn measure(&self, function: &Function, event: &Value) -> (Value, Sample) {
        self.aws.take();
        self.heygen.take();
        let (answer, took) = function.invoke_timed(event).await;
        let sample = Sample { took, aws: self.aws.take(), heygen: self.heygen.take() };
        let answer = answer.unwrap_or_else(|err| panic!("the function failed: {err}\n{}", function.logs()));
        (answer, sample)
    }

    /// `spawns` fresh processes of `name`: each one's init (spawn to its first
    /// request for work) and its first invocation of `event`.
    pub async fn spawns(&self, name: &str, env: &[(&str, String)], event: &Value) -> (Vec<Duration>, Vec<Duration>) {
        let mut init = Vec::new();
        let mut first = Vec::new();
        for _ in 0..self.spawns {
            let mut function = Function::start_binary(&self.path(name), name, env).await;
            let Some(took) = function.init_time(Duration::from_secs(10)).await else {
                panic!("{name} never asked for work: {}", function.logs());
            };
            init.push(took);
            let (_, sample) = self.measure(&function, event).await;
            first.push(sample.took);
            function.kill().await;
        }
        (init, first)
    }

    /// The binary's file size and the size of its deployment zip (the binary as
    /// `bootstrap`, deflated, as `sam build` packs it).
    pub fn sizes(&self, name: &str) -> (u64, u64) {
        let path = self.path(name);
        let size = std::fs::metadata(&path).unwrap().len();
        let script = "import io, sys, zipfile\nb = io.BytesIO()\nwith zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n    z.write(sys.argv[1], 'bootstrap')\nprint(len(b.getvalue()))";
        let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
        let zip = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
        (size, zip)
    }
}

/// The peak resident set of a running process (`VmHWM`), in KiB.
pub fn peak_rss_kib(function: &Function) -> u64 {
    let Some(pid) = function.pid() else { return 0 };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must point at moto (scripts/bench.sh)");
    let release = std::env::var("BENCH_RELEASE_DIR").map(PathBuf::from).expect("BENCH_RELEASE_DIR");
    let out = std::env::var("BENCH_OUTPUT").unwrap_or_else(|_| "BENCHMARKS.md".into());
    let aws_config = shared::wiring::load_aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws_config);
    let secret_id = format!("bench/heygen-{}", uuid::Uuid::new_v4());
    let secret = serde_json::json!({"api_key": SIM_KEY, "webhook_secret": WEBHOOK_SECRET}).to_string();
    secrets.create_secret().name(&secret_id).secret_string(secret).send().await.unwrap();
    let bucket = format!("bench-videos-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    shared::wiring::s3_client(&aws_config).create_bucket().bucket(&bucket).send().await.unwrap();
    let sim = devkit::sim::start(devkit::sim::SimConfig {
        // Renders finish at once (a script with `[hold]` never does); no
        // callback is ever sent: the notices are the bench's own.
        concurrency: 100_000,
        drop_callback_every: 1,
        ..devkit::sim::SimConfig::new(SIM_KEY, WEBHOOK_SECRET, Duration::ZERO)
    })
    .await
    .unwrap();
    let bench = Bench {
        release,
        invocations: env_number("BENCH_INVOCATIONS", 500),
        spawns: env_number("BENCH_SPAWNS", 10),
        reconcile_ticks: env_number("BENCH_RECONCILE_TICKS", 20),
        aws: Proxy::start(&endpoint, proxy::aws_kind).await,
        heygen: Proxy::start(&sim, proxy::heygen_kind).await,
        sim,
        secret_id,
        bucket,
        http: reqwest::Client::new(),
    };
    let mut binaries = Vec::new();
    let mut ops = Vec::new();
    // BENCH_ONLY=webhook,worker measures those beside the floor (always measured).
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only.split(',').any(|n| n.trim() == name));
    let mut runs = vec![scenarios::floor(&bench).await];
    if wanted("pending") {
        runs.push(scenarios::pending(&bench).await);
    }
    if wanted("trigger") {
        runs.push(scenarios::trigger(&bench).await);
    }
    if wanted("webhook") {
        runs.push(scenarios::webhook(&bench).await);
    }
    if wanted("worker") {
        runs.push(scenarios::worker(&bench).await);
    }
    for (binary, mut measured) in runs {
        binaries.push(binary);
        ops.append(&mut measured);
    }
    let text = report::markdown(&bench, &binaries, &ops);
    println!("{text}");
    std::fs::write(&out, text).unwrap();
    eprintln!("bench: written to {out}");
}
