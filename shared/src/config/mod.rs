//! The configuration document (YAML, kept in an SSM parameter): parsed and validated as a whole,
//! so that a bad document changes nothing at all.

mod document;
mod rule;
mod source;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use crate::places::{Managed, Place, Spoke};
use crate::schedule::Schedule;

pub use rule::{AlarmPattern, Remedy, Rule};
pub use source::{ConfigSource, DEPLOYMENT_MARKER, Ownership};

/// A validated configuration document.
#[derive(Debug, Clone, Default)]
pub struct Config {
    schedules: BTreeMap<String, Schedule>,
    remediation: Vec<Rule>,
    /// The places of other accounts (or regions) the document names, one per region.
    spokes: Vec<Spoke>,
}

impl Config {
    pub fn parse(yaml: &str) -> Result<Self, ConfigError> {
        document::parse(yaml)
    }

    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.get(name)
    }

    pub fn schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.schedules.values()
    }

    /// The remediation rules, in the document's order.
    pub fn rules(&self) -> &[Rule] {
        &self.remediation
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.remediation.iter().find(|r| r.name == name)
    }

    /// The places beyond the deployment's own that the document's `accounts` name.
    pub fn spokes(&self) -> &[Spoke] {
        &self.spokes
    }

    /// Every place the deployment at `home` manages by this document.
    pub fn managed(&self, home: Place) -> Managed {
        Managed::new(home, self.spokes.iter().cloned())
    }
}

/// One thing wrong with the document, located by schedule (or remediation rule) and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `schedule "office-hours"`, `remediation rule "hold-on-errors"` or
    /// `account "222222222222" (#1)`.
    pub place: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, field {}: {}", self.place, self.field, self.message)
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("the configuration document is not valid YAML of the expected shape: {0}")]
    Syntax(String),
    #[error("the configuration document is invalid: {}", join(.0))]
    Invalid(Vec<Problem>),
    #[error("reading the configuration from SSM parameter {parameter}: {message}")]
    Unavailable { parameter: String, message: String },
    #[error(
        "this account and region belong to sagetide deployment {}, not to this one ({deployment}): SSM parameter {} says so, and one deployment per account and region acts; this one changes nothing. Remove this stack, or move the endpoints' management to it by deleting the other",
        owner.as_deref().unwrap_or("(none: the parameter is missing)"),
        source::DEPLOYMENT_MARKER
    )]
    NotOwner {
        deployment: String,
        owner: Option<String>,
    },
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
