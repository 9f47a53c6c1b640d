use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::EventError;
use crate::names::{ComponentName, EndpointName};
use crate::places::{AccountId, Place, RegionName};

/// `{"action":"sleep","endpoint":"NAME","force":true}` or `{"action":"wake","endpoint":"NAME"}`
/// (`"component"` instead of `"endpoint"` for an inference component), sent by a person or a
/// pipeline; or `{"action":"wake-if-due","endpoint":"NAME","at":TIME}`, which the scheduler
/// sends the waker, at `at` by its clock, for an endpoint its tick found due. `"account"` and
/// `"region"` name where the endpoint is, if not in the hub's own account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualRequest {
    pub action: ManualAction,
    pub subject: Subject,
    pub force: bool,
    account: Option<AccountId>,
    region: Option<RegionName>,
}

/// What a manual request names: an endpoint, or an inference component (which sleeps as zero
/// copies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Endpoint(EndpointName),
    Component(ComponentName),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualAction {
    Sleep,
    Wake,
    /// Wake the endpoint if what the tick would wake it for holds now (its schedule, its wake
    /// alarm in ALARM, a failed manual wake's retry), as the waker itself sees it; `at`: when
    /// the scheduler asked, by its clock.
    WakeIfDue {
        at: Timestamp,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawAction {
    Sleep,
    Wake,
    WakeIfDue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    action: RawAction,
    endpoint: Option<String>,
    component: Option<String>,
    #[serde(default)]
    force: bool,
    at: Option<Timestamp>,
    account: Option<String>,
    region: Option<String>,
}

impl ManualRequest {
    /// Where the request acts: the account and region it names, each the hub's (`home`'s) if
    /// it names none.
    pub fn place(&self, home: &Place) -> Place {
        Place {
            account: self.account.clone().unwrap_or_else(|| home.account.clone()),
            region: self.region.clone().unwrap_or_else(|| home.region.clone()),
        }
    }

    /// `None` when the payload is not a manual request at all (it has no `action`), so the
    /// caller can try the other shapes it takes.
    pub fn parse(payload: &Value) -> Option<Result<Self, EventError>> {
        payload.get("action")?;
        Some(
            serde_json::from_value::<Raw>(payload.clone())
                .map_err(|e| {
                    EventError(format!(
                        "a manual request is {{\"action\": \"sleep\"|\"wake\", \"endpoint\" or \"component\": NAME, \"force\": bool, \"account\": ID, \"region\": NAME}}: {e}"
                    ))
                })
                .and_then(|raw| {
                    let action = match (raw.action, raw.at) {
                        (RawAction::Sleep, None) => ManualAction::Sleep,
                        (RawAction::Wake, None) => ManualAction::Wake,
                        (RawAction::WakeIfDue, Some(at)) => ManualAction::WakeIfDue { at },
                        (RawAction::WakeIfDue, None) => {
                            return Err(EventError(
                                "a wake-if-due request names the instant it was asked at: \"at\": RFC 3339".into(),
                            ));
                        }
                        (_, Some(_)) => {
                            return Err(EventError(
                                "\"at\" belongs to wake-if-due requests only".into(),
                            ));
                        }
                    };
                    let bad = |e: crate::names::NameError| EventError(e.to_string());
                    let subject = match (raw.endpoint, raw.component, action) {
                        (Some(endpoint), None, _) => {
                            Subject::Endpoint(EndpointName::new(endpoint).map_err(bad)?)
                        }
                        (None, Some(component), ManualAction::Sleep | ManualAction::Wake) => {
                            Subject::Component(ComponentName::new(component).map_err(bad)?)
                        }
                        (None, Some(_), ManualAction::WakeIfDue { .. }) => {
                            return Err(EventError(
                                "a wake-if-due request names an endpoint".into(),
                            ));
                        }
                        _ => {
                            return Err(EventError(
                                "a manual request names exactly one of \"endpoint\" and \"component\"".into(),
                            ));
                        }
                    };
                    let account = raw
                        .account
                        .map(|a| AccountId::new(&a))
                        .transpose()
                        .map_err(|why| EventError(format!("\"account\": {why}")))?;
                    let region = raw
                        .region
                        .map(|r| RegionName::new(&r))
                        .transpose()
                        .map_err(|why| EventError(format!("\"region\": {why}")))?;
                    Ok(Self {
                        action,
                        subject,
                        force: raw.force,
                        account,
                        region,
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
        let chat = EndpointName::new("chat").unwrap();
        assert_eq!(wake.subject, Subject::Endpoint(chat));
        let component = ManualRequest::parse(&json!({"action": "sleep", "component": "llama"}))
            .unwrap()
            .unwrap();
        let llama = ComponentName::new("llama").unwrap();
        assert_eq!(component.subject, Subject::Component(llama));
        let due = ManualRequest::parse(&json!({
            "action": "wake-if-due", "endpoint": "chat", "at": "2026-12-02T08:00:00Z"
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            due.action,
            ManualAction::WakeIfDue {
                at: "2026-12-02T08:00:00Z".parse().unwrap()
            }
        );
    }

    #[test]
    fn a_request_acts_in_the_hubs_place_unless_it_names_another() {
        let home = crate::events::home();
        let parse = |v: serde_json::Value| ManualRequest::parse(&v).unwrap().unwrap();
        let plain = parse(json!({"action": "wake", "endpoint": "chat"}));
        assert_eq!(plain.place(&home), home);
        let spoke = parse(json!({"action": "wake", "endpoint": "chat", "account": "222222222222"}));
        assert_eq!(
            spoke.place(&home),
            Place::new("222222222222", "us-east-1").unwrap()
        );
        let both = parse(json!({
            "action": "sleep", "endpoint": "chat", "account": "222222222222", "region": "eu-west-1"
        }));
        assert_eq!(
            both.place(&home),
            Place::new("222222222222", "eu-west-1").unwrap()
        );
    }

    #[test]
    fn malformed_requests_are_rejected_and_other_shapes_passed_on() {
        for bad in [
            json!({"action": "delete", "endpoint": "chat"}),
            json!({"action": "sleep"}),
            json!({"action": "sleep", "endpoint": "bad name"}),
            json!({"action": "sleep", "endpoint": "chat", "forse": true}),
            json!({"action": "wake-if-due", "endpoint": "chat"}),
            json!({"action": "wake", "endpoint": "chat", "at": "2026-12-02T08:00:00Z"}),
            json!({"action": "sleep", "endpoint": "chat", "component": "llama"}),
            json!({"action": "wake-if-due", "component": "llama", "at": "2026-12-02T08:00:00Z"}),
            json!({"action": "wake", "endpoint": "chat", "account": "2222"}),
            json!({"action": "wake", "endpoint": "chat", "region": "mars"}),
        ] {
            assert!(ManualRequest::parse(&bad).unwrap().is_err(), "{bad}");
        }
        assert!(ManualRequest::parse(&json!({"detail-type": "Scheduled Event"})).is_none());
    }
}
