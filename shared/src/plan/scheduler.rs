//! What the scheduler wants done at one tick.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::{Action, Plan, Planned, Skipped};
use crate::capacity::Capacity;
use crate::config::Config;
use crate::fleet::{Endpoint, ScalableTarget};
use crate::names::{EndpointName, VariantName};
use crate::schedule::{Desired, Schedule};
use crate::tags::{self, Override};

/// Plans one tick for every endpoint tagged with a schedule. Level-triggered: the plan only
/// depends on what is observed now, so a missed or repeated tick changes nothing.
pub fn plan(
    endpoints: &[Endpoint],
    targets: &[ScalableTarget],
    config: &Config,
    now: Timestamp,
) -> Plan {
    let mut current: BTreeMap<&EndpointName, BTreeMap<&VariantName, Capacity>> = BTreeMap::new();
    for t in targets {
        current
            .entry(&t.variant.endpoint)
            .or_default()
            .insert(&t.variant.variant, t.capacity);
    }
    let no_targets = BTreeMap::new();
    let mut plan = Plan::default();
    for endpoint in endpoints {
        let targets = current.get(&endpoint.name).unwrap_or(&no_targets);
        match plan_endpoint(endpoint, targets, config, now) {
            Ok(actions) => plan.actions.extend(actions),
            Err(why) => plan.skipped.push(Skipped {
                endpoint: endpoint.name.clone(),
                why,
            }),
        }
    }
    plan
}

fn plan_endpoint(
    endpoint: &Endpoint,
    targets: &BTreeMap<&VariantName, Capacity>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let Some(name) = endpoint.tag(tags::SCHEDULE) else {
        return Ok(Vec::new());
    };
    let schedule = config.schedule(name).ok_or_else(|| {
        format!(
            "tag {} names schedule {name:?}, which the configuration does not define",
            tags::SCHEDULE
        )
    })?;
    if !endpoint.is_in_service() {
        return Err(format!(
            "status is {}: scaling waits until it is InService",
            endpoint.status
        ));
    }
    let override_tag = endpoint
        .tag(tags::OVERRIDE)
        .map(|value| Override::parse(value).map(|o| (o, value)))
        .transpose()
        .map_err(|e| format!("{e}; the endpoint is left as it is until the tag is fixed"))?;

    let mut actions = Vec::new();
    let mut planned = |action, reason: &str| {
        actions.push(Planned {
            endpoint: endpoint.name.clone(),
            action,
            reason: reason.to_owned(),
        })
    };
    let (desired, reason) = match override_tag {
        Some((o, _)) if now < o.until() => {
            (override_desired(schedule, o)?, format!("override {o}"))
        }
        Some((o, value)) => {
            planned(
                Action::RemoveOverride {
                    arn: endpoint.arn.clone(),
                    value: value.to_owned(),
                },
                &format!("override expired at {}", o.until()),
            );
            scheduled(schedule, now)
        }
        None => scheduled(schedule, now),
    };

    match desired {
        Desired::Awake(to) => {
            let variants: BTreeSet<&VariantName> = endpoint
                .variants
                .iter()
                .map(|v| &v.name)
                .chain(targets.keys().copied())
                .collect();
            for variant in variants {
                let from = targets.get(variant).copied();
                if from != Some(to) {
                    planned(
                        Action::SetCapacity {
                            variant: variant.clone(),
                            from,
                            to,
                        },
                        &reason,
                    );
                }
            }
        }
        Desired::Asleep => planned(Action::Sleep, &reason),
    }
    Ok(actions)
}

fn scheduled(schedule: &Schedule, now: Timestamp) -> (Desired, String) {
    let state = schedule.state_at(now);
    (
        state.desired,
        format!("schedule {}: {}", schedule.name, state.why),
    )
}

fn override_desired(schedule: &Schedule, o: Override) -> Result<Desired, String> {
    match o {
        Override::AwakeUntil(_) => schedule.awake_capacity().map(Desired::Awake).ok_or_else(|| {
            format!(
                "override {o}: schedule {} has no period whose capacity an awake endpoint could take",
                schedule.name
            )
        }),
        Override::AsleepUntil(_) => Ok(schedule.off_hours_desired()),
    }
}

#[cfg(test)]
mod tests;
