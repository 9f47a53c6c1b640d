//! The event shapes each function accepts, parsed strictly: anything else is rejected with a
//! message that says what was expected.

mod alarm;
mod endpoint_state;
mod manual;
mod scheduled;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

pub use alarm::{AlarmState, AlarmStateChange};
pub use endpoint_state::EndpointStateChange;
pub use manual::{ManualAction, ManualRequest};
pub use scheduled::ScheduledEvent;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("rejected event: {0}")]
pub struct EventError(pub String);

/// The payload as an EventBridge event of `detail_type` from `source`, or why it is not one.
fn envelope(
    payload: Value,
    detail_type: &str,
    source: &str,
) -> Result<EventBridgeEvent<Value>, EventError> {
    let event: EventBridgeEvent<Value> = serde_json::from_value(payload)
        .map_err(|e| EventError(format!("expected an EventBridge \"{detail_type}\": {e}")))?;
    if event.detail_type != detail_type || event.source != source {
        return Err(EventError(format!(
            "detail-type {:?} from {:?}, expected {detail_type:?} from {source:?}",
            event.detail_type, event.source
        )));
    }
    Ok(event)
}
