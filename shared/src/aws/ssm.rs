use aws_sdk_ssm::Client;

use super::AwsError;

/// The value of a (possibly encrypted) parameter.
pub async fn parameter(client: &Client, name: &str) -> Result<String, AwsError> {
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| AwsError::new("ssm:GetParameter", e))?;
    out.parameter.and_then(|p| p.value).ok_or_else(|| AwsError {
        operation: "ssm:GetParameter",
        message: format!("parameter {name} has no value"),
        refused: false,
    })
}
