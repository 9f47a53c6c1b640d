//! The policies sagetide installs: those pool-metrics keeps on a variant by its tags
//! ([`PoolPolicy`]), and the step policy that brings a resource back from zero, with its alarm
//! (on `sagetide:wake-on: request`).

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::error::ProvideErrorMetadata;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, MetricType, PolicyType, PredefinedMetricSpecification, ServiceNamespace,
    StepAdjustment, StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Statistic, Tag,
};

use super::AwsError;
use super::cloudwatch::SAGETIDE_NAMESPACE;
use crate::names::VariantRef;
use crate::pool::{
    ExistingPolicies, ExistingPolicy, ExistingScaleOutAlarm, PolicyKind, PoolMetric, PoolPolicy,
    ScaleOutAlarm,
};
use crate::resource::ScalableResource;

pub const FROM_ZERO_POLICY: &str = "sagetide-scale-from-zero";
/// Scale in slowly, out quickly: new instances take minutes to start.
const SCALE_IN_COOLDOWN: i32 = 300;
const SCALE_OUT_COOLDOWN: i32 = 60;
/// The scale-out alarm: two of three 10-second datapoints above the target. AWS's predefined
/// high-resolution policy waits for three of three; one fewer keeps a load step within a
/// minute of ALARM when its datapoints land up to 20 s late, and one low bucket does not reset
/// it.
const SCALE_OUT_PERIOD: i32 = 10;
const SCALE_OUT_EVALUATION_PERIODS: i32 = 3;
const SCALE_OUT_DATAPOINTS: i32 = 2;

/// sagetide's pool policies on every variant, without their alarms: the policy names are the
/// filter, ⌈policies/50⌉ calls.
pub async fn existing(client: &Client) -> Result<ExistingPolicies, AwsError> {
    let mut found = ExistingPolicies::default();
    let mut pages = client
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .set_policy_names(Some(
            PolicyKind::ALL
                .iter()
                .map(|k| k.name().to_owned())
                .collect(),
        ))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new("application-autoscaling:DescribeScalingPolicies", e))?;
        for policy in page.scaling_policies.unwrap_or_default() {
            let (Some(ScalableResource::Instances(variant)), Some(kind)) = (
                ScalableResource::parse(&policy.resource_id, &policy.scalable_dimension),
                PolicyKind::from_name(&policy.policy_name),
            ) else {
                continue;
            };
            let target = policy
                .target_tracking_scaling_policy_configuration
                .map(|c| c.target_value);
            found.policies.insert(
                (variant, kind),
                ExistingPolicy {
                    target,
                    arn: Some(policy.policy_arn),
                },
            );
        }
    }
    Ok(found)
}

/// sagetide's scale-out alarms as they are configured, by name: ⌈alarms/100⌉ calls.
pub async fn scale_out_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
) -> Result<BTreeMap<String, ExistingScaleOutAlarm>, AwsError> {
    let mut found = BTreeMap::new();
    let mut pages = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("{}-", PolicyKind::FastScaleOut.name()))
        .alarm_types(AlarmType::MetricAlarm)
        .max_records(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("cloudwatch:DescribeAlarms", e))?;
        for alarm in page.metric_alarms.unwrap_or_default() {
            let mut queries = Vec::new();
            let mut expression = String::new();
            for q in alarm.metrics() {
                if let Some(e) = q.expression() {
                    expression = e.to_owned();
                }
                let Some(metric) = q.metric_stat().and_then(|s| s.metric()) else {
                    continue;
                };
                let instance_type = metric
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some("InstanceType"))
                    .and_then(|d| d.value())
                    .map(str::to_owned);
                queries.push((q.id().unwrap_or_default().to_owned(), instance_type));
            }
            let (Some(name), Some(threshold)) = (alarm.alarm_name, alarm.threshold) else {
                continue;
            };
            found.insert(
                name,
                ExistingScaleOutAlarm {
                    alarm: ScaleOutAlarm {
                        threshold,
                        queries,
                        expression,
                    },
                    actions: alarm.alarm_actions.unwrap_or_default(),
                },
            );
        }
    }
    Ok(found)
}

/// Creates or updates one of the variant's pool policies; a step policy first, then its alarm,
/// which names the policy's ARN.
pub async fn put_pool_policy(
    client: &Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    variant: &VariantRef,
    policy: &PoolPolicy,
) -> Result<(), AwsError> {
    let resource = ScalableResource::Instances(variant.clone());
    let put = client
        .put_scaling_policy()
        .policy_name(policy.kind().name())
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource.resource_id())
        .scalable_dimension(resource.dimension());
    let put = match (policy, policy.target()) {
        (PoolPolicy::FastScaleOut(alarm), _) => put
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(scale_out_steps(alarm.threshold)),
        (_, target) => {
            let config = TargetTrackingScalingPolicyConfiguration::builder()
                .set_target_value(target)
                .scale_in_cooldown(SCALE_IN_COOLDOWN)
                .scale_out_cooldown(SCALE_OUT_COOLDOWN);
            let config = match policy.tracked_metric() {
                Some(metric) => {
                    config.customized_metric_specification(sagetide_metric(metric, variant))
                }
                None => config.predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                        .build()
                        .expect("the metric type is set"),
                ),
            };
            put.policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(
                    config
                        .build()
                        .expect("a target-tracking policy has a target"),
                )
        }
    };
    let put = put
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:PutScalingPolicy", e))?;
    if let PoolPolicy::FastScaleOut(alarm) = policy {
        put_scale_out_alarm(cloudwatch, variant, alarm, put.policy_arn).await?;
    }
    Ok(())
}

