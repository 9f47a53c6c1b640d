//! The `remediation:` rules of the configuration: which alarms answer which remedy, on which
//! endpoint. `remediation` decides what a rule's alarm changes do to an endpoint's targets.

use std::collections::BTreeMap;
use std::fmt;

use crate::names::EndpointName;
use crate::tags::Tags;

/// One `remediation:` rule of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    /// Alarm names the rule answers (any, if empty and `alarm_tags` is set).
    pub alarms: Vec<AlarmPattern>,
    /// Tags the alarm must carry, all of them.
    pub alarm_tags: BTreeMap<String, String>,
    /// The endpoint acted on; `None`: the alarm metric's `EndpointName` dimension.
    pub endpoint: Option<EndpointName>,
    pub remedy: Remedy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Suspend dynamic scale-in of every scalable target of the endpoint.
    SuspendScaleIn,
    /// Raise every target's MinCapacity to this many instances, or (`None`) to the instances
    /// running when the alarm fires; never above MaxCapacity, never lowered.
    RaiseMin(Option<u32>),
    /// Wake the sleeping endpoint (handed to the waker's logic).
    Wake,
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SuspendScaleIn => f.write_str("suspend-scale-in"),
            Self::RaiseMin(Some(n)) => write!(f, "raise-min to {n}"),
            Self::RaiseMin(None) => f.write_str("raise-min to the running instances"),
            Self::Wake => f.write_str("wake"),
        }
    }
}

/// An alarm name, or a prefix written with a trailing `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmPattern {
    text: String,
}

impl AlarmPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let stem = text.strip_suffix('*').unwrap_or(text);
        if stem.is_empty() || stem.contains('*') {
            return Err(format!(
                "{text:?}: write an alarm name, or a prefix followed by one *"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    pub fn matches(&self, alarm: &str) -> bool {
        match self.text.strip_suffix('*') {
            Some(prefix) => alarm.starts_with(prefix),
            None => alarm == self.text,
        }
    }
}

impl Rule {
    /// Whether the rule answers `alarm`, judged by its name only.
    pub fn names(&self, alarm: &str) -> bool {
        self.alarms.is_empty() || self.alarms.iter().any(|p| p.matches(alarm))
    }

    /// Whether the alarm's tags (read only when some candidate rule asks for tags) satisfy it.
    pub fn tags_match(&self, tags: &Tags) -> bool {
        self.alarm_tags.iter().all(|(k, v)| tags.get(k) == Some(v))
    }
}
