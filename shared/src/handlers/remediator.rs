//! The `remediator` function: an alarm's state change, mapped by the configuration's
//! `remediation:` rules to remedies on endpoints.

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::lifecycle::{Response, home, rejected, who};
use super::places::Places;
use crate::act::{Batch, Executor};
use crate::aws;
use crate::config::{ConfigSource, Rule};
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::events::{AlarmState, AlarmStateChange, AnyPlace};
use crate::lifecycle::Actor;
use crate::outcome::{Outcome, Report};
use crate::permissions::Function;
use crate::plan::{self, Planned};

pub struct Remediator {
    config: ConfigSource,
    places: Places,
    env: Env,
}

impl Remediator {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            places: Places::new(sdk, env, Function::Remediator)?,
            env: env.clone(),
        })
    }

    /// A "CloudWatch Alarm State Change" of the hub's own place or a spoke's: every rule that
    /// answers the alarm acts on its endpoint there (the rule's, else the alarm metric's
    /// `EndpointName` dimension).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("remediator", &event);
        let now = self.env.now();
        let home = home(&event.context)?;
        // Admitted below, against the places the document names.
        let change = AlarmStateChange::parse(event.payload, &AnyPlace)
            .and_then(|change| change.stamped_by(now))
            .map_err(rejected)?;
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;
        let managed = config.managed(home);
        let spoke = managed
            .at("an alarm's change", &change.place)
            .map_err(rejected)?;
        let reached = self.places.at(spoke).await?;
        let executor = &reached.executor;
        let rules = rules_for(executor, &change, config.rules()).await?;
        if rules.is_empty() {
            return Response::ignored(format!(
                "no remediation rule answers alarm {}",
                change.alarm
            ));
        }
        // Anyone who may invoke the function can send an alarm's change: CloudWatch itself
        // says whether the alarm is in that state now. An ALARM starts a remedy only for an
        // alarm in ALARM; an OK ends one unless the alarm is in ALARM (one deleted ends it too,
        // as the scheduler's tick would).
        let current =
            aws::cloudwatch::states(&executor.cloudwatch, std::slice::from_ref(&change.alarm))
                .await?;
        let firing = current.get(&change.alarm).map(|status| status.firing);
        let agrees = match change.state {
            AlarmState::Alarm => firing == Some(true),
            AlarmState::Ok | AlarmState::InsufficientData => firing != Some(true),
        };
        if !agrees {
            let now_is = match firing {
                Some(true) => "in ALARM",
                Some(false) => "not in ALARM",
                None => "gone",
            };
            return Response::ignored(format!(
                "alarm {} is {now_is} now (DescribeAlarms), not {:?}: the event is stale or was not sent by CloudWatch; nothing changed",
                change.alarm, change.state
            ));
        }
        let actor = Actor { who: &who, now };
        let plan = plan::remediation::plan(&rules, &change);
        let planned: Vec<Planned> = plan
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .cloned()
            .collect();
        let batch = Batch {
            actions: &planned,
            actor,
            config: &config,
            tick_clock: None,
        };
        let mut ran = executor.run(&batch).await?.reports().into_iter();
        let reports = plan
            .into_iter()
            .map(|p| match p {
                Ok(_) => ran.next().expect("a report per planned action"),
                Err(unplanned) => {
                    tracing::error!(rule = %unplanned.rule, alarm = %change.alarm, why = unplanned.why, "no endpoint to remediate");
                    Report {
                        endpoint: String::new(),
                        action: "remediate",
                        reason: format!("rule {}", unplanned.rule),
                        outcome: Outcome::Declined,
                        detail: unplanned.why,
                    }
                }
            })
            .collect();
        let mut response = Response::finish(reports)?;
        response.place = reached.spoke;
        Ok(response)
    }
}

/// The rules that answer the alarm: by name, and by tags where a rule asks for them (the
/// alarm's tags, read where the alarm is, only then).
async fn rules_for<'c>(
    executor: &Executor,
    change: &AlarmStateChange,
    rules: &'c [Rule],
) -> Result<Vec<&'c Rule>, HandlerError> {
    let named: Vec<&Rule> = rules.iter().filter(|r| r.names(&change.alarm)).collect();
    if named.iter().all(|r| r.alarm_tags.is_empty()) {
        return Ok(named);
    }
    let tags = match &change.arn {
        Some(arn) => aws::cloudwatch::alarm_tags(&executor.cloudwatch, arn)
            .await?
            .unwrap_or_default(),
        None => Default::default(),
    };
    Ok(named.into_iter().filter(|r| r.tags_match(&tags)).collect())
}
