use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    BooleanOperator, DesiredWeightAndCapacity, EndpointStatus, Filter,
    ManagedInstanceScalingStatus, Operator, ProductionVariantSummary, ResourceType,
    SearchExpression, Tag,
};
use jiff::{SignedDuration, Timestamp};

use super::{AwsError, from_smithy};
use crate::fleet::{Endpoint, Serverless, Status, Variant};
use crate::names::{EndpointName, VariantName};
use crate::pool::{ConfigShape, Instances};
use crate::snapshot::VariantSettings;

/// Search returns at most this many records a page.
const SEARCH_PAGE: i32 = 100;

/// Every endpoint that carries at least one of the tags `keys`, with its status, variants and
/// tags, in one paginated Search for the whole fleet (⌈N/100⌉ calls) instead of a Describe and
/// a ListTags per endpoint.
///
/// Search is eventually consistent, so callers act level-triggered: what a tick misses, the
/// next one catches, and nothing is deleted on its word alone.
pub async fn endpoints_tagged(client: &Client, keys: &[&str]) -> Result<Vec<Endpoint>, AwsError> {
    let filters = keys.iter().map(|key| {
        Filter::builder()
            .name(format!("Tags.{key}"))
            .operator(Operator::Exists)
            .build()
    });
    let expression = SearchExpression::builder()
        .set_filters(Some(filters.collect()))
        .operator(BooleanOperator::Or)
        .build();
    let mut pages = client
        .search()
        .resource(ResourceType::Endpoint)
        .search_expression(expression)
        .max_results(SEARCH_PAGE)
        .into_paginator()
        .send();
    let mut endpoints = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("sagemaker:Search", e))?;
        for record in page.results.unwrap_or_default() {
            let Some(found) = record.endpoint else {
                continue;
            };
            let tags = tags_to_map(found.tags.unwrap_or_default());
            // The filter is applied again here: the service treats it as a hint only in some
            // emulators, and an endpoint without the tags must never be touched.
            if !keys.iter().any(|key| tags.contains_key(*key)) {
                continue;
            }
            let Some(Ok(name)) = found.endpoint_name.map(EndpointName::new) else {
                continue;
            };
            endpoints.push(Endpoint {
                name,
                arn: found.endpoint_arn,
                status: status(found.endpoint_status),
                failure_reason: found.failure_reason,
                config_name: found.endpoint_config_name,
                created: found.creation_time.and_then(|t| from_smithy(&t).ok()),
                variants: variants(found.production_variants),
                shadow_variants: names(found.shadow_production_variants),
                tags,
            });
        }
    }
    Ok(endpoints)
}

/// The endpoint as DescribeEndpoint and ListTags see it now (authoritative, unlike Search), or
/// `None` if it does not exist.
pub async fn endpoint(client: &Client, name: &EndpointName) -> Result<Option<Endpoint>, AwsError> {
    const OP: &str = "sagemaker:DescribeEndpoint";
    let found = match client
        .describe_endpoint()
        .endpoint_name(name.as_str())
        .send()
        .await
    {
        Ok(found) => found,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(AwsError::new(OP, e)),
    };
    let arn = found.endpoint_arn.ok_or_else(|| AwsError {
        operation: OP,
        message: format!("endpoint {name} has no ARN"),
        refused: false,
    })?;
    let tags = tags_of(client, &arn).await?;
    Ok(Some(Endpoint {
        name: name.clone(),
        arn: Some(arn),
        status: status(found.endpoint_status),
        failure_reason: found.failure_reason,
        config_name: found.endpoint_config_name,
        created: found.creation_time.and_then(|t| from_smithy(&t).ok()),
        variants: variants(found.production_variants),
        shadow_variants: names(found.shadow_production_variants),
        tags,
    }))
}

/// SageMaker answers a ValidationException "Could not find …" for a missing endpoint, config
/// or model.
pub(crate) fn is_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ValidationException")
        && error
            .message()
            .is_some_and(|m| m.contains("Could not find") || m.contains("does not exist"))
}

