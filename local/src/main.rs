//! `make dev`'s service: expects moto (started by `scripts/dev.sh`, reached via
//! `AWS_ENDPOINT_URL`), creates the tables from `template.yaml` and the secret,
//! seeds demo data, starts the HeyGen simulator (or uses the real HeyGen when
//! `HEYGEN_API_KEY` is set), and serves the five routes on 127.0.0.1:$DEV_PORT;
//! the worker ticks every `DEV_TICK_SECONDS` and whenever a function wakes it.

mod seed;
mod server;

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use shared::app::{Deps, Timing};
use shared::config::Config;
use shared::domain::Month;
use shared::heygen::{HeygenClient, RetryPolicy};
use shared::secret::{DEFAULT_SECRET_TTL, SecretsManagerSource};
use shared::store::DynamoStore;

const SIM_API_KEY: &str = "sk-local-simulator";
const SIM_WEBHOOK_SECRET: &str = "whsec_local_simulator";
/// The admin frontends' local origins CORS allows by default: a Next.js dev
/// server (port 3000) and a Vite one (5173).
const LOCAL_ADMIN_ORIGINS: &str = "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173";

/// The worker's name when a function wakes it (section 9): this stack answers
/// Lambda's `Invoke` for it by running a tick, as Lambda would.
pub const LOCAL_WORKER: &str = "local-heygen-worker";

type Error = Box<dyn std::error::Error>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string())
}

fn next_month() -> Result<Month, Error> {
    let today = time::OffsetDateTime::now_utc().date();
    let (year, month) = match u8::from(today.month()) {
        12 => (today.year() + 1, 1),
        m => (today.year(), m + 1),
    };
    Ok(Month::new(u16::try_from(year)?, month)?)
}

