//! Carries out planned actions through the AWS adapters, a few at a time. Dry-run lives here:
//! with it, every action is logged as it would be done and nothing is called.

mod waker;

pub use waker::WakerFunction;

use futures::StreamExt;

use crate::aws::{self, AwsError};
use crate::config::Config;
use crate::events::AlarmState;
use crate::idle;
use crate::lifecycle::{Actor, Lifecycle};
use crate::names::VariantRef;
use crate::outcome::{Outcome, Report};
use crate::plan::sleepable::SleepTrigger;
use crate::plan::{Action, Planned};
use crate::remediation::Change;

pub struct Executor {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// Sleep, wake, restore and idle alarms; functions that plan none of them have none.
    pub lifecycle: Option<Lifecycle>,
    /// Where wakes are asked instead of done here (the scheduler's, when deployed).
    pub waker: Option<WakerFunction>,
    pub dry_run: bool,
}

impl Executor {
    /// Runs every action and returns their outcomes in the same order. A failed action does not
    /// stop the others.
    pub async fn run(
        &self,
        actions: &[Planned],
        actor: Actor<'_>,
        config: &Config,
    ) -> Vec<Outcome> {
        futures::stream::iter(actions)
            .map(|planned| self.run_one(planned, actor, config))
            .buffered(aws::CONCURRENCY)
            .collect()
            .await
    }

    async fn run_one(&self, planned: &Planned, actor: Actor<'_>, config: &Config) -> Outcome {
        if let Some(report) = self.run_lifecycle(planned, actor, config).await {
            return report.outcome;
        }
        let outcome = if self.dry_run {
            Outcome::DryRun
        } else {
            match self.apply(planned).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Failed(e.to_string()),
            }
        };
        let (endpoint, action, reason) = (
            planned.endpoint.as_str(),
            planned.action.kind(),
            planned.reason.as_str(),
        );
        let detail = planned.action.to_string();
        match &outcome {
            Outcome::Failed(error) => {
                tracing::error!(endpoint, action, reason, detail, error, "action failed")
            }
            other => {
                let outcome = format!("{other:?}");
                tracing::info!(
                    endpoint,
                    action,
                    reason,
                    detail,
                    outcome,
                    dry_run = self.dry_run,
                    "action"
                )
            }
        }
        outcome
    }

    async fn apply(&self, planned: &Planned) -> Result<Outcome, AwsError> {
        match &planned.action {
            Action::SetCapacity { variant, to, .. } => {
                let variant = VariantRef {
                    endpoint: planned.endpoint.clone(),
                    variant: variant.clone(),
                };
                aws::autoscaling::set_capacity(&self.autoscaling, &variant, *to).await?;
                Ok(Outcome::Applied)
            }
            Action::RemoveOverride { arn, value } => {
                let removed = aws::sagemaker::remove_tag_if_unchanged(
                    &self.sagemaker,
                    &planned.endpoint,
                    arn.as_deref(),
                    crate::tags::OVERRIDE,
                    value,
                )
                .await?;
                Ok(if removed {
                    Outcome::Applied
                } else {
                    Outcome::AlreadyDone
                })
            }
            Action::PutUtilizationPolicy { variant, target } => {
                let variant = VariantRef {
                    endpoint: planned.endpoint.clone(),
                    variant: variant.clone(),
                };
                aws::policies::put_fleet_utilization_policy(&self.autoscaling, &variant, *target)
                    .await?;
                Ok(Outcome::Applied)
            }
            Action::PutIdleAlarm { alarm, mark_first } => {
                let lifecycle = self.lifecycle()?;
                if *mark_first {
                    lifecycle.table.mark_idle_alarms().await?;
                }
                aws::cloudwatch::put_idle_alarm(&lifecycle.cloudwatch, alarm).await?;
                Ok(Outcome::Applied)
            }
            Action::DeleteIdleAlarm => {
                let name = idle::alarm_name(&planned.endpoint);
                aws::cloudwatch::delete_alarm(&self.lifecycle()?.cloudwatch, &name).await?;
                Ok(Outcome::Applied)
            }
            Action::RearmIdleAlarm => {
                let name = idle::alarm_name(&planned.endpoint);
                let cloudwatch = &self.lifecycle()?.cloudwatch;
                aws::cloudwatch::rearm_alarm(cloudwatch, &name, &planned.reason).await?;
                Ok(Outcome::Applied)
            }
            // With a lifecycle, `run_lifecycle` has carried these out already.
            Action::Sleep
            | Action::Wake { .. }
            | Action::Restore
            | Action::RecoverWake
            | Action::EndRemedy { .. } => Err(no_lifecycle()),
        }
    }

    /// Sleep, wake and restore run under the endpoint's lease, log themselves and keep history.
    async fn run_lifecycle(
        &self,
        planned: &Planned,
        actor: Actor<'_>,
        config: &Config,
    ) -> Option<Report> {
        let lifecycle = self.lifecycle.as_ref()?;
        let (name, why) = (&planned.endpoint, planned.reason.as_str());
        Some(match &planned.action {
            Action::Sleep => {
                lifecycle
                    .sleep(name, SleepTrigger::Schedule(config), why, actor)
                    .await
            }
            Action::Wake { .. } if self.dry_run && self.waker.is_some() => {
                tracing::info!(endpoint = %name, action = "wake", reason = why, dry_run = true, "action");
                Report {
                    endpoint: name.to_string(),
                    action: "wake",
                    reason: why.to_owned(),
                    outcome: Outcome::DryRun,
                    detail: "the waker would be asked to wake it".into(),
                }
            }
            Action::Wake { source, alarm } => match &self.waker {
                // The instant it asks, by its clock: a late tick's own time would be far from
                // the waker's.
                Some(waker) => waker.wake_if_due(name, why, lifecycle.clock()).await,
                None => {
                    lifecycle
                        .wake(name, *source, alarm.as_deref(), why, actor)
                        .await
                }
            },
            Action::Restore => lifecycle.restore(name, why, actor).await,
            Action::RecoverWake => lifecycle.recover(name, why, actor).await,
            Action::EndRemedy {
                rule,
                alarm,
                ok_since,
            } => {
                let rule = config.rule(rule)?;
                let change = Change {
                    rule,
                    alarm,
                    state: AlarmState::Ok,
                    at: *ok_since,
                };
                lifecycle.remediate(name, &change, config, actor).await
            }
            _ => return None,
        })
    }

    fn lifecycle(&self) -> Result<&Lifecycle, AwsError> {
        self.lifecycle.as_ref().ok_or_else(no_lifecycle)
    }
}

fn no_lifecycle() -> AwsError {
    AwsError {
        operation: "sagetide",
        message: "this function has no table configured for sleep, wake and idle alarms".into(),
        refused: false,
    }
}
