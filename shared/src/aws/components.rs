//! Inference components: found by their tags, one Resource Groups Tagging API page and one
//! ListInferenceComponents page at a time, however many there are.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;
use aws_sdk_sagemaker::types::InferenceComponentSummary;

use super::AwsError;
use crate::fleet::{Component, Status};
use crate::names::{ComponentName, EndpointName, VariantName, VariantRef};
use crate::tags::Tags;

/// The Resource Groups Tagging API's name for inference components.
const RESOURCE_TYPE: &str = "sagemaker:inference-component";
/// The most GetResources returns a page.
const RESOURCES_PER_PAGE: i32 = 100;
/// The most ListInferenceComponents returns a page.
const COMPONENTS_PER_PAGE: i32 = 100;

/// Every inference component that carries one of `keys`, with its tags, variant and status.
/// GetResources' tag filters must all match, so it asks for every tagged component and keeps
/// those with one of `keys`; ListInferenceComponents gives where each runs and its status.
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
            if keys.iter().any(|k| tags.contains_key(*k)) {
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
        tags,
    })
}