/// Deletes one of the variant's pool policies (a step policy's alarm first): one already gone
/// is not an error.
pub async fn delete_pool_policy(
    client: &Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    variant: &VariantRef,
    kind: PolicyKind,
) -> Result<(), AwsError> {
    if kind == PolicyKind::FastScaleOut {
        super::cloudwatch::delete_alarm(cloudwatch, &ScaleOutAlarm::name(variant)).await?;
    }
    let resource = ScalableResource::Instances(variant.clone());
    let deleted = client
        .delete_scaling_policy()
        .policy_name(kind.name())
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource.resource_id())
        .scalable_dimension(resource.dimension())
        .send()
        .await;
    match deleted {
        Err(e) if e.code() == Some("ObjectNotFoundException") => Ok(()),
        other => other
            .map(drop)
            .map_err(|e| AwsError::new("application-autoscaling:DeleteScalingPolicy", e)),
    }
}

/// A target-tracking policy's metric: one of sagetide's, of this variant.
fn sagetide_metric(metric: PoolMetric, variant: &VariantRef) -> CustomizedMetricSpecification {
    let dimension = |name: &str, value: &str| {
        MetricDimension::builder()
            .name(name)
            .value(value)
            .build()
            .expect("name and value are set")
    };
    CustomizedMetricSpecification::builder()
        .namespace(SAGETIDE_NAMESPACE)
        .metric_name(metric.name())
        .dimensions(dimension("EndpointName", variant.endpoint.as_str()))
        .dimensions(dimension("VariantName", variant.variant.as_str()))
        .statistic(MetricStatistic::Average)
        .build()
}

/// Adds capacity in proportion to how far utilization is above the target, as target tracking
/// would (`n·u/target`): +20 % up to 1.2 × the target, +50 % up to 1.5 ×, doubles beyond.
/// While the alarm stays in ALARM, Application Auto Scaling runs the policy again after each
/// cooldown.
fn scale_out_steps(threshold: f64) -> StepScalingPolicyConfiguration {
    let step = |lower: f64, upper: Option<f64>, percent: i32| {
        StepAdjustment::builder()
            .metric_interval_lower_bound(lower)
            .set_metric_interval_upper_bound(upper)
            .scaling_adjustment(percent)
            .build()
            .expect("the adjustment is set")
    };
    StepScalingPolicyConfiguration::builder()
        .adjustment_type(AdjustmentType::PercentChangeInCapacity)
        .min_adjustment_magnitude(1)
        .metric_aggregation_type(MetricAggregationType::Maximum)
        .cooldown(SCALE_OUT_COOLDOWN)
        .step_adjustments(step(0.0, Some(0.2 * threshold), 20))
        .step_adjustments(step(0.2 * threshold, Some(0.5 * threshold), 50))
        .step_adjustments(step(0.5 * threshold, None, 100))
        .build()
}

async fn put_scale_out_alarm(
    client: &aws_sdk_cloudwatch::Client,
    variant: &VariantRef,
    alarm: &ScaleOutAlarm,
    policy_arn: String,
) -> Result<(), AwsError> {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let mut metrics: Vec<MetricDataQuery> = alarm
        .queries
        .iter()
        .map(|(id, instance_type)| {
            let mut dims = vec![
                dimension("EndpointName", variant.endpoint.as_str()),
                dimension("VariantName", variant.variant.as_str()),
            ];
            if let Some(t) = instance_type {
                dims.push(dimension("InstanceType", t));
            }
            let metric = Metric::builder()
                .namespace("AWS/SageMaker")
                .metric_name("ConcurrentRequestsPerModel")
                .set_dimensions(Some(dims))
                .build();
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(SCALE_OUT_PERIOD)
                        .stat("Average")
                        .build(),
                )
                .return_data(false)
                .build()
        })
        .collect();
    metrics.push(
        MetricDataQuery::builder()
            .id("utilization")
            .expression(&alarm.expression)
            .label("FleetUtilization")
            .return_data(true)
            .build(),
    );
    client
        .put_metric_alarm()
        .alarm_name(ScaleOutAlarm::name(variant))
        .alarm_description(format!(
            "sagetide: scales {variant} out within a minute when its FleetUtilization, computed \
             every 10 seconds, is above {}",
            alarm.threshold
        ))
        .set_metrics(Some(metrics))
        .evaluation_periods(SCALE_OUT_EVALUATION_PERIODS)
        .datapoints_to_alarm(SCALE_OUT_DATAPOINTS)
        .threshold(alarm.threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(policy_arn)
        // A sleep keeps the policy and re-points this alarm at it on waking.
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
