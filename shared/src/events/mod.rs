//! The event shapes each function accepts, parsed strictly: anything else is rejected with a
//! message that says what was expected.

mod alarm;
mod endpoint_state;
mod manual;
mod scheduled;

use thiserror::Error;

pub use alarm::{AlarmState, AlarmStateChange};
pub use endpoint_state::EndpointStateChange;
pub use manual::{ManualAction, ManualRequest};
pub use scheduled::ScheduledEvent;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("rejected event: {0}")]
pub struct EventError(pub String);
