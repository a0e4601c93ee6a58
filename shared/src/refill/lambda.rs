//! The worker woken by Lambda's `Invoke` with `InvocationType: Event`: Lambda
//! accepts it at once (202) and runs the tick on its own.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::{WakeError, WakeWorker};
use crate::archive::BoxFuture;

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
