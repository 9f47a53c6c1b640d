use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{ServiceNamespace, SuspendedState};
use futures::{StreamExt, TryStreamExt, stream};

use super::AwsError;
use crate::capacity::Capacity;
use crate::fleet::ScalableTarget;
use crate::resource::ScalableResource;
use crate::snapshot::Suspended;
use crate::tags::Tags;

/// DescribeScalableTargets takes at most this many resource ids a call.
const RESOURCE_IDS_PER_CALL: usize = 50;
const DESCRIBE: &str = "application-autoscaling:DescribeScalableTargets";

/// The scalable targets of `resources` that exist, ⌈resources/50⌉ calls per scalable dimension
/// (more only if a page of results is cut).
pub async fn targets(
    client: &Client,
    resources: &[ScalableResource],
) -> Result<Vec<ScalableTarget>, AwsError> {
    let groups = by_dimension(resources);
    let chunks = groups
        .iter()
        .flat_map(|same| same.chunks(RESOURCE_IDS_PER_CALL));
    let batches: Vec<Vec<ScalableTarget>> = stream::iter(chunks)
        .map(|chunk| targets_of(client, chunk))
        .buffer_unordered(super::CONCURRENCY)
        .try_collect()
        .await?;
    Ok(batches.into_iter().flatten().collect())
}

/// `resources` by scalable dimension: DescribeScalableTargets takes one a call.
pub(super) fn by_dimension(resources: &[ScalableResource]) -> Vec<Vec<ScalableResource>> {
    let mut groups: BTreeMap<String, Vec<ScalableResource>> = BTreeMap::new();
    for resource in resources {
        groups
            .entry(resource.dimension().as_str().to_owned())
            .or_default()
            .push(resource.clone());
    }
    groups.into_values().collect()
}

/// The scalable targets of one batch of at most `RESOURCE_IDS_PER_CALL` resources of one
/// dimension.
async fn targets_of(
    client: &Client,
    resources: &[ScalableResource],
) -> Result<Vec<ScalableTarget>, AwsError> {
    let mut targets = Vec::new();
    for t in describe(client, resources).await? {
        let asked = resources
            .iter()
            .find(|r| r.resource_id() == t.resource_id && r.dimension() == t.scalable_dimension);
        let Some(resource) = asked.cloned() else {
            continue;
        };
        let capacity = u32::try_from(t.min_capacity)
            .ok()
            .zip(u32::try_from(t.max_capacity).ok())
            .and_then(|(min, max)| Capacity::new(min, max).ok())
            .ok_or_else(|| AwsError {
                operation: DESCRIBE,
                message: format!(
                    "{resource} has an impossible capacity {}..{}",
                    t.min_capacity, t.max_capacity
                ),
                refused: false,
            })?;
        targets.push(ScalableTarget {
            resource,
            capacity,
            suspended: suspended_from(t.suspended_state.as_ref()),
        });
    }
    Ok(targets)
}

/// The SDK's scalable targets of at most `RESOURCE_IDS_PER_CALL` resources of one dimension,
/// every page.
pub(super) async fn describe(
    client: &Client,
    resources: &[ScalableResource],
) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScalableTarget>, AwsError> {
    let Some(first) = resources.first() else {
        return Ok(Vec::new());
    };
    debug_assert!(
        resources.iter().all(|r| r.dimension() == first.dimension()),
        "one dimension a call"
    );
    let mut pages = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(first.dimension())
        .set_resource_ids(Some(
            resources
                .iter()
                .map(ScalableResource::resource_id)
                .collect(),
        ))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new(DESCRIBE, e))?;
        found.extend(page.scalable_targets.unwrap_or_default());
    }
    Ok(found)
}

/// Sets a target's SuspendedState, leaving its capacity as it is.
pub async fn set_suspended(
    client: &Client,
    resource: &ScalableResource,
    suspended: Suspended,
) -> Result<(), AwsError> {
    register(client, resource, None, Some(suspended))
        .await
        .map(drop)
}

/// Sets a target's MinCapacity and MaxCapacity, registering the target if it has none. The
/// SuspendedState is left out of the call, which keeps whatever it is.
pub async fn set_capacity(
    client: &Client,
    resource: &ScalableResource,
    capacity: Capacity,
) -> Result<(), AwsError> {
    let bounds = (capacity_arg(capacity.min()), capacity_arg(capacity.max()));
    register(client, resource, Some(bounds), None)
        .await
        .map(drop)
}

/// RegisterScalableTarget: what is left out (`None`) keeps its current value. Returns the
/// target's ARN (which tags are set on).
pub(super) async fn register(
    client: &Client,
    resource: &ScalableResource,
    bounds: Option<(i32, i32)>,
    suspended: Option<Suspended>,
) -> Result<Option<String>, AwsError> {
    let registered = client
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(resource.dimension())
        .resource_id(resource.resource_id())
        .set_min_capacity(bounds.map(|(min, _)| min))
        .set_max_capacity(bounds.map(|(_, max)| max))
        .set_suspended_state(suspended.map(suspended_to))
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:RegisterScalableTarget", e))?;
    Ok(registered.scalable_target_arn)
}

/// The tags of the scalable target `arn`.
pub(super) async fn target_tags(client: &Client, arn: &str) -> Result<Tags, AwsError> {
    let found = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:ListTagsForResource", e))?;
    Ok(found.tags.unwrap_or_default().into_iter().collect())
}

/// Adds `tags` to the scalable target `arn` (RegisterScalableTarget tags only a target it
/// creates, so a restore that runs again needs this to be sure).
pub(super) async fn tag_target(client: &Client, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:TagResource", e))?;
    Ok(())
}

/// The API takes `i32`; configured capacities beyond it are clamped (no endpoint has that many
/// instances).
fn capacity_arg(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The API leaves out flags that are off.
pub(super) fn suspended_from(state: Option<&SuspendedState>) -> Suspended {
    let flag = |f: fn(&SuspendedState) -> Option<bool>| state.and_then(f).unwrap_or(false);
    Suspended {
        dynamic_scaling_in: flag(|s| s.dynamic_scaling_in_suspended),
        dynamic_scaling_out: flag(|s| s.dynamic_scaling_out_suspended),
        scheduled_scaling: flag(|s| s.scheduled_scaling_suspended),
    }
}

/// Every flag is sent, so the call sets the whole state.
fn suspended_to(suspended: Suspended) -> SuspendedState {
    SuspendedState::builder()
        .dynamic_scaling_in_suspended(suspended.dynamic_scaling_in)
        .dynamic_scaling_out_suspended(suspended.dynamic_scaling_out)
        .scheduled_scaling_suspended(suspended.scheduled_scaling)
        .build()
}
