use std::collections::BTreeMap;

use jiff::Timestamp;
use thiserror::Error;

use super::PoolCapacity;

/// One instance type of a variant: how many instances run, and `ConcurrentRequestsPerModel`
/// (Average) per 10-second bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub instance_type: String,
    pub instances: u32,
    pub concurrency: BTreeMap<Timestamp, f64>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PoolError {
    #[error(
        "instance type {instance_type} runs {instances} instance(s) but is not in tag sagetide:pool-capacity; add {instance_type}=<concurrent requests per instance> to the tag"
    )]
    UnknownType {
        instance_type: String,
        instances: u32,
    },
}

/// `Σ k_t·n_t` over the types with instances: the concurrent requests the variant can carry
/// now. A running type missing from the tag is an error, since its capacity is unknown; types
/// listed in the tag that the variant does not run are ignored.
pub fn room(pools: &[Pool], capacity: &PoolCapacity) -> Result<f64, PoolError> {
    pools
        .iter()
        .filter(|p| p.instances > 0)
        .map(|p| {
            capacity
                .of(&p.instance_type)
                .map(|k| k * f64::from(p.instances))
                .ok_or_else(|| PoolError::UnknownType {
                    instance_type: p.instance_type.clone(),
                    instances: p.instances,
                })
        })
        .sum()
}

/// `FleetUtilization` of each of `buckets` (see [`super::landing`]): `Σ c_t·n_t / Σ k_t·n_t`
/// over the types with instances and a datapoint in the bucket (one without may be late), and
/// 0 for a landed bucket in which no type reports: instances run, and nothing is in flight. A
/// variant with no instance running has no value.
pub fn fleet_utilization(
    pools: &[Pool],
    capacity: &PoolCapacity,
    buckets: &[Timestamp],
) -> Result<Vec<(Timestamp, f64)>, PoolError> {
    if room(pools, capacity)? <= 0.0 {
        return Ok(Vec::new());
    }
    let running: Vec<(&Pool, f64)> = pools
        .iter()
        .filter(|p| p.instances > 0)
        .filter_map(|p| Some((p, capacity.of(&p.instance_type)?)))
        .collect();
    Ok(buckets
        .iter()
        .map(|b| {
            let (load, room) = running
                .iter()
                .filter_map(|(p, k)| {
                    let n = f64::from(p.instances);
                    p.concurrency.get(b).map(|c| (c * n, k * n))
                })
                .fold((0.0, 0.0), |(l, r), (c, k)| (l + c, r + k));
            (*b, if room > 0.0 { load / room } else { 0.0 })
        })
        .collect())
}

/// `BacklogPerCapacity` of each of `buckets` (all landed): the queued requests over the
/// concurrent requests the instances can carry (`room`); a landed minute without a backlog
/// datapoint had none. Nothing while no instance runs: then the scale-from-zero policy acts.
pub fn backlog_per_capacity(
    backlog: &BTreeMap<Timestamp, f64>,
    room: f64,
    buckets: &[Timestamp],
) -> Vec<(Timestamp, f64)> {
    if room <= 0.0 {
        return Vec::new();
    }
    buckets
        .iter()
        .map(|b| (*b, backlog.get(b).copied().unwrap_or(0.0) / room))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(second: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + second).unwrap()
    }

    fn pool(instance_type: &str, instances: u32, series: &[(i64, f64)]) -> Pool {
        Pool {
            instance_type: instance_type.into(),
            instances,
            concurrency: series.iter().map(|(s, c)| (t(*s), *c)).collect(),
        }
    }

    fn tag() -> PoolCapacity {
        PoolCapacity::parse("ml.g6.2xlarge=8,ml.g6e.2xlarge=14").unwrap()
    }

    fn buckets(seconds: &[i64]) -> Vec<Timestamp> {
        seconds.iter().map(|s| t(*s)).collect()
    }

    #[test]
    fn weights_each_type_by_its_running_instances_and_capacity() {
        // 3 × g6 at 6 in flight each, 1 × g6e at 7: (18 + 7) / (24 + 14).
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 3, &[(0, 6.0)]),
                pool("ml.g6e.2xlarge", 1, &[(0, 7.0)]),
            ],
            &tag(),
            &buckets(&[0]),
        )
        .unwrap();
        assert_eq!(value.len(), 1);
        assert!((value[0].1 - 25.0 / 38.0).abs() < 1e-12);
    }

    #[test]
    fn a_type_without_a_datapoint_in_a_bucket_is_left_out_of_both_sums() {
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 3, &[(0, 4.0), (10, 4.0)]),
                pool("ml.g6e.2xlarge", 1, &[(0, 14.0)]),
            ],
            &tag(),
            &buckets(&[0, 10]),
        )
        .unwrap();
        assert!((value[0].1 - (12.0 + 14.0) / (24.0 + 14.0)).abs() < 1e-12);
        // Bucket 10: only g6 reported; the g6e's may be late.
        assert_eq!(value[1].0, t(10));
        assert!((value[1].1 - 12.0 / 24.0).abs() < 1e-12);
    }

    #[test]
    fn a_landed_bucket_in_which_no_type_reports_is_zero() {
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 3, &[]),
                pool("ml.g6e.2xlarge", 1, &[]),
            ],
            &tag(),
            &buckets(&[0, 10]),
        )
        .unwrap();
        assert_eq!(value, [(t(0), 0.0), (t(10), 0.0)]);
    }

    #[test]
    fn no_instance_running_gives_no_datapoint() {
        let value = fleet_utilization(
            &[pool("ml.g6.2xlarge", 0, &[(0, 3.0)])],
            &tag(),
            &buckets(&[0]),
        )
        .unwrap();
        assert_eq!(value, []);
        assert_eq!(
            backlog_per_capacity(&BTreeMap::from([(t(0), 5.0)]), 0.0, &buckets(&[0])),
            []
        );
    }

    #[test]
    fn backlog_is_divided_by_the_running_capacity_and_missing_minutes_are_empty_queues() {
        let backlog = BTreeMap::from([(t(0), 19.0)]);
        let room = room(
            &[
                pool("ml.g6.2xlarge", 3, &[]),
                pool("ml.g6e.2xlarge", 1, &[]),
            ],
            &tag(),
        )
        .unwrap();
        assert_eq!(room, 38.0);
        assert_eq!(
            backlog_per_capacity(&backlog, room, &buckets(&[0, 60])),
            [(t(0), 0.5), (t(60), 0.0)]
        );
    }

    #[test]
    fn a_tagged_type_the_variant_does_not_run_is_ignored() {
        let value = fleet_utilization(
            &[pool("ml.g6.2xlarge", 2, &[(0, 4.0)])],
            &tag(),
            &buckets(&[0]),
        )
        .unwrap();
        assert_eq!(value, [(t(0), 0.5)]);
    }

    #[test]
    fn an_empty_pool_is_ignored_even_if_it_reports() {
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 2, &[(0, 4.0)]),
                pool("ml.g6e.2xlarge", 0, &[(0, 9.0)]),
            ],
            &tag(),
            &buckets(&[0]),
        )
        .unwrap();
        assert_eq!(value, [(t(0), 0.5)]);
    }

    #[test]
    fn a_running_type_missing_from_the_tag_is_an_error_naming_it() {
        let err = fleet_utilization(
            &[pool("ml.g5.xlarge", 1, &[(0, 1.0)])],
            &tag(),
            &buckets(&[0]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            PoolError::UnknownType {
                instance_type: "ml.g5.xlarge".into(),
                instances: 1
            }
        );
        assert!(err.to_string().contains("ml.g5.xlarge"));
    }
}
