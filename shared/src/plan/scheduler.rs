//! What the scheduler wants done at one tick.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use super::sleepable::{SleepBy, SleepTrigger, component_eligibility, config_blocker, eligibility};
use super::wanted::wanted;
use super::{Action, Plan, Planned, Skipped};
use crate::capacity::Capacity;
use crate::component_sleep::NO_COPIES;
use crate::config::Config;
use crate::events::AlarmState;
use crate::fleet::{AlarmStatus, Component, ConfigFacts, Endpoint, ScalableTarget, Status};
use crate::idle::{self, ExistingAlarm, IdleAlarm};
use crate::names::EndpointName;
use crate::permissions::Allowed;
use crate::remediation::{Record, StoredRecord};
use crate::resource::ScalableResource;
use crate::schedule::{Desired, Schedule};
use crate::snapshot::{MANUAL_RETRIES, Phase, Stored};
use crate::tags::{self, Override, SleepMark, WakeSource};

/// What one tick observed: the endpoints that carry a schedule or an idle window, their
/// scalable targets, the snapshots not yet restored, and the idle alarms that exist.
/// Idle alarms are listed only where the table marks that some were made, or an endpoint
/// wants one; otherwise none exist and `idle_alarms` is empty.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub endpoints: &'a [Endpoint],
    pub targets: &'a [ScalableTarget],
    pub sleeping: &'a [Stored],
    pub idle_alarms: &'a [ExistingAlarm],
    /// Whether the table marks that idle alarms have been made here.
    pub idle_alarms_made: bool,
    /// The state of the wake alarms of sleeping endpoints, and of the alarms of remedies in
    /// force.
    pub alarms: &'a BTreeMap<String, AlarmStatus>,
    /// Remediation records with a remedy in force: a raise-min holds the minimum up.
    pub remediations: &'a [StoredRecord],
    /// Inference components with `sagetide:schedule`, `sagetide:idle-after` or
    /// `sagetide:sleep` of their own; `None` when they could not be found this tick (then
    /// they, and their idle alarms, are left as they are).
    pub components: Option<&'a [Component]>,
}

/// The alarms whose state decides something at a tick: the wake alarms of sleeping endpoints
/// and the alarms of remedies in force.
pub fn watched_alarms(sleeping: &[Stored], remediations: &[StoredRecord]) -> Vec<String> {
    let watched: BTreeSet<String> = sleeping
        .iter()
        .filter_map(|s| s.snapshot.wake_alarm().map(str::to_owned))
        .chain(remediations.iter().flat_map(|r| {
            r.record
                .triggers
                .values()
                .filter(|t| t.firing)
                .map(|t| t.alarm.clone())
        }))
        .collect();
    watched.into_iter().collect()
}

/// Plans one tick. Level-triggered: the plan only depends on what is observed now, so a missed
/// or repeated tick changes nothing.
pub fn plan(observed: &Observed, config: &Config, now: Timestamp) -> Plan {
    let mut current: BTreeMap<&EndpointName, BTreeMap<&ScalableResource, Capacity>> =
        BTreeMap::new();
    for t in observed.targets {
        current
            .entry(t.resource.endpoint())
            .or_default()
            .insert(&t.resource, t.capacity);
    }
    let sleeping: BTreeMap<&EndpointName, &Stored> = observed
        .sleeping
        .iter()
        .map(|s| (&s.snapshot.endpoint, s))
        .collect();
    let no_targets = BTreeMap::new();
    let mut plan = Plan::default();
    for endpoint in observed.endpoints {
        let targets = current.get(&endpoint.name).unwrap_or(&no_targets);
        // A snapshot left `sleeping` by a sleep that never deleted the endpoint does not stop
        // the schedule: the next sleep writes it again.
        let planned = match sleeping.get(&endpoint.name) {
            Some(stored) if stored.phase == Phase::Asleep => plan_woken(endpoint, stored, now),
            _ => {
                let held = observed
                    .remediations
                    .iter()
                    .find(|r| r.endpoint == endpoint.name)
                    .map(|r| &r.record);
                plan_endpoint(endpoint, targets, held, config, now)
            }
        };
        match planned {
            Ok(actions) => plan.actions.extend(actions),
            Err(why) => plan.skipped.push(Skipped {
                endpoint: endpoint.name.clone(),
                why,
            }),
        }
        if endpoint.tag(tags::SCHEDULE).is_some() {
            let unprovisioned = endpoint
                .variants
                .iter()
                .filter(|v| v.serverless.is_some_and(|s| s.provisioned.is_none()));
            plan.skipped.extend(unprovisioned.map(|v| Skipped {
                endpoint: endpoint.name.clone(),
                why: format!(
                    "variant {} is serverless without provisioned concurrency: it has nothing \
                     to schedule (it costs nothing idle); the other variants follow the schedule",
                    v.name
                ),
            }));
        }
    }
    for component in observed.components.unwrap_or_default() {
        let targets = current
            .get(&component.variant.endpoint)
            .unwrap_or(&no_targets);
        let held = observed
            .remediations
            .iter()
            .find(|r| r.endpoint == component.variant.endpoint)
            .map(|r| &r.record);
        match plan_component(component, targets, held, config, now) {
            Ok(actions) => plan.actions.extend(actions),
            Err(why) => plan.skipped.push(Skipped {
                endpoint: component.variant.endpoint.clone(),
                why: format!("component {}: {why}", component.name),
            }),
        }
    }
    let existing: BTreeSet<&EndpointName> = observed.endpoints.iter().map(|e| &e.name).collect();
    for stored in observed.sleeping {
        if existing.contains(&stored.snapshot.endpoint) {
            continue;
        }
        match plan_asleep(stored, observed.alarms, config, now) {
            Ok(actions) => plan.actions.extend(actions),
            Err(why) => plan.skipped.push(Skipped {
                endpoint: stored.snapshot.endpoint.clone(),
                why,
            }),
        }
    }
    plan.actions
        .extend(plan_idle_alarms(observed, &sleeping, config, now));
    plan.actions.extend(plan_cleared_remedies(
        observed.remediations,
        observed.alarms,
        config,
        now,
    ));
    plan
}

