//! The real `pool-metrics` binary against moto: ConcurrentRequestsPerModel in, FleetUtilization
//! out. moto cannot create instance pools (see tests/tests/instance_pools.rs for that path).

use std::collections::BTreeMap;

use sagetide_tests::seed::Aws;
use sagetide_tests::{Harness, proxy, scheduled_event};

const CONFIG: &str = "schedules: {}\n";
/// moto only knows older instance types: g4dn sizes stand in for g6 and g6e.
const CAPACITIES: (&str, &str) = (
    "sagetide:pool-capacity",
    "ml.g4dn.xlarge=8,ml.g4dn.2xlarge=14",
);
/// The run at 12:01:05 publishes the buckets 12:00:00 … 12:00:50.
const NOW: &str = "2026-11-23T12:01:05Z";
const MINUTE: i64 = 1_795_435_200; // 2026-11-23T12:00:00Z

/// Puts ConcurrentRequestsPerModel datapoints at `MINUTE + offset` seconds.
async fn put_concurrency(aws: &Aws, dimensions: &[(&str, &str)], points: &[(i64, f64)]) {
    let points: Vec<(i64, f64)> = points.iter().map(|(o, v)| (MINUTE + o, *v)).collect();
    aws.put_concurrency(dimensions, &points).await;
}

/// FleetUtilization of a variant, by second offset from `MINUTE`.
async fn fleet_utilization(aws: &Aws, endpoint: &str, variant: &str) -> BTreeMap<i64, f64> {
    aws.fleet_utilization(endpoint, variant, MINUTE - 600, MINUTE + 600)
        .await
        .into_iter()
        .map(|(t, v)| (t - MINUTE, v))
        .collect()
}

