//! Inference components: found by their tags, one Resource Groups Tagging API page and one
//! ListInferenceComponents page at a time, however many there are.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;
use aws_sdk_sagemaker::types::{InferenceComponentRuntimeConfig, InferenceComponentSummary, Tag};
use futures::{StreamExt, TryStreamExt, stream};

use super::{AwsError, from_smithy};
use crate::fleet::{Component, Status};
use crate::names::{ComponentName, EndpointName, VariantName, VariantRef};
use crate::tags::{SLEEP, SleepMark, Tags};

/// The Resource Groups Tagging API's name for inference components.
const RESOURCE_TYPE: &str = "sagemaker:inference-component";
/// The most GetResources returns a page.
const RESOURCES_PER_PAGE: i32 = 100;
/// The most ListInferenceComponents returns a page.
const COMPONENTS_PER_PAGE: i32 = 100;

/// Every inference component that carries one of the tags `keys`, with its tags, variant and
/// status: GetResources for the components' tags (one page per 100 tagged components; its tag
/// filters cannot ask for one key or another), then ListInferenceComponents for where each runs
/// and its status.
pub async fn tagged(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    sagemaker: &aws_sdk_sagemaker::Client,
    keys: &[&str],
) -> Result<Vec<Component>, AwsError> {
    let mut tagged: BTreeMap<String, Tags> = BTreeMap::new();
    let mut pages = tagging
        .get_resources()
        .resource_type_filters(RESOURCE_TYPE)
        .resources_per_page(RESOURCES_PER_PAGE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("tag:GetResources", e))?;
        for mapping in page.resource_tag_mapping_list.unwrap_or_default() {
            let (arn, tags) = tags_of(mapping);
            // A component without one of the tags is never touched.
            if keys.iter().any(|key| tags.contains_key(*key)) {
                tagged.insert(arn, tags);
            }
        }
    }
    if tagged.is_empty() {
        return Ok(Vec::new());
    }
    let mut components = Vec::new();
    let mut pages = sagemaker
        .list_inference_components()
        .max_results(COMPONENTS_PER_PAGE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("sagemaker:ListInferenceComponents", e))?;
        for summary in page.inference_components.unwrap_or_default() {
            let arn = summary
                .inference_component_arn
                .as_deref()
                .unwrap_or_default();
            if let Some(tags) = tagged.remove(arn) {
                components.extend(component(summary, tags));
            }
        }
    }
    Ok(components)
}

/// The inference components `endpoint` hosts, with their tags and the copies each runs: one
/// ListInferenceComponents page per 100, then [`described`] for each, a few at a time (an
/// endpoint hosts few).
pub async fn hosted(
    sagemaker: &aws_sdk_sagemaker::Client,
    endpoint: &EndpointName,
) -> Result<Vec<(Component, u32)>, AwsError> {
    let mut summaries = Vec::new();
    let mut pages = sagemaker
        .list_inference_components()
        .endpoint_name_equals(endpoint.as_str())
        .max_results(COMPONENTS_PER_PAGE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("sagemaker:ListInferenceComponents", e))?;
        summaries.extend(page.inference_components.unwrap_or_default());
    }
    let described: Vec<Option<(Component, u32)>> = stream::iter(summaries)
        .filter_map(|summary| async move { summary.inference_component_name })
        .filter_map(|name| async move { ComponentName::new(name).ok() })
        .map(|name| async move { described(sagemaker, &name).await })
        .buffer_unordered(super::CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

/// The component `name` as it is now, with its tags and the copies it runs: one
/// DescribeInferenceComponent and one ListTags; `None` once it is gone.
pub async fn described(
    sagemaker: &aws_sdk_sagemaker::Client,
    name: &ComponentName,
) -> Result<Option<(Component, u32)>, AwsError> {
    let found = match sagemaker
        .describe_inference_component()
        .inference_component_name(name.as_str())
        .send()
        .await
    {
        Ok(found) => found,
        Err(e) if super::sagemaker::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(AwsError::new("sagemaker:DescribeInferenceComponent", e)),
    };
    let Some(arn) = found.inference_component_arn.clone() else {
        return Ok(None);
    };
    let tags = match sagemaker.list_tags().resource_arn(&arn).send().await {
        Ok(listed) => super::sagemaker::tags_to_map(listed.tags.unwrap_or_default()),
        Err(e) if super::sagemaker::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(AwsError::new("sagemaker:ListTags", e)),
    };
    let copies = found
        .runtime_config
        .as_ref()
        .and_then(|r| r.current_copy_count)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let component = (|| {
        Some(Component {
            name: ComponentName::new(found.inference_component_name?).ok()?,
            arn,
            variant: VariantRef {
                endpoint: EndpointName::new(found.endpoint_name?).ok()?,
                variant: VariantName::new(found.variant_name?).ok()?,
            },
            status: Status::parse(found.inference_component_status?.as_str()),
            created: found
                .creation_time
                .as_ref()
                .and_then(|t| from_smithy(t).ok()),
            tags,
        })
    })();
    Ok(component.map(|c| (c, copies)))
}

/// Sets the copies of a component that has no scalable target (one that has is scaled through
/// its target's bounds, which Application Auto Scaling applies).
pub async fn set_copies(
    sagemaker: &aws_sdk_sagemaker::Client,
    name: &ComponentName,
    copies: u32,
) -> Result<(), AwsError> {
    sagemaker
        .update_inference_component_runtime_config()
        .inference_component_name(name.as_str())
        .desired_runtime_config(
            InferenceComponentRuntimeConfig::builder()
                .copy_count(i32::try_from(copies).unwrap_or(i32::MAX))
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:UpdateInferenceComponentRuntimeConfig", e))?;
    Ok(())
}

/// Marks where the component's sleep stands (`sagetide:sleep`), in one call whichever way.
pub async fn mark_sleep(
    sagemaker: &aws_sdk_sagemaker::Client,
    arn: &str,
    mark: SleepMark,
) -> Result<(), AwsError> {
    sagemaker
        .add_tags()
        .resource_arn(arn)
        .tags(Tag::builder().key(SLEEP).value(mark.to_string()).build())
        .send()
        .await
        .map_err(|e| AwsError::new("sagemaker:AddTags", e))?;
    Ok(())
}

fn tags_of(mapping: ResourceTagMapping) -> (String, Tags) {
    let tags = mapping
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    (mapping.resource_arn.unwrap_or_default(), tags)
}

/// A summary whose names SageMaker would not have taken is skipped.
fn component(summary: InferenceComponentSummary, tags: Tags) -> Option<Component> {
    Some(Component {
        name: ComponentName::new(summary.inference_component_name?).ok()?,
        arn: summary.inference_component_arn?,
        variant: VariantRef {
            endpoint: EndpointName::new(summary.endpoint_name?).ok()?,
            variant: VariantName::new(summary.variant_name?).ok()?,
        },
        status: Status::parse(summary.inference_component_status?.as_str()),
        created: summary
            .creation_time
            .as_ref()
            .and_then(|t| from_smithy(t).ok()),
        tags,
    })
}
