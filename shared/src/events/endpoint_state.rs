use serde::Deserialize;
use serde_json::Value;

use super::Admit;
use super::EventError;
use crate::names::EndpointName;
use crate::places::Place;

const DETAIL_TYPE: &str = "SageMaker Endpoint State Change";
const SOURCE: &str = "aws.sagemaker";
/// The event's spelling of the API's `InService`.
pub const IN_SERVICE: &str = "IN_SERVICE";

/// An EventBridge "SageMaker Endpoint State Change".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStateChange {
    /// The account and region of the endpoint.
    pub place: Place,
    pub endpoint: EndpointName,
    pub status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Detail {
    endpoint_name: String,
    endpoint_status: String,
}

impl EndpointStateChange {
    /// The change, if it comes from a place `admit` admits.
    pub fn parse(payload: Value, admit: &impl Admit) -> Result<Self, EventError> {
        let (event, place) = super::envelope(payload, DETAIL_TYPE, SOURCE, admit)?;
        let detail: Detail = serde_json::from_value(event.detail).map_err(|e| {
            EventError(format!(
                "the detail of a {DETAIL_TYPE:?} needs EndpointName and EndpointStatus: {e}"
            ))
        })?;
        Ok(Self {
            place,
            endpoint: EndpointName::new(detail.endpoint_name)
                .map_err(|e| EventError(e.to_string()))?,
            status: detail.endpoint_status,
        })
    }

    pub fn is_in_service(&self) -> bool {
        self.status == IN_SERVICE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::home;
    use serde_json::json;

    fn event(status: &str) -> Value {
        json!({
            "version": "0", "id": "1", "detail-type": DETAIL_TYPE, "source": SOURCE,
            "account": "123456789012", "time": "2026-11-24T06:50:00Z", "region": "us-east-1",
            "resources": ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/chat"],
            "detail": {"EndpointName": "chat", "EndpointStatus": status, "EndpointConfigName": "chat-config"}
        })
    }

    #[test]
    fn in_service_is_spelled_as_the_event_spells_it() {
        let change = EndpointStateChange::parse(event("IN_SERVICE"), &home()).unwrap();
        assert_eq!(change.endpoint.as_str(), "chat");
        assert!(change.is_in_service());
        assert!(
            !EndpointStateChange::parse(event("CREATING"), &home())
                .unwrap()
                .is_in_service()
        );
    }

    #[test]
    fn other_events_are_rejected() {
        let mut wrong = event("IN_SERVICE");
        wrong["source"] = json!("aws.ec2");
        assert!(EndpointStateChange::parse(wrong, &home()).is_err());
        let mut nameless = event("IN_SERVICE");
        nameless["detail"] = json!({"EndpointStatus": "IN_SERVICE"});
        assert!(EndpointStateChange::parse(nameless, &home()).is_err());
    }
}
