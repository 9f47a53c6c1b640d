//! The configuration document (YAML, kept in an SSM parameter): parsed and validated as a whole,
//! so that a bad document changes nothing at all.

mod document;
mod source;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use crate::schedule::Schedule;

pub use source::ConfigSource;

/// A validated configuration document.
#[derive(Debug, Clone, Default)]
pub struct Config {
    schedules: BTreeMap<String, Schedule>,
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
}

/// One thing wrong with the document, located by schedule and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub schedule: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schedule {:?}, field {}: {}",
            self.schedule, self.field, self.message
        )
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
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
