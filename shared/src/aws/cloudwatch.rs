use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricDatum,
    MetricStat, ScanBy, StandardUnit, StateValue, StatusCode, Tag,
};
use jiff::Timestamp;

use super::{AwsError, from_smithy, to_smithy};
use crate::fleet::AlarmStatus;
use crate::idle::{self, ExistingAlarm, IdleAlarm};
use crate::names::{ComponentName, EndpointName, VariantName, VariantRef};
use crate::permissions::Function;
use crate::places::{Place, PlaceStep};
use crate::pool::{Point, Series};
use crate::snapshot::{ActionList, AlarmLink};

/// GetMetricData takes at most this many queries a call.
const QUERIES_PER_CALL: usize = 500;
/// PutMetricData takes at most this many datums a call.
const DATUMS_PER_CALL: usize = 1000;

/// sagetide's own metrics' namespace (the template lets the functions write only there).
pub const SAGETIDE_NAMESPACE: &str = "Sagetide";
/// One datapoint per wake that failed or took too long.
pub const WAKE_FAILURES: &str = "WakeFailures";

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

/// One series as GetMetricData answered it.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub values: BTreeMap<Timestamp, f64>,
    /// CloudWatch said `Complete`; otherwise what came back cannot be relied on (a missing
    /// datapoint may be one it failed to return).
    pub complete: bool,
}

/// Each series per bucket of its period in [start, end), in the order of `series`, fetched
/// with ⌈series/500⌉ GetMetricData calls.
pub async fn read(
    client: &Client,
    series: &[Series],
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<Read>, AwsError> {
    let mut out = vec![Read::default(); series.len()];
    for (chunk_index, chunk) in series.chunks(QUERIES_PER_CALL).enumerate() {
        let queries = chunk.iter().enumerate().map(|(i, s)| {
            let (namespace, name, dims, stat) = match s {
                Series::Concurrency {
                    variant,
                    instance_type,
                } => {
                    let mut dims = dimensions(variant).to_vec();
                    if let Some(t) = instance_type {
                        dims.push(Dimension::builder().name("InstanceType").value(t).build());
                    }
                    (
                        "AWS/SageMaker",
                        "ConcurrentRequestsPerModel",
                        dims,
                        "Average",
                    )
                }
                Series::Backlog { endpoint } => (
                    "AWS/SageMaker",
                    "ApproximateBacklogSize",
                    vec![
                        Dimension::builder()
                            .name("EndpointName")
                            .value(endpoint.as_str())
                            .build(),
                    ],
                    "Average",
                ),
                Series::Published { metric, variant } => (
                    SAGETIDE_NAMESPACE,
                    metric.name(),
                    dimensions(variant).to_vec(),
                    "SampleCount",
                ),
            };
            let metric = Metric::builder()
                .namespace(namespace)
                .metric_name(name)
                .set_dimensions(Some(dims))
                .build();
            let period = i32::try_from(s.period().as_secs()).expect("a short period");
            stat_query(format!("q{i}"), metric, period, stat, true)
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
                let read = out
                    .get_mut(chunk_index * QUERIES_PER_CALL + i)
                    .expect("index within the series");
                // A later page carries the rest of a query and its final status.
                read.complete = result.status_code == Some(StatusCode::Complete);
                let timestamps = result.timestamps.unwrap_or_default();
                for (at, value) in timestamps.iter().zip(result.values.unwrap_or_default()) {
                    read.values
                        .insert(from_smithy(at).unwrap_or(Timestamp::UNIX_EPOCH), value);
                }
            }
        }
    }
    Ok(out)
}

/// `Sagetide/PlaceFailures`: a managed place's tick that failed, by `Account`, `Function`,
/// `Region` and `Step`.
pub const PLACE_FAILURES: &str = "PlaceFailures";

/// How many of each of `places`' ticks of each of `functions` failed, by step, in
/// [start, end): the sum of their `PlaceFailures`, with ⌈queries / 500⌉ GetMetricData calls.
/// Only the non-zero are kept.
pub async fn place_failures(
    client: &Client,
    functions: &[Function],
    places: &[Place],
    start: Timestamp,
    end: Timestamp,
) -> Result<BTreeMap<(Place, PlaceStep), f64>, AwsError> {
    let asked: Vec<(&Place, Function, PlaceStep)> = places
        .iter()
        .flat_map(|p| {
            functions
                .iter()
                .flat_map(move |f| PlaceStep::ALL.map(|step| (p, *f, step)))
        })
        .collect();
    // One period over the whole window, in whole minutes as CloudWatch wants them.
    let period = i32::try_from((end - start).as_secs().max(60) / 60 * 60).unwrap_or(i32::MAX);
    let mut failures = BTreeMap::new();
    for chunk in asked.chunks(QUERIES_PER_CALL) {
        let queries = chunk
            .iter()
            .enumerate()
            .map(|(i, (place, function, step))| {
                let dimension =
                    |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
                let metric = Metric::builder()
                    .namespace(SAGETIDE_NAMESPACE)
                    .metric_name(PLACE_FAILURES)
                    .dimensions(dimension("Account", place.account.as_str()))
                    .dimensions(dimension("Function", function.name()))
                    .dimensions(dimension("Region", place.region.as_str()))
                    .dimensions(dimension("Step", step.as_str()))
                    .build();
                stat_query(format!("f{i}"), metric, period, "Sum", true)
            });
        let mut pages = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.collect()))
            .start_time(to_smithy(start))
            .end_time(to_smithy(end))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::new("cloudwatch:GetMetricData", e))?;
            for result in page.metric_data_results.unwrap_or_default() {
                let Some((place, _, step)) = result
                    .id
                    .as_deref()
                    .and_then(|id| id.strip_prefix('f'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| chunk.get(i))
                else {
                    continue;
                };
                let sum: f64 = result.values.unwrap_or_default().iter().sum();
                if sum > 0.0 {
                    *failures.entry(((*place).clone(), *step)).or_default() += sum;
                }
            }
        }
    }
    Ok(failures)
}