/// The endpoints whose sleep [`vet`] may need to stop: those `plan` would put to sleep or whose
/// idle alarm it would re-arm.
pub fn to_vet<'a>(plan: &Plan, endpoints: &'a [Endpoint]) -> Vec<&'a Endpoint> {
    endpoints
        .iter()
        .filter(|e| {
            plan.actions
                .iter()
                .any(|p| p.endpoint == e.name && asks_sleep(&p.action))
        })
        .collect()
}

/// The EndpointConfigs whose facts [`config_blocked`] and [`vet_zero_minimums`] need.
pub fn configs_to_vet<'a>(plan: &Plan, endpoints: &'a [Endpoint]) -> BTreeSet<&'a str> {
    let zeroed: BTreeSet<&EndpointName> = plan
        .actions
        .iter()
        .filter(|p| zeroes_instances(&p.action))
        .map(|p| &p.endpoint)
        .collect();
    to_vet(plan, endpoints)
        .into_iter()
        .chain(endpoints.iter().filter(|e| zeroed.contains(&e.name)))
        .filter_map(|e| e.config_name.as_deref())
        .collect()
}

/// Whether `action` gives a variant a minimum of 0 instances.
fn zeroes_instances(action: &Action) -> bool {
    matches!(action, Action::SetCapacity { resource: ScalableResource::Instances(_), to, .. } if to.min() == 0)
}

/// The resources `plan` gives a minimum of 0 that something should bring back from zero on
/// demand: an asynchronous variant's (after [`vet_zero_minimums`]), and any whose scale-from-zero
/// policy it would install. Whether one already does is worth knowing.
pub fn zeroed(plan: &Plan) -> Vec<ScalableResource> {
    plan.actions
        .iter()
        .filter_map(|p| match &p.action {
            Action::SetCapacity {
                resource,
                from_zero,
                ..
            } if *from_zero || zeroes_instances(&p.action) => Some(resource.clone()),
            _ => None,
        })
        .collect()
}

/// `plan` knowing which of the resources it gives a minimum of 0 are `coming_back` on demand
/// already: those install no scale-from-zero policy of sagetide's beside their owner's (two
/// would add two at once); of the others, an asynchronous variant without one to install is
/// noted: requests wait for the schedule's next period.
pub fn note_no_way_back(mut plan: Plan, coming_back: &BTreeSet<&ScalableResource>) -> Plan {
    for planned in &mut plan.actions {
        let zeroes = zeroes_instances(&planned.action);
        let Action::SetCapacity {
            resource,
            from_zero,
            ..
        } = &mut planned.action
        else {
            continue;
        };
        if coming_back.contains(&*resource) {
            *from_zero = false;
        } else if zeroes && !*from_zero {
            planned.reason.push_str(
                "; nothing brings it back from 0 instances before the schedule does: it has no \
                 step policy on HasBacklogWithoutCapacity (AWS's way to scale an asynchronous \
                 endpoint out from zero), so queued requests wait; add `request` to its \
                 sagetide:wake-on for sagetide to install one",
            );
        }
    }
    plan
}

