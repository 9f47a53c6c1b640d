//! Thin adapters over the AWS SDK: paging, batching and error mapping, no business rules.

pub mod autoscaling;
pub mod cloudwatch;
pub mod components;
pub mod definitions;
pub mod events;
pub mod lambda;
pub mod policies;
pub mod raw;
pub mod sagemaker;
pub mod scaling_state;
pub mod ssm;
pub mod table;

use aws_config::retry::RetryConfig;
use aws_config::{AppName, SdkConfig};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use jiff::Timestamp;
use thiserror::Error;

use crate::permissions::Function;

/// A failed AWS call, named by its operation.
#[derive(Debug, Clone, Error)]
#[error("AWS {operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub message: String,
    /// AWS refused the request itself (it is invalid, over a limit, or not permitted): the
    /// same request would be refused again, where a throttled or unanswered one may pass.
    pub refused: bool,
}

/// The error codes with which AWS refuses a request for what it asks, not for how busy it is.
const REFUSALS: &[&str] = &[
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "ResourceLimitExceeded",
    "LimitExceededException",
    "AccessDeniedException",
    "AccessDenied",
    "ObjectNotFoundException",
];

impl AwsError {
    pub fn new(
        operation: &'static str,
        error: impl ProvideErrorMetadata + std::error::Error,
    ) -> Self {
        // An endpoint that is being created, updated or deleted is refused with a
        // ValidationException ("Cannot update in-progress endpoint"), which clears once it
        // settles: not a refusal, so the event or the next tick asks again.
        let in_progress = error.code() == Some("ValidationException")
            && error
                .message()
                .is_some_and(|m| m.contains("in-progress") || m.contains("must be InService"));
        Self {
            operation,
            refused: !in_progress && error.code().is_some_and(|code| REFUSALS.contains(&code)),
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

/// How many calls of one kind a function has in flight at once: enough to finish a large
/// fleet's work quickly, few enough to stay far below the services' throttling limits.
pub const CONCURRENCY: usize = 8;

/// How many attempts the SDK makes for a call that is throttled or fails transiently; the
/// standard mode backs off exponentially with jitter between them.
const MAX_ATTEMPTS: u32 = 5;

/// The shared SDK configuration, loaded once per container from the standard environment
/// (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`); `function` names the caller in every
/// request's user agent.
pub async fn load_config(function: Function) -> SdkConfig {
    load_config_as(&function.app_name()).await
}

/// [`load_config`] for a caller that is not a function (`sagetide-cli`, the command line).
pub async fn load_config_as(app_name: &str) -> SdkConfig {
    aws_config::from_env()
        .app_name(AppName::new(app_name.to_owned()).expect("sagetide's names are valid app names"))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

/// An instant as the SDK takes it.
fn to_smithy(t: Timestamp) -> DateTime {
    DateTime::from_secs_and_nanos(t.as_second(), t.subsec_nanosecond().unsigned_abs())
}

/// An instant the SDK returned; `Err` only for one outside jiff's range (years beyond ±9999).
fn from_smithy(t: &DateTime) -> Result<Timestamp, jiff::Error> {
    Timestamp::new(t.secs(), t.subsec_nanos() as i32)
}
