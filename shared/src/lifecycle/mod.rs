//! Sleep, wake, restore and remedies of one endpoint, each in two halves: `prepare` observes it
//! and asks `decide` what to do (no writes), then the work is done. [`Lifecycle::carry_out`]
//! runs both under the endpoint's lease, so that racing functions give one effective action;
//! [`Lifecycle::preview`], which the executor (`act`) calls in a dry run, only the first.
//!
//! The order of the calls is what keeps everything recoverable. Sleep: snapshot written
//! (phase `sleeping`) → read back and compared → endpoint deleted → phase `asleep`. Wake:
//! endpoint created from the snapshot. Restore: scalable targets, policies and scheduled
//! actions upserted → phase `restored`. A run stopped between any two calls leaves a state the
//! next run finishes from.

mod components;
pub mod decide;
mod remedies;
mod restore;
mod sleep;
mod wake;

use aws_config::SdkConfig;
use jiff::{SignedDuration, Timestamp};

use crate::aws::AwsError;
use crate::aws::table::{Held, HistoryEntry, Table};
use crate::config::Config;
use crate::env::{Env, EnvError};
use crate::names::{ComponentName, EndpointName};
use crate::outcome::{Outcome, Report};
use crate::permissions::Allowed;
use crate::places::{Place, Spoke};
use crate::plan::sleepable::SleepTrigger;
use crate::remediation::Change;
use crate::tags::WakeSource;

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
    /// Where the metrics of what was done go (a failed wake): the hub's CloudWatch, wherever
    /// the endpoint is, since the spoke roles may put no metrics.
    metrics: aws_sdk_cloudwatch::Client,
    pub table: Table,
    lease_ttl: SignedDuration,
    /// What the deployment may do to bring an endpoint back (KMS grants, roles to pass): an
    /// endpoint it could not bring back is not put to sleep.
    allowed: Allowed,
    /// Automatic sleeps all functions may start in one clock hour.
    sleeps_per_hour: usize,
    /// `SAGETIDE_NOW`, which stands for the clock in a simulation.
    simulated_clock: Option<Timestamp>,
    /// The spoke this lifecycle acts in, if not the hub's own place: kept in the table before
    /// anything there is put to sleep, so that its wake does not need the document.
    spoke: Option<Spoke>,
}

impl Lifecycle {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
        Ok(Self {
            sagemaker: aws_sdk_sagemaker::Client::new(sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
            metrics: cloudwatch.clone(),
            cloudwatch,
            table: Table::new(aws_sdk_dynamodb::Client::new(sdk), env.require_table()?),
            lease_ttl: env.lease_ttl,
            allowed: env.allowed.clone(),
            sleeps_per_hour: env.sleep_limits.per_hour,
            simulated_clock: env.now,
            spoke: None,
        })
    }

    /// This lifecycle, acting in `spoke` through `config` (its role's), with the spoke's items
    /// of the table and what its stack lets the hub do to bring an endpoint back there.
    pub fn in_spoke(&self, config: &SdkConfig, spoke: &Spoke) -> Self {
        Self {
            sagemaker: aws_sdk_sagemaker::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            table: self.table.at(&spoke.place),
            allowed: spoke.allowed.clone(),
            spoke: Some(spoke.clone()),
            ..self.clone()
        }
    }

    /// The spoke this lifecycle acts in; `None` for the hub's own place.
    pub fn place(&self) -> Option<&Place> {
        self.spoke.as_ref().map(|s| &s.place)
    }

    /// Keeps how the hub reaches this lifecycle's spoke, if it acts in one.
    async fn keep_reach(&self) -> Result<(), AwsError> {
        match &self.spoke {
            Some(spoke) => self.table.put_reach(spoke).await,
            None => Ok(()),
        }
    }

    /// The clock: the real one, or `SAGETIDE_NOW` in a simulation.
    pub fn clock(&self) -> Timestamp {
        self.simulated_clock.unwrap_or_else(Timestamp::now)
    }

