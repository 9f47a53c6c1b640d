//! Sleep, wake and restore of one endpoint: observe it, ask `decide`, act, under the endpoint's
//! lease so that racing functions give one effective action.
//!
//! The order of the calls is what keeps everything recoverable. Sleep: snapshot written
//! (phase `sleeping`) → read back and compared → endpoint deleted → phase `asleep`. Wake:
//! endpoint created from the snapshot. Restore: scalable targets, policies and scheduled
//! actions upserted → phase `restored`. A run stopped between any two calls leaves a state the
//! next run finishes from.

pub mod decide;
mod remedies;

use aws_config::SdkConfig;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::act::Outcome;
use crate::aws::table::{HistoryEntry, Table};
use crate::aws::{self, AwsError};
use crate::env::{Env, EnvError};
use crate::fleet::Endpoint;
use crate::idle;
use crate::names::{EndpointName, VariantRef};
use crate::snapshot::{Phase, Snapshot, Stored};
use crate::tags::WakeSource;
use decide::{RestoreDecision, SleepDecision, SleepTrigger, Verdict, WakeDecision};

/// Who acts and when: the lease holder and the signature of history entries; `now` is the
/// instant decisions are made for (a tick's time), while leases always run on the real clock.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub who: &'a str,
    pub now: Timestamp,
}

/// What one sleep, wake or restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub endpoint: String,
    pub action: &'static str,
    pub reason: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What was done, or why nothing was.
    pub detail: String,
}

#[derive(Clone)]
pub struct Lifecycle {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub table: Table,
    pub dry_run: bool,
    lease_ttl: SignedDuration,
}

