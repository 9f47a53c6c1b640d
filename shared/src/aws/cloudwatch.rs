use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy, StandardUnit,
};
use aws_smithy_types::DateTime;
use jiff::Timestamp;

use super::AwsError;
use crate::names::VariantRef;

/// GetMetricData takes at most this many queries a call.
const QUERIES_PER_CALL: usize = 500;
/// PutMetricData takes at most this many datums a call.
const DATUMS_PER_CALL: usize = 1000;

pub const FLEET_UTILIZATION_NAMESPACE: &str = "Sagetide";
pub const FLEET_UTILIZATION: &str = "FleetUtilization";

/// One `AWS/SageMaker` `ConcurrentRequestsPerModel` series of a variant: per instance type, or
/// the variant-level series (no `InstanceType` dimension).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConcurrencySeries {
    pub variant: VariantRef,
    pub instance_type: Option<String>,
}

fn dimensions(variant: &VariantRef) -> [Dimension; 2] {
    [
        Dimension::builder()
            .name("EndpointName")
            .value(variant.endpoint.as_str())
            .build(),
        Dimension::builder()
            .name("VariantName")
            .value(variant.variant.as_str())
            .build(),
    ]
}

/// The Average of each series per `period_seconds` bucket in [start, end), in the order of
/// `series`, fetched with ⌈series/500⌉ GetMetricData calls.
pub async fn concurrency(
    client: &Client,
    series: &[ConcurrencySeries],
    start: Timestamp,
    end: Timestamp,
    period_seconds: i32,
) -> Result<Vec<BTreeMap<Timestamp, f64>>, AwsError> {
    let mut out = vec![BTreeMap::new(); series.len()];
    for (chunk_index, chunk) in series.chunks(QUERIES_PER_CALL).enumerate() {
        let queries = chunk.iter().enumerate().map(|(i, s)| {
            let mut dims = dimensions(&s.variant).to_vec();
            if let Some(t) = &s.instance_type {
                dims.push(Dimension::builder().name("InstanceType").value(t).build());
            }
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/SageMaker")
                                .metric_name("ConcurrentRequestsPerModel")
                                .set_dimensions(Some(dims))
                                .build(),
                        )
                        .period(period_seconds)
                        .stat("Average")
                        .build(),
                )
                .return_data(true)
                .build()
        });
        let mut pages = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.collect()))
            .start_time(to_smithy(start))
            .end_time(to_smithy(end))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new("cloudwatch:GetMetricData", e))?;
            for result in page.metric_data_results.unwrap_or_default() {
                let Some(i) = result
                    .id
                    .as_deref()
                    .and_then(|id| id.strip_prefix('q'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|i| *i < chunk.len())
                else {
                    continue;
                };
                let values = out
                    .get_mut(chunk_index * QUERIES_PER_CALL + i)
                    .expect("index within the series");
                let timestamps = result.timestamps.unwrap_or_default();
                for (at, value) in timestamps.iter().zip(result.values.unwrap_or_default()) {
                    values.insert(from_smithy(at), value);
                }
            }
        }
    }
    Ok(out)
}

/// Publishes `FleetUtilization` datapoints (storage resolution 1 s), 1000 a call.
pub async fn put_fleet_utilization(
    client: &Client,
    datapoints: &[(VariantRef, Timestamp, f64)],
) -> Result<usize, AwsError> {
    let mut calls = 0;
    for chunk in datapoints.chunks(DATUMS_PER_CALL) {
        let data = chunk.iter().map(|(variant, at, value)| {
            MetricDatum::builder()
                .metric_name(FLEET_UTILIZATION)
                .set_dimensions(Some(dimensions(variant).to_vec()))
                .timestamp(to_smithy(*at))
                .value(*value)
                .unit(StandardUnit::None)
                .storage_resolution(1)
                .build()
        });
        client
            .put_metric_data()
            .namespace(FLEET_UTILIZATION_NAMESPACE)
            .set_metric_data(Some(data.collect()))
            .send()
            .await
            .map_err(|e| AwsError::new("cloudwatch:PutMetricData", e))?;
        calls += 1;
    }
    Ok(calls)
}

fn to_smithy(t: Timestamp) -> DateTime {
    DateTime::from_secs_and_nanos(t.as_second(), t.subsec_nanosecond().unsigned_abs())
}

fn from_smithy(t: &DateTime) -> Timestamp {
    Timestamp::new(t.secs(), t.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}
