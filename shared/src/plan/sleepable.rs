//! Whether an endpoint may be put to sleep at an instant, before any metric is read: the one
//! answer the sleeper acts on and the scheduler plans by (it re-arms an idle alarm only when the
//! sleeper would consider the sleep), so the two never disagree.

use jiff::{SignedDuration, Timestamp};

use super::wanted::{Wanted, wanted};
use crate::config::Config;
use crate::fleet::Endpoint;
use crate::remediation::Remedy;
use crate::schedule::Desired;
use crate::tags::{self, Override, WakeSource};

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

/// Whether an existing endpoint that is not asleep may be put to sleep for `trigger` at `now`,
/// before any metric is read: `Err` says why not; `Ok(Some(window))` asks for the idle check
/// over that window, `Ok(None)` for none (a scheduled or forced sleep). The scheduler asks the
/// same question before it re-arms an idle alarm, so the two never disagree.
pub fn eligibility(
    endpoint: &Endpoint,
    trigger: SleepTrigger<'_>,
    now: Timestamp,
) -> Result<Option<SignedDuration>, String> {
    let (opt_in, config, force) = match trigger {
        SleepTrigger::Schedule(config) => (tags::SCHEDULE, config, false),
        SleepTrigger::IdleAlarm(config) => (tags::IDLE_AFTER, config, false),
        SleepTrigger::Manual { force, config } => (tags::IDLE_AFTER, config, force),
    };
    let Some(opt_in_value) = endpoint.tag(opt_in) else {
        return Err(format!("it does not have the opt-in tag {opt_in}"));
    };
    if !endpoint.is_in_service() {
        return Err(format!("its status is {}, not InService", endpoint.status));
    }
    if let Some(why) = endpoint.why_not_sleepable() {
        return Err(why);
    }
    can_be_woken(
        endpoint,
        config,
        matches!(trigger, SleepTrigger::Schedule(_)),
    )?;
    let wanted = wanted_now(endpoint, config, now)?;
    if let SleepTrigger::Schedule(_) = trigger {
        return match wanted {
            Some(w) if w.desired == Desired::Asleep => Ok(None),
            Some(w) => Err(format!("{} wants it awake now", w.reason)),
            None => Err("its schedule is unknown".into()),
        };
    }
    if let Some(w) = wanted.filter(|w| w.in_period) {
        return Err(format!("{}: it stays awake", w.reason));
    }
    if let Some(Ok(o @ Override::AwakeUntil(until))) =
        endpoint.tag(tags::OVERRIDE).map(Override::parse)
        && now < until
    {
        return Err(format!("override {o} holds"));
    }
    let window = tags::idle_after(opt_in_value).map_err(|e| e.to_string())?;
    if force {
        return Ok(None);
    }
    match endpoint.created {
        Some(created) if created + window <= now => Ok(Some(window)),
        Some(created) => Err(format!(
            "it was created at {created}, less than {window:#} ago"
        )),
        None => Err("its creation time is unknown".into()),
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