/// How many PutMetricData calls publish `datapoints` datapoints.
pub fn put_calls(datapoints: usize) -> usize {
    datapoints.div_ceil(DATUMS_PER_CALL)
}

/// Publishes sagetide's metrics, 1000 datapoints a call, in order: how many were sent, and the
/// error that stopped the rest.
pub async fn put_points(client: &Client, points: &[Point]) -> (usize, Result<(), AwsError>) {
    let mut sent = 0;
    for chunk in points.chunks(DATUMS_PER_CALL) {
        let data = chunk.iter().map(|p| {
            MetricDatum::builder()
                .metric_name(p.metric.name())
                .set_dimensions(Some(dimensions(&p.variant).to_vec()))
                .timestamp(to_smithy(p.at))
                .value(p.value)
                .unit(StandardUnit::None)
                .storage_resolution(p.metric.storage_resolution())
                .build()
        });
        let put = client
            .put_metric_data()
            .namespace(SAGETIDE_NAMESPACE)
            .set_metric_data(Some(data.collect()))
            .send()
            .await;
        if let Err(e) = put {
            return (sent, Err(AwsError::new("cloudwatch:PutMetricData", e)));
        }
        sent += chunk.len();
    }
    (sent, Ok(()))
}

/// One datapoint of a `Sagetide` metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
}

/// Publishes `data`, all at `at`, 1000 datapoints a call.
pub async fn put_data(client: &Client, at: Timestamp, data: &[Datum]) -> Result<(), AwsError> {
    for chunk in data.chunks(DATUMS_PER_CALL) {
        let data = chunk.iter().map(|d| {
            let dimensions = d
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(*name).value(value).build());
            MetricDatum::builder()
                .metric_name(d.metric)
                .set_dimensions(Some(dimensions.collect()))
                .timestamp(to_smithy(at))
                .value(d.value)
                .unit(StandardUnit::None)
                .build()
        });
        client
            .put_metric_data()
            .namespace(SAGETIDE_NAMESPACE)
            .set_metric_data(Some(data.collect()))
            .send()
            .await
            .map_err(|e| AwsError::new("cloudwatch:PutMetricData", e))?;
    }
    Ok(())
}

/// What CloudWatch knows of an endpoint's recent traffic (see [`activity`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The sum of `Invocations` over the window.
    pub invocations: f64,
    /// The highest `ConcurrentRequestsPerModel` over the last minutes, which lands long before
    /// the `Invocations` of the same requests do.
    pub peak_concurrency: f64,
    /// The queries whose data CloudWatch did not return in full (`StatusCode` other than
    /// `Complete`): the idle check cannot rely on what it read.
    pub incomplete: Vec<String>,
}

