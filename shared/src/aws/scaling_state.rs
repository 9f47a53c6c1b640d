//! A scalable target's whole Application Auto Scaling state: read in full for a snapshot, written back in
//! full on restore. Every field the API returns for SageMaker targets is carried both ways.

use std::collections::BTreeSet;

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types as aas;
use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_smithy_types::DateTime;
use jiff::Timestamp;

use super::autoscaling::{
    by_dimension, describe, register, suspended_from, tag_target, target_tags,
};
use super::cloudwatch::Invoking;
use super::{AwsError, from_smithy, to_smithy};
use crate::fleet::{PolicyFacts, RunningAlarm};
use crate::resource::ScalableResource;
use crate::snapshot::{
    CustomizedMetric, Dimension, MetricQuery, MetricStat, Policy, PolicyConfiguration,
    PredefinedMetric, ScheduledAction, Step, StepScaling, TargetSnapshot, TargetTracking,
};
use crate::tags::Tags;

/// A scaling policy of a target as Application Auto Scaling describes it, and, for a step
/// policy, the alarms that run it, each with its ARN where CloudWatch gave one.
pub struct DescribedPolicy {
    resource: ScalableResource,
    policy: aas::ScalingPolicy,
    alarms: Vec<Invoking>,
}

/// Every scaling policy of `resources`: one DescribeScalingPolicies per resource, and one
/// DescribeAlarms per step policy (the alarms that invoke it). A sleep judges them
/// ([`policy_facts`]) and keeps them ([`read`]) from this one reading.
pub async fn describe_policies(
    client: &Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    resources: &[ScalableResource],
) -> Result<Vec<DescribedPolicy>, AwsError> {
    let mut out = Vec::new();
    for resource in resources {
        let mut pages = client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(resource.dimension())
            .resource_id(resource.resource_id())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| AwsError::new("application-autoscaling:DescribeScalingPolicies", e))?;
            for policy in page.scaling_policies.unwrap_or_default() {
                // Target tracking keeps its own alarms; a step policy is run by the owner's.
                let alarms = if policy.policy_type == aas::PolicyType::StepScaling {
                    super::cloudwatch::invoking(cloudwatch, &policy.policy_arn).await?
                } else {
                    Vec::new()
                };
                out.push(DescribedPolicy {
                    resource: resource.clone(),
                    policy,
                    alarms,
                });
            }
        }
    }
    Ok(out)
}

/// The resources of `described` policies of which a step policy is run by an alarm on the
/// metric that tells a request found no capacity: those that come back from 0 on demand, as
/// AWS documents it ([`ScalableResource::from_zero`]).
pub fn scaling_from_zero(described: &[DescribedPolicy]) -> BTreeSet<&ScalableResource> {
    described
        .iter()
        .filter(|d| d.policy.policy_type == aas::PolicyType::StepScaling)
        .filter(|d| {
            let metric = d.resource.from_zero().map(|f| f.metric_path());
            metric.is_some() && d.alarms.iter().any(|i| i.metric == metric)
        })
        .map(|d| &d.resource)
        .collect()
}

/// What decides whether the `described` policies could come back after a sleep: their types,
/// and the `sagetide:repoint` tag of each alarm running a step policy (one ListTagsForResource
/// per alarm).
pub async fn policy_facts(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    described: &[DescribedPolicy],
) -> Result<Vec<PolicyFacts>, AwsError> {
    let mut out = Vec::new();
    for d in described {
        let mut alarms = Vec::new();
        for Invoking { link, arn, .. } in &d.alarms {
            let repoint = match arn {
                Some(arn) => match super::cloudwatch::alarm_tags(cloudwatch, arn).await? {
                    Some(tags) => tags.get(crate::tags::REPOINT).cloned(),
                    // Deleted since it was listed: it runs nothing any more.
                    None => continue,
                },
                None => None,
            };
            alarms.push(RunningAlarm {
                name: link.alarm.clone(),
                repoint,
            });
        }
        out.push(PolicyFacts {
            variant: d.resource.variant().variant.clone(),
            name: d.policy.policy_name.clone(),
            kind: d.policy.policy_type.as_str().to_owned(),
            alarms,
        });
    }
    Ok(out)
}

