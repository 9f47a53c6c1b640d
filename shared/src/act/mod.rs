//! Carries out planned actions through the AWS adapters, a few at a time. Every function's
//! mutations go through here, and dry-run is decided here alone ([`Executor::run`],
//! [`Executor::place_failed`]): a dry run observes and decides as a real run does, and writes
//! nothing (no endpoint, target, alarm, metric, lease, history entry or tick claim).

mod announce;
mod measure;
mod waker;

pub use announce::{Announcer, DETAIL_TYPE};
pub use measure::{ACTIONS, INSTANCE_HOURS_BELOW_BASELINE, MINIMUM_HELD};
pub use waker::WakerFunction;

use waker::Told;

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures::StreamExt;
use jiff::Timestamp;

use crate::aws::table::Held;
use crate::aws::{self, AwsError};
use crate::config::Config;
use crate::env::{Env, EnvError};
use crate::idle;
use crate::lifecycle::{Actor, Lifecycle, Operation, Step};
use crate::names::{EndpointName, VariantRef};
use crate::outcome::{Outcome, Report};
use crate::permissions::Function;
use crate::places::{Place, PlaceStep, Spoke};
use crate::plan::{Action, Planned};
use crate::remediation::Change;
use crate::resource::ScalableResource;

#[derive(Clone)]
pub struct Executor {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Sleep, wake, restore, remedies and idle alarms; functions that plan none of them have
    /// none.
    pub lifecycle: Option<Lifecycle>,
    /// Where wakes are asked instead of done here (the scheduler's, when deployed).
    pub waker: Option<WakerFunction>,
    /// Where applied and failed actions are announced, if anywhere.
    pub announcer: Option<Announcer>,
    /// Where the metrics of what was done go: the hub's CloudWatch, wherever the endpoint is.
    pub metrics: aws_sdk_cloudwatch::Client,
    pub dry_run: bool,
}

impl Executor {
    /// An executor for functions that sleep, wake, restore or remediate (with the table).
    pub fn with_lifecycle(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        let lifecycle = Lifecycle::new(sdk, env)?;
        Ok(Self {
            sagemaker: lifecycle.sagemaker.clone(),
            autoscaling: lifecycle.autoscaling.clone(),
            cloudwatch: lifecycle.cloudwatch.clone(),
            metrics: lifecycle.cloudwatch.clone(),
            lifecycle: Some(lifecycle),
            waker: None,
            announcer: Announcer::new(sdk, env),
            dry_run: env.dry_run,
        })
    }

    /// This executor, acting on the endpoints of `spoke` through `config` (its role's); what
    /// was done is still announced and measured in the hub.
    pub fn in_spoke(&self, config: &SdkConfig, spoke: &Spoke) -> Self {
        Self {
            sagemaker: aws_sdk_sagemaker::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            lifecycle: self.lifecycle.as_ref().map(|l| l.in_spoke(config, spoke)),
            waker: self.waker.as_ref().map(|w| w.at(&spoke.place)),
            announcer: self.announcer.as_ref().map(|a| a.at(&spoke.place)),
            metrics: self.metrics.clone(),
            dry_run: self.dry_run,
        }
    }

    /// An executor of single calls only (pool-metrics').
    pub fn new(sdk: &SdkConfig, env: &Env) -> Self {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
        Self {
            sagemaker: aws_sdk_sagemaker::Client::new(sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
            metrics: cloudwatch.clone(),
            cloudwatch,
            lifecycle: None,
            waker: None,
            announcer: Announcer::new(sdk, env),
            dry_run: env.dry_run,
        }
    }
}

impl Executor {
    /// Tells that `function`'s tick at `place` (a spoke) failed at `step`: a failed action
    /// event there and a `PlaceFailures` datapoint in the hub. Nothing is told in a dry run,
    /// which only logs.
    pub async fn place_failed(
        &self,
        function: Function,
        place: &Place,
        step: PlaceStep,
        error: &str,
        actor: Actor<'_>,
    ) {
        tracing::error!(place = %place, step = step.as_str(), error, "the place's tick failed");
        if self.dry_run {
            return;
        }
        if let Some(announcer) = &self.announcer {
            announcer.at(place).place_failed(step, error, actor).await;
        }
        let datum = measure::place_failure(function, place, step);
        if let Err(e) = aws::cloudwatch::put_data(&self.metrics, actor.now, &[datum]).await {
            tracing::error!(error = %e, "PlaceFailures not published");
        }
    }
}

/// Actions to run together, and what they run under.
pub struct Batch<'a> {
    pub actions: &'a [Planned],
    pub actor: Actor<'a>,
    pub config: &'a Config,
    /// A tick's actions, delivered maybe late (Lambda holds a tick while another runs, or
    /// while throttled, for up to six hours): carried out only if no later tick has acted, as
    /// the table says by this clock.
    pub tick_clock: Option<Timestamp>,
}