/// Deletes the endpoint. Gone, or going, is what was asked for: the SDK retries a delete whose
/// answer was lost, and what the first attempt did then answers the retry: not found, refused
/// while `Deleting`, or AccessDenied where the role may delete only endpoints with a tag (a gone
/// endpoint has none). So a refusal is looked at again before it counts.
pub async fn delete_endpoint(client: &Client, name: &EndpointName) -> Result<(), AwsError> {
    let deleted = client
        .delete_endpoint()
        .endpoint_name(name.as_str())
        .send()
        .await;
    let error = match deleted {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => AwsError::new("sagemaker:DeleteEndpoint", e),
    };
    let now = client
        .describe_endpoint()
        .endpoint_name(name.as_str())
        .send()
        .await;
    match now {
        Err(e) if is_not_found(&e) => Ok(()),
        Ok(found) if found.endpoint_status == Some(EndpointStatus::Deleting) => Ok(()),
        _ => Err(error),
    }
}

pub async fn create_endpoint<'a>(
    client: &Client,
    name: &EndpointName,
    config_name: &str,
    tags: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<(), AwsError> {
    let tags = tags_from_map(tags);
    let asked = Timestamp::now();
    let created = client
        .create_endpoint()
        .endpoint_name(name.as_str())
        .endpoint_config_name(config_name)
        .set_tags(Some(tags))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        // The SDK retries a call whose answer was lost, and AWS refuses to create what the
        // first attempt created: an endpoint of this name, on this EndpointConfig, created since
        // we asked (give or take the clocks) is ours.
        Err(e) if is_already_existing(&e) => {
            let found = client
                .describe_endpoint()
                .endpoint_name(name.as_str())
                .send()
                .await
                .map_err(|e| AwsError::new("sagemaker:DescribeEndpoint", e))?;
            let since = found.creation_time().and_then(|t| from_smithy(t).ok());
            let ours = found.endpoint_config_name() == Some(config_name)
                && since.is_some_and(|t| t >= asked - CLOCK_SKEW);
            if ours {
                Ok(())
            } else {
                Err(AwsError::new("sagemaker:CreateEndpoint", e))
            }
        }
        Err(e) => Err(AwsError::new("sagemaker:CreateEndpoint", e)),
    }
}

/// How far AWS's clock and ours may disagree.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(1);

fn is_already_existing<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ValidationException")
        && error
            .message()
            .is_some_and(|m| m.contains("already existing"))
}

fn status(status: Option<EndpointStatus>) -> Status {
    Status::parse(status.as_ref().map_or("", EndpointStatus::as_str))
}

fn names(summaries: Option<Vec<ProductionVariantSummary>>) -> Vec<VariantName> {
    summaries
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| VariantName::new(s.variant_name?).ok())
        .collect()
}

fn variants(summaries: Option<Vec<ProductionVariantSummary>>) -> Vec<Variant> {
    summaries
        .unwrap_or_default()
        .into_iter()
        .filter_map(variant)
        .collect()
}

/// Removes tag `key` from the endpoint, but only while it still has the value `expected`: a
/// value someone wrote after we looked is theirs to keep.
pub async fn remove_tag_if_unchanged(
    client: &Client,
    endpoint: &EndpointName,
    arn: Option<&str>,
    key: &str,
    expected: &str,
) -> Result<bool, AwsError> {
    let arn = match arn {
        Some(arn) => arn.to_owned(),
        None => client
            .describe_endpoint()
            .endpoint_name(endpoint.as_str())
            .send()
            .await
            .map_err(|e| AwsError::new("sagemaker:DescribeEndpoint", e))?
            .endpoint_arn
            .unwrap_or_default(),
    };
    let current = client
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:ListTags", e))?;
    let still_expected = current
        .tags()
        .iter()
        .any(|t| t.key() == Some(key) && t.value() == Some(expected));
    if !still_expected {
        return Ok(false);
    }
    client
        .delete_tags()
        .resource_arn(&arn)
        .tag_keys(key)
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:DeleteTags", e))?;
    Ok(true)
}