/// What an idle check reads the traffic of.
#[derive(Debug, Clone, Copy)]
pub enum Watched<'a> {
    /// An endpoint's variants: their `Invocations` and `ConcurrentRequestsPerModel`.
    Variants(&'a [VariantRef]),
    /// An inference component: its `Invocations`.
    Component(&'a ComponentName),
}

/// The `Invocations` of what is `watched` over `window` (summed by `period_seconds`) and the
/// peak `ConcurrentRequestsPerModel` of its variants over `recent`, in one GetMetricData call,
/// every page read.
pub async fn activity(
    client: &Client,
    watched: Watched<'_>,
    window: (Timestamp, Timestamp),
    period_seconds: i32,
    recent: Timestamp,
) -> Result<Activity, AwsError> {
    let (start, end) = window;
    let (invocations, concurrency): (Vec<Metric>, Vec<Metric>) = match watched {
        Watched::Variants(variants) => (
            variants.iter().map(invocations_metric).collect(),
            variants
                .iter()
                .map(|variant| {
                    Metric::builder()
                        .namespace("AWS/SageMaker")
                        .metric_name("ConcurrentRequestsPerModel")
                        .set_dimensions(Some(dimensions(variant).to_vec()))
                        .build()
                })
                .collect(),
        ),
        Watched::Component(component) => (vec![component_invocations(component)], Vec::new()),
    };
    let ids: Vec<String> = (0..invocations.len())
        .map(|i| format!("invocations{i}"))
        .chain((0..concurrency.len()).map(|i| format!("concurrency{i}")))
        .collect();
    let queries = invocations
        .into_iter()
        .map(|m| (m, period_seconds, "Sum"))
        .chain(concurrency.into_iter().map(|m| (m, 60, "Maximum")))
        .zip(&ids)
        .map(|((metric, period, stat), id)| stat_query(id.clone(), metric, period, stat, true))
        .collect();
    let mut pages = client
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(to_smithy(start.min(recent)))
        .end_time(to_smithy(end))
        .into_paginator()
        .send();
    let mut activity = Activity {
        invocations: 0.0,
        peak_concurrency: 0.0,
        incomplete: Vec::new(),
    };
    // A query's status is its last page's: PartialData means more pages follow. A query
    // CloudWatch did not answer at all is as incomplete as one it answered in part.
    let mut status: BTreeMap<String, bool> = ids.into_iter().map(|id| (id, false)).collect();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("cloudwatch:GetMetricData", e))?;
        for result in page.metric_data_results.unwrap_or_default() {
            let id = result.id.unwrap_or_default();
            let complete = result.status_code == Some(StatusCode::Complete);
            let points = result
                .timestamps
                .unwrap_or_default()
                .into_iter()
                .zip(result.values.unwrap_or_default());
            if id.starts_with("invocations") {
                // The concurrency window may start earlier than the idle window.
                activity.invocations += points
                    .filter(|(at, _)| from_smithy(at).is_ok_and(|t| t >= start))
                    .map(|(_, v)| v)
                    .sum::<f64>();
            } else {
                activity.peak_concurrency = points
                    .filter(|(at, _)| from_smithy(at).is_ok_and(|t| t >= recent))
                    .map(|(_, v)| v)
                    .fold(activity.peak_concurrency, f64::max);
            }
            status.insert(id, complete);
        }
    }
    activity.incomplete = status
        .into_iter()
        .filter(|(_, complete)| !complete)
        .map(|(id, _)| id)
        .collect();
    Ok(activity)
}

/// Counts a failed wake of `endpoint` in `Sagetide/WakeFailures`, per endpoint and for the
/// whole deployment (the template's alarm watches the latter).
pub async fn count_wake_failure(client: &Client, endpoint: &EndpointName) -> Result<(), AwsError> {
    let datum = |dimensions: Option<Vec<Dimension>>| {
        MetricDatum::builder()
            .metric_name(WAKE_FAILURES)
            .set_dimensions(dimensions)
            .value(1.0)
            .unit(StandardUnit::Count)
            .build()
    };
    let per_endpoint = Dimension::builder()
        .name("EndpointName")
        .value(endpoint.as_str())
        .build();
    client
        .put_metric_data()
        .namespace(SAGETIDE_NAMESPACE)
        .metric_data(datum(Some(vec![per_endpoint])))
        .metric_data(datum(None))
        .send()
        .await
        .map_err(|e| AwsError::new("cloudwatch:PutMetricData", e))?;
    Ok(())
}

