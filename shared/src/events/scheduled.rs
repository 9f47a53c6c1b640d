use aws_lambda_events::eventbridge::EventBridgeEvent;
use jiff::Timestamp;
use serde_json::Value;

use super::EventError;

const DETAIL_TYPE: &str = "Scheduled Event";
const SOURCES: [&str; 2] = ["aws.events", "aws.scheduler"];

/// An EventBridge "Scheduled Event" (from a rule or from EventBridge Scheduler); its `time` is
/// the tick's *now*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledEvent {
    pub time: Timestamp,
}

impl ScheduledEvent {
    pub fn parse(payload: Value) -> Result<Self, EventError> {
        let event: EventBridgeEvent<Value> = serde_json::from_value(payload).map_err(|e| {
            EventError(format!(
                "expected an EventBridge \"{DETAIL_TYPE}\" with detail-type, source, time and detail: {e}"
            ))
        })?;
        if event.detail_type != DETAIL_TYPE {
            return Err(EventError(format!(
                "detail-type is {:?}, expected {DETAIL_TYPE:?}",
                event.detail_type
            )));
        }
        if !SOURCES.contains(&event.source.as_str()) {
            return Err(EventError(format!(
                "source is {:?}, expected one of {SOURCES:?}",
                event.source
            )));
        }
        let time = event
            .time
            .ok_or_else(|| EventError("a Scheduled Event needs its `time`".into()))?;
        let time = Timestamp::new(time.timestamp(), time.timestamp_subsec_nanos() as i32)
            .map_err(|e| e.to_string())
            .and_then(crate::schedule::supported)
            .map_err(|e| EventError(format!("time {time} is out of range: {e}")))?;
        Ok(Self { time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail_type: &str, source: &str, time: Value) -> Value {
        json!({
            "version": "0", "id": "1", "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": time, "region": "us-east-1",
            "resources": [], "detail": {}
        })
    }

    #[test]
    fn rule_and_scheduler_events_give_their_time() {
        for source in SOURCES {
            let parsed =
                ScheduledEvent::parse(event(DETAIL_TYPE, source, json!("2026-11-23T07:00:00Z")))
                    .unwrap();
            assert_eq!(parsed.time, "2026-11-23T07:00:00Z".parse().unwrap());
        }
    }

    #[test]
    fn anything_else_is_rejected() {
        let bad = [
            json!({}),
            json!("tick"),
            event("Object Created", "aws.s3", json!("2026-11-23T07:00:00Z")),
            event(DETAIL_TYPE, "my.app", json!("2026-11-23T07:00:00Z")),
            event(DETAIL_TYPE, "aws.events", json!("yesterday")),
            event(DETAIL_TYPE, "aws.events", Value::Null),
            // Found by fuzzing: ticks at the ends of the representable range panicked in the
            // schedule engine.
            event(DETAIL_TYPE, "aws.events", json!("9999-12-31T23:59:59Z")),
            event(DETAIL_TYPE, "aws.events", json!("1969-12-31T23:59:59Z")),
            event(DETAIL_TYPE, "aws.events", json!("+262143-12-31T23:59:59Z")),
        ];
        for payload in bad {
            assert!(ScheduledEvent::parse(payload.clone()).is_err(), "{payload}");
        }
    }
}