fn variant(summary: ProductionVariantSummary) -> Option<Variant> {
    let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    Some(Variant {
        name: VariantName::new(summary.variant_name?).ok()?,
        instances: count(summary.current_instance_count),
        serverless: summary
            .current_serverless_config
            .or(summary.desired_serverless_config)
            .map(|c| Serverless {
                max_concurrency: count(c.max_concurrency),
                provisioned: c
                    .provisioned_concurrency
                    .and_then(|n| u32::try_from(n).ok()),
            }),
        managed_min_instances: summary
            .managed_instance_scaling
            .filter(|m| m.status == Some(ManagedInstanceScalingStatus::Enabled))
            .map(|m| count(m.min_instance_count)),
        desired_weight: summary.desired_weight.or(summary.current_weight),
        desired_instances: summary
            .desired_instance_count
            .or(summary.current_instance_count)
            .and_then(|n| u32::try_from(n).ok()),
        pools: summary
            .instance_pools
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                Some((
                    p.instance_type?.as_str().to_owned(),
                    count(p.current_instance_count),
                ))
            })
            .collect(),
    })
}

/// How an EndpointConfig runs each variant's instances, and whether it is asynchronous.
/// EndpointConfigs cannot change, so callers may keep the answer.
pub async fn config_shape(client: &Client, config_name: &str) -> Result<ConfigShape, AwsError> {
    let config = client
        .describe_endpoint_config()
        .endpoint_config_name(config_name)
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:DescribeEndpointConfig", e))?;
    Ok(ConfigShape {
        asynchronous: config.async_inference_config.is_some(),
        variants: config
            .production_variants
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| {
                let instances = if v.instance_pools.as_ref().is_some_and(|p| !p.is_empty()) {
                    Instances::Pooled
                } else {
                    Instances::Single(v.instance_type?.as_str().to_owned())
                };
                Some((VariantName::new(v.variant_name?).ok()?, instances))
            })
            .collect(),
    })
}

/// The endpoint's variants as DescribeEndpoint reports them now: the instance count of each
/// pool, which AWS documents there (Search's copy has no documented freshness).
pub async fn described_variants(
    client: &Client,
    name: &EndpointName,
) -> Result<Vec<Variant>, AwsError> {
    let found = client
        .describe_endpoint()
        .endpoint_name(name.as_str())
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:DescribeEndpoint", e))?;
    Ok(variants(found.production_variants))
}

/// Sets the weights and instance counts of `variants` (UpdateEndpointWeightsAndCapacities).
/// The endpoint is `Updating` until SageMaker has applied them.
pub async fn set_weights_and_capacities(
    client: &Client,
    endpoint: &EndpointName,
    variants: &[VariantSettings],
) -> Result<(), AwsError> {
    let desired = variants.iter().map(|v| {
        DesiredWeightAndCapacity::builder()
            .variant_name(v.variant.as_str())
            .set_desired_weight(v.weight)
            .set_desired_instance_count(v.instances.and_then(|n| i32::try_from(n).ok()))
            .build()
    });
    client
        .update_endpoint_weights_and_capacities()
        .endpoint_name(endpoint.as_str())
        .set_desired_weights_and_capacities(Some(desired.collect()))
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:UpdateEndpointWeightsAndCapacities", e))?;
    Ok(())
}

/// The tags of the SageMaker resource `arn` (an endpoint, EndpointConfig or model).
pub async fn tags_of(client: &Client, arn: &str) -> Result<crate::tags::Tags, AwsError> {
    let tags = client
        .list_tags()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<Tag>, _>>()
        .await
        .map_err(|e| AwsError::new("sagemaker:ListTags", e))?;
    Ok(tags_to_map(tags))
}

pub(super) fn tags_from_map<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn tags_to_map(tags: Vec<Tag>) -> crate::tags::Tags {
    tags.into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}
