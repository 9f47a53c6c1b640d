//! The `remediator` function: an alarm's state change, mapped by the configuration's
//! `remediation:` rules to remedies on endpoints.

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::lifecycle::{Response, home, rejected, who};
use crate::act::Outcome;
use crate::aws;
use crate::config::ConfigSource;
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::events::{AlarmState, AlarmStateChange};
use crate::lifecycle::{Actor, Lifecycle, Report};
use crate::remediation::{Change, Remedy, Rule};
use crate::tags::WakeSource;

pub struct Remediator {
    config: ConfigSource,
    lifecycle: Lifecycle,
    env: Env,
}

impl Remediator {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            lifecycle: Lifecycle::new(sdk, env)?,
            env: env.clone(),
        })
    }

    /// A "CloudWatch Alarm State Change": every rule that answers the alarm acts on its
    /// endpoint (the rule's, else the alarm metric's `EndpointName` dimension).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("remediator", &event);
        let now = self.env.now();
        let change = AlarmStateChange::parse(event.payload, &home(&event.context)?)
            .and_then(|change| change.stamped_by(now))
            .map_err(rejected)?;
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;
        let rules = self.rules_for(&change, config.rules()).await?;
        if rules.is_empty() {
            return Response::ignored(format!(
                "no remediation rule answers alarm {}",
                change.alarm
            ));
        }
        // Anyone who may invoke the function can send an alarm's change: before a remedy
        // starts, CloudWatch itself says whether the alarm is in ALARM now. (An OK ends only
        // what an ALARM started, and its order is kept by the state timestamps.)
        if change.state == AlarmState::Alarm {
            let current = aws::cloudwatch::states(
                &self.lifecycle.cloudwatch,
                std::slice::from_ref(&change.alarm),
            )
            .await?;
            match current.get(&change.alarm) {
                Some(status) if status.firing => {}
                Some(_) => {
                    return Response::ignored(format!(
                        "alarm {} is not in ALARM now (DescribeAlarms): the event is stale or was not sent by CloudWatch; no remedy started",
                        change.alarm
                    ));
                }
                None => {
                    return Response::ignored(format!(
                        "alarm {} does not exist (DescribeAlarms): no remedy started",
                        change.alarm
                    ));
                }
            }
        }
        let actor = Actor { who: &who, now };
        let mut reports = Vec::new();
        for rule in rules {
            let Some(endpoint) = rule.endpoint.as_ref().or(change.endpoint.as_ref()) else {
                let why = format!(
                    "alarm {} has no EndpointName dimension and rule {} names no endpoint",
                    change.alarm, rule.name
                );
                tracing::error!(rule = %rule.name, alarm = %change.alarm, why, "no endpoint to remediate");
                reports.push(Report {
                    endpoint: String::new(),
                    action: "remediate",
                    reason: format!("rule {}", rule.name),
                    outcome: Outcome::Declined,
                    detail: why,
                });
                continue;
            };
            let report = match (rule.remedy, change.state) {
                (Remedy::Wake, AlarmState::Alarm) => {
                    // The rule authorizes the alarm; `sagetide:wake-on` must still allow alarms.
                    let why = format!("rule {}: alarm {} is in ALARM", rule.name, change.alarm);
                    self.lifecycle
                        .wake(endpoint, WakeSource::Alarm, None, &why, actor)
                        .await
                }
                (Remedy::Wake, _) => continue,
                _ => {
                    let change = Change {
                        rule,
                        alarm: &change.alarm,
                        state: change.state,
                        at: change.at,
                    };
                    self.lifecycle
                        .remediate(endpoint, &change, &config, actor)
                        .await
                }
            };
            reports.push(report);
        }
        Response::finish(reports)
    }

    /// The rules that answer the alarm: by name, and by tags where a rule asks for them (the
    /// alarm's tags are read only then).
    async fn rules_for<'c>(
        &self,
        change: &AlarmStateChange,
        rules: &'c [Rule],
    ) -> Result<Vec<&'c Rule>, HandlerError> {
        let named: Vec<&Rule> = rules.iter().filter(|r| r.names(&change.alarm)).collect();
        if named.iter().all(|r| r.alarm_tags.is_empty()) {
            return Ok(named);
        }
        let tags = match &change.arn {
            Some(arn) => aws::cloudwatch::alarm_tags(&self.lifecycle.cloudwatch, arn).await?,
            None => Default::default(),
        };
        Ok(named.into_iter().filter(|r| r.tags_match(&tags)).collect())
    }
}
