use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::Admit;
use super::{CLOCK_SKEW, EventError};
use crate::names::{ComponentName, EndpointName};
use crate::places::Place;

const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
const SOURCE: &str = "aws.cloudwatch";

/// The states an alarm can change to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

/// An EventBridge "CloudWatch Alarm State Change".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStateChange {
    /// The account and region of the alarm.
    pub place: Place,
    pub alarm: String,
    /// The alarm's ARN (the event's first resource), to read its tags.
    pub arn: Option<String>,
    pub state: AlarmState,
    /// When the alarm entered `state` (orders changes that arrive out of order).
    pub at: Timestamp,
    /// The `EndpointName` dimension of the alarm's metric(s), if it has one.
    pub endpoint: Option<EndpointName>,
    /// The `InferenceComponentName` dimension of the alarm's metric(s), if it has one.
    pub component: Option<ComponentName>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    alarm_name: String,
    state: State,
    #[serde(default)]
    configuration: Configuration,
}

#[derive(Deserialize)]
struct State {
    value: AlarmState,
    timestamp: String,
}

#[derive(Deserialize, Default)]
struct Configuration {
    #[serde(default)]
    metrics: Vec<MetricEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricEntry {
    metric_stat: Option<MetricStat>,
}

#[derive(Deserialize)]
struct MetricStat {
    metric: Metric,
}

#[derive(Deserialize)]
struct Metric {
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
}

impl AlarmStateChange {
    /// The change, if it comes from a place `admit` admits.
    pub fn parse(payload: Value, admit: &impl Admit) -> Result<Self, EventError> {
        let (event, place) = super::envelope(payload, DETAIL_TYPE, SOURCE, admit)?;
        let detail: Detail = serde_json::from_value(event.detail).map_err(|e| {
            EventError(format!(
                "the detail of a {DETAIL_TYPE:?} needs alarmName and state {{value, timestamp}}: {e}"
            ))
        })?;
        let at = parse_time(&detail.state.timestamp)?;
        let dimension = |name: &str| {
            detail
                .configuration
                .metrics
                .iter()
                .find_map(|m| m.metric_stat.as_ref()?.metric.dimensions.get(name).cloned())
        };
        let bad =
            |e: crate::names::NameError| EventError(format!("alarm {}: {e}", detail.alarm_name));
        let endpoint = dimension("EndpointName")
            .map(EndpointName::new)
            .transpose()
            .map_err(bad)?;
        let component = dimension("InferenceComponentName")
            .map(ComponentName::new)
            .transpose()
            .map_err(bad)?;
        Ok(Self {
            place,
            arn: event.resources.into_iter().flatten().next(),
            alarm: detail.alarm_name,
            state: detail.state.value,
            at,
            endpoint,
            component,
        })
    }

    /// The change, if CloudWatch could have stamped it by `clock` (the real clock, or
    /// `SAGETIDE_NOW` in a simulation): anyone allowed to invoke a function can send an event,
    /// and a state stamped far ahead would outrank every real change until then.
    pub fn stamped_by(self, clock: Timestamp) -> Result<Self, EventError> {
        if self.at > clock + CLOCK_SKEW {
            return Err(EventError(format!(
                "alarm {}: state timestamp {} is more than {CLOCK_SKEW:#} ahead of the clock ({clock}): not a change CloudWatch sent; nothing changed",
                self.alarm, self.at
            )));
        }
        Ok(self)
    }
}

/// CloudWatch writes state timestamps as `2026-11-23T08:00:00.000+0000`, without the colon
/// RFC 3339 wants in the offset.
fn parse_time(text: &str) -> Result<Timestamp, EventError> {
    text.parse::<Timestamp>()
        .or_else(|_| {
            jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%z", text).and_then(|t| t.to_timestamp())
        })
        .map_err(|e| EventError(format!("state timestamp {text:?} is not a time: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::home;
    use serde_json::json;

    pub(crate) fn event(state: &str, dimensions: Value) -> Value {
        json!({
            "version": "0", "id": "c4c1c1c9", "detail-type": DETAIL_TYPE, "source": SOURCE,
            "account": "123456789012", "time": "2026-11-24T02:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sagetide-idle-chat"],
            "detail": {
                "alarmName": "sagetide-idle-chat",
                "state": {"value": state, "reason": "r", "timestamp": "2026-11-24T02:00:00.000+0000"},
                "previousState": {"value": "OK", "timestamp": "2026-11-24T01:00:00.000+0000"},
                "configuration": {"metrics": [
                    {"id": "m0", "metricStat": {"metric": {"namespace": "AWS/SageMaker",
                        "name": "Invocations", "dimensions": dimensions}, "period": 300, "stat": "Sum"},
                     "returnData": false},
                    {"id": "invocations", "expression": "SUM(METRICS())", "returnData": true}
                ]}
            }
        })
    }

    #[test]
    fn the_endpoint_comes_from_the_metric_dimension() {
        let change = AlarmStateChange::parse(
            event(
                "ALARM",
                json!({"EndpointName": "chat", "VariantName": "AllTraffic"}),
            ),
            &home(),
        )
        .unwrap();
        assert_eq!(change.alarm, "sagetide-idle-chat");
        assert_eq!(change.state, AlarmState::Alarm);
        assert_eq!(change.at, "2026-11-24T02:00:00Z".parse().unwrap());
        assert_eq!(change.endpoint, Some(EndpointName::new("chat").unwrap()));
    }

    #[test]
    fn a_state_stamped_ahead_of_the_clock_is_refused() {
        let change = AlarmStateChange::parse(event("ALARM", json!({})), &home()).unwrap();
        let clock = |t: &str| t.parse::<Timestamp>().unwrap();
        assert!(
            change
                .clone()
                .stamped_by(clock("2026-11-24T01:55:00Z"))
                .is_ok()
        );
        assert!(
            change
                .clone()
                .stamped_by(clock("2030-01-01T00:00:00Z"))
                .is_ok()
        );
        let error = change
            .stamped_by(clock("2026-11-24T01:54:59Z"))
            .unwrap_err();
        assert!(error.0.contains("sagetide-idle-chat"), "{error}");
    }

    #[test]
    fn an_alarm_without_the_dimension_has_no_endpoint() {
        let change =
            AlarmStateChange::parse(event("OK", json!({"QueueName": "q"})), &home()).unwrap();
        assert_eq!(change.state, AlarmState::Ok);
        assert_eq!(change.endpoint, None);
        let component = json!({"InferenceComponentName": "llama"});
        let change = AlarmStateChange::parse(event("ALARM", component), &home()).unwrap();
        assert_eq!(change.component, Some(ComponentName::new("llama").unwrap()));
    }

    #[test]
    fn other_events_and_bad_states_are_rejected() {
        let mut wrong = event("ALARM", json!({}));
        wrong["detail-type"] = json!("Scheduled Event");
        assert!(AlarmStateChange::parse(wrong, &home()).is_err());
        assert!(AlarmStateChange::parse(event("MAYBE", json!({})), &home()).is_err());
        let mut bad_time = event("ALARM", json!({}));
        bad_time["detail"]["state"]["timestamp"] = json!("yesterday");
        assert!(AlarmStateChange::parse(bad_time, &home()).is_err());
    }
}