fn stat_query(
    id: String,
    metric: Metric,
    period_seconds: i32,
    stat: &str,
    return_data: bool,
) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period_seconds)
                .stat(stat)
                .build(),
        )
        .return_data(return_data)
        .build()
}

fn component_invocations(component: &ComponentName) -> Metric {
    Metric::builder()
        .namespace("AWS/SageMaker")
        .metric_name("Invocations")
        .dimensions(
            Dimension::builder()
                .name("InferenceComponentName")
                .value(component.as_str())
                .build(),
        )
        .build()
}

fn invocations_metric(variant: &VariantRef) -> Metric {
    Metric::builder()
        .namespace("AWS/SageMaker")
        .metric_name("Invocations")
        .set_dimensions(Some(dimensions(variant).to_vec()))
        .build()
}

/// Every idle alarm sagetide keeps, as it is configured now and its state: ⌈alarms/100⌉
/// DescribeAlarms calls.
pub async fn idle_alarms(client: &Client) -> Result<Vec<ExistingAlarm>, AwsError> {
    let mut pages = client
        .describe_alarms()
        .alarm_name_prefix(idle::ALARM_PREFIX)
        .alarm_types(AlarmType::MetricAlarm)
        .max_records(100)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("cloudwatch:DescribeAlarms", e))?;
        for alarm in page.metric_alarms.unwrap_or_default() {
            let Some((endpoint, component)) =
                alarm.alarm_name.as_deref().and_then(idle::watched_by_alarm)
            else {
                continue;
            };
            let stats: Vec<&MetricStat> = alarm
                .metrics()
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .collect();
            let mut variants: Vec<VariantName> = stats
                .iter()
                .filter_map(|s| s.metric.as_ref())
                .flat_map(|m| m.dimensions())
                .filter(|d| d.name() == Some("VariantName"))
                .filter_map(|d| VariantName::new(d.value()?).ok())
                .collect();
            variants.sort();
            out.push(ExistingAlarm {
                alarm: IdleAlarm {
                    endpoint,
                    component,
                    variants,
                    period_seconds: stats.first().and_then(|s| s.period).unwrap_or(0),
                    evaluation_periods: alarm.evaluation_periods.unwrap_or(0),
                },
                firing: alarm.state_value == Some(StateValue::Alarm),
            });
        }
    }
    Ok(out)
}

/// An alarm that runs an action: which of its action lists hold it, its ARN and its metric.
#[derive(Debug, Clone)]
pub struct Invoking {
    pub link: AlarmLink,
    pub arn: Option<String>,
    /// `namespace/metric name`, for an alarm on one metric.
    pub metric: Option<String>,
}

/// The alarms with an action starting with `action` (a step policy's ARN). CloudWatch's
/// `ActionPrefix` matches any of an alarm's actions.
pub async fn invoking(client: &Client, action: &str) -> Result<Vec<Invoking>, AwsError> {
    let mut pages = client
        .describe_alarms()
        .action_prefix(action)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("cloudwatch:DescribeAlarms", e))?;
        for alarm in page.metric_alarms() {
            let Some(name) = alarm.alarm_name.clone() else {
                continue;
            };
            let lists: Vec<ActionList> = action_lists(alarm)
                .into_iter()
                .filter(|(_, actions)| actions.iter().any(|a| a.starts_with(action)))
                .map(|(list, _)| list)
                .collect();
            if !lists.is_empty() {
                let metric = alarm
                    .namespace()
                    .zip(alarm.metric_name())
                    .map(|(namespace, name)| format!("{namespace}/{name}"));
                out.push(Invoking {
                    link: AlarmLink { alarm: name, lists },
                    arn: alarm.alarm_arn.clone(),
                    metric,
                });
            }
        }
    }
    Ok(out)
}

fn action_lists(alarm: &MetricAlarm) -> [(ActionList, &[String]); 3] {
    [
        (ActionList::Alarm, alarm.alarm_actions()),
        (ActionList::Ok, alarm.ok_actions()),
        (
            ActionList::InsufficientData,
            alarm.insufficient_data_actions(),
        ),
    ]
}

