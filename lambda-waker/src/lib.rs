//! The adapter of `shared::refill`'s port: the worker woken by Lambda's `Invoke`
//! with `InvocationType: Event` (contract section 9); Lambda accepts it at once
//! (202) and runs the tick on its own.
//!
//! A crate of its own, not a module of `shared`: the four functions are built
//! with their features unified, so only a separate crate keeps the Lambda client
//! out of the binaries that never wake the worker (the worker's own, and the
//! trigger's), whose size `make bench` holds to a goal.

use std::sync::Arc;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use shared::archive::BoxFuture;
use shared::config::Config;
use shared::refill::{WakeError, WakeWorker};

/// The worker named by `HEYGEN_WORKER_FUNCTION`, if set, with a Lambda client on
/// `aws` (which honours `AWS_ENDPOINT_URL_LAMBDA`, for local stacks and tests).
pub fn worker(aws: &aws_config::SdkConfig, config: &Config) -> Option<Arc<dyn WakeWorker>> {
    let function = config.worker_function.as_ref()?;
    Some(Arc::new(LambdaWorker::new(aws_sdk_lambda::Client::new(aws), function)))
}

/// The worker function `function` (`HEYGEN_WORKER_FUNCTION`), invoked
/// asynchronously.
#[derive(Clone, Debug)]
pub struct LambdaWorker {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaWorker {
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self { client, function: function.into() }
    }
}

impl WakeWorker for LambdaWorker {
    fn wake<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), WakeError>> {
        Box::pin(async move {
            let payload = serde_json::json!({"refill": reason}).to_string();
            self.client
                .invoke()
                .function_name(&self.function)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(|e| WakeError(Box::new(e)))?;
            Ok(())
        })
    }
}
