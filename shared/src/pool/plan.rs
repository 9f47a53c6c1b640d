//! From observed endpoints to the series to fetch, and from fetched series to datapoints and
//! policy changes. Pure.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{POOL_CAPACITY_TAG, TARGET_UTILIZATION_TAG};
use super::{Pool, PoolCapacity, TargetUtilization, fleet_utilization};
use crate::aws::cloudwatch::ConcurrencySeries;
use crate::fleet::Endpoint;
use crate::names::{EndpointName, VariantName, VariantRef};
use crate::plan::{Action, Planned};

/// A variant whose instance types and counts are known, with its endpoint's capacities.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantPools {
    pub variant: VariantRef,
    pub capacity: PoolCapacity,
    /// Instances per type.
    pub pools: Vec<(String, u32)>,
    /// A single-type variant may publish only the variant-level series.
    pub single_type: bool,
}

/// Something wrong with one endpoint or variant; the others are still published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub endpoint: EndpointName,
    pub message: String,
}

/// The variants of `endpoint` with their pools. `types_of_config` gives the instance type of
/// each single-type variant (from the EndpointConfig).
pub fn resolve(
    endpoint: &Endpoint,
    types_of_config: &[(VariantName, String)],
) -> Result<Vec<VariantPools>, Problem> {
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
            let variant = VariantRef {
                endpoint: endpoint.name.clone(),
                variant: v.name.clone(),
            };
            if !v.pools.is_empty() {
                return Ok(VariantPools {
                    variant,
                    capacity: capacity.clone(),
                    pools: v.pools.clone(),
                    single_type: false,
                });
            }
            let instance_type = types_of_config
                .iter()
                .find(|(name, _)| *name == v.name)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| {
                    problem(format!(
                        "variant {}: its EndpointConfig names no instance type",
                        v.name
                    ))
                })?;
            Ok(VariantPools {
                variant,
                capacity: capacity.clone(),
                pools: vec![(instance_type, v.instances)],
                single_type: true,
            })
        })
        .collect()
}

/// The `ConcurrentRequestsPerModel` series each variant needs: one per instance type, and for
/// a single-type variant also the variant-level one.
pub fn series(variants: &[VariantPools]) -> Vec<ConcurrencySeries> {
    let mut out = Vec::new();
    for v in variants {
        for (instance_type, _) in &v.pools {
            out.push(ConcurrencySeries {
                variant: v.variant.clone(),
                instance_type: Some(instance_type.clone()),
            });
        }
        if v.single_type {
            out.push(ConcurrencySeries {
                variant: v.variant.clone(),
                instance_type: None,
            });
        }
    }
    out
}

/// `FleetUtilization` datapoints for every variant, from the fetched series.
pub fn datapoints(
    variants: &[VariantPools],
    fetched: &BTreeMap<ConcurrencySeries, BTreeMap<Timestamp, f64>>,
) -> (Vec<(VariantRef, Timestamp, f64)>, Vec<Problem>) {
    let none = BTreeMap::new();
    let get = |variant: &VariantRef, instance_type: Option<&str>| {
        fetched
            .get(&ConcurrencySeries {
                variant: variant.clone(),
                instance_type: instance_type.map(str::to_owned),
            })
            .unwrap_or(&none)
    };
    let mut points = Vec::new();
    let mut problems = Vec::new();
    for v in variants {
        let pools: Vec<Pool> = v
            .pools
            .iter()
            .map(|(instance_type, instances)| {
                let typed = get(&v.variant, Some(instance_type));
                let concurrency = if typed.is_empty() && v.single_type {
                    get(&v.variant, None)
                } else {
                    typed
                };
                Pool {
                    instance_type: instance_type.clone(),
                    instances: *instances,
                    concurrency: concurrency.clone(),
                }
            })
            .collect();
        match fleet_utilization(&pools, &v.capacity) {
            Ok(values) => {
                points.extend(values.into_iter().map(|(at, u)| (v.variant.clone(), at, u)))
            }
            Err(e) => problems.push(Problem {
                endpoint: v.variant.endpoint.clone(),
                message: format!("variant {}: {e}", v.variant.variant),
            }),
        }
    }
    (points, problems)
}

/// One `Publish` action per endpoint with its variants' datapoints (the executor sends those of
/// many endpoints in one call).
pub fn publications(points: Vec<(VariantRef, Timestamp, f64)>) -> Vec<Planned> {
    let mut by_endpoint: BTreeMap<EndpointName, Vec<(VariantRef, Timestamp, f64)>> =
        BTreeMap::new();
    for point in points {
        by_endpoint
            .entry(point.0.endpoint.clone())
            .or_default()
            .push(point);
    }
    by_endpoint
        .into_iter()
        .map(|(endpoint, points)| Planned {
            endpoint,
            action: Action::Publish { points },
            reason: "Sagetide/FleetUtilization of the last minute".into(),
        })
        .collect()
}

/// A policy put for each variant whose sagetide policy is missing or has another target.
/// Endpoints without `sagetide:target-utilization` get none.
pub fn policies_to_put(
    endpoints: &[Endpoint],
    variants: &[VariantPools],
    existing: &[(VariantRef, f64)],
) -> (Vec<Planned>, Vec<Problem>) {
    let mut put = Vec::new();
    let mut problems = Vec::new();
    for endpoint in endpoints {
        let Some(tag) = endpoint.tag(TARGET_UTILIZATION_TAG) else {
            continue;
        };
        let target = match TargetUtilization::parse(tag) {
            Ok(t) => t.value(),
            Err(e) => {
                problems.push(Problem {
                    endpoint: endpoint.name.clone(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        for v in variants
            .iter()
            .filter(|v| v.variant.endpoint == endpoint.name)
        {
            let current = existing
                .iter()
                .find(|(e, _)| *e == v.variant)
                .map(|(_, t)| *t);
            if current.is_none_or(|c| (c - target).abs() > 1e-9) {
                put.push(Planned {
                    endpoint: endpoint.name.clone(),
                    action: Action::PutUtilizationPolicy {
                        variant: v.variant.variant.clone(),
                        target,
                    },
                    reason: format!("tag {TARGET_UTILIZATION_TAG}={tag}"),
                });
            }
        }
    }
    (put, problems)
}

#[cfg(test)]
mod tests;