/// `plan` without the changes that would install a scale-from-zero policy, when whether their
/// owners' own policies already do could not be read: two would add two at once. They are
/// planned again at the next tick.
pub fn defer_from_zero(mut plan: Plan) -> Plan {
    let (deferred, kept) = plan.actions.into_iter().partition(|p| {
        matches!(
            p.action,
            Action::SetCapacity {
                from_zero: true,
                ..
            }
        )
    });
    plan.actions = kept;
    plan.skipped
        .extend(deferred.into_iter().map(|p: Planned| Skipped {
            why: format!(
                "{}: waits for the next tick, as its scaling policies could not be read to \
                 tell whether one already brings it back from zero",
                p.action
            ),
            endpoint: p.endpoint,
        }));
    plan
}

/// Whether `action` takes an inference component to zero copies.
fn zeroes_copies(action: &Action) -> bool {
    matches!(action, Action::SetCapacity { resource: ScalableResource::Copies { .. }, to, .. } if to.max() == 0)
}

/// The endpoints whose inference components `plan` takes to zero copies: whether their
/// instances go too is worth knowing.
pub fn hosts_zeroed(plan: &Plan) -> BTreeSet<&EndpointName> {
    plan.actions
        .iter()
        .filter(|p| zeroes_copies(&p.action))
        .map(|p| &p.endpoint)
        .collect()
}

/// `plan` saying, of each component it takes to zero copies, whether its variant keeps
/// instances all the same (`hosts`, the endpoints as DescribeEndpoint reports them): only
/// managed instance scaling with a MinInstanceCount of 0 releases them.
pub fn note_instances_kept(mut plan: Plan, hosts: &[Endpoint]) -> Plan {
    for planned in &mut plan.actions {
        let Action::SetCapacity { resource, .. } = &planned.action else {
            continue;
        };
        if !zeroes_copies(&planned.action) {
            continue;
        }
        let variant = resource.variant();
        let kept = hosts
            .iter()
            .find(|e| e.name == variant.endpoint)
            .and_then(|e| e.variants.iter().find(|v| v.name == variant.variant))
            .map(|v| v.managed_min_instances);
        let note = match kept {
            Some(Some(0)) | None => continue,
            Some(Some(n)) => format!(
                "; its variant {} keeps {n} instance(s) with no copies (ManagedInstanceScaling \
                 MinInstanceCount {n}): set it to 0 for zero copies to release them",
                variant.variant
            ),
            Some(None) => format!(
                "; its variant {} keeps its instances with no copies (managed instance scaling \
                 is off): enable it with MinInstanceCount 0 for zero copies to release them",
                variant.variant
            ),
        };
        planned.reason.push_str(&note);
    }
    plan
}

/// `plan` without what the schedule asks of the variants of endpoints it gives a minimum of 0
/// instances they may not have: only an asynchronous endpoint's variants scale in to 0
/// (`facts` by config name say which are; where they could not be read, it waits).
pub fn vet_zero_minimums(
    mut plan: Plan,
    endpoints: &[Endpoint],
    facts: &HashMap<String, ConfigFacts>,
) -> Plan {
    let mut refused: BTreeMap<EndpointName, String> = BTreeMap::new();
    for planned in plan.actions.iter().filter(|p| zeroes_instances(&p.action)) {
        let Some(endpoint) = endpoints.iter().find(|e| e.name == planned.endpoint) else {
            continue;
        };
        let known = endpoint.config_name.as_deref().and_then(|c| facts.get(c));
        let why = match known {
            Some(f) if f.asynchronous => continue,
            Some(f) if f.unreadable.is_none() => format!(
                "{}, but a real-time variant cannot have 0 instances (only an asynchronous \
                 endpoint's can): to stop paying for it off-hours, give its schedule \
                 `off_hours: sleep`; its variants' capacity is not changed until then",
                planned.reason
            ),
            _ => format!(
                "{}, which only an asynchronous endpoint may have, and its EndpointConfig \
                 could not be read to tell; it is looked at again at the next tick",
                planned.reason
            ),
        };
        refused.entry(planned.endpoint.clone()).or_insert(why);
    }
    // Only what its own schedule asks of its variants: its components follow schedules of
    // their own, and the OK of a remedy is delivered whatever the schedule says.
    plan.actions.retain(|p| {
        !(refused.contains_key(&p.endpoint)
            && matches!(
                &p.action,
                Action::SetCapacity {
                    resource: ScalableResource::Instances(_)
                        | ScalableResource::ProvisionedConcurrency(_),
                    ..
                } | Action::Sleep(_)
            ))
    });
    plan.skipped.extend(
        refused
            .into_iter()
            .map(|(endpoint, why)| Skipped { endpoint, why }),
    );
    plan
}

