//! The real `pool-metrics` binary against moto: `ConcurrentRequestsPerModel` (and an
//! asynchronous endpoint's backlog) in, `FleetUtilization` (and `BacklogPerCapacity`) out, run
//! at successive minutes with the series put at their real timestamps; and the policies and
//! alarm its tags ask for. Instance pools come from the test world's emulation
//! (`sagetide_tests::pools`), since moto has none.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::types::{ProductionVariant, ProductionVariantInstanceType};
use sagetide_tests::seed::Aws;
use sagetide_tests::{Harness, proxy, scheduled_event};

const CONFIG: &str = "schedules: {}\n";
/// moto only knows older instance types: g4dn sizes stand in for g6 and g6e.
const CAPACITIES: (&str, &str) = (
    "sagetide:pool-capacity",
    "ml.g4dn.xlarge=8,ml.g4dn.2xlarge=14",
);
const G6: &str = "ml.g4dn.xlarge";
const G6E: &str = "ml.g4dn.2xlarge";
const MINUTE: i64 = 1_795_435_200; // 2026-11-23T12:00:00Z

/// The scheduled run `minutes` after 12:00 (5 seconds late, as a real run is).
fn run_at(minutes: i64) -> serde_json::Value {
    let at = jiff::Timestamp::from_second(MINUTE + 60 * minutes + 5).unwrap();
    scheduled_event(&at.to_string())
}

/// Puts ConcurrentRequestsPerModel datapoints at `MINUTE + offset` seconds.
async fn put_concurrency(aws: &Aws, dimensions: &[(&str, &str)], points: &[(i64, f64)]) {
    let points: Vec<(i64, f64)> = points.iter().map(|(o, v)| (MINUTE + o, *v)).collect();
    aws.put_concurrency(dimensions, &points).await;
}

fn typed<'a>(endpoint: &'a str, instance_type: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("EndpointName", endpoint),
        ("VariantName", "AllTraffic"),
        ("InstanceType", instance_type),
    ]
}

/// A statistic of one of sagetide's metrics of `endpoint`'s AllTraffic, by second offset from
/// `MINUTE`.
async fn published(
    aws: &Aws,
    metric: &str,
    endpoint: &str,
    period: i32,
    stat: &str,
) -> BTreeMap<i64, f64> {
    aws.sagetide_metric(
        metric,
        &[("EndpointName", endpoint), ("VariantName", "AllTraffic")],
        (MINUTE - 900, MINUTE + 900),
        period,
        stat,
    )
    .await
    .into_iter()
    .map(|(t, v)| (t - MINUTE, v))
    .collect()
}

async fn utilization(aws: &Aws, endpoint: &str) -> BTreeMap<i64, f64> {
    published(aws, "FleetUtilization", endpoint, 10, "Average").await
}

/// Every bucket from `first` to `last` (second offsets, 10 apart) published exactly once, and
/// no other.
async fn published_once(aws: &Aws, endpoint: &str, first: i64, last: i64) {
    let samples = published(aws, "FleetUtilization", endpoint, 10, "SampleCount").await;
    let expected: BTreeMap<i64, f64> = (first..=last).step_by(10).map(|b| (b, 1.0)).collect();
    assert_eq!(samples, expected, "{endpoint}");
}

fn assert_close(actual: &BTreeMap<i64, f64>, expected: &[(i64, f64)]) {
    for (offset, value) in expected {
        let got = actual
            .get(offset)
            .unwrap_or_else(|| panic!("no datapoint at +{offset}s in {actual:?}"));
        assert!(
            (got - value).abs() < 1e-9,
            "at +{offset}s: {got} vs {value}"
        );
    }
}