/// What became of a batch.
pub enum Ran {
    /// A report per action, in the batch's order.
    Done(Vec<Report>),
    /// A later tick has acted already: nothing was done.
    Late,
}

impl Ran {
    /// The reports of a batch that was not a tick's (and so never late).
    pub fn reports(self) -> Vec<Report> {
        match self {
            Ran::Done(reports) => reports,
            Ran::Late => unreachable!("only a tick's batch is late"),
        }
    }
}

impl Executor {
    /// Runs the batch: in a dry run, each action as far as deciding it; otherwise each action,
    /// one failure not stopping the others.
    pub async fn run(&self, batch: &Batch<'_>) -> Result<Ran, AwsError> {
        if self.dry_run {
            return Ok(Ran::Done(
                by_endpoint(batch.actions, |_, p| self.preview(p, batch)).await,
            ));
        }
        if let Some(clock) = batch.tick_clock
            && !batch.actions.is_empty()
            && !self
                .lifecycle()?
                .table
                .claim_tick(batch.actor.now, clock)
                .await?
        {
            return Ok(Ran::Late);
        }
        let published = self.publish(batch.actions).await;
        let done = by_endpoint(batch.actions, |i, p| {
            self.carry_out(i, p, batch, &published)
        })
        .await;
        if let Some(announcer) = &self.announcer {
            let told = done.iter().filter(|d| d.tell).map(|d| &d.report);
            announcer.announce(told, batch.actor).await;
        }
        self.measure(&done, batch.actor).await;
        Ok(Ran::Done(done.into_iter().map(|d| d.report).collect()))
    }

    /// What `planned` would do: an endpoint's operation observed and decided, any other
    /// action as planned.
    async fn preview(&self, planned: &Planned, batch: &Batch<'_>) -> Report {
        let step = match (&planned.action, self.operation(planned, batch.config)) {
            (Action::Wake { .. }, _) if self.waker.is_some() => {
                Ok(Step::DryRun("the waker would be asked to wake it".into()))
            }
            (_, Some(Ok(operation))) => match &self.lifecycle {
                Some(lifecycle) => {
                    lifecycle
                        .preview(&planned.endpoint, &operation, batch.actor)
                        .await
                }
                None => Err(no_lifecycle()),
            },
            (_, Some(Err(declined))) => Ok(declined),
            (_, None) => Ok(Step::DryRun(planned.action.to_string())),
        };
        report(planned, self.label(planned, batch.config), step, true)
    }

    async fn carry_out(
        &self,
        index: usize,
        planned: &Planned,
        batch: &Batch<'_>,
        published: &Published,
    ) -> Done {
        let (name, actor) = (&planned.endpoint, batch.actor);
        let mut told = Told::Here;
        let step = match (&planned.action, &self.waker) {
            (Action::Wake { .. }, Some(waker)) => {
                // The instant it asks, by its clock: a late tick's own time would be far from
                // the waker's.
                let clock = self
                    .lifecycle
                    .as_ref()
                    .map_or_else(Timestamp::now, Lifecycle::clock);
                let (step, by) = waker.wake_if_due(name, clock).await;
                told = by;
                Ok(step)
            }
            (Action::Publish { .. }, _) => published.of(index, planned),
            _ => match self.operation(planned, batch.config) {
                Some(Ok(operation)) => match &self.lifecycle {
                    Some(lifecycle) => lifecycle.carry_out(name, &operation, actor).await,
                    None => Err(no_lifecycle()),
                },
                Some(Err(declined)) => Ok(declined),
                None => self.apply(planned).await,
            },
        };
        let report = report(planned, self.label(planned, batch.config), step, false);
        // The minute's datapoints are no change to an endpoint; a wake the waker carried out
        // is its to tell.
        let tell = !matches!(planned.action, Action::Publish { .. }) && told == Told::Here;
        let held = held(&planned.action).filter(|_| tell && report.outcome == Outcome::Applied);
        if let Some(lifecycle) = &self.lifecycle
            && tell
        {
            let what = planned.action.to_string();
            lifecycle
                .record(&report, name, &what, actor, held.as_ref())
                .await;
        }
        Done {
            endpoint: name.clone(),
            report,
            tell,
            held,
        }
    }