/// The endpoints of `endpoints` whose EndpointConfig the deployment could not bring back
/// (`facts` by config name, as far as known), and why.
pub fn config_blocked(
    endpoints: &[Endpoint],
    facts: &HashMap<String, ConfigFacts>,
    allowed: &Allowed,
) -> BTreeMap<EndpointName, String> {
    endpoints
        .iter()
        .filter_map(|e| {
            let facts = facts.get(e.config_name.as_deref()?)?;
            Some((e.name.clone(), config_blocker(facts, allowed)?))
        })
        .collect()
}

/// `plan` without the sleeps, and the re-arms of idle alarms, of the `blocked` endpoints (why
/// each could not come back): the sleeper would decline each of them at every tick, and each
/// would take a place under the tick's limit of sleeps that a sleepable endpoint should have.
pub fn vet(mut plan: Plan, blocked: &BTreeMap<EndpointName, String>) -> Plan {
    let (kept, vetoed): (Vec<Planned>, Vec<Planned>) = plan
        .actions
        .into_iter()
        .partition(|p| !(asks_sleep(&p.action) && blocked.contains_key(&p.endpoint)));
    plan.actions = kept;
    plan.skipped.extend(vetoed.into_iter().map(|p| Skipped {
        why: format!(
            "{}, but it is not put to sleep: {}",
            p.reason, blocked[&p.endpoint]
        ),
        endpoint: p.endpoint,
    }));
    plan
}

/// The plan with no more than `limit` sleeps, the first by endpoint name; the others are
/// skipped, saying why, for a person to decide (see [`crate::env::SleepLimits`]).
pub fn limit_sleeps(mut plan: Plan, limit: usize) -> Plan {
    let mut sleepers: Vec<&EndpointName> = plan
        .actions
        .iter()
        .filter(|p| p.action == Action::Sleep(SleepBy::Schedule))
        .map(|p| &p.endpoint)
        .collect();
    let sleeps = sleepers.len();
    if sleeps <= limit {
        return plan;
    }
    sleepers.sort();
    let kept: BTreeSet<EndpointName> = sleepers.into_iter().take(limit).cloned().collect();
    let (actions, over): (Vec<Planned>, Vec<Planned>) = plan
        .actions
        .into_iter()
        .partition(|p| p.action != Action::Sleep(SleepBy::Schedule) || kept.contains(&p.endpoint));
    plan.actions = actions;
    plan.skipped.extend(over.into_iter().map(|p| Skipped {
        why: format!(
            "{}, but it is not put to sleep: this tick would put {sleeps} endpoints to sleep, more than the blast-radius limit of {limit} (SAGETIDE_MAX_SLEEPS_PER_TICK); if that is meant, raise the limit or sleep them by hand",
            p.reason
        ),
        endpoint: p.endpoint,
    }));
    plan
}

fn asks_sleep(action: &Action) -> bool {
    matches!(
        action,
        Action::Sleep(_) | Action::RearmIdleAlarm { component: None }
    )
}

/// A remedy in force whose alarm has been OK since after it fired: the OK event was lost, or
/// came while the endpoint could not be changed (asleep, say). The tick delivers it again, as
/// the alarm's state says; an alarm that was deleted counts as OK from now. So no remedy
/// outlives its alarm.
fn plan_cleared_remedies(
    remediations: &[StoredRecord],
    alarms: &BTreeMap<String, AlarmStatus>,
    config: &Config,
    now: Timestamp,
) -> Vec<Planned> {
    let mut actions = Vec::new();
    for stored in remediations {
        for trigger in stored.record.triggers.values() {
            if !trigger.firing || config.rule(&trigger.rule).is_none() {
                continue;
            }
            let alarm = trigger.alarm.as_str();
            let (since, reason) = match alarms.get(alarm) {
                Some(a) if a.firing || a.since <= trigger.at => continue,
                Some(a) => (
                    a.since,
                    format!(
                        "rule {}: alarm {alarm} is OK since {}",
                        trigger.rule, a.since
                    ),
                ),
                None => (
                    now,
                    format!("rule {}: alarm {alarm} no longer exists", trigger.rule),
                ),
            };
            actions.push(Planned {
                endpoint: stored.endpoint.clone(),
                action: Action::Remedy {
                    rule: trigger.rule.clone(),
                    alarm: alarm.to_owned(),
                    state: AlarmState::Ok,
                    at: since,
                },
                reason,
            });
        }
    }
    actions
}

