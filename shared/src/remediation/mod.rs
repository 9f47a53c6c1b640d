//! Alarm-triggered remediation: rules from the configuration map alarms to remedies, and an
//! endpoint's record in the table keeps what its targets were before the first remedy began.
//! Everything here is pure; the remediator handler observes and acts.
//!
//! Alarm state changes arrive at least once and in any order, so each (rule, alarm) keeps the
//! time of the last state it took: an older change is ignored, and the remedies in force are
//! those of the pairs whose last state is ALARM. When the first one fires, the targets'
//! settings are recorded (the *baseline*); when the last one clears, they are put back.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::capacity::Capacity;
use crate::config::{Config, Remedy, Rule};
use crate::events::AlarmState;
use crate::fleet::ScalableTarget;
use crate::names::EndpointName;
use crate::resource::ScalableResource;
use crate::snapshot::Suspended;

/// Identifies one (rule, alarm) pair within an endpoint's record.
pub fn trigger_key(rule: &str, alarm: &str) -> String {
    format!("{rule}/{alarm}")
}

/// An endpoint's remediation record, kept in the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The last state seen of each (rule, alarm), keyed by [`trigger_key`].
    pub triggers: BTreeMap<String, Trigger>,
    /// The targets' settings before the first remedy began; `None` when nothing fires.
    pub baseline: Option<Vec<Baseline>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub rule: String,
    pub alarm: String,
    /// The rule's remedy suspends scale-in (kept here: the rule may change meanwhile).
    pub suspends: bool,
    pub firing: bool,
    pub at: Timestamp,
    /// raise-min: the minimum this trigger holds each target at (by
    /// [`ScalableResource::record_key`]), fixed when it fired (so a fleet that grows
    /// meanwhile does not ratchet the minimum up).
    #[serde(default)]
    pub raise: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The target, by [`ScalableResource::record_key`].
    #[serde(rename = "variant")]
    pub target: String,
    pub suspended: Suspended,
    pub min: u32,
}

/// A record as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub endpoint: EndpointName,
    pub record: Record,
    pub version: u64,
}

impl Record {
    /// The minimum the firing raise-min triggers hold `target` at, if any.
    pub fn held_min(&self, target: &ScalableResource) -> Option<u32> {
        self.triggers
            .values()
            .filter(|t| t.firing)
            .filter_map(|t| t.raise.get(&target.record_key()).copied())
            .max()
    }

    fn firing(&self) -> impl Iterator<Item = &Trigger> {
        self.triggers.values().filter(|t| t.firing)
    }
}

/// A change to one variant's scalable target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Suspended {
        resource: ScalableResource,
        to: Suspended,
    },
    Capacity {
        resource: ScalableResource,
        to: Capacity,
    },
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Suspended { resource, to } => write!(
                f,
                "{}: suspended in={} out={} scheduled={}",
                resource.within_endpoint(),
                to.dynamic_scaling_in,
                to.dynamic_scaling_out,
                to.scheduled_scaling
            ),
            Write::Capacity { resource, to } => {
                write!(f, "{}: capacity {to}", resource.within_endpoint())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Older than what the record already holds, or nothing to do for this state.
    Ignore(String),
    /// Store `record` (unless unchanged) and carry out `writes`, the record first when a
    /// remedy starts and last when one ends.
    Change {
        record: Record,
        writes: Vec<Write>,
        record_first: bool,
    },
}

/// What one rule's alarm state change means for one endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub rule: &'a Rule,
    pub alarm: &'a str,
    pub state: AlarmState,
    pub at: Timestamp,
}

/// The endpoint as observed: its targets (its inference components' too), what each runs
/// (instances, provisioned concurrency, copies), and the capacity each one's schedule wants now
/// (none where no schedule applies).
pub struct Observed<'a> {
    pub targets: &'a [ScalableTarget],
    pub running: &'a BTreeMap<ScalableResource, u32>,
    pub scheduled: &'a BTreeMap<ScalableResource, Capacity>,
}

