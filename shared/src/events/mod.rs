//! The event shapes each function accepts, parsed strictly: anything else is rejected with a
//! message that says what was expected.

mod scheduled;

use thiserror::Error;

pub use scheduled::ScheduledEvent;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("rejected event: {0}")]
pub struct EventError(pub String);