/// An endpoint that exists while its snapshot is not restored: it was woken, and its
/// autoscaling comes back first (the restorer's event may have been lost). Until then, the
/// schedule leaves it alone. A wake that failed is cleaned up and tried again later, and one
/// that takes far too long is reported.
fn plan_woken(
    endpoint: &Endpoint,
    stored: &Stored,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let planned = |action, reason| {
        Ok(vec![Planned {
            endpoint: endpoint.name.clone(),
            action,
            reason,
        }])
    };
    let slow = stored.wake.as_ref().filter(|w| w.is_slow(now));
    match (&endpoint.status, slow) {
        (Status::InService, _) => planned(
            Action::Restore,
            format!(
                "InService with snapshot v{} not restored yet",
                stored.version
            ),
        ),
        (Status::Failed, _) => planned(
            Action::RecoverWake,
            format!(
                "its wake failed: {}",
                endpoint
                    .failure_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        ),
        (Status::Creating, Some(wake)) => planned(
            Action::RecoverWake,
            format!("still Creating since {}", wake.asked_at),
        ),
        // Its sleep's delete (or a failed wake's) is not over: nothing can be created under
        // its name before it is gone.
        (Status::Deleting, _) => Err("still being deleted: it can be woken once it is gone".into()),
        (status, _) => Err(format!(
            "woken, status {status}: its autoscaling is restored once it is InService"
        )),
    }
}

/// An endpoint gone with its snapshot in the table: woken if something wants it awake (see
/// [`plan_wake`]); else, if the sleep that deleted it stopped before recording that, the sleep
/// is finished, so a sleep cut short is healed by the next tick whatever started it.
fn plan_asleep(
    stored: &Stored,
    alarms: &BTreeMap<String, AlarmStatus>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let woken = plan_wake(stored, alarms, config, now);
    if stored.phase != Phase::Sleeping || woken.as_ref().is_ok_and(|w| !w.is_empty()) {
        return woken;
    }
    Ok(vec![Planned {
        endpoint: stored.snapshot.endpoint.clone(),
        action: Action::Sleep(SleepBy::Schedule),
        reason: format!(
            "deleted by a sleep that stopped before recording it (snapshot v{})",
            stored.version
        ),
    }])
}

/// A sleeping endpoint: woken while its wake alarm is in ALARM (an alarm reports changes
/// once, and that event may have come while the endpoint could not be woken), when its
/// schedule enters a period (or its prewarm) or an awake override holds, or when a manual wake
/// failed; each only if its `sagetide:wake-on` allows it, and not before a failed wake's
/// retry time.
pub fn plan_wake(
    stored: &Stored,
    alarms: &BTreeMap<String, AlarmStatus>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let Some((source, alarm, reason)) = wanted_awake(stored, alarms, config, now)? else {
        return Ok(Vec::new());
    };
    if let Some(wake) = stored.wake.as_ref().filter(|w| !w.may_retry(now)) {
        return Err(format!("{reason}, but {}", wake.held_back()));
    }
    Ok(vec![Planned {
        endpoint: stored.snapshot.endpoint.clone(),
        action: Action::Wake { source, alarm },
        reason,
    }])
}

/// What wants the sleeping endpoint awake now, if anything does.
fn wanted_awake(
    stored: &Stored,
    alarms: &BTreeMap<String, AlarmStatus>,
    config: &Config,
    now: Timestamp,
) -> Result<Option<(WakeSource, Option<String>, String)>, String> {
    let snapshot = &stored.snapshot;
    let allowed = tags::wake_on(snapshot.tags.get(tags::WAKE_ON).map(String::as_str))
        .map_err(|e| e.to_string())?;
    if let Some(alarm) = snapshot.wake_alarm()
        && allowed.contains(&WakeSource::Alarm)
        && alarms.get(alarm).is_some_and(|a| a.firing)
    {
        let reason = format!("wake alarm {alarm} is in ALARM");
        return Ok(Some((WakeSource::Alarm, Some(alarm.to_owned()), reason)));
    }
    if let Some(wake) = &stored.wake
        && wake.source == WakeSource::Manual
        && (1..=MANUAL_RETRIES).contains(&wake.failures)
        && allowed.contains(&WakeSource::Manual)
    {
        let reason = format!("the manual wake of {} failed; trying again", wake.asked_at);
        return Ok(Some((WakeSource::Manual, None, reason)));
    }
    let Some(name) = snapshot.tags.get(tags::SCHEDULE) else {
        return Ok(None);
    };
    let schedule = unknown_schedule(config, name)?;
    if !allowed.contains(&WakeSource::Schedule) {
        return Ok(None);
    }
    let wanted = wanted(&snapshot.tags, schedule, now)?;
    Ok(match wanted.desired {
        Desired::Awake(_) if wanted.in_period => Some((WakeSource::Schedule, None, wanted.reason)),
        _ => None,
    })
}

fn unknown_schedule<'c>(config: &'c Config, name: &str) -> Result<&'c Schedule, String> {
    config.schedule(name).ok_or_else(|| {
        format!(
            "tag {} names schedule {name:?}, which the configuration does not define",
            tags::SCHEDULE
        )
    })
}

