//! What a handler invocation can fail with, mapped to the Lambda error it reports.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::aws::AwsError;
use crate::config::ConfigError;
use crate::events::EventError;

#[derive(Debug, Error)]
pub enum HandlerError {
    /// Not an event this function takes; retrying will not help.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The document is missing or invalid; nothing was changed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Observing the fleet failed; nothing was changed, the next invocation tries again.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Some actions failed; the others were carried out.
    #[error("{failed} of {total} actions failed (see the log lines with \"action failed\")")]
    ActionsFailed { failed: usize, total: usize },
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let kind = match &error {
            HandlerError::Event(_) => "RejectedEvent",
            HandlerError::Config(_) => "InvalidConfiguration",
            HandlerError::Aws(_) => "AwsCallFailed",
            HandlerError::ActionsFailed { .. } => "ActionsFailed",
        };
        Diagnostic {
            error_type: kind.into(),
            error_message: error.to_string(),
        }
    }
}
