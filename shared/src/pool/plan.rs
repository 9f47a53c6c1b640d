//! From observed endpoints to the series to fetch, and from fetched series to the datapoints
//! to publish. Pure.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::landing::{ready, reported};
use super::series::{Point, PoolMetric, Series};
use super::{POOL_CAPACITY_TAG, Pool, PoolCapacity};
use super::{backlog_per_capacity, fleet_utilization};
use crate::fleet::Endpoint;
use crate::names::{EndpointName, VariantName, VariantRef};
use crate::plan::{Action, Planned};

/// How an EndpointConfig runs a variant's instances. EndpointConfigs cannot change, so this is
/// read once per config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instances {
    /// One instance type: the endpoint's `CurrentInstanceCount` are all of it.
    Single(String),
    /// Instance pools (`InstancePools`): how many of each type run is read from the endpoint.
    Pooled,
}

/// What pool-metrics needs of an EndpointConfig.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigShape {
    /// `AsyncInferenceConfig` is set: the endpoint also gets `BacklogPerCapacity`.
    pub asynchronous: bool,
    pub variants: Vec<(VariantName, Instances)>,
}

impl ConfigShape {
    /// Its variants run instance pools, whose counts only DescribeEndpoint reports for sure.
    pub fn pooled(&self) -> bool {
        self.variants
            .iter()
            .any(|(_, i)| matches!(i, Instances::Pooled))
    }
}

/// A variant whose instance types and counts are known, with its endpoint's capacities.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantPools {
    pub variant: VariantRef,
    pub capacity: PoolCapacity,
    /// Instances per type.
    pub pools: Vec<(String, u32)>,
    /// A single-type variant may publish only the variant-level series.
    pub single_type: bool,
    /// Its endpoint is asynchronous.
    pub asynchronous: bool,
}

/// Something wrong with one endpoint or variant; the others are still published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub endpoint: EndpointName,
    pub message: String,
}

/// The variants of `endpoint` with their pools, as its EndpointConfig (`shape`) runs them.
pub fn resolve(endpoint: &Endpoint, shape: &ConfigShape) -> Result<Vec<VariantPools>, Problem> {
    let problem = |message: String| Problem {
        endpoint: endpoint.name.clone(),
        message,
    };
    let tag = endpoint.tag(POOL_CAPACITY_TAG).unwrap_or_default();
    let capacity = PoolCapacity::parse(tag).map_err(|e| problem(e.to_string()))?;
    endpoint
        .variants
        .iter()
        .map(|v| {
            let instances = shape
                .variants
                .iter()
                .find(|(name, _)| *name == v.name)
                .map(|(_, i)| i)
                .ok_or_else(|| {
                    problem(format!(
                        "variant {}: its EndpointConfig names no instance type",
                        v.name
                    ))
                })?;
            let (pools, single_type) = match instances {
                Instances::Single(instance_type) => {
                    (vec![(instance_type.clone(), v.instances)], true)
                }
                Instances::Pooled => (v.pools.clone(), false),
            };
            Ok(VariantPools {
                variant: VariantRef {
                    endpoint: endpoint.name.clone(),
                    variant: v.name.clone(),
                },
                capacity: capacity.clone(),
                pools,
                single_type,
                asynchronous: shape.asynchronous,
            })
        })
        .collect()
}

/// The series to read: each variant's `ConcurrentRequestsPerModel` per instance type (and the
/// variant-level one for a single-type variant) and what sagetide already published of it; an
/// asynchronous endpoint's backlog, and what was published of `BacklogPerCapacity`.
pub fn series(variants: &[VariantPools]) -> Vec<Series> {
    let mut out = Vec::new();
    let mut backlogs = BTreeSet::new();
    for v in variants {
        for (instance_type, _) in &v.pools {
            out.push(Series::Concurrency {
                variant: v.variant.clone(),
                instance_type: Some(instance_type.clone()),
            });
        }
        if v.single_type {
            out.push(Series::Concurrency {
                variant: v.variant.clone(),
                instance_type: None,
            });
        }
        out.push(Series::Published {
            metric: PoolMetric::FleetUtilization,
            variant: v.variant.clone(),
        });
        if v.asynchronous {
            if backlogs.insert(v.variant.endpoint.clone()) {
                out.push(Series::Backlog {
                    endpoint: v.variant.endpoint.clone(),
                });
            }
            out.push(Series::Published {
                metric: PoolMetric::BacklogPerCapacity,
                variant: v.variant.clone(),
            });
        }
    }
    out
}

