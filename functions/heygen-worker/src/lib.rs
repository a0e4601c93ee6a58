//! The worker's handler: one EventBridge Scheduler invocation is one tick of
//! `shared::app::worker` (contract section 9). The event's payload is ignored
//! (`{}` does); the answer is the tick's report.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::app::worker::{TickReport, tick};
use shared::app::{Deps, Invocation, Ports};
use tracing::Instrument;

/// Without a Lambda deadline (a hand-made invocation), a tick gets this long.
const DEFAULT_BUDGET: Duration = Duration::from_secs(50);

/// One tick, bounded by the invocation's deadline. It ends in an error only
/// for a bug: HeyGen or DynamoDB failing is in the report and the logs.
pub async fn handle_event(deps: &Deps<impl Ports>, event: LambdaEvent<Value>) -> TickReport {
    let span = tracing::info_span!("heygen_worker", request_id = %event.context.request_id);
    let invocation = Invocation::from_lambda(event.context.deadline, DEFAULT_BUDGET, None);
    // Boxed: the tick is a deep future, and its layout need not be in the runtime's.
    Box::pin(tick(deps, &invocation)).instrument(span).await
}