/// What [`link_policy`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// Every list the link names runs the policy (now, or already).
    Yes,
    /// The alarm no longer exists.
    AlarmGone,
}

/// Puts the step policy with ARN `arn` back into the action lists of `link.alarm` that ran it
/// before its endpoint was deleted, where it is missing, then reads the alarm back to be sure.
/// Actions naming an earlier incarnation of the same policy (their ARN ends with
/// `policy_suffix`, `:resource/…:policyName/…`) are replaced; every other action stays.
/// PutMetricAlarm replaces a whole alarm, so every setting is sent back as DescribeAlarms
/// returned it.
pub async fn link_policy(
    client: &Client,
    link: &AlarmLink,
    policy_suffix: &str,
    arn: &str,
) -> Result<Linked, AwsError> {
    let Some(alarm) = metric_alarm(client, &link.alarm).await? else {
        return Ok(Linked::AlarmGone);
    };
    let runs = |alarm: &MetricAlarm| {
        action_lists(alarm)
            .iter()
            .filter(|(list, _)| link.lists.contains(list))
            .all(|(_, actions)| actions.iter().any(|a| a == arn))
    };
    if runs(&alarm) {
        return Ok(Linked::Yes);
    }
    let relinked = |list: ActionList, actions: Option<Vec<String>>| {
        if !link.lists.contains(&list) {
            return actions;
        }
        let mut actions: Vec<String> = actions
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a == arn || !a.ends_with(policy_suffix))
            .collect();
        if !actions.iter().any(|a| a == arn) {
            actions.push(arn.to_owned());
        }
        Some(actions)
    };
    client
        .put_metric_alarm()
        .alarm_name(&link.alarm)
        .set_alarm_description(alarm.alarm_description)
        .set_actions_enabled(alarm.actions_enabled)
        .set_ok_actions(relinked(ActionList::Ok, alarm.ok_actions))
        .set_alarm_actions(relinked(ActionList::Alarm, alarm.alarm_actions))
        .set_insufficient_data_actions(relinked(
            ActionList::InsufficientData,
            alarm.insufficient_data_actions,
        ))
        .set_metric_name(alarm.metric_name)
        .set_namespace(alarm.namespace)
        .set_statistic(alarm.statistic)
        .set_extended_statistic(alarm.extended_statistic)
        .set_dimensions(alarm.dimensions)
        .set_period(alarm.period)
        .set_unit(alarm.unit)
        .set_evaluation_periods(alarm.evaluation_periods)
        .set_datapoints_to_alarm(alarm.datapoints_to_alarm)
        .set_threshold(alarm.threshold)
        .set_comparison_operator(alarm.comparison_operator)
        .set_treat_missing_data(alarm.treat_missing_data)
        .set_evaluate_low_sample_count_percentile(alarm.evaluate_low_sample_count_percentile)
        .set_metrics(alarm.metrics)
        .set_threshold_metric_id(alarm.threshold_metric_id)
        .send()
        .await
        .map_err(|e| AwsError::new("cloudwatch:PutMetricAlarm", e))?;
    match metric_alarm(client, &link.alarm).await? {
        Some(read_back) if runs(&read_back) => Ok(Linked::Yes),
        Some(_) => Err(AwsError {
            operation: "cloudwatch:DescribeAlarms",
            message: format!(
                "alarm {} read back does not run the restored policy {arn}",
                link.alarm
            ),
            refused: false,
        }),
        None => Ok(Linked::AlarmGone),
    }
}

async fn metric_alarm(client: &Client, name: &str) -> Result<Option<MetricAlarm>, AwsError> {
    let found = client
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| AwsError::new("cloudwatch:DescribeAlarms", e))?;
    Ok(found.metric_alarms.unwrap_or_default().into_iter().next())
}

/// An alarm's tags, by its ARN; `None` for an alarm that does not exist.
pub async fn alarm_tags(client: &Client, arn: &str) -> Result<Option<crate::tags::Tags>, AwsError> {
    let found = match client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
    {
        Ok(found) => found,
        Err(e) if e.code() == Some("ResourceNotFound") => return Ok(None),
        Err(e) => return Err(AwsError::new("cloudwatch:ListTagsForResource", e)),
    };
    Ok(Some(
        found
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value?)))
            .collect(),
    ))
}