fn assert_close(actual: &BTreeMap<i64, f64>, expected: &[(i64, f64)]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (offset, value) in expected {
        let got = actual[offset];
        assert!(
            (got - value).abs() < 1e-9,
            "at +{offset}s: {got} vs {value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn publishes_fleet_utilization_per_bucket_and_reports_bad_endpoints() {
    let h = Harness::start(CONFIG).await;
    // Two instances of the "g6" stand-in, reporting per InstanceType.
    h.aws
        .create_endpoint_with(
            "typed",
            &[("AllTraffic", "ml.g4dn.xlarge", 2)],
            &[CAPACITIES],
        )
        .await;
    put_concurrency(
        &h.aws,
        &[
            ("EndpointName", "typed"),
            ("VariantName", "AllTraffic"),
            ("InstanceType", "ml.g4dn.xlarge"),
        ],
        &[(0, 4.0), (10, 6.0), (30, 8.0)],
    )
    .await;
    // One "g6e" stand-in that publishes only the variant-level series.
    h.aws
        .create_endpoint_with(
            "plain",
            &[("AllTraffic", "ml.g4dn.2xlarge", 1)],
            &[CAPACITIES],
        )
        .await;
    put_concurrency(
        &h.aws,
        &[("EndpointName", "plain"), ("VariantName", "AllTraffic")],
        &[(20, 7.0)],
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
    put_concurrency(
        &h.aws,
        &[
            ("EndpointName", "untyped"),
            ("VariantName", "AllTraffic"),
            ("InstanceType", "ml.m5.large"),
        ],
        &[(0, 1.0)],
    )
    .await;
    // No datapoint at all: nothing published, not zero.
    h.aws
        .create_endpoint_with(
            "silent",
            &[("AllTraffic", "ml.g4dn.xlarge", 1)],
            &[CAPACITIES],
        )
        .await;
    // A malformed tag: an error naming the type.
    h.aws
        .create_endpoint_with(
            "broken",
            &[("AllTraffic", "ml.g4dn.xlarge", 1)],
            &[("sagetide:pool-capacity", "ml.g4dn.xlarge=0")],
        )
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    let report = metrics.invoke(scheduled_event(NOW)).await.unwrap();

    // Σ c·n / Σ k·n with n = 2, k = 8: c / 8.
    assert_close(
        &fleet_utilization(&h.aws, "typed", "AllTraffic").await,
        &[(0, 0.5), (10, 0.75), (30, 1.0)],
    );
    assert_close(
        &fleet_utilization(&h.aws, "plain", "AllTraffic").await,
        &[(20, 0.5)],
    );
    assert_close(
        &fleet_utilization(&h.aws, "untyped", "AllTraffic").await,
        &[],
    );
    assert_close(
        &fleet_utilization(&h.aws, "silent", "AllTraffic").await,
        &[],
    );
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
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
}

#[tokio::test(flavor = "multi_thread")]
async fn installs_the_target_tracking_policy_once() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint_with(
            "scaled",
            &[("AllTraffic", "ml.g4dn.xlarge", 1)],
            &[CAPACITIES, ("sagetide:target-utilization", "0.75")],
        )
        .await;
    h.aws
        .register_target("scaled", "AllTraffic", 1, 4, None)
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    metrics.invoke(scheduled_event(NOW)).await.unwrap();
    let policies = h.aws.policies("scaled", "AllTraffic").await;
    assert_eq!(policies.len(), 1);
    let config = policies[0]
        .target_tracking_scaling_policy_configuration
        .as_ref()
        .unwrap();
    assert_eq!(config.target_value, 0.75);
    let metric = config.customized_metric_specification.as_ref().unwrap();
    assert_eq!(metric.namespace.as_deref(), Some("Sagetide"));
    assert_eq!(metric.metric_name.as_deref(), Some("FleetUtilization"));
    assert!(
        proxy::mutating(&h.proxy.take())
            .contains(&"application-autoscaling:PutScalingPolicy".to_owned())
    );

    metrics
        .invoke(scheduled_event("2026-11-23T12:02:05Z"))
        .await
        .unwrap();
    let second = proxy::mutating(&h.proxy.take());
    assert!(
        !second.iter().any(|c| c.ends_with("PutScalingPolicy")),
        "{second:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_variants_take_the_fewest_calls_the_limits_allow() {
    let h = Harness::start(CONFIG).await;
    let names: Vec<String> = (0..500).map(|i| format!("ep-{i:03}")).collect();
    // Six buckets for every variant: 3000 datapoints in, 3000 out.
    h.aws
        .pool_fleet(&names, "ml.g4dn.xlarge", CAPACITIES, MINUTE, 4.0)
        .await;
    let mut metrics = h.function("pool-metrics", &[]).await;

    let report = metrics.invoke(scheduled_event(NOW)).await.unwrap();
    assert_eq!(report["datapoints"], 3000, "{report}");
    let cold = h.proxy.take();
    let count = |calls: &[String], op: &str| calls.iter().filter(|c| *c == op).count();
    // 500 typed + 500 variant-level series: ⌈1000/500⌉; 3000 datapoints: ⌈3000/1000⌉.
    assert_eq!(count(&cold, "cloudwatch:GetMetricData"), 2);
    assert_eq!(count(&cold, "cloudwatch:PutMetricData"), 3);
    assert_eq!(count(&cold, "sagemaker:DescribeEndpointConfig"), 500);

    metrics
        .invoke(scheduled_event("2026-11-23T12:02:05Z"))
        .await
        .unwrap();
    let warm = h.proxy.take();
    assert_eq!(
        count(&warm, "sagemaker:DescribeEndpointConfig"),
        0,
        "EndpointConfigs are cached"
    );
    assert_eq!(
        count(&warm, "sagemaker:Search"),
        5,
        "one page per 100 endpoints"
    );
    assert_eq!(count(&warm, "cloudwatch:GetMetricData"), 2);
    assert_close(
        &fleet_utilization(&h.aws, "ep-499", "AllTraffic").await,
        &[
            (0, 0.5),
            (10, 0.5),
            (20, 0.5),
            (30, 0.5),
            (40, 0.5),
            (50, 0.5),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_delivered_twice_or_late_publishes_the_same_utilization() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint_with(
            "typed",
            &[("AllTraffic", "ml.g4dn.xlarge", 2)],
            &[CAPACITIES],
        )
        .await;
    let dimensions = [
        ("EndpointName", "typed"),
        ("VariantName", "AllTraffic"),
        ("InstanceType", "ml.g4dn.xlarge"),
    ];
    put_concurrency(&h.aws, &dimensions, &[(0, 4.0), (10, 6.0)]).await;
    let mut metrics = h.function("pool-metrics", &[]).await;
    metrics.invoke(scheduled_event(NOW)).await.unwrap();
    let once = fleet_utilization(&h.aws, "typed", "AllTraffic").await;
    assert_close(&once, &[(0, 0.5), (10, 0.75)]);

    // The same run again, and the run of the minute before after it: CloudWatch keeps each
    // value as one more sample of the same bucket, so every average stays what it was.
    metrics.invoke(scheduled_event(NOW)).await.unwrap();
    metrics
        .invoke(scheduled_event("2026-11-23T12:00:05Z"))
        .await
        .unwrap();
    assert_close(
        &fleet_utilization(&h.aws, "typed", "AllTraffic").await,
        &[(0, 0.5), (10, 0.75)],
    );
}