pub fn decide(
    stored: Option<&Record>,
    change: &Change,
    observed: &Observed,
    config: &Config,
) -> Decision {
    let firing = match change.state {
        AlarmState::Alarm => true,
        AlarmState::Ok => false,
        AlarmState::InsufficientData => {
            return Decision::Ignore("INSUFFICIENT_DATA neither starts nor ends a remedy".into());
        }
    };
    let key = trigger_key(&change.rule.name, change.alarm);
    let mut record = stored.cloned().unwrap_or_default();
    let seen = record.triggers.get(&key).cloned();
    // Strictly older only: the same change again is worked out again (and changes nothing if
    // it was carried out), so a run cut short is finished by the retry of its event.
    if let Some(seen) = &seen
        && change.at < seen.at
    {
        return Decision::Ignore(format!(
            "a {} change at {} is older than the {} already seen at {}",
            if firing { "ALARM" } else { "OK" },
            change.at,
            if seen.firing { "ALARM" } else { "OK" },
            seen.at
        ));
    }
    // A trigger whose rule left the configuration counts as cleared.
    record
        .triggers
        .retain(|_, t| config.rule(&t.rule).is_some());
    let raise = match (firing, change.rule.remedy, &seen) {
        // Fixed when the alarm first fired: a fleet that grows meanwhile does not ratchet it.
        (true, _, Some(seen)) if seen.firing => seen.raise.clone(),
        (true, Remedy::RaiseMin(n), _) => observed
            .targets
            .iter()
            .map(|t| {
                let wanted =
                    n.unwrap_or_else(|| observed.running.get(&t.resource).copied().unwrap_or(0));
                (t.resource.record_key(), wanted.min(t.capacity.max()))
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    record.triggers.insert(
        key,
        Trigger {
            rule: change.rule.name.clone(),
            alarm: change.alarm.to_owned(),
            suspends: change.rule.remedy == Remedy::SuspendScaleIn,
            firing,
            at: change.at,
            raise,
        },
    );

    let any_firing = record.firing().next().is_some();
    // The baseline holds every variant as it was before a remedy first touched it, including
    // variants that appear while remedies are in force.
    let mut baseline = record.baseline.clone().unwrap_or_default();
    if any_firing {
        for t in observed.targets {
            let target = t.resource.record_key();
            if !baseline.iter().any(|b| b.target == target) {
                baseline.push(Baseline {
                    target,
                    suspended: t.suspended,
                    min: t.capacity.min(),
                });
            }
        }
    }
    // A remedy only touches what it is about: the scale-in flag while a suspend-scale-in fires
    // (or just stopped), the minimum while a raise-min holds it (or just let go).
    let suspending = |r: &Record| r.firing().any(|t| t.suspends);
    let suspend = suspending(&record);
    let was_suspending = stored.is_some_and(suspending);
    let mut writes = Vec::new();
    for target in observed.targets {
        let key = target.resource.record_key();
        let Some(base) = baseline.iter().find(|b| b.target == key) else {
            continue;
        };
        if suspend || was_suspending {
            let scale_in = suspend || base.suspended.dynamic_scaling_in;
            if target.suspended.dynamic_scaling_in != scale_in {
                writes.push(Write::Suspended {
                    resource: target.resource.clone(),
                    to: Suspended {
                        dynamic_scaling_in: scale_in,
                        ..target.suspended
                    },
                });
            }
        }
        let held = record.held_min(&target.resource);
        let was_held = stored.and_then(|r| r.held_min(&target.resource));
        if held.is_none() && was_held.is_none() {
            continue;
        }
        // The schedule's minimum, when a schedule applies, is what the scheduler would set
        // without the remedy: restoring to it agrees with the next tick.
        let floor = observed
            .scheduled
            .get(&target.resource)
            .map_or(base.min, |c| c.min());
        let min = held
            .map_or(floor, |held| held.max(floor))
            .min(target.capacity.max());
        if min != target.capacity.min() {
            let to = Capacity::new(min, target.capacity.max()).expect("min is capped at max");
            writes.push(Write::Capacity {
                resource: target.resource.clone(),
                to,
            });
        }
    }
    record.baseline = any_firing.then_some(baseline);
    Decision::Change {
        // Starting a remedy: the baseline is stored before anything changes. Ending one: the
        // targets change first, so a run cut short still finds the trigger firing and the
        // baseline to restore when its event comes again.
        record_first: firing,
        record,
        writes,
    }
}

#[cfg(test)]
mod tests;
