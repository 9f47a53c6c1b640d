//! The opt-in tags on a SageMaker endpoint and the values they carry.

use std::collections::BTreeMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

pub const SCHEDULE: &str = "sagetide:schedule";
pub const OVERRIDE: &str = "sagetide:override";

/// An endpoint's tags, key to value.
pub type Tags = BTreeMap<String, String>;

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

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AwakeUntil(t) => write!(f, "awake-until={t}"),
            Self::AsleepUntil(t) => write!(f, "asleep-until={t}"),
        }
    }
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
}
