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
mod restore;
mod sleep;
mod wake;

use aws_config::SdkConfig;
use jiff::{SignedDuration, Timestamp};

use crate::aws::AwsError;
use crate::aws::table::{HistoryEntry, Table};
use crate::env::{Env, EnvError};
use crate::names::EndpointName;
use crate::outcome::{Outcome, Report};
use crate::permissions::Allowed;

/// Who acts and when: the lease holder and the signature of history entries; `now` is the
/// instant decisions are made for (a tick's time), while leases always run on the real clock.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub who: &'a str,
    pub now: Timestamp,
}

#[derive(Clone)]
pub struct Lifecycle {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub table: Table,
    pub dry_run: bool,
    lease_ttl: SignedDuration,
    /// What the deployment may do to bring an endpoint back (KMS grants, roles to pass): an
    /// endpoint it could not bring back is not put to sleep.
    allowed: Allowed,
    /// Automatic sleeps all functions may start in one clock hour.
    sleeps_per_hour: usize,
    /// `SAGETIDE_NOW`, which stands for the clock in a simulation.
    simulated_clock: Option<Timestamp>,
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
            allowed: env.allowed.clone(),
            sleeps_per_hour: env.sleep_limits.per_hour,
            simulated_clock: env.now,
        })
    }

    /// The clock: the real one, or `SAGETIDE_NOW` in a simulation.
    pub fn clock(&self) -> Timestamp {
        self.simulated_clock.unwrap_or_else(Timestamp::now)
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
            Ok(Step::Failed(detail)) => (Outcome::Failed(detail.clone()), detail),
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
        if matches!(outcome, Outcome::Applied | Outcome::Failed(_)) && !self.dry_run {
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
    /// It did what it could, and what it found went wrong (a wake that failed, say): logged as
    /// an error and kept in the history.
    Failed(String),
    DryRun,
    AlreadyDone(String),
    Declined(String),
    Deferred(String),
}
