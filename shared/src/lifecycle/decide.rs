//! Pure decisions of sleep, wake and restore: what to do given what is observed now. No call is
//! made here; `super` observes, asks, and carries the answer out.

use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::fleet::Endpoint;
use crate::plan::wanted::{Wanted, wanted};
use crate::remediation::Remedy;
use crate::schedule::Desired;
use crate::snapshot::{Phase, Stored};
use crate::tags::{self, Override, WakeSource};

/// The API's status of an endpoint whose deletion has begun.
const DELETING: &str = "Deleting";

/// What asked for a sleep. Every sleep looks the endpoint's schedule up again in the
/// configuration, against the tags just read: an idle endpoint inside a scheduled period stays
/// awake, and a scheduled sleep happens only while its schedule wants it asleep.
#[derive(Debug, Clone, Copy)]
pub enum SleepTrigger<'a> {
    /// The endpoint's idle alarm went to ALARM.
    IdleAlarm(&'a Config),
    /// `{"action":"sleep"}`; `force` skips the idle check, never the tag check.
    Manual { force: bool, config: &'a Config },
    /// Off-hours of an `off_hours: sleep` schedule.
    Schedule(&'a Config),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SleepDecision {
    Verdict(Verdict),
    /// Eligible if `Invocations` were zero over the whole window ending now
    /// (see [`after_idle_check`]).
    CheckIdle {
        window: SignedDuration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not eligible; nothing changes.
    Decline(String),
    /// A previous run wrote the snapshot and deleted the endpoint but stopped before recording
    /// it: record it now.
    Finish { version: u64 },
    /// Asleep already.
    Done(String),
    /// Take the snapshot (as the version after `previous`) and delete.
    Sleep { previous: Option<u64> },
}

/// Decides a sleep from the endpoint as DescribeEndpoint and ListTags see it (`None`: it does
/// not exist) and its stored snapshot.
pub fn sleep(
    endpoint: Option<&Endpoint>,
    stored: Option<&Stored>,
    trigger: SleepTrigger<'_>,
    now: Timestamp,
) -> SleepDecision {
    use Verdict::*;
    let verdict = |v| SleepDecision::Verdict(v);
    let gone = endpoint.is_none_or(|e| e.status == DELETING);
    match (stored.map(|s| (s.phase, s.version)), gone) {
        (Some((Phase::Sleeping, version)), true) => return verdict(Finish { version }),
        (Some((Phase::Asleep, _)), true) => return verdict(Done("already asleep".into())),
        (Some((Phase::Asleep, _)), false) => {
            return verdict(Decline(
                "it was woken and its autoscaling is not restored yet; the restorer finishes first"
                    .into(),
            ));
        }
        _ => {}
    }
    let Some(endpoint) = endpoint else {
        return verdict(Decline("no such endpoint".into()));
    };
    let (opt_in, config, force) = match trigger {
        SleepTrigger::Schedule(config) => (tags::SCHEDULE, config, false),
        SleepTrigger::IdleAlarm(config) => (tags::IDLE_AFTER, config, false),
        SleepTrigger::Manual { force, config } => (tags::IDLE_AFTER, config, force),
    };
    let Some(opt_in_value) = endpoint.tag(opt_in) else {
        return verdict(Decline(format!("it does not have the opt-in tag {opt_in}")));
    };
    if !endpoint.is_in_service() {
        return verdict(Decline(format!(
            "its status is {}, not InService",
            endpoint.status
        )));
    }
    if let Err(why) = can_be_woken(
        endpoint,
        config,
        matches!(trigger, SleepTrigger::Schedule(_)),
    ) {
        return verdict(Decline(why));
    }
    let wanted = match wanted_now(endpoint, config, now) {
        Ok(wanted) => wanted,
        Err(why) => return verdict(Decline(why)),
    };
    let previous = stored.map(|s| s.version);
    if let SleepTrigger::Schedule(_) = trigger {
        return verdict(match wanted {
            Some(w) if w.desired == Desired::Asleep => Sleep { previous },
            Some(w) => Decline(format!("{} wants it awake now", w.reason)),
            None => Decline("its schedule is unknown".into()),
        });
    }
    if let Some(w) = wanted.filter(|w| w.in_period) {
        return verdict(Decline(format!("{}: it stays awake", w.reason)));
    }
    if let Some(Ok(o @ Override::AwakeUntil(until))) =
        endpoint.tag(tags::OVERRIDE).map(Override::parse)
        && now < until
    {
        return verdict(Decline(format!("override {o} holds")));
    }
    let window = match tags::idle_after(opt_in_value) {
        Ok(window) => window,
        Err(e) => return verdict(Decline(e.to_string())),
    };
    if force {
        return verdict(Sleep { previous });
    }
    match endpoint.created {
        Some(created) if created + window <= now => SleepDecision::CheckIdle { window },
        Some(created) => verdict(Decline(format!(
            "it was created at {created}, less than {window:#} ago"
        ))),
        None => verdict(Decline("its creation time is unknown".into())),
    }
}

/// Whether something could bring the endpoint back: `sagetide:wake-on` parses and names a
/// source that can act (an alarm needs `sagetide:wake-alarm` or a `wake` remediation rule naming
/// the endpoint; a schedule, the schedule tag). A scheduled sleep needs `schedule` itself, or
/// the scheduler would never wake it.
fn can_be_woken(endpoint: &Endpoint, config: &Config, scheduled: bool) -> Result<(), String> {
    let sources = tags::wake_on(endpoint.tag(tags::WAKE_ON)).map_err(|e| e.to_string())?;
    if scheduled && !sources.contains(&WakeSource::Schedule) {
        return Err(format!(
            "its {} does not include schedule, so the schedule could not wake it",
            tags::WAKE_ON
        ));
    }
    let usable = sources.iter().any(|s| match s {
        WakeSource::Manual => true,
        WakeSource::Schedule => endpoint.tag(tags::SCHEDULE).is_some(),
        WakeSource::Alarm => {
            endpoint.tag(tags::WAKE_ALARM).is_some()
                || config.rules().iter().any(|r| {
                    r.remedy == Remedy::Wake && r.endpoint.as_ref() == Some(&endpoint.name)
                })
        }
    });
    if usable {
        Ok(())
    } else {
        Err(format!(
            "nothing could wake it: {} allows {:?} but the tags (or `wake` rules) they need are missing",
            tags::WAKE_ON,
            sources.iter().map(ToString::to_string).collect::<Vec<_>>()
        ))
    }
}

/// What the endpoint's schedule (or an override of it) wants now; `None` without a schedule.
fn wanted_now(
    endpoint: &Endpoint,
    config: &Config,
    now: Timestamp,
) -> Result<Option<Wanted>, String> {
    let Some(name) = endpoint.tag(tags::SCHEDULE) else {
        return Ok(None);
    };
    let schedule = config.schedule(name).ok_or_else(|| {
        format!("its schedule {name:?} is not in the configuration, so its periods are unknown")
    })?;
    wanted(&endpoint.tags, schedule, now).map(Some)
}

/// The idle verdict once the invocations of the window are known.
pub fn after_idle_check(
    total_invocations: f64,
    window: SignedDuration,
    previous: Option<u64>,
) -> Verdict {
    if total_invocations > 0.0 {
        Verdict::Decline(format!(
            "{total_invocations} invocations in the last {window:#}"
        ))
    } else {
        Verdict::Sleep { previous }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeDecision {
    Decline(String),
    Done(String),
    /// Cannot wake yet; the event should be retried.
    Retry(String),
    /// Create the endpoint from the snapshot; first record that the sleep finished, if a
    /// crashed sleep left the snapshot in phase `sleeping`.
    Create {
        finish_sleep: Option<u64>,
    },
}

/// Decides a wake from the stored snapshot, the endpoint as it exists now, and what asks.
/// `alarm`: the alarm that asks, which must be the endpoint's wake alarm; `None` with
/// [`WakeSource::Alarm`] is an alarm a remediation rule maps to this endpoint, which the rule
/// itself authorizes.
pub fn wake(
    stored: Option<&Stored>,
    endpoint: Option<&Endpoint>,
    source: WakeSource,
    alarm: Option<&str>,
) -> WakeDecision {
    use WakeDecision::*;
    let stored = match stored {
        Some(s) if s.phase != Phase::Restored => s,
        _ if endpoint.is_some() => return Done("it is awake".into()),
        _ => {
            return Decline("there is no snapshot of it: sagetide did not put it to sleep".into());
        }
    };
    let snapshot = &stored.snapshot;
    match tags::wake_on(snapshot.tags.get(tags::WAKE_ON).map(String::as_str)) {
        Ok(allowed) if allowed.contains(&source) => {}
        Ok(_) => {
            return Decline(format!(
                "its {} tag does not allow waking by {source}",
                tags::WAKE_ON
            ));
        }
        Err(e) => return Decline(e.to_string()),
    }
    if let Some(alarm) = alarm
        && snapshot.wake_alarm() != Some(alarm)
    {
        return Decline(format!(
            "alarm {alarm:?} is not its wake alarm ({:?})",
            snapshot.wake_alarm()
        ));
    }
    match endpoint {
        Some(e) if e.status == DELETING => {
            Retry("it is still being deleted; wake it once it is gone".into())
        }
        Some(_) if stored.phase == Phase::Sleeping => Done("the sleep never deleted it".into()),
        Some(e) => Done(format!(
            "it exists ({}); the restorer brings its autoscaling back once it is InService",
            e.status
        )),
        None => Create {
            finish_sleep: (stored.phase == Phase::Sleeping).then_some(stored.version),
        },
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreDecision {
    Done(String),
    /// The endpoint does not exist: the event is older than its latest deletion.
    Decline(String),
    /// Not yet: the endpoint must be InService first.
    Wait(String),
    Restore {
        version: u64,
    },
}

pub fn restore(stored: Option<&Stored>, endpoint: Option<&Endpoint>) -> RestoreDecision {
    use RestoreDecision::*;
    let Some(stored) = stored.filter(|s| s.phase == Phase::Asleep) else {
        return Done("no snapshot waits to be restored".into());
    };
    match endpoint {
        None => Decline(
            "it does not exist: the event is older than its deletion, and the IN_SERVICE of its next wake restores it"
                .into(),
        ),
        Some(e) if !e.is_in_service() => Wait(format!("its status is {}", e.status)),
        Some(_) => Restore {
            version: stored.version,
        },
    }
}

#[cfg(test)]
mod tests;
