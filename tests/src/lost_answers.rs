//! DynamoDB answers lost after the write was applied: an SDK interceptor that,
//! for the `UpdateItem` and `TransactWriteItems` requests it picks, lets moto apply the write and then
//! turns its answer into a 500, as a connection dropped on the way back would.
//! The SDK retries (and the retry meets the write's own condition); when every
//! attempt's answer is lost, the caller gets a failure for a write that was made.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Which `UpdateItem` attempts lose their answer, from the request's JSON body.
type Pick = dyn Fn(&str) -> bool + Send + Sync;

/// The interceptor; clones share their count.
#[derive(Clone)]
pub struct LostAnswers {
    pick: Arc<Pick>,
    lost: Arc<AtomicUsize>,
}

impl std::fmt::Debug for LostAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LostAnswers").field("lost", &self.lost()).finish()
    }
}

/// Whether this attempt's answer is to be lost (per attempt, in the operation's bag).
#[derive(Clone, Debug)]
struct Lose(bool);

impl Storable for Lose {
    type Storer = StoreReplace<Self>;
}

impl LostAnswers {
    /// Loses the answer of every `UpdateItem` or `TransactWriteItems` attempt whose
    /// body `pick` chooses.
    pub fn new(pick: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self { pick: Arc::new(pick), lost: Arc::new(AtomicUsize::new(0)) }
    }

    /// Loses the answer of each `UpdateItem` or `TransactWriteItems` attempt with
    /// probability `p`.
    pub fn at_random(p: f64) -> Self {
        Self::new(move |_| fastrand::f64() < p)
    }

    /// Answers lost so far.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    /// A DynamoDB client on `aws` with this interceptor.
    pub fn client(&self, aws: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(aws).interceptor(self.clone()).build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl Intercept for LostAnswers {
    fn name(&self) -> &'static str {
        "LostAnswers"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let update = target.ends_with("UpdateItem") || target.ends_with("TransactWriteItems");
        let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
        cfg.interceptor_state().store_put(Lose(update && (self.pick)(&body)));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Lose>().is_some_and(|lose| lose.0) {
            // What DynamoDB said is lost: the SDK sees a bare server error and
            // retries (a retry meets the write's own condition, or is lost too).
            let response = context.response_mut();
            *response.status_mut() = 500u16.try_into()?;
            // The SDK reads an error's type from this header before the body.
            response.headers_mut().remove("x-amzn-errortype");
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}"#,
            );
            self.lost.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}