fn problems(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_landed_buckets_and_reports_bad_endpoints() {
    let h = Harness::start(CONFIG).await;
    // Two instances of the "g6" stand-in, reporting per InstanceType.
    h.aws
        .create_endpoint_with("typed", &[("AllTraffic", G6, 2)], &[CAPACITIES])
        .await;
    put_concurrency(
        &h.aws,
        &typed("typed", G6),
        &[(0, 4.0), (10, 6.0), (30, 8.0)],
    )
    .await;
    // One "g6e" stand-in that publishes only the variant-level series.
    h.aws
        .create_endpoint_with("plain", &[("AllTraffic", G6E, 1)], &[CAPACITIES])
        .await;
    put_concurrency(
        &h.aws,
        &[("EndpointName", "plain"), ("VariantName", "AllTraffic")],
        &[(20, 7.0), (30, 7.0)],
    )
    .await;
    // Runs a type its tag does not list: an error for this endpoint only.
    h.aws
        .create_endpoint_with(
            "untyped",
            &[("AllTraffic", "ml.m5.large", 1)],
            &[CAPACITIES],
        )
        .await;
    put_concurrency(&h.aws, &typed("untyped", "ml.m5.large"), &[(0, 1.0)]).await;
    // A malformed tag: an error naming the type.
    h.aws
        .create_endpoint_with(
            "broken",
            &[("AllTraffic", G6, 1)],
            &[("sagetide:pool-capacity", "ml.g4dn.xlarge=0")],
        )
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    let report = metrics.invoke(run_at(1)).await.unwrap();

    // Σ c·n / Σ k·n with n = 2, k = 8: c / 8. 12:00:20 had no request in flight: it landed
    // with 12:00:30; what follows 12:00:30 may still land, and waits for a later run.
    let typed_values = utilization(&h.aws, "typed").await;
    assert_close(
        &typed_values,
        &[(0, 0.5), (10, 0.75), (20, 0.0), (30, 1.0), (-10, 0.0)],
    );
    assert!(!typed_values.contains_key(&40), "{typed_values:?}");
    assert_close(&utilization(&h.aws, "plain").await, &[(20, 0.5)]);
    assert_eq!(utilization(&h.aws, "untyped").await, BTreeMap::new());
    assert_eq!(utilization(&h.aws, "broken").await, BTreeMap::new());
    let problems = problems(&report);
    assert_eq!(problems.len(), 2, "{report}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("untyped:") && p.contains("ml.m5.large"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("broken:") && p.contains("ml.g4dn.xlarge"))
    );
    let calls = h.proxy.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("cloudwatch:GetMetricData"), 1, "{calls:?}");
    assert_eq!(count("cloudwatch:PutMetricData"), 1, "{calls:?}");
    assert_eq!(count("sagemaker:DescribeEndpoint"), 0, "no instance pools");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_fleet_gets_zeros_and_late_data_is_waited_for_then_published_once() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint_with("idle", &[("AllTraffic", G6, 2)], &[CAPACITIES])
        .await;
    h.aws
        .create_endpoint_with("late", &[("AllTraffic", G6, 2)], &[CAPACITIES])
        .await;
    // Steady traffic, but CloudWatch has only the first three buckets when the 12:01 run looks.
    put_concurrency(
        &h.aws,
        &typed("late", G6),
        &[(0, 4.0), (10, 4.0), (20, 4.0)],
    )
    .await;
    let mut metrics = h.function("pool-metrics", &[]).await;
    metrics.invoke(run_at(1)).await.unwrap();
    let late = utilization(&h.aws, "late").await;
    assert_close(&late, &[(0, 0.5), (10, 0.5), (20, 0.5)]);
    for not_yet in [30, 40, 50] {
        assert!(!late.contains_key(&not_yet), "+{not_yet}s: {late:?}");
    }
    // Nothing says the idle fleet's last two minutes are complete yet: only older zeros.
    let idle = utilization(&h.aws, "idle").await;
    assert_eq!(idle.keys().last(), Some(&-70), "{idle:?}");
    assert!(idle.values().all(|v| *v == 0.0));

    // The rest lands, and traffic goes on; the 12:02 run is delivered twice.
    let rest: Vec<(i64, f64)> = (3..12).map(|b| (10 * b, 4.0)).collect();
    put_concurrency(&h.aws, &typed("late", G6), &rest).await;
    metrics.invoke(run_at(2)).await.unwrap();
    metrics.invoke(run_at(2)).await.unwrap();
    assert_close(
        &utilization(&h.aws, "late").await,
        &[(20, 0.5), (30, 0.5), (50, 0.5), (100, 0.5)],
    );
    // Traffic stops at 12:02:00; the runs go on.
    for minute in 3..=5 {
        metrics.invoke(run_at(minute)).await.unwrap();
    }

    // Every bucket from the first run's look-back on, exactly once: the traffic's, the late
    // ones, and zeros after it stopped, up to two minutes before the last run.
    published_once(&h.aws, "late", -240, 170).await;
    published_once(&h.aws, "idle", -240, 170).await;
    assert_close(
        &utilization(&h.aws, "late").await,
        &[(110, 0.5), (120, 0.0), (170, 0.0)],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_fleet_is_weighted_by_its_described_instance_counts() {
    let h = Harness::start(CONFIG).await;
    // moto runs 4 g6 stand-ins; the emulation makes them 3 × g6 and 1 × g6e, as AWS reports a
    // variant with instance pools. The alarm's queries go by type name: m0 is the g6e.
    h.proxy
        .set_pools("mixed", "mixed-config", "AllTraffic", &[(G6, 3), (G6E, 1)]);
    h.aws
        .create_endpoint_with(
            "mixed",
            &[("AllTraffic", G6, 4)],
            &[CAPACITIES, ("sagetide:target-utilization", "0.75")],
        )
        .await;
    h.aws
        .register_target("mixed", "AllTraffic", 1, 8, None)
        .await;
    let both: Vec<(i64, f64)> = (0..4).map(|b| (10 * b, 6.0)).collect();
    put_concurrency(&h.aws, &typed("mixed", G6), &both).await;
    let g6e: Vec<(i64, f64)> = (0..4).map(|b| (10 * b, 7.0)).collect();
    put_concurrency(&h.aws, &typed("mixed", G6E), &g6e).await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    metrics.invoke(run_at(1)).await.unwrap();
    // (6·3 + 7·1) / (8·3 + 14·1)
    assert_close(
        &utilization(&h.aws, "mixed").await,
        &[(0, 25.0 / 38.0), (20, 25.0 / 38.0)],
    );
    let calls = h.proxy.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("sagemaker:DescribeEndpoint"), 1, "{calls:?}");
    assert_eq!(count("sagemaker:DescribeEndpointConfig"), 1, "{calls:?}");
    let alarm = h
        .aws
        .metric_alarm("sagetide-fleet-scale-out-mixed.AllTraffic")
        .await
        .expect("the scale-out alarm");
    let expression = |alarm: &aws_sdk_cloudwatch::types::MetricAlarm| {
        alarm
            .metrics()
            .iter()
            .find_map(|q| q.expression())
            .map(str::to_owned)
    };
    assert_eq!(
        expression(&alarm).as_deref(),
        Some("(FILL(m0,0)*1+FILL(m1,0)*3)/38")
    );

    // The fleet gains a g6e: the next run weighs it, and puts the alarm again, once.
    h.proxy
        .set_pools("mixed", "mixed-config", "AllTraffic", &[(G6, 3), (G6E, 2)]);
    metrics.invoke(run_at(2)).await.unwrap();
    let alarm = h
        .aws
        .metric_alarm("sagetide-fleet-scale-out-mixed.AllTraffic")
        .await
        .unwrap();
    assert_eq!(
        expression(&alarm).as_deref(),
        Some("(FILL(m0,0)*2+FILL(m1,0)*3)/52")
    );
    let mutating = proxy::mutating(&h.proxy.take());
    let count = |op: &str| mutating.iter().filter(|c| *c == op).count();
    assert_eq!(count("cloudwatch:PutMetricAlarm"), 1, "{mutating:?}");
    metrics.invoke(run_at(3)).await.unwrap();
    let mutating = proxy::mutating(&h.proxy.take());
    assert_eq!(mutating, ["cloudwatch:PutMetricData"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_are_installed_once_and_follow_the_tags() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint_with(
            "scaled",
            &[("AllTraffic", G6, 1)],
            &[
                CAPACITIES,
                ("sagetide:target-utilization", "0.75"),
                ("sagetide:invocations-per-instance", "300"),
            ],
        )
        .await;
    h.aws
        .register_target("scaled", "AllTraffic", 1, 4, None)
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;
    let names = |policies: &[aws_sdk_applicationautoscaling::types::ScalingPolicy]| {
        let mut names: Vec<String> = policies.iter().map(|p| p.policy_name.clone()).collect();
        names.sort();
        names
    };

    metrics.invoke(run_at(1)).await.unwrap();
    let policies = h.aws.policies("scaled", "AllTraffic").await;
    assert_eq!(
        names(&policies),
        [
            "sagetide-fleet-scale-out",
            "sagetide-fleet-utilization",
            "sagetide-invocations-per-instance"
        ]
    );
    let policy = |name: &str| policies.iter().find(|p| p.policy_name == name).unwrap();
    let tracking = policy("sagetide-fleet-utilization")
        .target_tracking_scaling_policy_configuration
        .as_ref()
        .unwrap();
    assert_eq!(tracking.target_value, 0.75);
    let metric = tracking.customized_metric_specification.as_ref().unwrap();
    assert_eq!(metric.namespace.as_deref(), Some("Sagetide"));
    assert_eq!(metric.metric_name.as_deref(), Some("FleetUtilization"));
    let hybrid = policy("sagetide-invocations-per-instance")
        .target_tracking_scaling_policy_configuration
        .as_ref()
        .unwrap();
    assert_eq!(hybrid.target_value, 300.0);
    assert_eq!(
        hybrid
            .predefined_metric_specification
            .as_ref()
            .map(|m| m.predefined_metric_type.as_str()),
        Some("SageMakerVariantInvocationsPerInstance")
    );
    let step = policy("sagetide-fleet-scale-out");
    let alarm = h
        .aws
        .metric_alarm("sagetide-fleet-scale-out-scaled.AllTraffic")
        .await
        .expect("the scale-out alarm");
    assert_eq!(
        alarm.alarm_actions(),
        std::slice::from_ref(&step.policy_arn)
    );
    assert_eq!(alarm.threshold, Some(0.75));
    assert_eq!(alarm.evaluation_periods, Some(3));
    assert_eq!(alarm.datapoints_to_alarm, Some(2));
    let periods: Vec<i32> = alarm
        .metrics()
        .iter()
        .filter_map(|q| q.metric_stat().and_then(|s| s.period()))
        .collect();
    assert_eq!(periods, [10, 10]);
    let mutating = proxy::mutating(&h.proxy.take());
    let count = |calls: &[String], op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(
        count(&mutating, "application-autoscaling:PutScalingPolicy"),
        3
    );
    assert_eq!(count(&mutating, "cloudwatch:PutMetricAlarm"), 1);

    // Installed once: the next run changes nothing but publishes.
    metrics.invoke(run_at(2)).await.unwrap();
    let second = proxy::mutating(&h.proxy.take());
    assert!(
        second.iter().all(|c| c == "cloudwatch:PutMetricData"),
        "{second:?}"
    );

    // A new target, and the hybrid tag gone.
    h.aws
        .set_tag("scaled", "sagetide:target-utilization", "0.6")
        .await;
    h.aws
        .remove_tag("scaled", "sagetide:invocations-per-instance")
        .await;
    metrics.invoke(run_at(3)).await.unwrap();
    let policies = h.aws.policies("scaled", "AllTraffic").await;
    assert_eq!(
        names(&policies),
        ["sagetide-fleet-scale-out", "sagetide-fleet-utilization"]
    );
    let alarm = h
        .aws
        .metric_alarm("sagetide-fleet-scale-out-scaled.AllTraffic")
        .await
        .unwrap();
    assert_eq!(alarm.threshold, Some(0.6));
    let third = proxy::mutating(&h.proxy.take());
    assert_eq!(count(&third, "application-autoscaling:PutScalingPolicy"), 2);
    assert_eq!(
        count(&third, "application-autoscaling:DeleteScalingPolicy"),
        1
    );

    // No target at all: its policies and the alarm go; the endpoint stays published.
    h.aws
        .remove_tag("scaled", "sagetide:target-utilization")
        .await;
    metrics.invoke(run_at(4)).await.unwrap();
    assert_eq!(
        names(&h.aws.policies("scaled", "AllTraffic").await),
        Vec::<String>::new()
    );
    assert!(
        h.aws
            .metric_alarm("sagetide-fleet-scale-out-scaled.AllTraffic")
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asynchronous_mixed_fleet_publishes_its_backlog_over_its_capacity() {
    let h = Harness::start(CONFIG).await;
    h.proxy
        .set_pools("queue", "queue-config", "AllTraffic", &[(G6, 3), (G6E, 1)]);
    h.aws
        .create_endpoint_of(
            "queue",
            ProductionVariant::builder()
                .instance_type(ProductionVariantInstanceType::from(G6))
                .initial_instance_count(4),
            true,
            &[CAPACITIES, ("sagetide:target-backlog", "2")],
        )
        .await;
    h.aws
        .register_target("queue", "AllTraffic", 0, 8, None)
        .await;
    // A real-time endpoint has no backlog to track.
    h.aws
        .create_endpoint_with(
            "realtime",
            &[("AllTraffic", G6, 1)],
            &[CAPACITIES, ("sagetide:target-backlog", "2")],
        )
        .await;
    let backlog = [(-180, 19.0), (-120, 57.0), (-60, 3.0), (0, 76.0)];
    let points: Vec<(i64, f64)> = backlog.iter().map(|(o, v)| (MINUTE + o, *v)).collect();
    h.aws
        .put_sagemaker_metric(
            "ApproximateBacklogSize",
            &[("EndpointName", "queue")],
            &points,
        )
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    let report = metrics.invoke(run_at(1)).await.unwrap();

    // Backlog / (8·3 + 14·1); 11:56 had an empty queue.
    let per_capacity = published(&h.aws, "BacklogPerCapacity", "queue", 60, "Average").await;
    let expected = [
        (-240, 0.0),
        (-180, 19.0 / 38.0),
        (-120, 57.0 / 38.0),
        (-60, 3.0 / 38.0),
        (0, 2.0),
    ];
    assert_eq!(per_capacity.len(), expected.len(), "{per_capacity:?}");
    assert_close(&per_capacity, &expected);
    let policies = h.aws.policies("queue", "AllTraffic").await;
    assert_eq!(policies.len(), 1);
    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration
        .as_ref()
        .unwrap();
    assert_eq!(policies[0].policy_name, "sagetide-backlog-per-capacity");
    assert_eq!(tracking.target_value, 2.0);
    assert_eq!(
        tracking
            .customized_metric_specification
            .as_ref()
            .and_then(|m| m.metric_name.as_deref()),
        Some("BacklogPerCapacity")
    );
    let problems = problems(&report);
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].starts_with("realtime:") && problems[0].contains("asynchronous"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_pooled_variants_take_the_fewest_calls_the_limits_allow() {
    let h = Harness::start(CONFIG).await;
    // Enough for two GetMetricData calls and two Search pages; the bench measures 500, which
    // moto's GetMetricData scan makes too slow for the test run.
    let names: Vec<String> = (0..200).map(|i| format!("ep-{i:03}")).collect();
    for name in &names {
        h.proxy.set_pools(
            name,
            &format!("{name}-config"),
            "AllTraffic",
            &[(G6, 1), (G6E, 1)],
        );
    }
    h.aws.pool_fleet(&names, &[G6, G6E], CAPACITIES).await;
    let minute: Vec<i64> = (0..6).map(|b| MINUTE + 10 * b).collect();
    h.aws
        .put_fleet_concurrency(&names, &[G6, G6E], &minute, 4.0)
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    let report = metrics.invoke(run_at(1)).await.unwrap();
    let cold = h.proxy.take();
    let count = |calls: &[String], op: &str| calls.iter().filter(|c| *c == op).count();
    // 400 typed series and 200 of sagetide's own: ⌈600/500⌉. A first run also publishes
    // the zeros of its look-back.
    assert_eq!(count(&cold, "cloudwatch:GetMetricData"), 2);
    let datapoints = report["datapoints"].as_u64().unwrap() as usize;
    assert_eq!(
        count(&cold, "cloudwatch:PutMetricData"),
        datapoints.div_ceil(1000)
    );
    assert_eq!(count(&cold, "sagemaker:DescribeEndpointConfig"), 200);
    assert_eq!(count(&cold, "sagemaker:DescribeEndpoint"), 200);

    metrics.invoke(run_at(2)).await.unwrap();
    let warm = h.proxy.take();
    assert_eq!(
        count(&warm, "sagemaker:DescribeEndpointConfig"),
        0,
        "EndpointConfigs are cached"
    );
    assert_eq!(count(&warm, "sagemaker:DescribeEndpoint"), 200);
    assert_eq!(
        count(&warm, "sagemaker:Search"),
        2,
        "one page per 100 endpoints"
    );
    assert_eq!(count(&warm, "cloudwatch:GetMetricData"), 2);
    // (4·1 + 4·1) / (8 + 14)
    assert_close(
        &utilization(&h.aws, "ep-199").await,
        &[(0, 8.0 / 22.0), (40, 8.0 / 22.0)],
    );
}
