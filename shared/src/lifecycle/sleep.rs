//! Sleep: everything that would not come back by itself is written to the table and read back
//! before the endpoint is deleted.

use jiff::Timestamp;

use super::decide::{self, RECENT_TRAFFIC, SleepDecision, Verdict};
use super::{Actor, Lifecycle, Report, Step};
use crate::aws::{self, AwsError};
use crate::fleet::Endpoint;
use crate::idle;
use crate::names::{EndpointName, VariantRef};
use crate::outcome::Outcome;
use crate::plan::sleepable::{SleepTrigger, config_blocker, policy_blocker};
use crate::snapshot::{Definitions, Phase, Snapshot, Stored, TargetSnapshot, VariantSettings};

/// What a sleep read before deciding to delete, and keeps in the snapshot.
struct Taken {
    /// The EndpointConfig's name.
    config: String,
    definitions: Definitions,
    targets: Vec<TargetSnapshot>,
}

impl Lifecycle {
    /// Puts the endpoint to sleep if `decide::sleep` finds it eligible: snapshot, read back,
    /// delete. `why` says what asked, for the log and the history.
    pub async fn sleep(
        &self,
        name: &EndpointName,
        trigger: SleepTrigger<'_>,
        why: &str,
        actor: Actor<'_>,
    ) -> Report {
        let by_idle_alarm = matches!(trigger, SleepTrigger::IdleAlarm(_));
        let by_hand = matches!(trigger, SleepTrigger::Manual { .. });
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
                            let activity = aws::cloudwatch::activity(
                                &self.cloudwatch,
                                &variants,
                                (start, end),
                                period,
                                actor.now - RECENT_TRAFFIC,
                            )
                            .await?;
                            decide::after_idle_check(
                                &activity,
                                window,
                                stored.as_ref().map(|s| s.version),
                            )
                        }
                    };
                match verdict {
                    Verdict::Decline(reason) => Ok(Step::Declined(reason)),
                    Verdict::Done(reason) => Ok(Step::AlreadyDone(reason)),
                    Verdict::NotIdle(reason) => {
                        if by_idle_alarm && !self.dry_run {
                            self.rearm_idle_alarm(name, &reason).await;
                        }
                        Ok(Step::Declined(reason))
                    }
                    Verdict::Sleep { previous } => {
                        let endpoint = endpoint.expect("only an existing endpoint is put to sleep");
                        let config = endpoint.config_name.clone().ok_or_else(|| AwsError {
                            operation: "sagemaker:DescribeEndpoint",
                            message: format!(
                                "endpoint {name} reports no EndpointConfig; nothing deleted"
                            ),
                            refused: false,
                        })?;
                        let read = aws::definitions::read(&self.sagemaker, &config).await;
                        let facts = aws::definitions::facts_of(&read);
                        if let Some(why) = facts.and_then(|f| config_blocker(&f, &self.allowed)) {
                            return Ok(Step::Declined(why));
                        }
                        let (definitions, _) = read?;
                        let variants: Vec<VariantRef> = endpoint.variant_refs().collect();
                        let (autoscaling, cloudwatch) = (&self.autoscaling, &self.cloudwatch);
                        let described = aws::scaling_state::describe_policies(
                            autoscaling,
                            cloudwatch,
                            &variants,
                        )
                        .await?;
                        let facts =
                            aws::scaling_state::policy_facts(cloudwatch, &described).await?;
                        if let Some(why) = policy_blocker(&facts) {
                            tracing::warn!(endpoint = %name, why, "not put to sleep: its scaling could not come back");
                            return Ok(Step::Declined(why));
                        }
                        let targets =
                            aws::scaling_state::read(autoscaling, &variants, &described).await?;
                        if self.dry_run {
                            return Ok(Step::DryRun);
                        }
                        let taken = Taken {
                            config,
                            definitions,
                            targets,
                        };
                        let limited = !by_hand;
                        self.snapshot_and_delete(&endpoint, taken, previous, actor.now, limited)
                            .await
                    }
                    _ if self.dry_run => Ok(Step::DryRun),
                    Verdict::Finish { version } => {
                        if !self
                            .table
                            .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
                            .await?
                        {
                            return Ok(Step::Deferred(
                                "its snapshot changed meanwhile; the sleep is looked at again"
                                    .into(),
                            ));
                        }
                        Ok(Step::Applied(
                            "a previous run deleted it after its snapshot; recorded as asleep"
                                .into(),
                        ))
                    }
                }
            })
            .await;
        // A sleep that did not happen for want of the lease or through an error is asked for
        // again at the alarm's next evaluation. A decline is not: the scheduler re-arms the
        // alarm once what declined it has passed, so that an endpoint idle inside its period
        // does not wake the sleeper at every evaluation all day.
        let retry = matches!(report.outcome, Outcome::Deferred(_) | Outcome::Failed(_));
        if by_idle_alarm && retry && !self.dry_run {
            self.rearm_idle_alarm(name, &report.detail).await;
        }
        report
    }

    /// Puts the endpoint's idle alarm back to OK: it fires again at its next evaluation if the
    /// endpoint is still idle then (an alarm reports changes only).
    async fn rearm_idle_alarm(&self, name: &EndpointName, why: &str) {
        let reason = format!("sagetide did not sleep it: {why}");
        let alarm = idle::alarm_name(name);
        if let Err(e) = aws::cloudwatch::rearm_alarm(&self.cloudwatch, &alarm, &reason).await {
            tracing::warn!(endpoint = %name, error = %e, "idle alarm not re-armed");
        }
    }

    /// `limited`: the delete counts against the hour's blast-radius limit (an automatic sleep).
    async fn snapshot_and_delete(
        &self,
        endpoint: &Endpoint,
        taken: Taken,
        previous: Option<u64>,
        now: Timestamp,
        limited: bool,
    ) -> Result<Step, AwsError> {
        let name = &endpoint.name;
        let snapshot = Snapshot {
            endpoint: name.clone(),
            endpoint_config: taken.config,
            tags: endpoint.tags.clone(),
            targets: taken.targets,
            taken_at: now,
            definitions: Some(taken.definitions),
            variants: endpoint
                .variants
                .iter()
                .map(|v| VariantSettings {
                    variant: v.name.clone(),
                    weight: v.desired_weight,
                    instances: v.desired_instances,
                })
                .collect(),
            endpoint_policy: aws::definitions::endpoint_policy(&self.sagemaker, name).await?,
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
            wake: None,
        };
        if self.table.snapshot(name).await?.as_ref() != Some(&expected) {
            return Err(AwsError {
                operation: "dynamodb:GetItem",
                message: format!(
                    "the snapshot of {name} read back differs from the one written; nothing deleted"
                ),
                refused: false,
            });
        }
        // Counted last, so that only a delete uses up the hour's limit; on the clock, not the
        // tick's time, so that late ticks cannot draw on hours gone by. A sleep declined here
        // leaves its snapshot `sleeping`, which the next sleep writes again.
        let (clock, limit) = (self.clock(), self.sleeps_per_hour);
        if limited && !self.table.count_sleep(name, clock, limit).await? {
            let why = format!(
                "not put to sleep: {limit} endpoints were put to sleep this hour already, the blast-radius limit (SAGETIDE_MAX_SLEEPS_PER_HOUR); if that is meant, raise the limit or sleep it by hand"
            );
            tracing::error!(endpoint = %name, limit, "{why}");
            return Ok(Step::Declined(why));
        }
        if let Err(e) = aws::sagemaker::delete_endpoint(&self.sagemaker, name).await {
            if limited && let Err(e) = self.table.uncount_sleep(name, clock).await {
                tracing::warn!(endpoint = %name, error = %e, "a failed delete still counts against the hour's limit");
            }
            return Err(e);
        }
        // A failed condition leaves it `sleeping` with the endpoint gone: the next sleep, wake
        // or tick records it, as after a crash here.
        self.table
            .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
            .await?;
        Ok(Step::Applied(format!(
            "snapshot v{version} with {} scalable target(s) stored and verified, endpoint deleted",
            expected.snapshot.targets.len()
        )))
    }
}
