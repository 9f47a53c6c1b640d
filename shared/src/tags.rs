//! The opt-in tags on a SageMaker endpoint and the values they carry.

use std::collections::BTreeMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

pub const SCHEDULE: &str = "sagetide:schedule";
pub const OVERRIDE: &str = "sagetide:override";
pub const IDLE_AFTER: &str = "sagetide:idle-after";
pub const WAKE_ON: &str = "sagetide:wake-on";
pub const WAKE_ALARM: &str = "sagetide:wake-alarm";
/// Set by sagetide on an inference component it puts to sleep (zero copies) and wakes: see
/// [`SleepMark`].
pub const SLEEP: &str = "sagetide:sleep";
/// On a CloudWatch alarm, not an endpoint: `true` lets sagetide point the alarm at a step
/// policy it re-creates (the only alarms not its own that its roles may write).
pub const REPOINT: &str = "sagetide:repoint";

/// An endpoint's tags, key to value.
pub type Tags = BTreeMap<String, String>;

/// The tags a create accepts: keys starting with `aws:` belong to AWS (CloudFormation's stack
/// tags, say) and cannot be set by anyone else.
pub fn settable(tags: &Tags) -> impl Iterator<Item = (&String, &String)> {
    tags.iter().filter(|(k, _)| !k.starts_with("aws:"))
}

/// Whether the endpoint carries any of the contract's tags: without one, no function of
/// sagetide touches it.
pub fn opted_in(tags: &Tags) -> bool {
    use crate::pool::{POOL_CAPACITY_TAG, TARGET_UTILIZATION_TAG};
    [
        SCHEDULE,
        OVERRIDE,
        IDLE_AFTER,
        WAKE_ON,
        WAKE_ALARM,
        POOL_CAPACITY_TAG,
        TARGET_UTILIZATION_TAG,
    ]
    .iter()
    .any(|key| tags.contains_key(*key))
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("tag {tag} = {value:?}: {why}")]
pub struct TagError {
    pub tag: &'static str,
    pub value: String,
    pub why: String,
}

/// A temporary manual override (`sagetide:override`) that expires by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// Treated as inside a period until then.
    AwakeUntil(Timestamp),
    /// Treated as off-hours until then.
    AsleepUntil(Timestamp),
}

impl Override {
    pub fn parse(value: &str) -> Result<Self, TagError> {
        let fail = |why: String| TagError {
            tag: OVERRIDE,
            value: value.to_owned(),
            why,
        };
        let (kind, until) = value.split_once('=').ok_or_else(|| {
            fail("expected awake-until=<RFC 3339> or asleep-until=<RFC 3339>".into())
        })?;
        let until: Timestamp = until.trim().parse().map_err(|e| {
            fail(format!(
                "{until:?} is not an RFC 3339 instant such as 2026-11-24T18:00:00Z ({e})"
            ))
        })?;
        match kind.trim() {
            "awake-until" => Ok(Self::AwakeUntil(until)),
            "asleep-until" => Ok(Self::AsleepUntil(until)),
            other => Err(fail(format!(
                "{other:?} is neither awake-until nor asleep-until"
            ))),
        }
    }

    pub fn until(self) -> Timestamp {
        match self {
            Self::AwakeUntil(t) | Self::AsleepUntil(t) => t,
        }
    }
}

/// Where an inference component's sleep stands (`sagetide:sleep`), written by sagetide. While
/// `asleep-since`, ticks hold it at zero copies. Once a wake has written `awake-since`, it may
/// not sleep again before its idle window has passed since (its idle alarm still counts the
/// sleep's silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepMark {
    AsleepSince(Timestamp),
    AwakeSince(Timestamp),
}

impl SleepMark {
    pub fn parse(value: &str) -> Result<Self, TagError> {
        let fail = |why: String| TagError {
            tag: SLEEP,
            value: value.to_owned(),
            why,
        };
        let (kind, since) = value.split_once('=').ok_or_else(|| {
            fail("expected asleep-since=<RFC 3339> or awake-since=<RFC 3339>".into())
        })?;
        let since: Timestamp = since
            .parse()
            .map_err(|e| fail(format!("{since:?} is not an RFC 3339 instant ({e})")))?;
        match kind {
            "asleep-since" => Ok(Self::AsleepSince(since)),
            "awake-since" => Ok(Self::AwakeSince(since)),
            other => Err(fail(format!(
                "{other:?} is neither asleep-since nor awake-since"
            ))),
        }
    }
}

impl fmt::Display for SleepMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AsleepSince(t) => write!(f, "asleep-since={t}"),
            Self::AwakeSince(t) => write!(f, "awake-since={t}"),
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AwakeUntil(t) => write!(f, "awake-until={t}"),
            Self::AsleepUntil(t) => write!(f, "asleep-until={t}"),
        }
    }
}

