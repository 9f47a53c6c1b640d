//! Pure decisions of sleep, wake and restore: what to do given what is observed now. No call is
//! made here; `super` observes, asks, and carries the answer out.

use jiff::{SignedDuration, Timestamp};

use crate::aws::cloudwatch::Activity;
use crate::fleet::{Endpoint, Status};
use crate::plan::sleepable::{SleepTrigger, eligibility};
use crate::snapshot::{Phase, Stored, WakeAttempt};
use crate::tags::{self, WakeSource};

/// How far back the in-flight requests of an idle candidate are looked at: they land in
/// CloudWatch within seconds, where `Invocations` take a minute or two.
pub const RECENT_TRAFFIC: SignedDuration = SignedDuration::from_mins(5);

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
    /// Not eligible, and asking again before something else changes would get the same
    /// answer; nothing changes.
    Decline(String),
    /// Not idle by CloudWatch's data (or the data was incomplete); nothing changes, and the
    /// next evaluation of the idle alarm may ask again.
    NotIdle(String),
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
    let gone = endpoint.is_none_or(|e| e.status == Status::Deleting);
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
    let previous = stored.map(|s| s.version);
    match eligibility(endpoint, trigger, now) {
        Err(why) => verdict(Decline(why)),
        Ok(None) => verdict(Sleep { previous }),
        Ok(Some(window)) => SleepDecision::CheckIdle { window },
    }
}

/// The idle verdict once CloudWatch's data is read: idle only if every query came back
/// complete, with no invocation in the window and no request in flight lately. A check that
/// cannot be sure keeps the endpoint.
pub fn after_idle_check(
    activity: &Activity,
    window: SignedDuration,
    previous: Option<u64>,
) -> Verdict {
    if !activity.incomplete.is_empty() {
        return Verdict::NotIdle(format!(
            "CloudWatch did not return complete data for {}; not deleted on a guess",
            activity.incomplete.join(", ")
        ));
    }
    if activity.invocations > 0.0 {
        return Verdict::NotIdle(format!(
            "{} invocations in the last {window:#}",
            activity.invocations
        ));
    }
    if activity.peak_concurrency > 0.0 {
        return Verdict::NotIdle(format!(
            "up to {} requests in flight in the last {RECENT_TRAFFIC:#}, not yet counted in Invocations",
            activity.peak_concurrency
        ));
    }
    Verdict::Sleep { previous }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WakeDecision {
    Decline(String),
    Done(String),
    /// Cannot wake yet; the event should be retried.
    Retry(String),
    /// Create the endpoint from the snapshot of this version and phase (`sleeping`: a sleep
    /// cut short after its delete, recorded as finished with the wake).
    Create {
        version: u64,
        phase: Phase,
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
    now: Timestamp,
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
    // A person's wake is never held back; an alarm's (or a rule's) waits as the scheduler's
    // does, or Lambda's redeliveries of its event would try again at once.
    if let Some(wake) = stored.wake.as_ref().filter(|w| !w.may_retry(now))
        && source != WakeSource::Manual
        && endpoint.is_none()
    {
        return Decline(wake.held_back());
    }
    match endpoint {
        Some(e) if e.status == Status::Deleting => {
            Retry("it is still being deleted; wake it once it is gone".into())
        }
        Some(_) if stored.phase == Phase::Sleeping => Done("the sleep never deleted it".into()),
        Some(e) => Done(format!(
            "it exists ({}); the restorer brings its autoscaling back once it is InService",
            e.status
        )),
        None => Create {
            version: stored.version,
            phase: stored.phase,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoverDecision {
    Done(String),
    /// The woken endpoint failed: count and record the failure, so that the wake is tried
    /// again after a while, then delete it.
    DeleteFailed {
        version: u64,
        attempt: WakeAttempt,
    },
    /// Its failure is recorded already (a recovery cut short after that): only delete it.
    DeleteRecorded,
    /// The woken endpoint has been `Creating` for longer than a wake should take: say so once.
    ReportSlow {
        version: u64,
        attempt: WakeAttempt,
    },
}

/// What to do about a wake that went wrong, from the snapshot and the endpoint as it is now.
pub fn recover(
    stored: Option<&Stored>,
    endpoint: Option<&Endpoint>,
    now: Timestamp,
) -> RecoverDecision {
    use RecoverDecision::*;
    let (Some(stored), Some(endpoint)) = (stored.filter(|s| s.phase == Phase::Asleep), endpoint)
    else {
        return Done("no woken endpoint waits for its snapshot".into());
    };
    let attempt = stored.wake.clone().unwrap_or_else(|| {
        WakeAttempt::presumed(&stored.snapshot, endpoint.created.unwrap_or(now))
    });
    match endpoint.status {
        Status::Failed
            if endpoint.created.is_some() && attempt.failed_endpoint == endpoint.created =>
        {
            DeleteRecorded
        }
        Status::Failed => {
            let reason = endpoint
                .failure_reason
                .clone()
                .unwrap_or_else(|| "SageMaker gives no reason".into());
            DeleteFailed {
                version: stored.version,
                attempt: attempt.failed(&reason, now, endpoint.created),
            }
        }
        Status::Creating if attempt.is_slow(now) => ReportSlow {
            version: stored.version,
            attempt: WakeAttempt {
                reported_slow: true,
                ..attempt
            },
        },
        ref other => Done(format!("its status is {other}")),
    }
}

#[cfg(test)]
mod tests;
