//! The SDK adapters of the instance-pool path against `aws-smithy-mocks` responses shaped like
//! AWS's, then the same pure pipeline as the function (the real binary meets pools through the
//! test world's emulation in `pool_metrics.rs`). Also the worked comparison with AWS's
//! fixed-weight metric-math that the README shows.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{MetricDataResult, StatusCode};
use aws_sdk_sagemaker::operation::search::SearchOutput;
use aws_sdk_sagemaker::types::{
    Endpoint, EndpointStatus, InstancePoolSummary, ProductionVariantInstanceType,
    ProductionVariantSummary, SearchRecord, Tag,
};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use jiff::Timestamp;
use sagetide::aws::{cloudwatch, sagemaker};
use sagetide::names::VariantName;
use sagetide::pool::{
    self, ConfigShape, Instances, POOL_CAPACITY_TAG, Pool, PoolCapacity, fleet_utilization,
};

const T0: i64 = 1_795_435_200;

/// A client of SDK crate `$sdk` whose calls are answered by `$rule`.
macro_rules! mocked {
    ($sdk:ident, $rule:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version_latest()
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider($sdk::config::Credentials::new("a", "b", None, None, "test"))
                .http_client(create_mock_http_client())
                .interceptor(
                    MockResponseInterceptor::new()
                        .rule_mode(RuleMode::MatchAny)
                        .with_rule($rule),
                )
                .build(),
        )
    };
}

fn pool_summary(instance_type: &str, count: i32) -> InstancePoolSummary {
    InstancePoolSummary::builder()
        .instance_type(ProductionVariantInstanceType::from(instance_type))
        .current_instance_count(count)
        .build()
}

/// A Search answer for one endpoint whose variant runs 3 × ml.g6.2xlarge and 1 × ml.g6e.2xlarge.
fn mixed_fleet_search() -> SearchOutput {
    let endpoint = Endpoint::builder()
        .endpoint_name("mixed")
        .endpoint_arn("arn:aws:sagemaker:us-east-1:123456789012:endpoint/mixed")
        .endpoint_config_name("mixed-config")
        .endpoint_status(EndpointStatus::InService)
        .production_variants(
            ProductionVariantSummary::builder()
                .variant_name("AllTraffic")
                .current_instance_count(4)
                .instance_pools(pool_summary("ml.g6.2xlarge", 3))
                .instance_pools(pool_summary("ml.g6e.2xlarge", 1))
                .build(),
        )
        .tags(
            Tag::builder()
                .key(POOL_CAPACITY_TAG)
                .value("ml.g6.2xlarge=8,ml.g6e.2xlarge=14")
                .build(),
        )
        .build();
    SearchOutput::builder()
        .results(SearchRecord::builder().endpoint(endpoint).build())
        .build()
}

#[tokio::test]
async fn instance_pool_summaries_become_weighted_utilization() {
    let search = mock!(aws_sdk_sagemaker::Client::search).then_output(mixed_fleet_search);
    let endpoints =
        sagemaker::endpoints_tagged(&mocked!(aws_sdk_sagemaker, &search), &[POOL_CAPACITY_TAG])
            .await
            .unwrap();
    assert_eq!(
        endpoints[0].variants[0].pools,
        [
            ("ml.g6.2xlarge".to_owned(), 3),
            ("ml.g6e.2xlarge".to_owned(), 1)
        ]
    );

    let shape = ConfigShape {
        asynchronous: false,
        variants: vec![(VariantName::new("AllTraffic").unwrap(), Instances::Pooled)],
    };
    let variants = pool::resolve(&endpoints[0], &shape).unwrap();
    let series = pool::series(&variants);
    // Two types, and what sagetide published before.
    assert_eq!(series.len(), 3);

    // CloudWatch answers each query by its id: g6 instances at 6 in flight, the g6e at 7, and
    // nothing published yet.
    let metrics = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(|input| {
        let results = input.metric_data_queries().iter().map(|q| {
            let result = MetricDataResult::builder()
                .id(q.id().unwrap_or_default())
                .status_code(StatusCode::Complete);
            let Some(metric) = q.metric_stat().and_then(|s| s.metric()) else {
                return result.build();
            };
            if metric.metric_name() != Some("ConcurrentRequestsPerModel") {
                return result.build();
            }
            let instance_type = metric
                .dimensions()
                .iter()
                .find(|d| d.name() == Some("InstanceType"))
                .and_then(|d| d.value())
                .unwrap_or_default();
            let value = if instance_type == "ml.g6.2xlarge" {
                6.0
            } else {
                7.0
            };
            result
                .timestamps(DateTime::from_secs(T0))
                .values(value)
                .build()
        });
        GetMetricDataOutput::builder()
            .set_metric_data_results(Some(results.collect()))
            .build()
    });
    let start = Timestamp::from_second(T0).unwrap();
    // Three minutes on, the bucket has landed whatever came after it.
    let now = start + jiff::SignedDuration::from_secs(180);
    let values = cloudwatch::read(
        &mocked!(aws_sdk_cloudwatch, &metrics),
        &series,
        pool::window_start(now),
        now,
    )
    .await
    .unwrap();
    assert!(values.iter().all(|read| read.complete));
    let fetched: BTreeMap<_, _> = series
        .into_iter()
        .zip(values)
        .map(|(s, read)| (s, read.values))
        .collect();
    let (points, problems) = pool::datapoints(now, &variants, &fetched);
    assert!(problems.is_empty());
    let at_start = points.iter().find(|p| p.at == start).unwrap();
    assert!((at_start.value - (3.0 * 6.0 + 7.0) / (3.0 * 8.0 + 14.0)).abs() < 1e-12);
}