    /// The endpoint operation an action stands for: `None` for an action of a single call,
    /// `Err` for one that cannot be carried out (and how that ends).
    fn operation<'a>(
        &self,
        planned: &'a Planned,
        config: &'a Config,
    ) -> Option<Result<Operation<'a>, Step>> {
        Some(Ok(match &planned.action {
            Action::Sleep(by) => Operation::Sleep(by.under(config)),
            Action::Wake { source, alarm } => Operation::Wake {
                source: *source,
                alarm: alarm.as_deref(),
            },
            Action::Restore => Operation::Restore,
            Action::RecoverWake => Operation::Recover,
            Action::SleepComponent { component, by } => Operation::SleepComponent {
                component,
                trigger: by.under(config),
            },
            Action::WakeComponent { component, source } => Operation::WakeComponent {
                component,
                source: *source,
            },
            Action::SetCapacity { .. }
            | Action::RemoveOverride { .. }
            | Action::RearmIdleAlarm { .. }
            | Action::PutIdleAlarm { .. }
            | Action::DeleteIdleAlarm { .. }
            | Action::PutPolicy { .. }
            | Action::DeletePolicy { .. }
            | Action::Publish { .. } => return None,
            Action::Remedy {
                rule,
                alarm,
                state,
                at,
            } => {
                let Some(rule) = config.rule(rule) else {
                    return Some(Err(Step::Declined(format!(
                        "rule {rule} is no longer in the configuration"
                    ))));
                };
                Operation::Remediate {
                    change: Change {
                        rule,
                        alarm,
                        state: *state,
                        at: *at,
                    },
                    config,
                }
            }
        }))
    }

    /// The name an action's report and log carry.
    fn label(&self, planned: &Planned, config: &Config) -> &'static str {
        match self.operation(planned, config) {
            Some(Ok(operation)) => operation.label(),
            _ => planned.action.kind(),
        }
    }

    /// The batch's datapoints, in as few PutMetricData calls as CloudWatch takes.
    async fn publish(&self, actions: &[Planned]) -> Published {
        let mut points = Vec::new();
        let mut ends = Vec::new();
        for (index, planned) in actions.iter().enumerate() {
            if let Action::Publish { points: its } = &planned.action {
                points.extend_from_slice(its);
                ends.push((index, points.len()));
            }
        }
        if points.is_empty() {
            return Published::default();
        }
        let (sent, result) = aws::cloudwatch::put_points(&self.cloudwatch, &points).await;
        Published {
            // An endpoint's datapoints are published once the call with its last one is.
            ends: ends
                .into_iter()
                .map(|(index, end)| (index, if end <= sent { Ok(()) } else { result.clone() }))
                .collect(),
        }
    }

    /// Carries out an action of a single call.
    async fn apply(&self, planned: &Planned) -> Result<Step, AwsError> {
        let done = || Step::Applied(planned.action.to_string());
        match &planned.action {
            Action::SetCapacity {
                resource,
                to,
                from_zero,
                ..
            } => {
                if *from_zero {
                    aws::policies::put_scale_from_zero(
                        &self.autoscaling,
                        &self.cloudwatch,
                        resource,
                    )
                    .await?;
                }
                aws::autoscaling::set_capacity(&self.autoscaling, resource, *to).await?;
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
                if !removed {
                    return Ok(Step::AlreadyDone(
                        "the override was changed meanwhile; it stays".into(),
                    ));
                }
            }
            Action::PutPolicy { variant, policy } => {
                let variant = VariantRef {
                    endpoint: planned.endpoint.clone(),
                    variant: variant.clone(),
                };
                aws::policies::put_pool_policy(
                    &self.autoscaling,
                    &self.cloudwatch,
                    &variant,
                    policy,
                )
                .await?;
            }
            Action::DeletePolicy { variant, kind } => {
                let variant = VariantRef {
                    endpoint: planned.endpoint.clone(),
                    variant: variant.clone(),
                };
                aws::policies::delete_pool_policy(
                    &self.autoscaling,
                    &self.cloudwatch,
                    &variant,
                    *kind,
                )
                .await?;
            }
            Action::PutIdleAlarm { alarm, mark_first } => {
                if *mark_first {
                    self.lifecycle()?.table.mark_idle_alarms().await?;
                }
                aws::cloudwatch::put_idle_alarm(&self.cloudwatch, alarm).await?;
            }
            Action::DeleteIdleAlarm { component } => {
                let name = idle::alarm_name(&planned.endpoint, component.as_ref());
                aws::cloudwatch::delete_alarm(&self.cloudwatch, &name).await?;
            }
            Action::RearmIdleAlarm { component } => {
                let name = idle::alarm_name(&planned.endpoint, component.as_ref());
                aws::cloudwatch::rearm_alarm(&self.cloudwatch, &name, &planned.reason).await?;
            }
            Action::Sleep(_)
            | Action::Wake { .. }
            | Action::Restore
            | Action::RecoverWake
            | Action::SleepComponent { .. }
            | Action::WakeComponent { .. }
            | Action::Remedy { .. }
            | Action::Publish { .. } => unreachable!("carried out as an operation or a batch"),
        }
        Ok(done())
    }

    fn lifecycle(&self) -> Result<&Lifecycle, AwsError> {
        self.lifecycle.as_ref().ok_or_else(no_lifecycle)
    }
}

