//! Invoking another sagetide function and reading its answer.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;

use super::AwsError;

/// Invokes `function` synchronously with `payload`: its answer (`Ok`), or the error it ended
/// with (`Err`, Lambda's `{"errorType", "errorMessage"}`).
pub async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    payload: &Value,
) -> Result<Result<Value, Value>, AwsError> {
    const OP: &str = "lambda:InvokeFunction";
    let answer = client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| AwsError::new(OP, e))?;
    let body = answer.payload().map(Blob::as_ref).unwrap_or_default();
    let value: Value = serde_json::from_slice(body).map_err(|e| AwsError {
        operation: OP,
        message: format!("{function} answered with something other than JSON: {e}"),
        refused: false,
    })?;
    Ok(match answer.function_error() {
        Some(_) => Err(value),
        None => Ok(value),
    })
}

/// Queues `payload` for `function` (Lambda's asynchronous invocation): Lambda runs it within the
/// function's reserved concurrency and keeps it queued while that is taken.
pub async fn invoke_async(
    client: &aws_sdk_lambda::Client,
    function: &str,
    payload: &Value,
) -> Result<(), AwsError> {
    client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| AwsError::new("lambda:InvokeFunction", e))?;
    Ok(())
}
