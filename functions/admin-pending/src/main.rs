//! The `admin-pending` Lambda: its handler behind the one entry point
//! (`shared::lambda::serve_http_waking`: configuration, clients and metrics, once;
//! the worker woken through `lambda_waker` when a render slot frees).

// One invocation at a time: one thread, no hand-offs between worker threads
// (about a quarter less time per warm invocation, measured by `make bench`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http_waking(admin_pending::handle_request, lambda_waker::worker).await
}