/// The datapoints of every bucket that has landed by `now` and was not published before (see
/// [`super::landing`]), from the fetched series.
pub fn datapoints(
    now: Timestamp,
    variants: &[VariantPools],
    fetched: &BTreeMap<Series, BTreeMap<Timestamp, f64>>,
) -> (Vec<Point>, Vec<Problem>) {
    let none = BTreeMap::new();
    let get = |series: Series| fetched.get(&series).unwrap_or(&none);
    let concurrency = |variant: &VariantRef, instance_type: Option<&str>| {
        get(Series::Concurrency {
            variant: variant.clone(),
            instance_type: instance_type.map(str::to_owned),
        })
    };
    let published = |metric, variant: &VariantRef| -> BTreeSet<Timestamp> {
        get(Series::Published {
            metric,
            variant: variant.clone(),
        })
        .keys()
        .copied()
        .collect()
    };
    let mut points = Vec::new();
    let mut problems = Vec::new();
    // An asynchronous endpoint's capacity, or `None` once one of its variants failed.
    let mut rooms: BTreeMap<&EndpointName, Option<f64>> = BTreeMap::new();
    for v in variants {
        let variant_level = v.single_type.then(|| concurrency(&v.variant, None));
        let used: Vec<(&String, u32, &BTreeMap<Timestamp, f64>)> = v
            .pools
            .iter()
            .map(|(instance_type, instances)| {
                let typed = concurrency(&v.variant, Some(instance_type));
                let series = match variant_level {
                    Some(level) if typed.is_empty() => level,
                    _ => typed,
                };
                (instance_type, *instances, series)
            })
            .collect();
        let pools: Vec<Pool> = used
            .iter()
            .map(|(instance_type, instances, series)| Pool {
                instance_type: (*instance_type).clone(),
                instances: *instances,
                concurrency: (*series).clone(),
            })
            .collect();
        // Landed by the series the values come from, of the types that run.
        let reported = reported(
            used.iter()
                .filter(|(_, instances, _)| *instances > 0)
                .map(|(_, _, series)| *series),
        );
        let metric = PoolMetric::FleetUtilization;
        let buckets = ready(
            now,
            metric.bucket(),
            &reported,
            &published(metric, &v.variant),
        );
        let problem = |e: super::PoolError| Problem {
            endpoint: v.variant.endpoint.clone(),
            message: format!("variant {}: {e}", v.variant.variant),
        };
        match fleet_utilization(&pools, &v.capacity, &buckets) {
            Ok(values) => points.extend(values.into_iter().map(|(at, value)| Point {
                metric,
                variant: v.variant.clone(),
                at,
                value,
            })),
            Err(e) => problems.push(problem(e)),
        }
        if v.asynchronous {
            let room = rooms.entry(&v.variant.endpoint).or_insert(Some(0.0));
            *room = room
                .zip(super::room(&pools, &v.capacity).ok())
                .map(|(a, b)| a + b);
        }
    }
    // An asynchronous endpoint's queue feeds all its variants: its backlog over their capacity,
    // and nothing while the capacity of one of them is unknown.
    for v in variants.iter().filter(|v| v.asynchronous) {
        let Some(Some(room)) = rooms.get(&v.variant.endpoint) else {
            problems.push(Problem {
                endpoint: v.variant.endpoint.clone(),
                message: format!(
                    "variant {}: no BacklogPerCapacity while the capacity of a variant is unknown",
                    v.variant.variant
                ),
            });
            continue;
        };
        let backlog = get(Series::Backlog {
            endpoint: v.variant.endpoint.clone(),
        });
        let metric = PoolMetric::BacklogPerCapacity;
        let buckets = ready(
            now,
            metric.bucket(),
            &reported([backlog]),
            &published(metric, &v.variant),
        );
        points.extend(
            backlog_per_capacity(backlog, *room, &buckets)
                .into_iter()
                .map(|(at, value)| Point {
                    metric,
                    variant: v.variant.clone(),
                    at,
                    value,
                }),
        );
    }
    (points, problems)
}

/// One `Publish` action per endpoint with its variants' datapoints (the executor sends those of
/// many endpoints in one call).
pub fn publications(points: Vec<Point>) -> Vec<Planned> {
    let mut by_endpoint: BTreeMap<EndpointName, Vec<Point>> = BTreeMap::new();
    for point in points {
        by_endpoint
            .entry(point.variant.endpoint.clone())
            .or_default()
            .push(point);
    }
    by_endpoint
        .into_iter()
        .map(|(endpoint, points)| Planned {
            endpoint,
            action: Action::Publish { points },
            reason: "the buckets that landed since the last run".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
