//! The `heygen-worker` Lambda: one tick per invocation behind the one entry point
//! (`shared::lambda::serve_events`: configuration, clients and metrics, once).

// One invocation at a time: one thread, no hand-offs between worker threads
// (about a quarter less time per warm invocation, measured by `make bench`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve_events(heygen_worker::handle_event).await
}
