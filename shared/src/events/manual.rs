use serde::Deserialize;
use serde_json::Value;

use super::EventError;
use crate::names::EndpointName;

/// `{"action":"sleep","endpoint":"NAME","force":true}` or `{"action":"wake","endpoint":"NAME"}`,
/// sent by a person or a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualRequest {
    pub action: ManualAction,
    pub endpoint: EndpointName,
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManualAction {
    Sleep,
    Wake,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    action: ManualAction,
    endpoint: String,
    #[serde(default)]
    force: bool,
}

impl ManualRequest {
    /// `None` when the payload is not a manual request at all (it has no `action`), so the
    /// caller can try the other shapes it takes.
    pub fn parse(payload: &Value) -> Option<Result<Self, EventError>> {
        payload.get("action")?;
        Some(
            serde_json::from_value::<Raw>(payload.clone())
                .map_err(|e| {
                    EventError(format!(
                        "a manual request is {{\"action\": \"sleep\"|\"wake\", \"endpoint\": NAME, \"force\": bool}}: {e}"
                    ))
                })
                .and_then(|raw| {
                    Ok(Self {
                        action: raw.action,
                        endpoint: EndpointName::new(raw.endpoint)
                            .map_err(|e| EventError(e.to_string()))?,
                        force: raw.force,
                    })
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sleep_and_wake_requests() {
        let sleep =
            ManualRequest::parse(&json!({"action": "sleep", "endpoint": "chat", "force": true}))
                .unwrap()
                .unwrap();
        assert_eq!(sleep.action, ManualAction::Sleep);
        assert!(sleep.force);
        let wake = ManualRequest::parse(&json!({"action": "wake", "endpoint": "chat"}))
            .unwrap()
            .unwrap();
        assert_eq!((wake.action, wake.force), (ManualAction::Wake, false));
    }

    #[test]
    fn malformed_requests_are_rejected_and_other_shapes_passed_on() {
        for bad in [
            json!({"action": "delete", "endpoint": "chat"}),
            json!({"action": "sleep"}),
            json!({"action": "sleep", "endpoint": "bad name"}),
            json!({"action": "sleep", "endpoint": "chat", "forse": true}),
        ] {
            assert!(ManualRequest::parse(&bad).unwrap().is_err(), "{bad}");
        }
        assert!(ManualRequest::parse(&json!({"detail-type": "Scheduled Event"})).is_none());
    }
}