#[tokio::main]
async fn main() -> ExitCode {
    lambda_http::tracing::init_default_subscriber();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local stack failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if !(endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:")) {
        return Err("AWS_ENDPOINT_URL must point at a local moto server; start the stack with `make dev`".into());
    }
    let port: u16 = env_or("DEV_PORT", "4000").parse()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("port {port} on 127.0.0.1 is not free ({e}); set DEV_PORT to use another"))?;
    let base = format!("http://127.0.0.1:{port}");
    let month = next_month()?;

    let aws = shared::wiring::load_aws_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let tables = devkit::tables::create_tables(&dynamo, devkit::TEMPLATE, "local-").await?;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    // The durable copies go to a bucket on moto, served by this stack at /videos.
    let s3 = shared::wiring::s3_client(&aws);
    let bucket = "local-videos".to_string();
    s3.create_bucket().bucket(&bucket).send().await?;
    let secret_id = "local/heygen".to_string();

    let real_key = std::env::var("HEYGEN_API_KEY").ok().filter(|k| !k.trim().is_empty());
    let (api_base, api_key, webhook_secret, seeded) = match &real_key {
        Some(key) => {
            let avatar = std::env::var("HEYGEN_AVATAR_ID")
                .map_err(|_| "with HEYGEN_API_KEY set, HEYGEN_AVATAR_ID must name one of your HeyGen avatars")?;
            let voice = std::env::var("HEYGEN_VOICE_ID").ok();
            let seeded = seed::single(&dynamo, &tables, month, &avatar, voice.as_deref()).await?;
            (
                env_or("HEYGEN_API_BASE_URL", shared::config::DEFAULT_HEYGEN_API_BASE_URL),
                key.clone(),
                String::new(),
                seeded,
            )
        }
        None => {
            let render = Duration::from_secs_f64(env_or("DEV_RENDER_SECONDS", "5").parse()?);
            let fail_every = env_or("DEV_FAIL_EVERY", "7").parse()?;
            let sim = devkit::sim::start(devkit::sim::SimConfig {
                fail_every,
                concurrency: env_or("DEV_HEYGEN_CONCURRENCY", "10").parse()?,
                drop_callback_every: env_or("DEV_DROP_CALLBACKS", "5").parse()?,
                // The faults of a real month (off unless asked for).
                stall_download_every: env_or("DEV_STALL_DOWNLOAD_EVERY", "0").parse()?,
                forget_every: env_or("DEV_FORGET_EVERY", "0").parse()?,
                always_5xx_every: env_or("DEV_ALWAYS_5XX_EVERY", "0").parse()?,
                ..devkit::sim::SimConfig::new(SIM_API_KEY, SIM_WEBHOOK_SECRET, render)
            })
            .await?;
            // The render slots (HeyGen's limit unless DEV_MAX_CONCURRENT_RENDERS says otherwise)
            // and the attempts of a render HeyGen fails: its defaults unless asked.
            let slots = env_or("DEV_MAX_CONCURRENT_RENDERS", "10");
            let attempts = env_or("DEV_MAX_RENDER_ATTEMPTS", "2");
            let pace = env_or("DEV_REQUESTS_PER_SECOND", "4");
            // What a rendered second costs (for estimated_usd), and every month's
            // cap when DEV_BUDGET_SECONDS is set (contract section 13).
            let usd = env_or("DEV_USD_PER_SECOND", "0.0167");
            let budget = env_or("DEV_BUDGET_SECONDS", "");
            let mut settings = vec![
                ("heygen_requests_per_second", pace.as_str()),
                ("heygen_default_voice_id", "sim-voice-default"),
                ("heygen_max_concurrent_renders", slots.as_str()),
                ("heygen_max_render_attempts", attempts.as_str()),
                ("heygen_usd_per_second", usd.as_str()),
            ];
            if !budget.is_empty() {
                settings.push(("heygen_budget_seconds", budget.as_str()));
            }
            // `make bench`'s month: DEV_BENCH_ITEMS items of one creator instead.
            let seeded = match env_or("DEV_BENCH_ITEMS", "").parse::<usize>() {
                Ok(items) => seed::bench(&dynamo, &tables, month, items, &settings).await?,
                Err(_) => seed::demo(&dynamo, &tables, month, &settings).await?,
            };
            (sim, SIM_API_KEY.to_string(), SIM_WEBHOOK_SECRET.to_string(), seeded)
        }
    };
    let mut secret = json!({"api_key": api_key});
    if !webhook_secret.is_empty() {
        secret["webhook_secret"] = webhook_secret.into();
    }
    secrets.create_secret().name(&secret_id).secret_string(secret.to_string()).send().await?;

    let config = Config {
        tables: tables.clone(),
        heygen_secret_id: secret_id.clone(),
        heygen_api_base_url: api_base.clone(),
        heygen_callback_url: Some(format!("{base}/webhooks/heygen")),
        claim_stale_after: Duration::from_secs(600),
        reconcile_after: Duration::from_secs(env_or("HEYGEN_RECONCILE_AFTER_SECONDS", "20").parse()?),
        lost_after: Duration::from_secs(env_or("HEYGEN_LOST_AFTER_SECONDS", "120").parse()?),
        admin_group: "admin".into(),
        admin_groups_claim: "cognito:groups".into(),
        metrics_namespace: "HeygenPipeline".into(),
        archive: Some(shared::config::ArchiveConfig { bucket: bucket.clone(), base_url: base.clone() }),
        worker_function: Some(LOCAL_WORKER.to_string()),
    };
    let deps = Deps {
        store: DynamoStore::new(dynamo.clone(), tables.clone()),
        secrets: SecretsManagerSource::new(secrets.clone(), secret_id.clone(), DEFAULT_SECRET_TTL),
        heygen: HeygenClient::new(&api_base, RetryPolicy::default())?,
        config,
        archive: Some(shared::archive::shared_archive(shared::archive::S3Archive::new(s3.clone(), &bucket))),
        timing: Timing::default(),
        // Lambda's Invoke API, answered by this stack (server.rs); DEV_REFILL=0
        // leaves the queue to the ticks alone (to measure what refill buys).
        worker: (env_or("DEV_REFILL", "1") != "0").then(|| {
            let lambda = aws_sdk_lambda::config::Builder::from(&aws).endpoint_url(&base).build();
            let worker = lambda_waker::LambdaWorker::new(aws_sdk_lambda::Client::from_conf(lambda), LOCAL_WORKER);
            std::sync::Arc::new(worker) as std::sync::Arc<dyn shared::refill::WakeWorker>
        }),
    };

    let env_file = env_or("DEV_ENV_FILE", "target/dev/env.local.json");
    let state = json!({
        "env_file": env_file, "base_url": base, "month": month.to_string(), "aws_endpoint_url": endpoint,
        "tables": {"settings": tables.settings, "creators": tables.creators, "content": tables.content},
        "secret_id": secret_id, "heygen": if real_key.is_some() { "real" } else { "simulator" }, "heygen_api_base_url": api_base,
    });
    let state_file = env_or("DEV_STATE_FILE", "target/dev/stack.json");
    if let Some(dir) = std::path::Path::new(&state_file).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&state_file, serde_json::to_string_pretty(&state)?)?;
    // The functions' environment against this stack, for `sam local invoke
    // --env-vars` (JSON) and `cargo lambda watch --env-file` (dotenv).
    let function_env = [
        ("SETTINGS_TABLE", tables.settings.as_str()),
        ("CREATORS_TABLE", tables.creators.as_str()),
        ("CONTENT_TABLE", tables.content.as_str()),
        ("HEYGEN_SECRET_ID", secret_id.as_str()),
        ("HEYGEN_API_BASE_URL", api_base.as_str()),
        ("HEYGEN_CALLBACK_URL", &format!("{base}/webhooks/heygen")),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let vars: serde_json::Map<String, serde_json::Value> =
        function_env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    std::fs::write(&env_file, serde_json::to_string_pretty(&json!({ "Parameters": vars }))?)?;
    let dotenv: String = function_env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(std::path::Path::new(&env_file).with_extension("env"), dotenv)?;

    println!("\nHeyGen pipeline, local stack: {base}");
    if real_key.is_some() {
        println!("  HeyGen: the REAL API at {api_base}. Every render costs money; one item is seeded.");
        println!("  HeyGen cannot call back to localhost: the worker's ticks reconcile each render.");
    } else {
        println!(
            "  HeyGen: simulator at {api_base} (renders take {}s, every {}th fails, at most {} at once, every {}th callback dropped)",
            env_or("DEV_RENDER_SECONDS", "5"),
            env_or("DEV_FAIL_EVERY", "7"),
            env_or("DEV_HEYGEN_CONCURRENCY", "10"),
            env_or("DEV_DROP_CALLBACKS", "5"),
        );
    }
    println!("  Worker: a tick every {}s (reconcile, recover, feed the queue)", env_or("DEV_TICK_SECONDS", "5"));
    println!(
        "  Seeded: {} creators, {} content items for {month}; state in {state_file}; the functions' environment in {env_file}",
        seeded.creators, seeded.items
    );
    println!("\nTry:");
    println!(
        "  curl -s -X POST {base}/admin/content-production/heygen -H 'content-type: application/json' -d '{{\"month\":\"{month}\",\"mode\":\"bible\",\"dry_run\":true}}'"
    );
    println!(
        "  curl -s -X POST {base}/admin/content-production/heygen -H 'content-type: application/json' -d '{{\"month\":\"{month}\",\"mode\":\"bible\"}}'"
    );
    println!("  open {base}/   # the month at a glance, updated every 2 s");
    println!("  curl -s '{base}/admin/content-production/heygen/progress?month={month}&mode=bible'");
    println!("  curl -s {base}/admin/content-production/heygen");
    println!("  curl -s '{base}/admin/content-production/heygen?refresh=true'");
    println!(
        "  curl -s -X POST {base}/admin/content-production/heygen/cancel -H 'content-type: application/json' -d '{{\"month\":\"{month}\",\"mode\":\"bible\"}}'"
    );
    println!("  curl -s -H 'x-local-groups: [editors]' {base}/admin/content-production/heygen   # 403");
    println!("\nAdmin routes run as a local admin (sub local-admin); Ctrl-C stops everything.\n");
    tracing::info!(base_url = %base, "local stack ready");

    // EventBridge Scheduler cannot fire locally: the worker's handler is invoked
    // here as the schedule would, every DEV_TICK_SECONDS.
    // One tick at a time, scheduled or woken, as the template's reserved
    // concurrency of 1 makes Lambda run the worker (server.rs takes it too).
    let deps = std::sync::Arc::new(deps);
    let one_tick = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let tick_every = Duration::from_secs_f64(env_or("DEV_TICK_SECONDS", "5").parse()?);
    let ticking = std::sync::Arc::clone(&deps);
    let ticks = std::sync::Arc::clone(&one_tick);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick_every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let _one = ticks.lock().await;
            let event = lambda_runtime::LambdaEvent::new(json!({}), lambda_runtime::Context::default());
            heygen_worker::handle_event(ticking.as_ref(), event).await;
        }
    });
    let videos = server::Videos { s3, bucket };
    server::serve(listener, deps, env_or("ADMIN_ORIGIN", LOCAL_ADMIN_ORIGINS), videos, &month.to_string(), one_tick)
        .await?;
    Ok(())
}
