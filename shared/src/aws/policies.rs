//! The policies sagetide installs: the target-tracking policy on `Sagetide/FleetUtilization`
//! (pool-metrics), and the step policy that brings a resource back from zero, with its alarm
//! (on `sagetide:wake-on: request`).

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, PolicyType, ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};

use super::AwsError;
use super::cloudwatch::{FLEET_UTILIZATION, FLEET_UTILIZATION_NAMESPACE};
use crate::names::VariantRef;
use crate::resource::ScalableResource;

pub const POLICY_NAME: &str = "sagetide-fleet-utilization";
pub const FROM_ZERO_POLICY: &str = "sagetide-scale-from-zero";
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

/// The alarm that runs `resource`'s scale-from-zero policy.
pub fn from_zero_alarm(resource: &ScalableResource) -> String {
    format!(
        "{FROM_ZERO_POLICY}-{}",
        resource.resource_id().replace('/', ".")
    )
}

/// Creates or updates the step policy that adds one to `resource` from zero, and the alarm that
/// runs it, as AWS documents them ([`ScalableResource::from_zero`]). Both are put by name, so
/// a second run changes nothing; the policy first, since the alarm names its ARN.
pub async fn put_scale_from_zero(
    client: &Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    resource: &ScalableResource,
) -> Result<(), AwsError> {
    let Some(from_zero) = resource.from_zero() else {
        return Ok(());
    };
    let step = StepAdjustment::builder()
        .metric_interval_lower_bound(0.0)
        .scaling_adjustment(1)
        .build()
        .expect("the adjustment is set");
    let config = StepScalingPolicyConfiguration::builder()
        .adjustment_type(AdjustmentType::ChangeInCapacity)
        .metric_aggregation_type(MetricAggregationType::from(from_zero.aggregation))
        .cooldown(from_zero.cooldown_seconds)
        .step_adjustments(step)
        .build();
    let policy = client
        .put_scaling_policy()
        .policy_name(FROM_ZERO_POLICY)
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource.resource_id())
        .scalable_dimension(resource.dimension())
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(config)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:PutScalingPolicy", e))?;
    let (name, value) = &from_zero.dimension;
    cloudwatch
        .put_metric_alarm()
        .alarm_name(from_zero_alarm(resource))
        .alarm_description(format!(
            "sagetide: brings {resource} back from zero when {} reports a request with no capacity",
            from_zero.metric
        ))
        .namespace("AWS/SageMaker")
        .metric_name(from_zero.metric)
        .dimensions(Dimension::builder().name(*name).value(value).build())
        .statistic(Statistic::from(from_zero.statistic))
        .period(from_zero.period_seconds)
        .evaluation_periods(from_zero.evaluation_periods)
        .datapoints_to_alarm(from_zero.evaluation_periods)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("missing")
        .alarm_actions(policy.policy_arn)
        // A sleep keeps the policy and re-points this alarm at it on waking, as it does the
        // owner's alarms that say so.
        .tags(
            Tag::builder()
                .key(crate::tags::REPOINT)
                .value("true")
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::new("cloudwatch:PutMetricAlarm", e))?;
    Ok(())
}