/// What an action leaves its endpoint holding, once applied.
fn held(action: &Action) -> Option<Held> {
    match action {
        Action::SetCapacity {
            resource: ScalableResource::Instances(variant),
            to,
            ..
        } => Some(Held::Floor {
            variant: variant.variant.clone(),
            min: to.min(),
        }),
        Action::Sleep(_) => Some(Held::Asleep),
        // A restore finds the endpoint back, whether or not its wake's entry was written.
        Action::Wake { .. } | Action::Restore => Some(Held::Awake),
        _ => None,
    }
}

/// An action carried out, whether this function tells of it (history, event and metrics),
/// and what it left its endpoint holding if it told of an applied change.
struct Done {
    endpoint: EndpointName,
    report: Report,
    tell: bool,
    held: Option<Held>,
}

/// What became of each `Publish` action of a batch, by its index.
#[derive(Default)]
struct Published {
    ends: BTreeMap<usize, Result<(), AwsError>>,
}

impl Published {
    /// The step of the `Publish` action at `index`.
    fn of(&self, index: usize, planned: &Planned) -> Result<Step, AwsError> {
        match self.ends.get(&index) {
            Some(Ok(())) => Ok(Step::Applied(planned.action.to_string())),
            Some(Err(e)) => Err(e.clone()),
            None => unreachable!("every Publish action of the batch is published"),
        }
    }
}

/// `run` on every action, in the actions' order: one endpoint's one after another (they share
/// its lease and its records), different endpoints' a few at a time.
async fn by_endpoint<'a, F, R, T>(actions: &'a [Planned], run: F) -> Vec<T>
where
    F: Fn(usize, &'a Planned) -> R,
    R: Future<Output = T>,
{
    let mut groups: BTreeMap<&EndpointName, Vec<usize>> = BTreeMap::new();
    for (index, planned) in actions.iter().enumerate() {
        groups.entry(&planned.endpoint).or_default().push(index);
    }
    let run = &run;
    let mut done: Vec<(usize, T)> = futures::stream::iter(groups.into_values())
        .map(|indices| async move {
            let mut reports = Vec::new();
            for index in indices {
                reports.push((index, run(index, &actions[index]).await));
            }
            reports
        })
        .buffer_unordered(aws::CONCURRENCY)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, done)| done).collect()
}

/// The action's report, logged.
fn report(
    planned: &Planned,
    action: &'static str,
    step: Result<Step, AwsError>,
    dry_run: bool,
) -> Report {
    let (outcome, detail) = Step::ended(step);
    let (endpoint, reason) = (planned.endpoint.as_str(), planned.reason.as_str());
    let label = outcome.label();
    if outcome.is_failure() {
        let planned = planned.action.to_string();
        tracing::error!(
            endpoint,
            action,
            reason,
            planned,
            error = detail,
            outcome = label,
            "action failed"
        );
    } else {
        tracing::info!(
            endpoint,
            action,
            reason,
            detail,
            outcome = label,
            dry_run,
            "action"
        );
    }
    Report {
        endpoint: endpoint.to_owned(),
        action,
        reason: planned.reason.clone(),
        outcome,
        detail,
    }
}

fn no_lifecycle() -> AwsError {
    AwsError {
        operation: "sagetide",
        message: "this function has no table configured for sleep, wake and idle alarms".into(),
        refused: false,
    }
}
