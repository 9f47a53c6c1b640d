//! Sleep and wake of an inference component: zero copies, nothing deleted.
//!
//! Sleep: its record (copies, bounds) written and read back → its copies to zero, through its
//! scalable target's bounds where it has one → marked `sagetide:sleep` `asleep-since`. Wake:
//! marked `awake-since` → its bounds given back (Application Auto Scaling raises the copies to
//! a minimum above 0), or its copies → the record marked woken.
//!
//! A run stopped between two calls leaves a state the next run finishes from. A sleep cut short
//! finishes from the record it wrote, which holds what the component ran before: ticks re-arm
//! the idle alarm of a component not marked asleep, and a person may ask again. While it is
//! marked asleep, ticks hold it at zero copies. A wake cut short after its mark leaves a
//! component without a schedule at zero copies until the wake is asked again (a retried event,
//! or a person): the record still says it sleeps.

use super::decide::{self, Verdict};
use super::{Actor, Found, Lifecycle, Step};
use crate::aws::cloudwatch::Watched;
use crate::aws::{self, AwsError};
use crate::capacity::Capacity;
use crate::component_sleep::{ComponentSleep, NO_COPIES, StoredSleep};
use crate::fleet::{Component, Status};
use crate::idle;
use crate::names::ComponentName;
use crate::plan::sleepable::{SleepTrigger, component_eligibility};
use crate::tags::{self, SleepMark, WakeSource};

/// What a component's sleep decided on.
pub(super) enum SleepWork {
    /// Record (unless a sleep cut short wrote it), tag, zero copies.
    Zero {
        component: Box<Component>,
        record: ComponentSleep,
        /// The version of the record this one follows; `written`: it is already this record.
        previous: Option<u64>,
        written: bool,
        /// Its scalable target's bounds now, if it has one.
        target: Option<Capacity>,
    },
    /// Its idle alarm asked, and it is not idle: the alarm goes back to OK, so that it fires
    /// again at its next evaluation if the component is still idle then.
    Rearm { alarm: String, reason: String },
}

impl SleepWork {
    pub(super) fn preview(&self) -> Step {
        match self {
            SleepWork::Zero { record, .. } => Step::DryRun(format!(
                "its {} copies would be recorded and taken to 0",
                record.copies
            )),
            SleepWork::Rearm { reason, .. } => Step::Declined(reason.clone()),
        }
    }
}

/// What a component's wake found to give back.
pub(super) struct WakeWork {
    component: Box<Component>,
    stored: StoredSleep,
}

impl Lifecycle {
    pub(super) async fn prepare_component_sleep(
        &self,
        name: &ComponentName,
        trigger: SleepTrigger<'_>,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        let Some((component, copies)) = aws::components::described(&self.sagemaker, name).await?
        else {
            return Ok(Found::Nothing(Step::Declined(format!(
                "inference component {name} does not exist"
            ))));
        };
        let stored = self.table.component_sleep(name).await?;
        let unwoken = stored.as_ref().filter(|s| s.record.woken.is_none());
        if let Some(s) = unwoken
            && component.asleep()
            && copies == 0
        {
            return Ok(Found::Nothing(Step::AlreadyDone(format!(
                "inference component {name} is asleep since {}",
                s.record.since
            ))));
        }
        let window = match component_eligibility(&component, trigger, actor.now) {
            Ok(window) => window,
            Err(why) => {
                return Ok(Found::Nothing(Step::Declined(format!(
                    "inference component {name}: {why}"
                ))));
            }
        };
        // One at zero copies already (its schedule's off-hours, say) has nothing to save, and
        // a record of none would bring none back; a sleep cut short after its copies went to
        // zero has its record.
        if copies == 0 && unwoken.is_none() {
            return Ok(Found::Nothing(Step::Declined(format!(
                "inference component {name} runs no copies: nothing to save"
            ))));
        }
        if let Some(window) = window {
            let (start, end, period) = idle::invocation_window(window, actor.now);
            let activity = aws::cloudwatch::activity(
                &self.cloudwatch,
                Watched::Component(name),
                (start, end),
                period,
                actor.now,
            )
            .await?;
            if let Verdict::NotIdle(why) = decide::after_idle_check(&activity, window, None) {
                let reason = format!("inference component {name}: {why}");
                return Ok(match trigger {
                    SleepTrigger::IdleAlarm(_) => {
                        Found::Work(super::Work::SleepComponent(SleepWork::Rearm {
                            alarm: idle::alarm_name(&component.variant.endpoint, Some(name)),
                            reason,
                        }))
                    }
                    _ => Found::Nothing(Step::Declined(reason)),
                });
            }
        }
        let targets = aws::autoscaling::targets(&self.autoscaling, &[component.copies()]).await?;
        let target = targets.first().map(|t| t.capacity);
        let (record, previous, written) = match unwoken {
            Some(s) => (s.record.clone(), Some(s.version), true),
            None => (
                ComponentSleep {
                    component: name.clone(),
                    endpoint: component.variant.endpoint.clone(),
                    copies,
                    bounds: target,
                    since: actor.now,
                    woken: None,
                },
                stored.map(|s| s.version),
                false,
            ),
        };
        Ok(Found::Work(super::Work::SleepComponent(SleepWork::Zero {
            component: Box::new(component),
            record,
            previous,
            written,
            target,
        })))
    }

