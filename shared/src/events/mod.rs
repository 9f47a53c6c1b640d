//! The event shapes each function accepts, parsed strictly: anything else is rejected with a
//! message that says what was expected.

mod admit;
mod alarm;
mod endpoint_state;
mod manual;
mod scheduled;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::SignedDuration;
use serde_json::Value;
use thiserror::Error;

use crate::places::Place;

pub use admit::{Admit, AnyPlace};
pub use alarm::{AlarmState, AlarmStateChange};
pub use endpoint_state::EndpointStateChange;
pub use manual::{ManualAction, ManualRequest, Subject};
pub use scheduled::{PlaceTick, ScheduledEvent};

/// How far ahead of the clock a time AWS stamped on an event may lie: AWS stamps an event when
/// it happens and delivers it after, so only clock skew puts a real one ahead.
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("rejected event: {0}")]
pub struct EventError(pub String);

/// The payload as an EventBridge event of `detail_type` from `source`, with the place it comes
/// from if `admit` admits it, or why it is not one.
fn envelope(
    payload: Value,
    detail_type: &str,
    source: &str,
    admit: &impl Admit,
) -> Result<(EventBridgeEvent<Value>, Place), EventError> {
    let event: EventBridgeEvent<Value> = serde_json::from_value(payload)
        .map_err(|e| EventError(format!("expected an EventBridge \"{detail_type}\": {e}")))?;
    if event.detail_type != detail_type || event.source != source {
        return Err(EventError(format!(
            "detail-type {:?} from {:?}, expected {detail_type:?} from {source:?}",
            event.detail_type, event.source
        )));
    }
    let place = admitted(&event, admit)?;
    Ok((event, place))
}

/// The account and region `event` comes from, if `admit` admits them.
fn admitted(event: &EventBridgeEvent<Value>, admit: &impl Admit) -> Result<Place, EventError> {
    let what = format!("{:?}", event.detail_type);
    let place = Place::new(
        event.account.as_deref().unwrap_or_default(),
        event.region.as_deref().unwrap_or_default(),
    )
    .map_err(|why| EventError(format!("{what}: {why}; nothing changed")))?;
    admit.admit(&what, &place)?;
    Ok(place)
}

#[cfg(test)]
pub(crate) fn home() -> Place {
    Place::new("123456789012", "us-east-1").unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_of_another_account_or_region_is_refused() {
        let event = |account: &str, region: &str| {
            serde_json::json!({
                "version": "0", "id": "1", "detail-type": "T", "source": "s",
                "account": account, "time": "2026-11-23T07:00:00Z", "region": region,
                "resources": [], "detail": {}
            })
        };
        assert!(envelope(event("123456789012", "us-east-1"), "T", "s", &home()).is_ok());
        for (account, region) in [("210987654321", "us-east-1"), ("123456789012", "eu-west-1")] {
            let error = envelope(event(account, region), "T", "s", &home()).unwrap_err();
            assert!(
                error.0.contains(account) && error.0.contains(region),
                "{error}"
            );
        }
        let mut anonymous = event("123456789012", "us-east-1");
        anonymous.as_object_mut().unwrap().remove("account");
        assert!(envelope(anonymous, "T", "s", &home()).is_err());
    }
}
