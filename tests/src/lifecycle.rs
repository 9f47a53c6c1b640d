//! Seeding and reading what sleep, wake and restore touch: a variant's whole autoscaling set-up
//! in a form that compares field by field, the table's snapshots and history, Invocations.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension,
    ScalableTargetAction, ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration,
    SuspendedState, TargetTrackingMetric, TargetTrackingMetricDataQuery,
    TargetTrackingMetricDimension, TargetTrackingMetricStat,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::seed::{Aws, TABLE, resource_id};

const DIMENSION: ScalableDimension = ScalableDimension::SageMakerVariantDesiredInstanceCount;

/// The owner's alarm that runs the variant's step policy.
pub fn backlog_alarm(endpoint: &str, variant: &str) -> String {
    format!("{endpoint}-{variant}-latency")
}

/// The owner's notification topic, which the step policy's alarm also notifies: a restore that
/// puts the policy back must leave it.
const PAGER: &str = "arn:aws:sns:us-east-1:123456789012:on-call";

impl Aws {
    /// A variant with everything a snapshot must carry: a target partly suspended by its
    /// owner, target-tracking policies on a predefined metric, a customized metric and a metric
    /// math expression, a step policy, and cron and one-time scheduled actions.
    pub async fn seed_autoscaling(&self, endpoint: &str, variant: &str) {
        let id = resource_id(endpoint, variant);
        self.register_target(
            endpoint,
            variant,
            1,
            4,
            Some(
                SuspendedState::builder()
                    .dynamic_scaling_in_suspended(true)
                    .build(),
            ),
        )
        .await;
        let dims = |pairs: &[(&str, &str)]| -> Vec<MetricDimension> {
            pairs
                .iter()
                .map(|(n, v)| {
                    MetricDimension::builder()
                        .name(*n)
                        .value(*v)
                        .build()
                        .unwrap()
                })
                .collect()
        };
        let tracking = [
            (
                "invocations-per-instance",
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(70.0)
                    .predefined_metric_specification(
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(
                                MetricType::SageMakerVariantInvocationsPerInstance,
                            )
                            .build()
                            .unwrap(),
                    )
                    .scale_in_cooldown(300)
                    .scale_out_cooldown(60)
                    .build()
                    .unwrap(),
            ),
            (
                "cpu",
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(60.5)
                    .customized_metric_specification(
                        CustomizedMetricSpecification::builder()
                            .metric_name("CPUUtilization")
                            .namespace("/aws/sagemaker/Endpoints")
                            .set_dimensions(Some(dims(&[
                                ("EndpointName", endpoint),
                                ("VariantName", variant),
                            ])))
                            .statistic(MetricStatistic::Average)
                            .unit("Percent")
                            .build(),
                    )
                    .disable_scale_in(true)
                    .build()
                    .unwrap(),
            ),
            (
                "concurrency-per-slot",
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(0.75)
                    .customized_metric_specification(
                        CustomizedMetricSpecification::builder()
                            .metrics(
                                TargetTrackingMetricDataQuery::builder()
                                    .id("m1")
                                    .metric_stat(
                                        TargetTrackingMetricStat::builder()
                                            .metric(
                                                TargetTrackingMetric::builder()
                                                    .namespace("AWS/SageMaker")
                                                    .metric_name("ConcurrentRequestsPerModel")
                                                    .dimensions(
                                                        TargetTrackingMetricDimension::builder()
                                                            .name("EndpointName")
                                                            .value(endpoint)
                                                            .build()
                                                            .unwrap(),
                                                    )
                                                    .build(),
                                            )
                                            .stat("Average")
                                            .build()
                                            .unwrap(),
                                    )
                                    .return_data(false)
                                    .build()
                                    .unwrap(),
                            )
                            .metrics(
                                TargetTrackingMetricDataQuery::builder()
                                    .id("e1")
                                    .expression("m1 / 4")
                                    .label("concurrency per slot")
                                    .return_data(true)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ),
        ];
        for (name, config) in tracking {
            self.autoscaling
                .put_scaling_policy()
                .policy_name(name)
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(&id)
                .scalable_dimension(DIMENSION)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(config)
                .send()
                .await
                .expect("put target-tracking policy");
        }
        let step = |lower: f64, upper: Option<f64>, adjustment: i32| {
            StepAdjustment::builder()
                .metric_interval_lower_bound(lower)
                .set_metric_interval_upper_bound(upper)
                .scaling_adjustment(adjustment)
                .build()
                .unwrap()
        };
        let step_out = self
            .autoscaling
            .put_scaling_policy()
            .policy_name("step-out")
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&id)
            .scalable_dimension(DIMENSION)
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(
                StepScalingPolicyConfiguration::builder()
                    .adjustment_type(AdjustmentType::ChangeInCapacity)
                    .step_adjustments(step(0.0, Some(10.0), 1))
                    .step_adjustments(step(10.0, None, 3))
                    .cooldown(120)
                    .metric_aggregation_type(MetricAggregationType::Maximum)
                    .build(),
            )
            .send()
            .await
            .expect("put step policy")
            .policy_arn;
        // The owner's alarm that runs the step policy, tagged so that sagetide may point it at
        // the policy it re-creates.
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(backlog_alarm(endpoint, variant))
            .tags(
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(sagetide::tags::REPOINT)
                    .value("true")
                    .build(),
            )
            .namespace("AWS/SageMaker")
            .metric_name("ModelLatency")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("EndpointName")
                    .value(endpoint)
                    .build(),
            )
            .period(60)
            .evaluation_periods(3)
            .threshold(250_000.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .alarm_actions(step_out)
            .alarm_actions(PAGER)
            .ok_actions(PAGER)
            .send()
            .await
            .expect("put the step policy's alarm");
        let scheduled = [
            (
                "weekday-warmup",
                "cron(0 7 ? * MON-FRI *)",
                Some("Europe/Berlin"),
                Some((1_767_225_600, 1_830_297_600)),
                ScalableTargetAction::builder()
                    .min_capacity(3)
                    .max_capacity(8)
                    .build(),
            ),
            (
                "launch-day",
                "at(2027-06-01T06:00:00)",
                None,
                None,
                ScalableTargetAction::builder().min_capacity(5).build(),
            ),
        ];
        for (name, schedule, timezone, window, action) in scheduled {
            self.autoscaling
                .put_scheduled_action()
                .scheduled_action_name(name)
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(&id)
                .scalable_dimension(DIMENSION)
                .schedule(schedule)
                .set_timezone(timezone.map(str::to_owned))
                .set_start_time(window.map(|(start, _)| DateTime::from_secs(start)))
                .set_end_time(window.map(|(_, end)| DateTime::from_secs(end)))
                .scalable_target_action(action)
                .send()
                .await
                .expect("put scheduled action");
        }
    }

    /// A variant's scalable target, policies and scheduled actions as lines that compare field
    /// by field (ARNs and creation times left out: AWS assigns new ones).
    pub async fn autoscaling_state(&self, endpoint: &str, variant: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(t) = self.target(endpoint, variant).await {
            let s = t
                .suspended_state
                .unwrap_or_else(|| SuspendedState::builder().build());
            lines.push(format!(
                "target {variant} {}..{} suspended in={} out={} scheduled={}",
                t.min_capacity,
                t.max_capacity,
                s.dynamic_scaling_in_suspended.unwrap_or(false),
                s.dynamic_scaling_out_suspended.unwrap_or(false),
                s.scheduled_scaling_suspended.unwrap_or(false),
            ));
        }
        let mut policies: Vec<String> = self
            .policies(endpoint, variant)
            .await
            .into_iter()
            .map(|p| {
                format!(
                    "policy {variant} {} {} {:?} {:?}",
                    p.policy_name,
                    p.policy_type.as_str(),
                    p.target_tracking_scaling_policy_configuration,
                    p.step_scaling_policy_configuration
                )
            })
            .collect();
        policies.sort();
        let mut actions: Vec<String> = self
            .scheduled_actions(endpoint, variant)
            .await
            .into_iter()
            .map(|a| {
                format!(
                    "scheduled-action {variant} {} {} {:?} {:?} {:?} {:?}",
                    a.scheduled_action_name,
                    a.schedule,
                    a.timezone,
                    a.start_time.map(|t| t.secs()),
                    a.end_time.map(|t| t.secs()),
                    a.scalable_target_action
                )
            })
            .collect();
        actions.sort();
        lines.extend(policies);
        lines.extend(actions);
        if !lines.is_empty() {
            lines.push(self.backlog_alarm_target(endpoint, variant).await);
        }
        lines
    }

    /// What the owner's backlog alarm runs, list by list: the variant's policies by name (found
    /// by ARN, as CloudWatch does: a policy re-created under a new ARN runs only if the alarm
    /// names the new one), other actions by the last part of their ARN (an SNS topic's name).
    /// Sorted, since a restore may append.
    async fn backlog_alarm_target(&self, endpoint: &str, variant: &str) -> String {
        let name = backlog_alarm(endpoint, variant);
        let alarms = self
            .cloudwatch
            .describe_alarms()
            .alarm_names(&name)
            .send()
            .await
            .expect("describe alarms")
            .metric_alarms
            .unwrap_or_default();
        let Some(alarm) = alarms.first() else {
            return format!("alarm {name} missing");
        };
        let policies = self.policies(endpoint, variant).await;
        let names = |actions: &[String]| {
            let mut names: Vec<String> = actions
                .iter()
                .map(|arn| {
                    policies.iter().find(|p| &p.policy_arn == arn).map_or_else(
                        || arn.rsplit(':').next().unwrap_or(arn).to_owned(),
                        |p| p.policy_name.clone(),
                    )
                })
                .collect();
            names.sort();
            names
        };
        format!(
            "alarm {name} runs {:?}, on OK {:?}",
            names(alarm.alarm_actions()),
            names(alarm.ok_actions())
        )
    }

    /// Everything sagetide is responsible for, in a form two runs can be compared by: each
    /// endpoint's existence, EndpointConfig, tags and autoscaling (by variant), its snapshot's
    /// phase, and the alarms.
    pub async fn state(&self, endpoints: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        let mut state = BTreeMap::new();
        for (name, variants) in endpoints {
            let endpoint = self.endpoint(name).await;
            let mut lines = vec![format!("endpoint {endpoint:?}")];
            if endpoint.is_some() {
                let tags = self.tags(name).await;
                lines.extend(tags.into_iter().map(|(k, v)| format!("tag {k}={v}")));
            }
            for v in *variants {
                lines.extend(self.autoscaling_state(name, v).await);
            }
            lines.push(format!("snapshot {:?}", self.snapshot_phase(name).await));
            state.insert((*name).to_owned(), lines);
        }
        state.insert("alarms".into(), self.alarms().await);
        state
    }

    /// Fails the test if `endpoint` is gone and its snapshot was not stored before it went:
    /// the one thing that must never happen.
    pub async fn assert_snapshot_if_gone(&self, endpoint: &str) {
        if self.endpoint(endpoint).await.is_some() {
            return;
        }
        let phase = self.snapshot_phase(endpoint).await;
        assert!(
            matches!(phase.as_deref(), Some("sleeping" | "asleep")),
            "{endpoint} is gone without its snapshot in the table (phase {phase:?})"
        );
    }

    /// The endpoint's status and EndpointConfig, if it exists.
    pub async fn endpoint(&self, name: &str) -> Option<(String, String)> {
        let found = self
            .sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .ok()?;
        Some((
            found.endpoint_status?.as_str().to_owned(),
            found.endpoint_config_name?,
        ))
    }

    /// An EndpointConfig as DescribeEndpointConfig answers it (but its ARN and creation time),
    /// and its tags.
    pub async fn endpoint_config(
        &self,
        name: &str,
    ) -> (serde_json::Value, BTreeMap<String, String>) {
        let found = self
            .sagemaker
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .expect("describe endpoint config");
        let arn = found.endpoint_config_arn.clone().unwrap_or_default();
        let described = serde_json::json!({
            "variants": format!("{:?}", found.production_variants),
            "shadow": format!("{:?}", found.shadow_production_variants),
            "data_capture": format!("{:?}", found.data_capture_config),
            "kms": found.kms_key_id,
            "role": found.execution_role_arn,
            "vpc": format!("{:?}", found.vpc_config),
            "isolation": found.enable_network_isolation,
        });
        (described, self.resource_tags(&arn).await)
    }

    /// A model as DescribeModel answers it (but its ARN and creation time), and its tags.
    pub async fn model(&self, name: &str) -> (serde_json::Value, BTreeMap<String, String>) {
        let found = self
            .sagemaker
            .describe_model()
            .model_name(name)
            .send()
            .await
            .expect("describe model");
        let arn = found.model_arn.clone().unwrap_or_default();
        let described = serde_json::json!({
            "primary": format!("{:?}", found.primary_container),
            "containers": format!("{:?}", found.containers),
            "role": found.execution_role_arn,
            "vpc": format!("{:?}", found.vpc_config),
            "isolation": found.enable_network_isolation,
            "inference": format!("{:?}", found.inference_execution_config),
        });
        (described, self.resource_tags(&arn).await)
    }

    pub async fn delete_model(&self, name: &str) {
        self.sagemaker
            .delete_model()
            .model_name(name)
            .send()
            .await
            .expect("delete model");
    }

    pub async fn delete_endpoint_config(&self, name: &str) {
        self.sagemaker
            .delete_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .expect("delete endpoint config");
    }

    /// Puts `AWS/SageMaker` `Invocations` datapoints `(epoch second, count)` for a variant.
    pub async fn put_invocations(&self, endpoint: &str, variant: &str, points: &[(i64, f64)]) {
        let dimensions = [("EndpointName", endpoint), ("VariantName", variant)];
        self.put_sagemaker_metric("Invocations", &dimensions, points)
            .await;
    }

    /// Every CloudWatch alarm as `name periods x seconds [variants]` (the target-tracking alarms
    /// that Application Auto Scaling makes without their random suffix).
    pub async fn alarms(&self) -> Vec<String> {
        let alarms = self
            .cloudwatch
            .describe_alarms()
            .send()
            .await
            .expect("describe alarms")
            .metric_alarms
            .unwrap_or_default();
        alarms
            .iter()
            .map(|a| {
                let stats: Vec<_> = a
                    .metrics()
                    .iter()
                    .filter_map(|q| q.metric_stat.as_ref())
                    .collect();
                let variants: Vec<&str> = stats
                    .iter()
                    .filter_map(|s| s.metric.as_ref())
                    .flat_map(|m| m.dimensions())
                    .filter(|d| d.name() == Some("VariantName"))
                    .filter_map(|d| d.value())
                    .collect();
                format!(
                    "{} {} x {} s {variants:?}",
                    stable_alarm_name(a.alarm_name().unwrap_or_default()),
                    a.evaluation_periods.unwrap_or_default(),
                    stats.first().and_then(|s| s.period).unwrap_or_default()
                )
            })
            .collect()
    }

    /// Alarm `name` (created on a placeholder metric if it does not exist) put into `state`
    /// (`ALARM`, `OK`), as CloudWatch would after evaluating it.
    pub async fn alarm_in_state(&self, name: &str, state: &str) {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/SageMaker")
            .metric_name("Invocation5XXErrors")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(5.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .expect("put metric alarm");
        self.set_alarm_state(name, state).await;
    }

    /// Puts the existing alarm `name` into `state`, as CloudWatch would after evaluating it.
    pub async fn set_alarm_state(&self, name: &str, state: &str) {
        use aws_sdk_cloudwatch::types::StateValue;
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::from(state))
            .state_reason("set by the test harness")
            .send()
            .await
            .expect("set alarm state");
    }

    /// The state of alarm `name` (`OK`, `ALARM`, `INSUFFICIENT_DATA`), if it exists.
    pub async fn alarm_state(&self, name: &str) -> Option<String> {
        self.metric_alarm(name)
            .await
            .and_then(|a| a.state_value)
            .map(|s| s.as_str().to_owned())
    }

    /// The sum of the `Sagetide` metric `name` with `dimensions` over [from, to) (epoch seconds).
    pub async fn sagetide_sum(
        &self,
        name: &str,
        dimensions: &[(&str, &str)],
        from: i64,
        to: i64,
    ) -> f64 {
        self.sagetide_metric(name, dimensions, (from, to), 60, "Sum")
            .await
            .values()
            .sum()
    }

    /// The dimensions of every series of the `Sagetide` metric `name`, as `Name=Value`, sorted.
    pub async fn sagetide_series(&self, name: &str) -> Vec<Vec<String>> {
        let mut series: Vec<Vec<String>> = self
            .cloudwatch
            .list_metrics()
            .namespace("Sagetide")
            .metric_name(name)
            .send()
            .await
            .expect("list metrics")
            .metrics()
            .iter()
            .map(|m| {
                m.dimensions()
                    .iter()
                    .map(|d| format!("{}={}", d.name().unwrap_or(""), d.value().unwrap_or("")))
                    .collect()
            })
            .collect();
        series.sort();
        series
    }

    /// Tags alarm `name` with `(key, value)`.
    pub async fn tag_alarm(&self, name: &str, (key, value): (&str, &str)) {
        let arn = self
            .cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("describe alarms")
            .metric_alarms()
            .first()
            .and_then(|a| a.alarm_arn.clone())
            .expect("the alarm exists");
        self.cloudwatch
            .tag_resource()
            .resource_arn(arn)
            .tags(
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .expect("tag alarm");
    }

    pub async fn remove_tag(&self, endpoint: &str, key: &str) {
        let arn = self.endpoint_arn(endpoint).await;
        self.sagemaker
            .delete_tags()
            .resource_arn(arn)
            .tag_keys(key)
            .send()
            .await
            .expect("delete tags");
    }

    /// Stores `body` as the endpoint's snapshot, version 2, phase `asleep`, as an earlier
    /// sagetide (or a hand) left it.
    pub async fn put_asleep_snapshot(&self, endpoint: &str, body: &serde_json::Value) {
        let taken_at = body["taken_at"].as_str().expect("a snapshot has taken_at");
        self.dynamodb
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S("snapshot".into()))
            .item("sk", AttributeValue::S(endpoint.into()))
            .item("phase", AttributeValue::S("asleep".into()))
            .item("open", AttributeValue::S("1".into()))
            .item("version", AttributeValue::N("2".into()))
            .item("taken_at", AttributeValue::S(taken_at.into()))
            .item("body", AttributeValue::S(body.to_string()))
            .send()
            .await
            .expect("put snapshot");
    }

    /// The phase of the endpoint's snapshot in the table, if it has one.
    pub async fn snapshot_phase(&self, endpoint: &str) -> Option<String> {
        self.snapshot_phase_at("", endpoint).await
    }

    /// [`Aws::snapshot_phase`] of an endpoint of a spoke: `place` is `@<account>/<region>`.
    pub async fn snapshot_phase_at(&self, place: &str, endpoint: &str) -> Option<String> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(format!("snapshot{place}")))
            .key("sk", AttributeValue::S(endpoint.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get snapshot")
            .item?;
        Some(item.get("phase")?.as_s().ok()?.clone())
    }

    /// The endpoint's history as `action outcome` lines, oldest first.
    pub async fn history(&self, endpoint: &str) -> Vec<String> {
        self.history_at("", endpoint).await
    }

    /// [`Aws::history`] of an endpoint of a spoke: `place` is `@<account>/<region>`.
    pub async fn history_at(&self, place: &str, endpoint: &str) -> Vec<String> {
        self.dynamodb
            .query()
            .table_name(TABLE)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("history#{endpoint}{place}")),
            )
            .send()
            .await
            .expect("query history")
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let text = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                format!("{} {}", text("action"), text("outcome"))
            })
            .collect()
    }
}

/// Application Auto Scaling names a target-tracking alarm `TargetTracking-<resource>-AlarmHigh-`
/// and a random UUID; two runs compare by what comes before it.
fn stable_alarm_name(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some(_) if name.starts_with("TargetTracking-") && name.len() > 37 => {
            &name[..name.len() - 37]
        }
        _ => name,
    }
}