    /// What `operation` would do to `name`, observed and decided without a write.
    pub async fn preview(
        &self,
        name: &EndpointName,
        operation: &Operation<'_>,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        Ok(match self.prepare(name, operation, actor).await? {
            Found::Nothing(step) => step,
            Found::Work(work) => work.preview(),
        })
    }

    /// Carries `operation` out on `name` holding its lease (the executor writes the result to
    /// the history). An idle alarm's sleep that did not happen is asked for again.
    pub async fn carry_out(
        &self,
        name: &EndpointName,
        operation: &Operation<'_>,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        let result = self
            .leased(name, actor, self.prepare_and_work(name, operation, actor))
            .await;
        if let Operation::Sleep(SleepTrigger::IdleAlarm(_)) = operation {
            self.after_idle_sleep(name, &result).await;
        }
        result
    }

    async fn leased(
        &self,
        name: &EndpointName,
        actor: Actor<'_>,
        body: impl Future<Output = Result<Step, AwsError>>,
    ) -> Result<Step, AwsError> {
        let acquired = self
            .table
            .acquire(name, actor.who, Timestamp::now(), self.lease_ttl)
            .await?;
        if !acquired {
            return Ok(Step::Deferred(
                "another sagetide function is acting on it (lease held)".into(),
            ));
        }
        let result = body.await;
        if let Err(e) = self.table.release(name, actor.who).await {
            tracing::warn!(endpoint = %name, error = %e, "lease not released; it expires by itself");
        }
        result
    }

    async fn prepare_and_work(
        &self,
        name: &EndpointName,
        operation: &Operation<'_>,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        match self.prepare(name, operation, actor).await? {
            Found::Work(work) => self.work(name, work, actor).await,
            Found::Nothing(step) => Ok(step),
        }
    }

    /// Writes what `report` says was done, or failed, to the history, as the entry of `what`
    /// (the planned action in full), with what an applied action leaves the endpoint `held` at.
    pub async fn record(
        &self,
        report: &Report,
        name: &EndpointName,
        what: &str,
        actor: Actor<'_>,
        held: Option<&Held>,
    ) {
        if !matches!(report.outcome, Outcome::Applied | Outcome::Failed(_)) {
            return;
        }
        let entry = HistoryEntry {
            endpoint: name,
            at: actor.now,
            who: actor.who,
            action: report.action,
            what,
            outcome: report.outcome.label(),
            reason: &format!("{}: {}", report.reason, report.detail),
            held,
        };
        if let Err(e) = self.table.record(&entry).await {
            tracing::warn!(endpoint = %name, error = %e, "history entry not written");
        }
    }

    async fn prepare(
        &self,
        name: &EndpointName,
        operation: &Operation<'_>,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        match operation {
            Operation::Sleep(trigger) => self.prepare_sleep(name, *trigger, actor).await,
            Operation::Wake { source, alarm } => {
                self.prepare_wake(name, *source, *alarm, actor).await
            }
            Operation::Restore => self.prepare_restore(name).await,
            Operation::Recover => self.prepare_recovery(name, actor).await,
            Operation::Remediate { change, config } => {
                self.prepare_remedy(name, change, config, actor).await
            }
            Operation::SleepComponent { component, trigger } => {
                self.prepare_component_sleep(component, *trigger, actor)
                    .await
            }
            Operation::WakeComponent { component, source } => {
                self.prepare_component_wake(component, *source).await
            }
        }
    }

    async fn work(
        &self,
        name: &EndpointName,
        work: Work,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        match work {
            Work::Sleep(work) => self.sleep(name, work, actor).await,
            Work::Wake(work) => self.wake(name, work, actor).await,
            Work::Restore(work) => self.restore(name, work, actor).await,
            Work::Recover(work) => self.recover(name, work).await,
            Work::Remedy(work) => self.remedy(name, work, actor).await,
            Work::SleepComponent(work) => self.sleep_component(work).await,
            Work::WakeComponent(work) => self.wake_component(work, actor).await,
        }
    }
}

/// What the executor asks of one endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Operation<'a> {
    Sleep(SleepTrigger<'a>),
    Wake {
        source: WakeSource,
        alarm: Option<&'a str>,
    },
    Restore,
    /// A woken endpoint failed, or has been creating for too long.
    Recover,
    Remediate {
        change: Change<'a>,
        config: &'a Config,
    },
    /// Zero copies for an inference component the endpoint hosts (the endpoint's lease).
    SleepComponent {
        component: &'a ComponentName,
        trigger: SleepTrigger<'a>,
    },
    /// Its copies back.
    WakeComponent {
        component: &'a ComponentName,
        source: WakeSource,
    },
}

impl Operation<'_> {
    /// Its name in logs, reports and the history.
    pub fn label(&self) -> &'static str {
        match self {
            Operation::Sleep(_) | Operation::SleepComponent { .. } => "sleep",
            Operation::Wake { .. } | Operation::WakeComponent { .. } => "wake",
            Operation::Restore => "restore",
            Operation::Recover => "failed-wake",
            Operation::Remediate { .. } => "remediate",
        }
    }
}

/// What `prepare` found: nothing to do (and how that ends), or work to carry out.
enum Found {
    Nothing(Step),
    Work(Work),
}

/// The work an operation decided on, with what it observed to do it.
enum Work {
    Sleep(sleep::Work),
    Wake(wake::Work),
    Restore(restore::Work),
    Recover(decide::RecoverDecision),
    Remedy(remedies::Work),
    SleepComponent(components::SleepWork),
    WakeComponent(components::WakeWork),
}

impl Work {
    /// How the work ends in a dry run.
    fn preview(&self) -> Step {
        match self {
            Work::Sleep(work) => work.preview(),
            Work::Wake(_) => Step::DryRun("it would be created again from its snapshot".into()),
            Work::Restore(_) => Step::DryRun(
                "its settings, scalable targets and policies would be restored from its snapshot"
                    .into(),
            ),
            Work::Recover(_) => Step::DryRun("its failed wake would be dealt with".into()),
            Work::Remedy(work) => work.preview(),
            Work::SleepComponent(work) => work.preview(),
            Work::WakeComponent(_) => {
                Step::DryRun("its copies and bounds would be given back".into())
            }
        }
    }
}

/// How an operation ended, before it becomes an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Applied(String),
    /// It did what it could, and what it found went wrong (a wake that failed, say): logged as
    /// an error and kept in the history.
    Failed(String),
    /// What it would do, in a dry run.
    DryRun(String),
    AlreadyDone(String),
    Declined(String),
    Deferred(String),
}

impl Step {
    /// The outcome and detail of a step, or of the error that ended it.
    pub fn ended(result: Result<Step, AwsError>) -> (Outcome, String) {
        match result {
            Ok(Step::Applied(detail)) => (Outcome::Applied, detail),
            Ok(Step::Failed(detail)) => (Outcome::Failed(detail.clone()), detail),
            Ok(Step::DryRun(detail)) => (Outcome::DryRun, detail),
            Ok(Step::AlreadyDone(detail)) => (Outcome::AlreadyDone, detail),
            Ok(Step::Declined(detail)) => (Outcome::Declined, detail),
            Ok(Step::Deferred(detail)) => (Outcome::Deferred(detail.clone()), detail),
            Err(e) => (Outcome::Failed(e.to_string()), e.to_string()),
        }
    }
}