/// The scalable target of each of `resources` that has one, with its tags, its `described`
/// policies and its scheduled actions: one DescribeScalableTargets, then one
/// ListTagsForResource and one DescribeScheduledActions per target. A policy sagetide could not
/// re-create is an error, so nothing is deleted that could not come back (a sleep asks
/// [`crate::plan::sleepable::policy_blocker`] first, and declines).
pub async fn read(
    client: &Client,
    resources: &[ScalableResource],
    described: &[DescribedPolicy],
) -> Result<Vec<TargetSnapshot>, AwsError> {
    let mut found = Vec::new();
    for same in by_dimension(resources) {
        found.extend(describe(client, &same).await?);
    }
    let mut targets = Vec::new();
    for resource in resources {
        let resource_id = resource.resource_id();
        let Some(target) = found.iter().find(|t| t.resource_id == resource_id) else {
            continue;
        };
        let tags = match &target.scalable_target_arn {
            Some(arn) => target_tags(client, arn).await?,
            None => Tags::new(),
        };
        let policies = described
            .iter()
            .filter(|d| &d.resource == resource)
            .map(kept_policy)
            .collect::<Result<_, _>>()?;
        targets.push(TargetSnapshot {
            variant: resource.variant().variant.clone(),
            min: target.min_capacity,
            max: target.max_capacity,
            suspended: suspended_from(target.suspended_state.as_ref()),
            tags,
            policies,
            scheduled_actions: scheduled_actions(client, resource).await?,
        });
    }
    Ok(targets)
}

/// A described policy as a snapshot keeps it.
fn kept_policy(d: &DescribedPolicy) -> Result<Policy, AwsError> {
    let policy = &d.policy;
    let configuration = match (
        &policy.target_tracking_scaling_policy_configuration,
        &policy.step_scaling_policy_configuration,
    ) {
        (Some(c), _) => PolicyConfiguration::TargetTracking(target_tracking(c.clone())),
        (None, Some(c)) => PolicyConfiguration::StepScaling(step_scaling(c.clone())),
        (None, None) => {
            return Err(AwsError {
                operation: "application-autoscaling:DescribeScalingPolicies",
                message: format!(
                    "{}: policy {:?} has type {}, which sagetide cannot re-create; nothing deleted",
                    d.resource,
                    policy.policy_name,
                    policy.policy_type.as_str()
                ),
                refused: false,
            });
        }
    };
    Ok(Policy {
        name: policy.policy_name.clone(),
        configuration,
        alarms: d.alarms.iter().map(|i| i.link.clone()).collect(),
    })
}

async fn scheduled_actions(
    client: &Client,
    resource: &ScalableResource,
) -> Result<Vec<ScheduledAction>, AwsError> {
    const OP: &str = "application-autoscaling:DescribeScheduledActions";
    let mut pages = client
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(resource.dimension())
        .resource_id(resource.resource_id())
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new(OP, e))?;
        for a in page.scheduled_actions.unwrap_or_default() {
            let action = a.scalable_target_action.as_ref();
            out.push(ScheduledAction {
                name: a.scheduled_action_name,
                schedule: a.schedule,
                timezone: a.timezone,
                start_time: a.start_time.map(timestamp).transpose()?,
                end_time: a.end_time.map(timestamp).transpose()?,
                min: action.and_then(|t| t.min_capacity),
                max: action.and_then(|t| t.max_capacity),
            });
        }
    }
    Ok(out)
}

