//! Sleep: everything that would not come back by itself is written to the table and read back
//! before the endpoint is deleted.

use jiff::Timestamp;

use super::decide::{self, RECENT_TRAFFIC, SleepDecision, Verdict};
use super::{Actor, Found, Lifecycle, Step};
use crate::aws::{self, AwsError};
use crate::fleet::Endpoint;
use crate::idle;
use crate::names::{EndpointName, VariantRef};
use crate::plan::sleepable::{SleepTrigger, config_blocker, policy_blocker};
use crate::snapshot::{Definitions, Phase, Snapshot, Stored, TargetSnapshot, VariantSettings};

/// What a sleep read before deciding to delete, and keeps in the snapshot.
pub(super) struct Taken {
    /// The EndpointConfig's name.
    config: String,
    definitions: Definitions,
    targets: Vec<TargetSnapshot>,
}

/// What a sleep decided on.
pub(super) enum Work {
    /// Snapshot, read back, delete.
    Delete {
        endpoint: Box<Endpoint>,
        taken: Taken,
        previous: Option<u64>,
        /// The delete counts against the hour's blast-radius limit (an automatic sleep).
        limited: bool,
    },
    /// A previous run deleted it after its snapshot: record it as asleep.
    Finish { version: u64 },
    /// An idle alarm asked, and it is not idle: its alarm goes back to OK, so that it fires
    /// again at its next evaluation if the endpoint is still idle then.
    Rearm(String),
}

impl Work {
    pub(super) fn preview(&self) -> Step {
        match self {
            Work::Delete { taken, .. } => Step::DryRun(format!(
                "a snapshot with {} scalable target(s) would be stored and verified, then the endpoint deleted",
                taken.targets.len()
            )),
            Work::Finish { .. } => Step::DryRun("it would be recorded as asleep".into()),
            Work::Rearm(reason) => Step::Declined(reason.clone()),
        }
    }
}

impl Lifecycle {
    /// Whether `decide::sleep` finds the endpoint eligible for `trigger`, with what a sleep
    /// keeps read already.
    pub(super) async fn prepare_sleep(
        &self,
        name: &EndpointName,
        trigger: SleepTrigger<'_>,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        // The snapshot first: an endpoint seen afterwards is at least as new as it.
        let stored = self.table.snapshot(name).await?;
        let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
        let verdict = match decide::sleep(endpoint.as_ref(), stored.as_ref(), trigger, actor.now) {
            SleepDecision::Verdict(v) => v,
            SleepDecision::CheckIdle { window } => {
                let e = endpoint
                    .as_ref()
                    .expect("only an existing endpoint is checked");
                let variants: Vec<VariantRef> = e.variant_refs().collect();
                let (start, end, period) = idle::invocation_window(window, actor.now);
                let activity = aws::cloudwatch::activity(
                    &self.cloudwatch,
                    aws::cloudwatch::Watched::Variants(&variants),
                    (start, end),
                    period,
                    actor.now - RECENT_TRAFFIC,
                )
                .await?;
                decide::after_idle_check(&activity, window, stored.as_ref().map(|s| s.version))
            }
        };
        let work = match verdict {
            Verdict::Decline(reason) => return Ok(Found::Nothing(Step::Declined(reason))),
            Verdict::Done(reason) => return Ok(Found::Nothing(Step::AlreadyDone(reason))),
            Verdict::NotIdle(reason) if matches!(trigger, SleepTrigger::IdleAlarm(_)) => {
                Work::Rearm(reason)
            }
            Verdict::NotIdle(reason) => return Ok(Found::Nothing(Step::Declined(reason))),
            Verdict::Finish { version } => Work::Finish { version },
            Verdict::Sleep { previous } => {
                let endpoint = endpoint.expect("only an existing endpoint is put to sleep");
                match self.take(&endpoint).await? {
                    Ok(taken) => Work::Delete {
                        endpoint: Box::new(endpoint),
                        taken,
                        previous,
                        limited: !matches!(trigger, SleepTrigger::Manual { .. }),
                    },
                    Err(why) => return Ok(Found::Nothing(Step::Declined(why))),
                }
            }
        };
        Ok(Found::Work(super::Work::Sleep(work)))
    }

    /// Reads what a sleep keeps; `Err` says why the endpoint could not come back as it was.
    async fn take(&self, endpoint: &Endpoint) -> Result<Result<Taken, String>, AwsError> {
        let name = &endpoint.name;
        let config = endpoint.config_name.clone().ok_or_else(|| AwsError {
            operation: "sagemaker:DescribeEndpoint",
            message: format!("endpoint {name} reports no EndpointConfig; nothing deleted"),
            refused: false,
        })?;
        let read = aws::definitions::read(&self.sagemaker, &config).await;
        let facts = aws::definitions::facts_of(&read);
        if let Some(why) = facts.and_then(|f| config_blocker(&f, &self.allowed)) {
            return Ok(Err(why));
        }
        let (definitions, _) = read?;
        let resources: Vec<_> = endpoint.scalable_resources().collect();
        let (autoscaling, cloudwatch) = (&self.autoscaling, &self.cloudwatch);
        let described =
            aws::scaling_state::describe_policies(autoscaling, cloudwatch, &resources).await?;
        let facts = aws::scaling_state::policy_facts(cloudwatch, &described).await?;
        if let Some(why) = policy_blocker(&facts) {
            tracing::warn!(endpoint = %name, why, "not put to sleep: its scaling could not come back");
            return Ok(Err(why));
        }
        let targets = aws::scaling_state::read(autoscaling, &resources, &described).await?;
        Ok(Ok(Taken {
            config,
            definitions,
            targets,
        }))
    }

    pub(super) async fn sleep(
        &self,
        name: &EndpointName,
        work: Work,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        match work {
            Work::Delete {
                endpoint,
                taken,
                previous,
                limited,
            } => {
                self.snapshot_and_delete(&endpoint, taken, previous, actor.now, limited)
                    .await
            }
            Work::Finish { version } => {
                if !self
                    .table
                    .set_phase(name, version, Phase::Sleeping, Phase::Asleep)
                    .await?
                {
                    return Ok(Step::Deferred(
                        "its snapshot changed meanwhile; the sleep is looked at again".into(),
                    ));
                }
                Ok(Step::Applied(
                    "a previous run deleted it after its snapshot; recorded as asleep".into(),
                ))
            }
            Work::Rearm(reason) => {
                self.rearm_idle_alarm(name, &reason).await;
                Ok(Step::Declined(reason))
            }
        }
    }

    /// A sleep an idle alarm asked for that did not happen for want of the lease or through an
    /// error is asked for again at the alarm's next evaluation. A decline is not: the scheduler
    /// re-arms the alarm once what declined it has passed, so that an endpoint idle inside its
    /// period does not wake the sleeper at every evaluation all day.
    pub(super) async fn after_idle_sleep(
        &self,
        name: &EndpointName,
        result: &Result<Step, AwsError>,
    ) {
        match result {
            Ok(Step::Deferred(why) | Step::Failed(why)) => self.rearm_idle_alarm(name, why).await,
            Err(e) => self.rearm_idle_alarm(name, &e.to_string()).await,
            Ok(_) => {}
        }
    }

    /// Puts the endpoint's idle alarm back to OK: it fires again at its next evaluation if the
    /// endpoint is still idle then (an alarm reports changes only).
    async fn rearm_idle_alarm(&self, name: &EndpointName, why: &str) {
        let reason = format!("sagetide did not sleep it: {why}");
        let alarm = idle::alarm_name(name, None);
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
        self.keep_reach().await?;
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