    pub(super) async fn sleep_component(&self, work: SleepWork) -> Result<Step, AwsError> {
        let (component, record, previous, written, target) = match work {
            SleepWork::Rearm { alarm, reason } => {
                aws::cloudwatch::rearm_alarm(&self.cloudwatch, &alarm, &reason).await?;
                return Ok(Step::Declined(reason));
            }
            SleepWork::Zero {
                component,
                record,
                previous,
                written,
                target,
            } => (component, record, previous, written, target),
        };
        let name = &component.name;
        if !written {
            self.keep_reach().await?;
            if self
                .table
                .put_component_sleep(&record, previous)
                .await?
                .is_none()
            {
                return Ok(Step::Deferred(
                    "another sagetide function wrote its sleep record first".into(),
                ));
            }
            let read = self.table.component_sleep(name).await?;
            if read.as_ref().map(|s| &s.record) != Some(&record) {
                return Ok(Step::Failed(format!(
                    "the sleep record of inference component {name} did not read back as written; its copies are left as they are"
                )));
            }
        }
        match target {
            // Application Auto Scaling takes the copies down to the new maximum.
            Some(_) => {
                aws::autoscaling::set_capacity(&self.autoscaling, &component.copies(), NO_COPIES)
                    .await?
            }
            None => aws::components::set_copies(&self.sagemaker, name, 0).await?,
        }
        // The mark last: a sleep cut short before it leaves a component ticks do not hold,
        // whose idle alarm they re-arm, and whose next sleep finishes from its record.
        let mark = SleepMark::AsleepSince(record.since);
        aws::components::mark_sleep(&self.sagemaker, &component.arn, mark).await?;
        Ok(Step::Applied(format!(
            "inference component {name}: {} copies -> 0 (kept in the table{})",
            record.copies,
            record
                .bounds
                .map(|b| format!(" with its bounds {b}"))
                .unwrap_or_default()
        )))
    }

    pub(super) async fn prepare_component_wake(
        &self,
        name: &ComponentName,
        source: WakeSource,
    ) -> Result<Found, AwsError> {
        let Some((component, _)) = aws::components::described(&self.sagemaker, name).await? else {
            return Ok(Found::Nothing(Step::Declined(format!(
                "inference component {name} does not exist"
            ))));
        };
        let Some(stored) = self
            .table
            .component_sleep(name)
            .await?
            .filter(|s| s.record.woken.is_none())
        else {
            return Ok(Found::Nothing(Step::AlreadyDone(format!(
                "inference component {name} is not asleep"
            ))));
        };
        if component.status != Status::InService {
            return Ok(Found::Nothing(Step::Deferred(format!(
                "inference component {name} is {}: it is woken once it is InService",
                component.status
            ))));
        }
        let sources = tags::wake_on(component.tag(tags::WAKE_ON)).map_err(|e| AwsError {
            operation: "sagetide",
            message: format!("inference component {name}: {e}"),
            refused: false,
        });
        match sources {
            Ok(sources) if !sources.contains(&source) => {
                return Ok(Found::Nothing(Step::Declined(format!(
                    "inference component {name}: its {} does not include {source}",
                    tags::WAKE_ON
                ))));
            }
            Ok(_) => {}
            // A manual wake is never refused for a bad tag: a person asks.
            Err(_) if source == WakeSource::Manual => {}
            Err(e) => return Ok(Found::Nothing(Step::Declined(e.message))),
        }
        Ok(Found::Work(super::Work::WakeComponent(WakeWork {
            component: Box::new(component),
            stored,
        })))
    }

    pub(super) async fn wake_component(
        &self,
        work: WakeWork,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        let WakeWork { component, stored } = work;
        let record = &stored.record;
        // The mark first: were it left, the next tick would hold the copies at zero again. A
        // sleep cut short before its mark left none to change.
        if component.asleep() {
            let mark = SleepMark::AwakeSince(actor.now);
            aws::components::mark_sleep(&self.sagemaker, &component.arn, mark).await?;
        }
        match record.bounds {
            // Application Auto Scaling raises the copies to a minimum above 0, and its
            // policies take them on from there: setting them beside would race it (a component
            // being updated takes no other change). At a minimum of 0 nothing raises them, and
            // nothing is updating: they are set.
            Some(bounds) => {
                aws::autoscaling::set_capacity(&self.autoscaling, &component.copies(), bounds)
                    .await?;
                if bounds.min() == 0 {
                    aws::components::set_copies(&self.sagemaker, &component.name, record.copies)
                        .await?;
                }
            }
            None => {
                aws::components::set_copies(&self.sagemaker, &component.name, record.copies).await?
            }
        }
        let woken = ComponentSleep {
            woken: Some(actor.now),
            ..record.clone()
        };
        if self
            .table
            .put_component_sleep(&woken, Some(stored.version))
            .await?
            .is_none()
        {
            return Ok(Step::Deferred(
                "another sagetide function changed its sleep record meanwhile".into(),
            ));
        }
        Ok(Step::Applied(match record.bounds {
            Some(bounds) if bounds.min() > 0 => format!(
                "inference component {}: bounds {bounds} back, its copies raised to {} (it had {})",
                component.name,
                bounds.min(),
                record.copies
            ),
            Some(bounds) => format!(
                "inference component {}: bounds {bounds} and {} copies back",
                component.name, record.copies
            ),
            None => format!(
                "inference component {}: {} copies back",
                component.name, record.copies
            ),
        }))
    }
}
