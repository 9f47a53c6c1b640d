//! The target-tracking policy on `Sagetide/FleetUtilization` that pool-metrics installs.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricDimension, MetricStatistic, PolicyType, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use super::AwsError;
use super::cloudwatch::{FLEET_UTILIZATION, FLEET_UTILIZATION_NAMESPACE};
use crate::names::VariantRef;
use crate::resource::ScalableResource;

pub const POLICY_NAME: &str = "sagetide-fleet-utilization";
/// Scale in slowly, out quickly: new instances take minutes to start.
const SCALE_IN_COOLDOWN: i32 = 300;
const SCALE_OUT_COOLDOWN: i32 = 60;

/// TargetValue of every existing sagetide policy, by variant, in one paginated call for the
/// whole fleet (the policy name is the filter).
pub async fn fleet_utilization_targets(
    client: &Client,
) -> Result<Vec<(VariantRef, f64)>, AwsError> {
    let mut pages = client
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .policy_names(POLICY_NAME)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new("application-autoscaling:DescribeScalingPolicies", e))?;
        for policy in page.scaling_policies.unwrap_or_default() {
            let Some(ScalableResource::Instances(variant)) =
                ScalableResource::parse(&policy.resource_id, &policy.scalable_dimension)
            else {
                continue;
            };
            if let Some(config) = policy.target_tracking_scaling_policy_configuration {
                out.push((variant, config.target_value));
            }
        }
    }
    Ok(out)
}

/// Creates or updates the variant's target-tracking policy on its `FleetUtilization`.
pub async fn put_fleet_utilization_policy(
    client: &Client,
    variant: &VariantRef,
    target: f64,
) -> Result<(), AwsError> {
    let dimension = |name: &str, value: &str| {
        MetricDimension::builder()
            .name(name)
            .value(value)
            .build()
            .expect("name and value are set")
    };
    let metric = CustomizedMetricSpecification::builder()
        .namespace(FLEET_UTILIZATION_NAMESPACE)
        .metric_name(FLEET_UTILIZATION)
        .dimensions(dimension("EndpointName", variant.endpoint.as_str()))
        .dimensions(dimension("VariantName", variant.variant.as_str()))
        .statistic(MetricStatistic::Average)
        .build();
    let config = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .customized_metric_specification(metric)
        .scale_in_cooldown(SCALE_IN_COOLDOWN)
        .scale_out_cooldown(SCALE_OUT_COOLDOWN)
        .build()
        .expect("target value is set");
    let resource = ScalableResource::Instances(variant.clone());
    client
        .put_scaling_policy()
        .policy_name(POLICY_NAME)
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource.resource_id())
        .scalable_dimension(resource.dimension())
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:PutScalingPolicy", e))?;
    Ok(())
}
