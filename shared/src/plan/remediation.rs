//! What an alarm's state change asks of the remediation rules that answer it: the remediator's
//! plan. `remediation::decide` then decides, under each endpoint's lease, what a remedy writes.

use super::{Action, Planned};
use crate::config::{Remedy, Rule};
use crate::events::{AlarmState, AlarmStateChange};
use crate::tags::WakeSource;

/// A rule that answers the alarm but has no endpoint to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplanned {
    pub rule: String,
    pub why: String,
}

/// What an alarm's change asks of each rule that answers it, in the rules' order: a remedy
/// on the rule's endpoint (the rule's own, else the alarm metric's `EndpointName`), or for a
/// `wake` rule a wake on ALARM and nothing otherwise. `Err` names a rule with no endpoint to
/// act on.
pub fn plan(rules: &[&Rule], change: &AlarmStateChange) -> Vec<Result<Planned, Unplanned>> {
    rules
        .iter()
        .filter(|rule| rule.remedy != Remedy::Wake || change.state == AlarmState::Alarm)
        .map(|rule| {
            let Some(endpoint) = rule.endpoint.as_ref().or(change.endpoint.as_ref()) else {
                return Err(Unplanned {
                    rule: rule.name.clone(),
                    why: format!(
                        "alarm {} has no EndpointName dimension and rule {} names no endpoint",
                        change.alarm, rule.name
                    ),
                });
            };
            Ok(match rule.remedy {
                // The rule authorizes the alarm; `sagetide:wake-on` must still allow alarms.
                Remedy::Wake => Planned {
                    endpoint: endpoint.clone(),
                    action: Action::Wake {
                        source: WakeSource::Alarm,
                        alarm: None,
                    },
                    reason: format!("rule {}: alarm {} is in ALARM", rule.name, change.alarm),
                },
                remedy => Planned {
                    endpoint: endpoint.clone(),
                    action: Action::Remedy {
                        rule: rule.name.clone(),
                        alarm: change.alarm.clone(),
                        state: change.state,
                        at: change.at,
                    },
                    reason: format!(
                        "rule {} ({remedy}): alarm {} is {:?} since {}",
                        rule.name, change.alarm, change.state, change.at
                    ),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlarmPattern;
    use crate::names::EndpointName;

    fn rule(name: &str, remedy: Remedy, endpoint: Option<&str>) -> Rule {
        Rule {
            name: name.into(),
            alarms: vec![AlarmPattern::parse("errors").unwrap()],
            alarm_tags: Default::default(),
            endpoint: endpoint.map(|e| EndpointName::new(e).unwrap()),
            remedy,
        }
    }

    fn change(state: AlarmState, endpoint: Option<&str>) -> AlarmStateChange {
        AlarmStateChange {
            place: crate::events::home(),
            alarm: "errors".into(),
            arn: None,
            state,
            at: "2026-12-07T10:00:00Z".parse().unwrap(),
            endpoint: endpoint.map(|e| EndpointName::new(e).unwrap()),
            component: None,
        }
    }

    fn kinds(planned: &[Result<Planned, Unplanned>]) -> Vec<String> {
        planned
            .iter()
            .map(|p| match p {
                Ok(p) => format!("{} {}", p.endpoint, p.action.kind()),
                Err(u) => format!("{} unplanned", u.rule),
            })
            .collect()
    }

    #[test]
    fn each_rule_acts_on_its_endpoint_in_order_and_a_wake_only_on_alarm() {
        let hold = rule("hold", Remedy::SuspendScaleIn, None);
        let wake = rule("wake", Remedy::Wake, Some("sleepy"));
        let nowhere = rule("nowhere", Remedy::RaiseMin(None), None);
        let rules = [&hold, &wake, &nowhere];
        assert_eq!(
            kinds(&plan(&rules, &change(AlarmState::Alarm, Some("chat")))),
            ["chat remediate", "sleepy wake", "chat remediate"]
        );
        assert_eq!(
            kinds(&plan(&rules, &change(AlarmState::Ok, None))),
            ["hold unplanned", "nowhere unplanned"]
        );
    }
}
