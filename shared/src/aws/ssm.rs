use std::collections::BTreeMap;

use aws_sdk_ssm::Client;

use super::AwsError;

const GET: &str = "ssm:GetParameters";

/// The values of (possibly encrypted) parameters, in one call; a parameter that does not exist
/// is left out.
pub async fn parameters(
    client: &Client,
    names: &[&str],
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = client
        .get_parameters()
        .set_names(Some(names.iter().map(|n| (*n).to_owned()).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| AwsError::new(GET, e))?;
    Ok(out
        .parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value?)))
        .collect())
}
