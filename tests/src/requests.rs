//! The DynamoDB requests a client sent, as the benchmark's proxy names them: an
//! SDK interceptor that records each attempt's operation, table, index and select (read
//! from the request's `x-amz-target` header and JSON body).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// One request: `Query` on `table` through `index`, say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub operation: String,
    pub table: String,
    pub index: Option<String>,
    /// `Select` (`COUNT` for a count).
    pub select: Option<String>,
}

/// The interceptor; clones share their log.
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Sent>>>);

impl RequestLog {
    /// A DynamoDB client on `aws` that logs what it sends.
    pub fn client(&self, aws: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(aws).interceptor(self.clone()).build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// What was sent so far, and forgets it.
    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        let body: serde_json::Value =
            request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        let text = |name: &str| body.get(name).and_then(serde_json::Value::as_str).map(str::to_string);
        // A batch read names its tables in `RequestItems`.
        let table = text("TableName")
            .or_else(|| body.get("RequestItems").and_then(|r| r.as_object()?.keys().next().cloned()))
            .unwrap_or_default();
        self.0.lock().unwrap().push(Sent { operation, table, index: text("IndexName"), select: text("Select") });
        Ok(())
    }
}