impl Lifecycle {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            sagemaker: aws_sdk_sagemaker::Client::new(sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            table: Table::new(aws_sdk_dynamodb::Client::new(sdk), env.require_table()?),
            dry_run: env.dry_run,
            lease_ttl: env.lease_ttl,
        })
    }

    /// Puts the endpoint to sleep if `decide::sleep` finds it eligible: snapshot, read back,
    /// delete. `why` says what asked, for the log and the history.
    pub async fn sleep(
        &self,
        name: &EndpointName,
        trigger: SleepTrigger<'_>,
        why: &str,
        actor: Actor<'_>,
    ) -> Report {
        let report = self
            .leased(name, "sleep", why, actor, async {
                // The snapshot first: an endpoint seen afterwards is at least as new as it.
                let stored = self.table.snapshot(name).await?;
                let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
                let verdict =
                    match decide::sleep(endpoint.as_ref(), stored.as_ref(), trigger, actor.now) {
                        SleepDecision::Verdict(v) => v,
                        SleepDecision::CheckIdle { window } => {
                            let e = endpoint
                                .as_ref()
                                .expect("only an existing endpoint is checked");
                            let variants: Vec<VariantRef> = e.variant_refs().collect();
                            let (start, end, period) = idle::invocation_window(window, actor.now);
                            let total = aws::cloudwatch::invocations(
                                &self.cloudwatch,
                                &variants,
                                start,
                                end,
                                period,
                            )
                            .await?;
                            decide::after_idle_check(
                                total,
                                window,
                                stored.as_ref().map(|s| s.version),
                            )
                        }
                    };
                match verdict {
                    Verdict::Decline(reason) => Ok(Step::Declined(reason)),
                    Verdict::Done(reason) => Ok(Step::AlreadyDone(reason)),
                    _ if self.dry_run => Ok(Step::DryRun),
                    Verdict::Finish { version } => {
                        self.table
                            .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
                            .await?;
                        Ok(Step::Applied(
                            "a previous run deleted it after its snapshot; recorded as asleep"
                                .into(),
                        ))
                    }
                    Verdict::Sleep { previous } => {
                        let endpoint = endpoint.expect("only an existing endpoint is put to sleep");
                        self.snapshot_and_delete(&endpoint, previous, actor.now)
                            .await
                    }
                }
            })
            .await;
        let asks_again = matches!(
            report.outcome,
            Outcome::Declined | Outcome::Deferred(_) | Outcome::Failed(_)
        );
        if matches!(trigger, SleepTrigger::IdleAlarm(_)) && asks_again && !self.dry_run {
            // An alarm reports changes only: back to OK, it fires again at its next evaluation
            // if the endpoint is still idle then, so a declined or failed sleep is retried.
            let reason = format!("sagetide did not sleep it: {}", report.detail);
            let alarm = idle::alarm_name(name);
            if let Err(e) = aws::cloudwatch::rearm_alarm(&self.cloudwatch, &alarm, &reason).await {
                tracing::warn!(endpoint = %name, error = %e, "idle alarm not re-armed");
            }
        }
        report
    }

    async fn snapshot_and_delete(
        &self,
        endpoint: &Endpoint,
        previous: Option<u64>,
        now: Timestamp,
    ) -> Result<Step, AwsError> {
        let name = &endpoint.name;
        let variants: Vec<VariantRef> = endpoint.variant_refs().collect();
        let snapshot = Snapshot {
            endpoint: name.clone(),
            endpoint_config: endpoint.config_name.clone().ok_or_else(|| AwsError {
                operation: "sagemaker:DescribeEndpoint",
                message: format!("endpoint {name} reports no EndpointConfig; nothing deleted"),
            })?,
            tags: endpoint.tags.clone(),
            targets: aws::scaling_state::read(&self.autoscaling, &self.cloudwatch, &variants)
                .await?,
            taken_at: now,
        };
        let Some(version) = self.table.put_snapshot(&snapshot, previous).await? else {
            return Ok(Step::Deferred(
                "its snapshot was written by someone else meanwhile; nothing deleted".into(),
            ));
        };
        let expected = Stored {
            snapshot,
            phase: Phase::Sleeping,
            version,
        };
        if self.table.snapshot(name).await?.as_ref() != Some(&expected) {
            return Err(AwsError {
                operation: "dynamodb:GetItem",
                message: format!(
                    "the snapshot of {name} read back differs from the one written; nothing deleted"
                ),
            });
        }
        aws::sagemaker::delete_endpoint(&self.sagemaker, name).await?;
        self.table
            .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
            .await?;
        Ok(Step::Applied(format!(
            "snapshot v{version} with {} scalable target(s) stored and verified, endpoint deleted",
            expected.snapshot.targets.len()
        )))
    }

    /// Creates the endpoint again from its snapshot, if `decide::wake` allows `source`.
    pub async fn wake(
        &self,
        name: &EndpointName,
        source: WakeSource,
        alarm: Option<&str>,
        why: &str,
        actor: Actor<'_>,
    ) -> Report {
        self.leased(name, "wake", why, actor, async {
            let stored = self.table.snapshot(name).await?;
            let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
            match decide::wake(stored.as_ref(), endpoint.as_ref(), source, alarm) {
                WakeDecision::Decline(reason) => Ok(Step::Declined(reason)),
                WakeDecision::Done(reason) => Ok(Step::AlreadyDone(reason)),
                WakeDecision::Retry(reason) => Ok(Step::Deferred(reason)),
                WakeDecision::Create { .. } if self.dry_run => Ok(Step::DryRun),
                WakeDecision::Create { finish_sleep } => {
                    let snapshot = &stored.expect("a wake needs a snapshot").snapshot;
                    let config = &snapshot.endpoint_config;
                    if !aws::sagemaker::endpoint_config_exists(&self.sagemaker, config).await? {
                        return Err(AwsError {
                            operation: "sagemaker:DescribeEndpointConfig",
                            message: format!(
                                "cannot wake {name}: its EndpointConfig {config} no longer exists. \
                                 The snapshot is kept: recreate the EndpointConfig under that name \
                                 and wake it again"
                            ),
                        });
                    }
                    if let Some(version) = finish_sleep {
                        self.table
                            .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
                            .await?;
                    }
                    aws::sagemaker::create_endpoint(
                        &self.sagemaker,
                        name,
                        config,
                        snapshot.settable_tags(),
                    )
                    .await?;
                    Ok(Step::Applied(format!(
                        "created from EndpointConfig {config} with {} tags",
                        snapshot.settable_tags().count()
                    )))
                }
            }
        })
        .await
    }

    /// Brings back the scalable targets, policies and scheduled actions of an endpoint that is
    /// InService again, then marks its snapshot restored.
    pub async fn restore(&self, name: &EndpointName, why: &str, actor: Actor<'_>) -> Report {
        self.leased(name, "restore", why, actor, async {
            let stored = self.table.snapshot(name).await?;
            let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
            match decide::restore(stored.as_ref(), endpoint.as_ref()) {
                RestoreDecision::Done(reason) => Ok(Step::AlreadyDone(reason)),
                RestoreDecision::Decline(reason) => Ok(Step::Declined(reason)),
                RestoreDecision::Wait(reason) => Ok(Step::Deferred(reason)),
                RestoreDecision::Restore { .. } if self.dry_run => Ok(Step::DryRun),
                RestoreDecision::Restore { version } => {
                    let snapshot = &stored.expect("a restore needs a snapshot").snapshot;
                    for target in &snapshot.targets {
                        let variant = VariantRef {
                            endpoint: name.clone(),
                            variant: target.variant.clone(),
                        };
                        aws::scaling_state::write(&self.autoscaling, &self.cloudwatch, &variant, target).await?;
                    }
                    self.table
                        .set_phase(name, version, Phase::Asleep, Phase::Restored)
                        .await?;
                    let policies: usize = snapshot.targets.iter().map(|t| t.policies.len()).sum();
                    let actions: usize =
                        snapshot.targets.iter().map(|t| t.scheduled_actions.len()).sum();
                    Ok(Step::Applied(format!(
                        "{} scalable target(s), {policies} policies, {actions} scheduled actions restored from snapshot v{version}",
                        snapshot.targets.len()
                    )))
                }
            }
        })
        .await
    }

    /// Runs `body` holding the endpoint's lease, logs the result and writes it to the history.
    async fn leased(
        &self,
        name: &EndpointName,
        action: &'static str,
        why: &str,
        actor: Actor<'_>,
        body: impl Future<Output = Result<Step, AwsError>>,
    ) -> Report {
        let result = if self.dry_run {
            body.await
        } else {
            let acquired = self
                .table
                .acquire(name, actor.who, Timestamp::now(), self.lease_ttl)
                .await;
            match acquired {
                Ok(true) => {
                    let result = body.await;
                    if let Err(e) = self.table.release(name, actor.who).await {
                        tracing::warn!(endpoint = %name, error = %e, "lease not released; it expires by itself");
                    }
                    result
                }
                Ok(false) => Ok(Step::Deferred(
                    "another sagetide function is acting on it (lease held)".into(),
                )),
                Err(e) => Err(e),
            }
        };
        let (outcome, detail) = match result {
            Ok(Step::Applied(detail)) => (Outcome::Applied, detail),
            Ok(Step::DryRun) => (Outcome::DryRun, String::new()),
            Ok(Step::AlreadyDone(detail)) => (Outcome::AlreadyDone, detail),
            Ok(Step::Declined(detail)) => (Outcome::Declined, detail),
            Ok(Step::Deferred(detail)) => (Outcome::Deferred(detail.clone()), detail),
            Err(e) => (Outcome::Failed(e.to_string()), e.to_string()),
        };
        let endpoint = name.as_str();
        let label = outcome.label();
        if matches!(outcome, Outcome::Failed(_)) {
            tracing::error!(
                endpoint,
                action,
                reason = why,
                detail,
                outcome = label,
                "action failed"
            );
        } else {
            tracing::info!(
                endpoint,
                action,
                reason = why,
                detail,
                outcome = label,
                dry_run = self.dry_run,
                "action"
            );
        }
        if matches!(outcome, Outcome::Applied | Outcome::Failed(_)) {
            let entry = HistoryEntry {
                endpoint: name,
                at: actor.now,
                who: actor.who,
                action,
                outcome: label,
                reason: &format!("{why}: {detail}"),
            };
            if let Err(e) = self.table.record(&entry).await {
                tracing::warn!(endpoint, error = %e, "history entry not written");
            }
        }
        Report {
            endpoint: endpoint.to_owned(),
            action,
            reason: why.to_owned(),
            outcome,
            detail,
        }
    }
}

/// How an operation ended, before it becomes an [`Outcome`].
enum Step {
    Applied(String),
    DryRun,
    AlreadyDone(String),
    Declined(String),
    Deferred(String),
}
