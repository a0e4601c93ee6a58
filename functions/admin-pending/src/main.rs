//! The `admin-pending` Lambda: wiring only. Configuration is read once, clients are
//! built once, then the runtime calls the handler for each event.

use lambda_http::{Error, run, service_fn};
use shared::config::Config;
use shared::wiring::{flush_metrics, init_metrics, production_deps};

// One invocation at a time: one thread, no hand-offs between worker threads
// (about a quarter less time per warm invocation, measured by `make bench`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| tracing::error!(error = %err, "start-up failed"))?;
    let metrics = init_metrics(&config)?;
    let deps = production_deps(config).await?;
    let deps = &deps;
    run(service_fn(move |request| async move {
        let response = admin_pending::handle_request(deps, request).await;
        flush_metrics(metrics);
        Ok::<_, Error>(response)
    }))
    .await
}