/// The state of each of the alarms `names` that exists, and since when: ⌈names/100⌉
/// DescribeAlarms calls.
pub async fn states(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, AlarmStatus>, AwsError> {
    let mut out = BTreeMap::new();
    for chunk in names.chunks(100) {
        // Without AlarmTypes, CloudWatch returns metric alarms only.
        let page = client
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| AwsError::new("cloudwatch:DescribeAlarms", e))?;
        let metric = page
            .metric_alarms()
            .iter()
            .map(|a| (&a.alarm_name, &a.state_value, &a.state_updated_timestamp));
        let composite = page
            .composite_alarms()
            .iter()
            .map(|a| (&a.alarm_name, &a.state_value, &a.state_updated_timestamp));
        for (name, state, since) in metric.chain(composite) {
            let (Some(name), Some(state)) = (name, state) else {
                continue;
            };
            out.insert(
                name.clone(),
                AlarmStatus {
                    firing: *state == StateValue::Alarm,
                    since: since
                        .as_ref()
                        .and_then(|t| from_smithy(t).ok())
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                },
            );
        }
    }
    Ok(out)
}

/// Creates or replaces an idle alarm. Its state changes reach the sleeper through an
/// EventBridge rule; the alarm itself has no actions.
pub async fn put_idle_alarm(client: &Client, alarm: &IdleAlarm) -> Result<(), AwsError> {
    let metrics: Vec<Metric> = match &alarm.component {
        Some(component) => vec![component_invocations(component)],
        None => alarm
            .variants
            .iter()
            .map(|variant| {
                invocations_metric(&VariantRef {
                    endpoint: alarm.endpoint.clone(),
                    variant: variant.clone(),
                })
            })
            .collect(),
    };
    let mut queries: Vec<MetricDataQuery> = metrics
        .into_iter()
        .enumerate()
        .map(|(i, metric)| stat_query(format!("m{i}"), metric, alarm.period_seconds, "Sum", false))
        .collect();
    queries.push(
        MetricDataQuery::builder()
            .id("invocations")
            .expression("SUM(METRICS())")
            .label("Invocations")
            .return_data(true)
            .build(),
    );
    client
        .put_metric_alarm()
        .alarm_name(alarm.name())
        .alarm_description(match &alarm.component {
            Some(component) => format!(
                "sagetide: inference component {component} had no invocations for {} periods of {} s; its ALARM asks the sleeper to take it to zero copies",
                alarm.evaluation_periods, alarm.period_seconds
            ),
            None => format!(
                "sagetide: {} had no invocations for {} periods of {} s; its ALARM asks the sleeper to delete it",
                alarm.endpoint, alarm.evaluation_periods, alarm.period_seconds
            ),
        })
        .set_metrics(Some(queries))
        .evaluation_periods(alarm.evaluation_periods)
        .datapoints_to_alarm(alarm.evaluation_periods)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::LessThanOrEqualToThreshold)
        .treat_missing_data("breaching")
        .tags(Tag::builder().key("sagetide:endpoint").value(alarm.endpoint.as_str()).build())
        .send()
        .await
        .map_err(|e| AwsError::new("cloudwatch:PutMetricAlarm", e))?;
    Ok(())
}

/// Deletes alarm `name`; one already gone (CloudWatch answers `ResourceNotFound`) is deleted.
pub async fn delete_alarm(client: &Client, name: &str) -> Result<(), AwsError> {
    match client.delete_alarms().alarm_names(name).send().await {
        Err(e) if e.code() == Some("ResourceNotFound") => Ok(()),
        other => other
            .map(drop)
            .map_err(|e| AwsError::new("cloudwatch:DeleteAlarms", e)),
    }
}

/// Puts an alarm back to OK so that it fires again if its condition still holds at the next
/// evaluation: the sleeper's way of asking to be called again after declining. An alarm that
/// does not exist (yet) has nothing to re-arm.
pub async fn rearm_alarm(client: &Client, name: &str, reason: &str) -> Result<(), AwsError> {
    let result = client
        .set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::Ok)
        .state_reason(reason.chars().take(1000).collect::<String>())
        .send()
        .await;
    match result {
        Err(e) if e.code() == Some("ResourceNotFound") => Ok(()),
        other => other
            .map(drop)
            .map_err(|e| AwsError::new("cloudwatch:SetAlarmState", e)),
    }
}