/// What a restore has put back so far, what it left out on purpose, what AWS refused (which
/// trying again would not change), and the first error that trying again may heal.
#[derive(Debug, Default)]
pub struct Restored {
    pub targets: usize,
    pub policies: usize,
    pub scheduled_actions: usize,
    pub left_out: Vec<String>,
    pub refused: Vec<String>,
    pub failed: Option<AwsError>,
}

impl Restored {
    /// Whether `what` was restored; its error is kept as refused for good or failed for now.
    pub fn item(&mut self, what: String, result: Result<(), AwsError>) -> bool {
        match result {
            Ok(()) => true,
            Err(e) if e.refused => {
                tracing::error!(item = what, error = %e, "AWS refused to restore it");
                self.refused.push(format!("{what}: {e}"));
                false
            }
            Err(e) => {
                tracing::warn!(item = what, error = %e, "not restored yet");
                self.failed.get_or_insert(e);
                false
            }
        }
    }
}

/// Registers the target with its capacity, suspended state and tags, then puts every policy
/// (and puts a step policy's new ARN back into the alarms that ran it) and every scheduled
/// action that is still to come. Every call is an upsert, so a restore cut short can simply
/// run again, and one item that fails does not keep the others from being restored (but a
/// target that cannot be registered keeps its own policies and actions back). A scheduled
/// action that would never run again (an `at()` or an end time before `now`) is left out: AWS
/// may refuse it, and it could do nothing.
pub async fn write(
    client: &Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    resource: &ScalableResource,
    target: &TargetSnapshot,
    now: Timestamp,
    restored: &mut Restored,
) {
    let resource_id = resource.resource_id();
    let registered = register(
        client,
        resource,
        Some((target.min, target.max)),
        Some(target.suspended),
    )
    .await;
    let arn = match registered {
        Ok(arn) => arn,
        Err(e) => {
            restored.item(format!("scalable target {resource}"), Err(e));
            return;
        }
    };
    restored.targets += 1;
    if !target.tags.is_empty() {
        let tagged = match &arn {
            Some(arn) => tag_target(client, arn, &target.tags).await,
            None => Err(AwsError {
                operation: "application-autoscaling:RegisterScalableTarget",
                message: format!("{resource}: no target ARN to put its tags on"),
                refused: false,
            }),
        };
        restored.item(format!("tags of {resource}"), tagged);
    }
    for policy in &target.policies {
        let put = client
            .put_scaling_policy()
            .policy_name(&policy.name)
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(resource.dimension())
            .resource_id(&resource_id);
        let put = match &policy.configuration {
            PolicyConfiguration::TargetTracking(c) => put
                .policy_type(aas::PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(to_target_tracking(c)),
            PolicyConfiguration::StepScaling(c) => put
                .policy_type(aas::PolicyType::StepScaling)
                .step_scaling_policy_configuration(to_step_scaling(c)),
        };
        let what = format!("policy {} of {resource}", policy.name);
        let arn = match put.send().await {
            Ok(put) => put.policy_arn,
            Err(e) => {
                let e = AwsError::new("application-autoscaling:PutScalingPolicy", e);
                restored.item(what, Err(e));
                continue;
            }
        };
        restored.policies += 1;
        // Whatever ARN the alarm named before (the one before the sleep, or one from a
        // restore cut short), it named this policy by its resource and name.
        let policy_suffix = format!(
            ":resource/sagemaker/{resource_id}:policyName/{}",
            policy.name
        );
        for link in &policy.alarms {
            let what = format!("alarm {} running policy {}", link.alarm, policy.name);
            match super::cloudwatch::link_policy(cloudwatch, link, &policy_suffix, &arn).await {
                Ok(super::cloudwatch::Linked::Yes) => {}
                Ok(super::cloudwatch::Linked::AlarmGone) => {
                    restored
                        .left_out
                        .push(format!("{what}: the alarm no longer exists"));
                }
                Err(e) if e.refused => {
                    // A snapshot taken before sleeps checked the tag, or a tag removed since.
                    let hint = format!(
                        "{}; sagetide may write a re-created policy only into alarms tagged {}=true: \
                         tag the alarm and the next tick restores it",
                        e.message,
                        crate::tags::REPOINT
                    );
                    restored.item(what, Err(AwsError { message: hint, ..e }));
                }
                Err(e) => {
                    restored.item(what, Err(e));
                }
            }
        }
    }
    for action in &target.scheduled_actions {
        let what = format!("scheduled action {} of {resource}", action.name);
        if let Some(why) = action.never_again(now) {
            restored.left_out.push(format!("{what}: {why}"));
            continue;
        }
        let put = client
            .put_scheduled_action()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(resource.dimension())
            .resource_id(&resource_id)
            .scheduled_action_name(&action.name)
            .schedule(&action.schedule)
            .set_timezone(action.timezone.clone())
            .set_start_time(action.start_time.map(to_smithy))
            .set_end_time(action.end_time.map(to_smithy))
            .scalable_target_action(
                aas::ScalableTargetAction::builder()
                    .set_min_capacity(action.min)
                    .set_max_capacity(action.max)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("application-autoscaling:PutScheduledAction", e));
        if restored.item(what, put) {
            restored.scheduled_actions += 1;
        }
    }
}

fn target_tracking(c: aas::TargetTrackingScalingPolicyConfiguration) -> TargetTracking {
    TargetTracking {
        target_value: c.target_value,
        predefined: c.predefined_metric_specification.map(|p| PredefinedMetric {
            metric_type: p.predefined_metric_type.as_str().to_owned(),
            resource_label: p.resource_label,
        }),
        customized: c.customized_metric_specification.map(|m| CustomizedMetric {
            metric_name: m.metric_name,
            namespace: m.namespace,
            dimensions: m
                .dimensions
                .unwrap_or_default()
                .into_iter()
                .map(|d| Dimension {
                    name: d.name,
                    value: d.value,
                })
                .collect(),
            statistic: m.statistic.map(|s| s.as_str().to_owned()),
            unit: m.unit,
            metrics: m
                .metrics
                .unwrap_or_default()
                .into_iter()
                .map(|q| MetricQuery {
                    id: q.id,
                    expression: q.expression,
                    label: q.label,
                    return_data: q.return_data,
                    metric_stat: q.metric_stat.map(|s| {
                        let metric = s
                            .metric
                            .unwrap_or_else(|| aas::TargetTrackingMetric::builder().build());
                        MetricStat {
                            namespace: metric.namespace,
                            metric_name: metric.metric_name,
                            dimensions: metric
                                .dimensions
                                .unwrap_or_default()
                                .into_iter()
                                .map(|d| Dimension {
                                    name: d.name,
                                    value: d.value,
                                })
                                .collect(),
                            stat: s.stat,
                            unit: s.unit,
                        }
                    }),
                })
                .collect(),
        }),
        scale_out_cooldown: c.scale_out_cooldown,
        scale_in_cooldown: c.scale_in_cooldown,
        disable_scale_in: c.disable_scale_in,
    }
}

fn step_scaling(c: aas::StepScalingPolicyConfiguration) -> StepScaling {
    StepScaling {
        adjustment_type: c.adjustment_type.map(|a| a.as_str().to_owned()),
        steps: c
            .step_adjustments
            .unwrap_or_default()
            .into_iter()
            .map(|s| Step {
                lower_bound: s.metric_interval_lower_bound,
                upper_bound: s.metric_interval_upper_bound,
                adjustment: s.scaling_adjustment,
            })
            .collect(),
        min_adjustment_magnitude: c.min_adjustment_magnitude,
        cooldown: c.cooldown,
        metric_aggregation_type: c.metric_aggregation_type.map(|a| a.as_str().to_owned()),
    }
}

fn to_target_tracking(c: &TargetTracking) -> aas::TargetTrackingScalingPolicyConfiguration {
    let predefined = c.predefined.as_ref().map(|p| {
        aas::PredefinedMetricSpecification::builder()
            .predefined_metric_type(aas::MetricType::from(p.metric_type.as_str()))
            .set_resource_label(p.resource_label.clone())
            .build()
            .expect("the metric type is set")
    });
    let customized = c.customized.as_ref().map(|m| {
        let queries = m.metrics.iter().map(|q| {
            let stat = q.metric_stat.as_ref().map(|s| {
                let metric = aas::TargetTrackingMetric::builder()
                    .set_namespace(s.namespace.clone())
                    .set_metric_name(s.metric_name.clone())
                    .set_dimensions(non_empty(s.dimensions.iter().map(|d| {
                        aas::TargetTrackingMetricDimension::builder()
                            .name(&d.name)
                            .value(&d.value)
                            .build()
                            .expect("name and value are set")
                    })))
                    .build();
                aas::TargetTrackingMetricStat::builder()
                    .metric(metric)
                    .stat(&s.stat)
                    .set_unit(s.unit.clone())
                    .build()
                    .expect("the stat is set")
            });
            aas::TargetTrackingMetricDataQuery::builder()
                .id(&q.id)
                .set_expression(q.expression.clone())
                .set_label(q.label.clone())
                .set_return_data(q.return_data)
                .set_metric_stat(stat)
                .build()
                .expect("the id is set")
        });
        aas::CustomizedMetricSpecification::builder()
            .set_metric_name(m.metric_name.clone())
            .set_namespace(m.namespace.clone())
            .set_dimensions(non_empty(m.dimensions.iter().map(|d| {
                aas::MetricDimension::builder()
                    .name(&d.name)
                    .value(&d.value)
                    .build()
                    .expect("name and value are set")
            })))
            .set_statistic(m.statistic.as_deref().map(aas::MetricStatistic::from))
            .set_unit(m.unit.clone())
            .set_metrics(non_empty(queries))
            .build()
    });
    aas::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(c.target_value)
        .set_predefined_metric_specification(predefined)
        .set_customized_metric_specification(customized)
        .set_scale_out_cooldown(c.scale_out_cooldown)
        .set_scale_in_cooldown(c.scale_in_cooldown)
        .set_disable_scale_in(c.disable_scale_in)
        .build()
        .expect("the target value is set")
}

fn to_step_scaling(c: &StepScaling) -> aas::StepScalingPolicyConfiguration {
    aas::StepScalingPolicyConfiguration::builder()
        .set_adjustment_type(c.adjustment_type.as_deref().map(aas::AdjustmentType::from))
        .set_step_adjustments(non_empty(c.steps.iter().map(|s| {
            aas::StepAdjustment::builder()
                .set_metric_interval_lower_bound(s.lower_bound)
                .set_metric_interval_upper_bound(s.upper_bound)
                .scaling_adjustment(s.adjustment)
                .build()
                .expect("the adjustment is set")
        })))
        .set_min_adjustment_magnitude(c.min_adjustment_magnitude)
        .set_cooldown(c.cooldown)
        .set_metric_aggregation_type(
            c.metric_aggregation_type
                .as_deref()
                .map(aas::MetricAggregationType::from),
        )
        .build()
}

/// The API tells "absent" from "empty" for lists; the snapshot records both as empty, and
/// writes them back as absent.
fn non_empty<T>(items: impl Iterator<Item = T>) -> Option<Vec<T>> {
    let items: Vec<T> = items.collect();
    (!items.is_empty()).then_some(items)
}

fn timestamp(t: DateTime) -> Result<Timestamp, AwsError> {
    from_smithy(&t).map_err(|e| AwsError {
        operation: "application-autoscaling:DescribeScheduledActions",
        message: format!("time {t} is out of range: {e}"),
        refused: false,
    })
}