/// Every endpoint with a valid `sagetide:idle-after` has its idle alarm, as its variants and
/// window say; the alarms of endpoints that are gone or lost the tag are deleted. An alarm that
/// a declined sleep left in ALARM is re-armed once the endpoint may sleep (its period is over,
/// say), so that it asks again.
fn plan_idle_alarms(
    observed: &Observed,
    sleeping: &BTreeMap<&EndpointName, &Stored>,
    config: &Config,
    now: Timestamp,
) -> Vec<Planned> {
    let existing: BTreeMap<String, &ExistingAlarm> = observed
        .idle_alarms
        .iter()
        .map(|a| (a.alarm.name(), a))
        .collect();
    let asleep = |name: &EndpointName| sleeping.get(name).is_some_and(|s| s.phase == Phase::Asleep);
    let mut actions = Vec::new();
    let mut wanted = BTreeSet::new();
    for endpoint in observed.endpoints {
        let Some(value) = endpoint.tag(tags::IDLE_AFTER) else {
            continue;
        };
        wanted.insert(idle::alarm_name(&endpoint.name, None));
        // Put to sleep a moment ago (its alarm went with it), or failed: it gets none.
        if matches!(endpoint.status, Status::Deleting | Status::Failed) {
            continue;
        }
        let window = match tags::idle_after(value) {
            Ok(window) => window,
            Err(_) => continue,
        };
        if endpoint.variants.is_empty() {
            continue;
        }
        let alarm = IdleAlarm::new(
            endpoint.name.clone(),
            endpoint.variants.iter().map(|v| v.name.clone()),
            window,
        );
        let may_sleep = || {
            !asleep(&endpoint.name)
                && eligibility(endpoint, SleepTrigger::IdleAlarm(config), now).is_ok()
        };
        let found = existing.get(&alarm.name()).copied();
        actions.extend(
            idle_alarm_action(alarm, found, observed.idle_alarms_made, may_sleep).map(|action| {
                let reason = match action {
                    Action::PutIdleAlarm { .. } => format!("{} = {value}", tags::IDLE_AFTER),
                    _ => "in ALARM since a sleep it asked for was declined; the endpoint may \
                          sleep now"
                        .into(),
                };
                Planned {
                    endpoint: endpoint.name.clone(),
                    action,
                    reason,
                }
            }),
        );
    }
    for component in observed.components.unwrap_or_default() {
        let Some(value) = component.tag(tags::IDLE_AFTER) else {
            continue;
        };
        let endpoint = &component.variant.endpoint;
        let name = idle::alarm_name(endpoint, Some(&component.name));
        wanted.insert(name.clone());
        if matches!(component.status, Status::Deleting | Status::Failed) {
            continue;
        }
        let Ok(window) = tags::idle_after(value) else {
            continue;
        };
        let alarm = IdleAlarm::of_component(endpoint.clone(), component.name.clone(), window);
        let may_sleep = || {
            !component.asleep()
                && component_eligibility(component, SleepTrigger::IdleAlarm(config), now).is_ok()
        };
        let found = existing.get(&name).copied();
        actions.extend(
            idle_alarm_action(alarm, found, observed.idle_alarms_made, may_sleep).map(|action| {
                let reason = match action {
                    Action::PutIdleAlarm { .. } => format!(
                        "component {}: {} = {value}",
                        component.name,
                        tags::IDLE_AFTER
                    ),
                    _ => format!(
                        "in ALARM since a sleep of component {} it asked for was declined; it \
                         may sleep now",
                        component.name
                    ),
                };
                Planned {
                    endpoint: endpoint.clone(),
                    action,
                    reason,
                }
            }),
        );
    }
    let components_known = observed.components.is_some();
    for alarm in observed.idle_alarms {
        let known = alarm.alarm.component.is_none() || components_known;
        if known && !wanted.contains(&alarm.alarm.name()) {
            let reason = match &alarm.alarm.component {
                Some(component) => {
                    format!(
                        "no inference component {component} with {} by this name",
                        tags::IDLE_AFTER
                    )
                }
                // Not gone: asleep, with nothing to watch until it wakes.
                None if asleep(&alarm.alarm.endpoint) => {
                    "asleep: its idle alarm is made again when it wakes".into()
                }
                None => format!("no endpoint with {} by this name", tags::IDLE_AFTER),
            };
            actions.push(Planned {
                endpoint: alarm.alarm.endpoint.clone(),
                action: Action::DeleteIdleAlarm {
                    component: alarm.alarm.component.clone(),
                },
                reason,
            });
        }
    }
    actions
}