/// AWS's documented fixed-weight metric math, `0.5*cr_g6 + 0.5*cr_g6e`, with its target at 75 %
/// of the average capacity (8.25 requests), against FleetUtilization with target 0.75.
/// "Should scale out" is judged by the fleet's true utilization: in-flight requests over the
/// capacity of the instances running.
#[test]
fn worked_comparison_with_fixed_weights() {
    let capacity = PoolCapacity::parse("ml.g6.2xlarge=8,ml.g6e.2xlarge=14").unwrap();
    let aws_target = 0.75 * (0.5 * 8.0 + 0.5 * 14.0);
    // (case, g6 instances, g6 in flight per instance, g6e instances, g6e in flight per instance)
    let cases = [
        ("light load", 3, 2.0, 1, 3.5),
        ("30 in flight, spread evenly", 3, 7.5, 1, 7.5),
        (
            "26 in flight, spread by capacity",
            3,
            8.0 * 26.0 / 38.0,
            1,
            14.0 * 26.0 / 38.0,
        ),
        ("g6e busy, g6 idle", 3, 3.0, 1, 14.0),
        ("g6e pool empty (capacity shortage)", 3, 7.0, 0, 0.0),
    ];
    let mut rows = Vec::new();
    for (name, n6, c6, n6e, c6e) in cases {
        let t0 = Timestamp::from_second(T0).unwrap();
        let series = |c: f64, n: u32| {
            if n > 0 {
                BTreeMap::from([(t0, c)])
            } else {
                BTreeMap::new()
            }
        };
        let pools = [
            Pool {
                instance_type: "ml.g6.2xlarge".into(),
                instances: n6,
                concurrency: series(c6, n6),
            },
            Pool {
                instance_type: "ml.g6e.2xlarge".into(),
                instances: n6e,
                concurrency: series(c6e, n6e),
            },
        ];
        let ours = fleet_utilization(&pools, &capacity, &[t0]).unwrap()[0].1;
        // Metric math over a series with no datapoint has no value: the policy cannot act.
        let fixed = (n6e > 0).then_some(0.5 * c6 + 0.5 * c6e);
        let load = f64::from(n6) * c6 + f64::from(n6e) * c6e;
        let truth = load / (8.0 * f64::from(n6) + 14.0 * f64::from(n6e));
        rows.push((
            name,
            fixed,
            fixed.map(|f| f > aws_target),
            ours,
            ours > 0.75,
            truth > 0.75,
        ));
    }
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.3} | {} | {} |",
            r.0,
            r.1.map_or("no data".into(), |f| format!("{f:.2}")),
            r.2.map_or("none".into(), |s| if s { "scale out" } else { "hold" }
                .to_owned()),
            r.3,
            if r.4 { "scale out" } else { "hold" },
            if r.5 { "scale out" } else { "hold" },
        );
    }
    let summary: Vec<(Option<bool>, bool, bool)> = rows.iter().map(|r| (r.2, r.4, r.5)).collect();
    assert_eq!(
        summary,
        [
            (Some(false), false, false),
            (Some(false), true, true),
            (Some(false), false, false),
            (Some(true), false, false),
            (None, true, true),
        ]
    );
    let ours: Vec<String> = rows.iter().map(|r| format!("{:.3}", r.3)).collect();
    assert_eq!(ours, ["0.250", "0.789", "0.684", "0.605", "0.875"]);
    // Ours is the true utilization by construction; the fixed weights disagree in 3 of 5.
    assert!(rows.iter().all(|r| r.4 == r.5));
}
