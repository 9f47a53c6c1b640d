//! What a handler invocation can fail with, mapped to the Lambda error it reports.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::aws::AwsError;
use crate::config::ConfigError;
use crate::events::EventError;
use crate::outcome::Outcome;

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
    #[error("{failed} of {total} actions failed; the first: {first}")]
    ActionsFailed {
        failed: usize,
        total: usize,
        first: String,
    },
    /// Some actions cannot be done yet (another function holds the lease, the endpoint is
    /// still being deleted); a retry of the event will do them.
    #[error("{deferred} actions deferred ({first}); retry the event later")]
    Deferred { deferred: usize, first: String },
    /// A managed place's tick did nothing there: its role was not assumed, its fleet not
    /// observed, or its tick not queued. The other places are ticked regardless.
    #[error(
        "the tick in {place} failed at {step}: {error}; the other places are ticked regardless, and the next tick tries again"
    )]
    PlaceFailed {
        /// `account <id> (<region>)`.
        place: String,
        step: &'static str,
        error: String,
    },
}

impl HandlerError {
    /// `ActionsFailed` if any of `outcomes` failed, quoting the first failure.
    pub fn check<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Result<(), Self> {
        let mut total = 0;
        let mut failures = Vec::new();
        for outcome in outcomes {
            total += 1;
            if let Outcome::Failed(error) = outcome {
                failures.push(error);
            }
        }
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(Self::ActionsFailed {
                failed: failures.len(),
                total,
                first: (*first).clone(),
            }),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let kind = match &error {
            HandlerError::Event(_) => "RejectedEvent",
            HandlerError::Config(_) => "InvalidConfiguration",
            HandlerError::Aws(_) => "AwsCallFailed",
            HandlerError::ActionsFailed { .. } => "ActionsFailed",
            HandlerError::Deferred { .. } => "Deferred",
            HandlerError::PlaceFailed { .. } => "PlaceFailed",
        };
        Diagnostic {
            error_type: kind.into(),
            error_message: error.to_string(),
        }
    }
}