/// What an idle alarm `alarm` needs, `found` being the one that exists: put when it is missing
/// or differs (`made`: the table already marks that idle alarms are made here); re-armed when a
/// declined sleep left it in ALARM and the sleep `may_sleep` now.
fn idle_alarm_action(
    alarm: IdleAlarm,
    found: Option<&ExistingAlarm>,
    made: bool,
    may_sleep: impl FnOnce() -> bool,
) -> Option<Action> {
    match found {
        Some(f) if f.alarm == alarm => {
            (f.firing && may_sleep()).then_some(Action::RearmIdleAlarm {
                component: alarm.component,
            })
        }
        _ => Some(Action::PutIdleAlarm {
            alarm,
            mark_first: !made,
        }),
    }
}

fn plan_endpoint(
    endpoint: &Endpoint,
    targets: &BTreeMap<&ScalableResource, Capacity>,
    remediation: Option<&Record>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let Some(name) = endpoint.tag(tags::SCHEDULE) else {
        return Ok(Vec::new());
    };
    let schedule = unknown_schedule(config, name)?;
    if !endpoint.is_in_service() {
        return Err(format!(
            "status is {}: scaling waits until it is InService",
            endpoint.status
        ));
    }
    let wanted = wanted(&endpoint.tags, schedule, now)?;
    let mut actions = Vec::new();
    let mut planned = |action, reason: &str| {
        actions.push(Planned {
            endpoint: endpoint.name.clone(),
            action,
            reason: reason.to_owned(),
        })
    };
    if let Some(value) = endpoint.tag(tags::OVERRIDE)
        && let Ok(o) = Override::parse(value)
        && now >= o.until()
    {
        planned(
            Action::RemoveOverride {
                arn: endpoint.arn.clone(),
                value: value.to_owned(),
            },
            &format!("override expired at {}", o.until()),
        );
    }
    let (desired, reason) = (wanted.desired, wanted.reason);
    match desired {
        Desired::Awake(to) => {
            for resource in endpoint.scalable_resources() {
                let from = targets.get(&resource).copied();
                let (to, reason) = within_concurrency(to, &reason, endpoint, &resource);
                let (to, reason) = held_up(to, &reason, remediation, &resource);
                if from != Some(to) {
                    let from_zero = from_zero_wanted(&resource, to, &endpoint.tags);
                    let action = Action::SetCapacity {
                        resource,
                        from,
                        to,
                        from_zero,
                    };
                    planned(action, &reason);
                }
            }
        }
        Desired::Asleep => match endpoint.why_not_sleepable() {
            Some(why) => return Err(format!("{reason}, but it is not put to sleep: {why}")),
            None => planned(Action::Sleep(SleepBy::Schedule), &reason),
        },
    }
    Ok(actions)
}

/// `to`, capped at a serverless variant's MaxConcurrency for its provisioned concurrency, which
/// may not exceed it.
fn within_concurrency(
    to: Capacity,
    reason: &str,
    endpoint: &Endpoint,
    resource: &ScalableResource,
) -> (Capacity, String) {
    let ScalableResource::ProvisionedConcurrency(v) = resource else {
        return (to, reason.to_owned());
    };
    let most = endpoint
        .variants
        .iter()
        .find(|found| found.name == v.variant)
        .and_then(|found| found.serverless)
        .map(|s| s.max_concurrency);
    match most {
        Some(most) if to.max() > most => (
            Capacity::new(to.min().min(most), most).expect("both at most `most`"),
            format!(
                "{reason}; capped at variant {}'s MaxConcurrency {most}",
                v.variant
            ),
        ),
        _ => (to, reason.to_owned()),
    }
}