/// The shortest and longest idle windows: a CloudWatch alarm evaluates at most seven days of
/// data, and anything below one alarm period (5 minutes) would sleep endpoints between requests.
pub const IDLE_AFTER_RANGE: (SignedDuration, SignedDuration) = (
    SignedDuration::from_mins(5),
    SignedDuration::from_hours(7 * 24),
);

/// `sagetide:idle-after`: how long an endpoint must have had no invocations to be put to sleep.
pub fn idle_after(value: &str) -> Result<SignedDuration, TagError> {
    let fail = |why: String| TagError {
        tag: IDLE_AFTER,
        value: value.to_owned(),
        why,
    };
    let window = parse_duration(value).map_err(fail)?;
    let (shortest, longest) = IDLE_AFTER_RANGE;
    if window < shortest || window > longest {
        return Err(fail(format!(
            "must be between {shortest:#} and {longest:#}"
        )));
    }
    Ok(window)
}

/// What may bring a sleeping endpoint back (`sagetide:wake-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WakeSource {
    Schedule,
    Alarm,
    Manual,
    /// A request that finds no capacity: the scale-from-zero step policy AWS documents for an
    /// asynchronous variant or an inference component at zero.
    Request,
}

impl fmt::Display for WakeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Schedule => "schedule",
            Self::Alarm => "alarm",
            Self::Manual => "manual",
            Self::Request => "request",
        })
    }
}

/// The sources `sagetide:wake-on` allows; without the tag, `schedule,manual`.
pub fn wake_on(value: Option<&str>) -> Result<Vec<WakeSource>, TagError> {
    let Some(value) = value else {
        return Ok(vec![WakeSource::Schedule, WakeSource::Manual]);
    };
    value
        .split(',')
        .map(|part| match part.trim() {
            "schedule" => Ok(WakeSource::Schedule),
            "alarm" => Ok(WakeSource::Alarm),
            "manual" => Ok(WakeSource::Manual),
            "request" => Ok(WakeSource::Request),
            other => Err(TagError {
                tag: WAKE_ON,
                value: value.to_owned(),
                why: format!("{other:?} is none of schedule, alarm, manual, request"),
            }),
        })
        .collect()
}

/// Durations as people write them in tags and the document: `15m`, `90m`, `2h`, `1d`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let std = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration such as 15m, 2h or 1d ({e})"))?;
    SignedDuration::try_from(std).map_err(|_| format!("{text:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_marks_read_back_and_bad_ones_are_refused() {
        let at: Timestamp = "2026-12-07T20:00:00Z".parse().unwrap();
        for mark in [SleepMark::AsleepSince(at), SleepMark::AwakeSince(at)] {
            assert_eq!(SleepMark::parse(&mark.to_string()), Ok(mark));
        }
        for bad in [
            "asleep",
            "asleep-since=yesterday",
            "dozing-since=2026-12-07T20:00:00Z",
        ] {
            assert!(SleepMark::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_parse_both_kinds() {
        let t: Timestamp = "2026-11-24T18:00:00Z".parse().unwrap();
        assert_eq!(
            Override::parse("awake-until=2026-11-24T18:00:00Z"),
            Ok(Override::AwakeUntil(t))
        );
        assert_eq!(
            Override::parse("asleep-until=2026-11-24T19:00:00+01:00"),
            Ok(Override::AsleepUntil(t))
        );
    }

    #[test]
    fn malformed_overrides_say_what_is_wrong() {
        for bad in [
            "awake-until",
            "awake-until=tomorrow",
            "sleepy-until=2026-11-24T18:00:00Z",
            "",
        ] {
            let err = Override::parse(bad).unwrap_err();
            assert_eq!(err.tag, OVERRIDE);
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn durations_in_the_forms_the_contract_uses() {
        assert_eq!(parse_duration("15m"), Ok(SignedDuration::from_mins(15)));
        assert_eq!(parse_duration("90m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("2h"), Ok(SignedDuration::from_hours(2)));
        assert_eq!(parse_duration("1d"), Ok(SignedDuration::from_hours(24)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn idle_windows_are_bounded_by_what_an_alarm_can_watch() {
        assert_eq!(idle_after("90m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(idle_after("7d"), Ok(SignedDuration::from_hours(168)));
        for bad in ["1m", "8d", "never"] {
            assert_eq!(idle_after(bad).unwrap_err().tag, IDLE_AFTER, "{bad}");
        }
    }

    #[test]
    fn wake_on_defaults_to_schedule_and_manual() {
        use WakeSource::*;
        assert_eq!(wake_on(None), Ok(vec![Schedule, Manual]));
        assert_eq!(wake_on(Some("alarm, manual")), Ok(vec![Alarm, Manual]));
        assert_eq!(wake_on(Some("alarm,sometimes")).unwrap_err().tag, WAKE_ON);
    }
}
