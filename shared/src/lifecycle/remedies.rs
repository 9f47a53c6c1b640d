//! A remediation rule's alarm change on one endpoint, under the endpoint's lease: observe the
//! targets, ask `remediation::decide`, then write the record and the targets in the order that
//! never loses the baseline.

use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

use super::{Actor, Found, Lifecycle, Step};
use crate::aws::{self, AwsError};
use crate::config::Config;
use crate::names::EndpointName;
use crate::plan::wanted::wanted;
use crate::remediation::{self, Change, Decision, Observed, Write};
use crate::resource::ScalableResource;
use crate::schedule::Desired;
use crate::tags::Tags;

/// A remedy decided on: the record to keep and the targets' writes, in the order that never
/// loses the baseline.
pub(super) struct Work {
    record: remediation::Record,
    writes: Vec<Write>,
    record_first: bool,
    /// The record's version in the table; `None`: there is none yet.
    version: Option<u64>,
    unchanged: bool,
}

impl Work {
    pub(super) fn preview(&self) -> Step {
        Step::DryRun(if self.writes.is_empty() {
            "its remediation record would be updated".into()
        } else {
            described(&self.writes)
        })
    }
}

impl Lifecycle {
    /// What the rule's alarm change means for the endpoint's targets (`remediation::decide`).
    pub(super) async fn prepare_remedy(
        &self,
        name: &EndpointName,
        change: &Change<'_>,
        config: &Config,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        let nothing = |step| Ok(Found::Nothing(step));
        let stored = self.table.remediation(name).await?;
        let Some(endpoint) = aws::sagemaker::endpoint(&self.sagemaker, name).await? else {
            return nothing(Step::Declined("no such endpoint".into()));
        };
        // A remedy acts on what opted in: the endpoint's targets if it carries sagetide's tags,
        // and each inference component it hosts that carries them (or whose endpoint does), or
        // whose target the record holds (so that the remedy ends on it too). Components that
        // cannot be read fail the remedy, which is tried again: one left out would keep its
        // remedy for good.
        let own = crate::tags::opted_in(&endpoint.tags);
        let held: BTreeSet<String> = stored
            .iter()
            .flat_map(|s| s.record.baseline.iter().flatten())
            .map(|b| b.target.clone())
            .collect();
        let hosted: Vec<_> = aws::components::hosted(&self.sagemaker, name)
            .await?
            .into_iter()
            .filter(|(c, _)| {
                own || crate::tags::opted_in(&c.tags) || held.contains(&c.copies().record_key())
            })
            .collect();
        if !own && hosted.is_empty() {
            return nothing(Step::Declined(
                "neither it nor an inference component it hosts carries sagetide's tags, so \
                 sagetide leaves it alone"
                    .into(),
            ));
        }
        let resources: Vec<_> = own
            .then(|| endpoint.scalable_resources())
            .into_iter()
            .flatten()
            .chain(hosted.iter().map(|(c, _)| c.copies()))
            .collect();
        let targets = aws::autoscaling::targets(&self.autoscaling, &resources).await?;
        let running: BTreeMap<ScalableResource, u32> = endpoint
            .running()
            .chain(hosted.iter().map(|(c, copies)| (c.copies(), *copies)))
            .collect();
        let schedule_of = |tags: &Tags| {
            let schedule = config.schedule(tags.get(crate::tags::SCHEDULE)?)?;
            match wanted(tags, schedule, actor.now) {
                Ok(w) => match w.desired {
                    Desired::Awake(c) => Some(c),
                    Desired::Asleep => None,
                },
                Err(why) => {
                    tracing::warn!(endpoint = %name, why, "schedule not applied to the remedy; the recorded minimum is used");
                    None
                }
            }
        };
        let mut scheduled = BTreeMap::new();
        if let Some(c) = schedule_of(&endpoint.tags) {
            scheduled.extend(endpoint.scalable_resources().map(|r| (r, c)));
        }
        for (component, _) in &hosted {
            if let Some(c) = schedule_of(&component.tags) {
                scheduled.insert(component.copies(), c);
            }
        }
        let observed = Observed {
            targets: &targets,
            running: &running,
            scheduled: &scheduled,
        };
        let previous = stored.as_ref().map(|s| &s.record);
        match remediation::decide(previous, change, &observed, config) {
            Decision::Ignore(reason) => nothing(Step::AlreadyDone(reason)),
            Decision::Change {
                record,
                writes,
                record_first,
            } => Ok(Found::Work(super::Work::Remedy(Work {
                unchanged: previous == Some(&record),
                record,
                writes,
                record_first,
                version: stored.as_ref().map(|s| s.version),
            }))),
        }
    }

    /// Writes the record and the targets, the record first where the decision says so.
    pub(super) async fn remedy(
        &self,
        name: &EndpointName,
        work: Work,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        let Work {
            record,
            writes,
            record_first,
            version,
            unchanged,
        } = work;
        if record_first && !unchanged && !self.store(name, &record, version, actor.now).await? {
            return Ok(Step::Deferred("its record changed meanwhile".into()));
        }
        for write in &writes {
            self.apply(write).await?;
        }
        if !record_first && !unchanged && !self.store(name, &record, version, actor.now).await? {
            return Ok(Step::Deferred("its record changed meanwhile".into()));
        }
        Ok(if writes.is_empty() {
            Step::AlreadyDone("the targets already are as the remedies in force want".into())
        } else {
            Step::Applied(described(&writes))
        })
    }

    async fn store(
        &self,
        name: &EndpointName,
        record: &remediation::Record,
        version: Option<u64>,
        now: Timestamp,
    ) -> Result<bool, AwsError> {
        Ok(self
            .table
            .put_remediation(name, record, version, now)
            .await?
            .is_some())
    }

    async fn apply(&self, write: &Write) -> Result<(), AwsError> {
        match write {
            Write::Suspended { resource, to } => {
                aws::autoscaling::set_suspended(&self.autoscaling, resource, *to).await
            }
            Write::Capacity { resource, to } => {
                aws::autoscaling::set_capacity(&self.autoscaling, resource, *to).await
            }
        }
    }
}

fn described(writes: &[Write]) -> String {
    writes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