/// `to`, its minimum held up where a raise-min remedy in force holds `resource`'s; the
/// schedule's bounds still cap it, as the remediator does.
fn held_up(
    to: Capacity,
    reason: &str,
    remediation: Option<&Record>,
    resource: &ScalableResource,
) -> (Capacity, String) {
    match remediation.and_then(|r| r.held_min(resource)) {
        Some(held) if held > to.min() => (
            Capacity::new(held.min(to.max()), to.max()).expect("capped at max"),
            format!("{reason}; minimum held at {held} by a raise-min remedy"),
        ),
        _ => (to, reason.to_owned()),
    }
}

/// An inference component on its own schedule: its copies follow it, and off-hours of an
/// `off_hours: sleep` schedule are zero copies (nothing is deleted; with the endpoint's managed
/// instance scaling allowed to reach 0 instances, the instances go too). With `request` in its
/// `sagetide:wake-on`, those off-hours open, once its copies are gone, to 0..its periods'
/// largest max with the scale-from-zero policy: a request brings copies back. One sagetide put
/// to sleep when idle is held at zero copies until its period begins (with `schedule` in its
/// `sagetide:wake-on`) or a person wakes it.
fn plan_component(
    component: &Component,
    targets: &BTreeMap<&ScalableResource, Capacity>,
    remediation: Option<&Record>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<Planned>, String> {
    let schedule = component
        .tag(tags::SCHEDULE)
        .map(|name| unknown_schedule(config, name))
        .transpose()?;
    if schedule.is_none() && !component.asleep() {
        return Ok(Vec::new());
    }
    if component.status != Status::InService {
        return Err(format!(
            "status is {}: scaling waits until it is InService",
            component.status
        ));
    }
    let wanted = schedule
        .map(|s| wanted(&component.tags, s, now))
        .transpose()?;
    let resource = component.copies();
    let from = targets.get(&resource).copied();
    let request = component.wakes_on(WakeSource::Request);
    let planned = |action, reason| {
        Ok(vec![Planned {
            endpoint: component.variant.endpoint.clone(),
            action,
            reason,
        }])
    };
    if let Some(mark @ SleepMark::AsleepSince(_)) = component.sleep_mark() {
        if let Some(w) = wanted.filter(|w| w.in_period)
            && component.wakes_on(WakeSource::Schedule)
        {
            let action = Action::WakeComponent {
                component: component.name.clone(),
                source: WakeSource::Schedule,
            };
            return planned(action, w.reason);
        }
        // Without a target its copies were set to 0 directly, and nothing raises them.
        let Some(from) = from.filter(|f| *f != NO_COPIES) else {
            return Ok(Vec::new());
        };
        let action = Action::SetCapacity {
            resource,
            from: Some(from),
            to: NO_COPIES,
            from_zero: false,
        };
        return planned(action, format!("{} {mark}", tags::SLEEP));
    }
    let (Some(schedule), Some(wanted)) = (schedule, wanted) else {
        return Ok(Vec::new());
    };
    let to = match wanted.desired {
        Desired::Awake(capacity) => capacity,
        // Application Auto Scaling lowers copies to a new maximum only: a component being
        // updated takes no other change, so the bounds open at a later tick, from none.
        Desired::Asleep => match from {
            Some(f) if request && f.min() == 0 && f.max() == 0 => {
                let max = schedule.awake_capacity().map_or(1, Capacity::max).max(1);
                Capacity::new(0, max).expect("0 <= max")
            }
            Some(f) if request && f.min() == 0 && f.max() > 0 => f,
            _ => NO_COPIES,
        },
    };
    let (to, reason) = held_up(to, &wanted.reason, remediation, &resource);
    if from == Some(to) {
        return Ok(Vec::new());
    }
    let from_zero = from_zero_wanted(&resource, to, &component.tags);
    planned(
        Action::SetCapacity {
            resource,
            from,
            to,
            from_zero,
        },
        reason,
    )
}

/// Whether bounds `to` leave `resource` at a minimum of 0 with room above it, for an owner
/// whose `sagetide:wake-on` has `request`: then the policy that brings it back from zero goes
/// in first. Only with a change of bounds, so a steady tick reads and puts no policies, and a
/// policy that could not be put keeps the bounds for the next tick to try again.
fn from_zero_wanted(resource: &ScalableResource, to: Capacity, tags: &tags::Tags) -> bool {
    to.min() == 0
        && to.max() > 0
        && resource.from_zero().is_some()
        && tags::wake_on(tags.get(tags::WAKE_ON).map(String::as_str))
            .is_ok_and(|s| s.contains(&WakeSource::Request))
}

#[cfg(test)]
mod tests;
