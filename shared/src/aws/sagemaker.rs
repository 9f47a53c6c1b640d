use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    Filter, Operator, ProductionVariantSummary, ResourceType, SearchExpression, Tag,
};

use super::AwsError;
use crate::fleet::{Endpoint, Variant};
use crate::names::{EndpointName, VariantName};

/// Search returns at most this many records a page.
const SEARCH_PAGE: i32 = 100;

/// Every endpoint that carries tag `key`, with its status, variants and tags, in one paginated
/// Search for the whole fleet (⌈N/100⌉ calls) instead of a Describe and a ListTags per endpoint.
///
/// Search is eventually consistent, so callers act level-triggered: what a tick misses, the
/// next one catches.
pub async fn endpoints_tagged(client: &Client, key: &str) -> Result<Vec<Endpoint>, AwsError> {
    let filter = Filter::builder()
        .name(format!("Tags.{key}"))
        .operator(Operator::Exists)
        .build();
    let mut pages = client
        .search()
        .resource(ResourceType::Endpoint)
        .search_expression(SearchExpression::builder().filters(filter).build())
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
            // emulators, and an endpoint without the tag must never be touched.
            if !tags.contains_key(key) {
                continue;
            }
            let Some(Ok(name)) = found.endpoint_name.map(EndpointName::new) else {
                continue;
            };
            let variants = found
                .production_variants
                .unwrap_or_default()
                .into_iter()
                .filter_map(variant)
                .collect();
            endpoints.push(Endpoint {
                name,
                arn: found.endpoint_arn,
                status: found
                    .endpoint_status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                config_name: found.endpoint_config_name,
                variants,
                tags,
            });
        }
    }
    Ok(endpoints)
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

/// The instance type of each variant of an EndpointConfig (empty for a variant with instance
/// pools). EndpointConfigs cannot change, so callers may keep the answer.
pub async fn variant_instance_types(
    client: &Client,
    config_name: &str,
) -> Result<Vec<(VariantName, String)>, AwsError> {
    let config = client
        .describe_endpoint_config()
        .endpoint_config_name(config_name)
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:DescribeEndpointConfig", e))?;
    Ok(config
        .production_variants
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            Some((
                VariantName::new(v.variant_name?).ok()?,
                v.instance_type?.as_str().to_owned(),
            ))
        })
        .collect())
}

fn tags_to_map(tags: Vec<Tag>) -> crate::tags::Tags {
    tags.into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}
