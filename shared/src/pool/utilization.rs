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

/// `FleetUtilization` per bucket: `Σ c_t·n_t / Σ k_t·n_t` over the types that have instances
/// and a datapoint in that bucket. A bucket in which no type reports has no value (not zero).
/// Types listed in the tag that the variant does not run are ignored; a running type missing
/// from the tag is an error, since its capacity is unknown.
pub fn fleet_utilization(
    pools: &[Pool],
    capacity: &PoolCapacity,
) -> Result<Vec<(Timestamp, f64)>, PoolError> {
    let mut sums: BTreeMap<Timestamp, (f64, f64)> = BTreeMap::new();
    for pool in pools.iter().filter(|p| p.instances > 0) {
        let k = capacity
            .of(&pool.instance_type)
            .ok_or_else(|| PoolError::UnknownType {
                instance_type: pool.instance_type.clone(),
                instances: pool.instances,
            })?;
        let n = f64::from(pool.instances);
        for (bucket, c) in &pool.concurrency {
            let (load, room) = sums.entry(*bucket).or_default();
            *load += c * n;
            *room += k * n;
        }
    }
    Ok(sums
        .into_iter()
        .map(|(bucket, (load, room))| (bucket, load / room))
        .collect())
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

    #[test]
    fn weights_each_type_by_its_running_instances_and_capacity() {
        // 3 × g6 at 6 in flight each, 1 × g6e at 7: (18 + 7) / (24 + 14).
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 3, &[(0, 6.0)]),
                pool("ml.g6e.2xlarge", 1, &[(0, 7.0)]),
            ],
            &tag(),
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
        )
        .unwrap();
        assert!((value[0].1 - (12.0 + 14.0) / (24.0 + 14.0)).abs() < 1e-12);
        // Bucket 10: only g6 reported.
        assert_eq!(value[1].0, t(10));
        assert!((value[1].1 - 12.0 / 24.0).abs() < 1e-12);
    }

    #[test]
    fn no_type_reporting_gives_no_datapoint_not_zero() {
        let value = fleet_utilization(
            &[
                pool("ml.g6.2xlarge", 3, &[]),
                pool("ml.g6e.2xlarge", 1, &[]),
            ],
            &tag(),
        )
        .unwrap();
        assert_eq!(value, []);
    }

    #[test]
    fn a_tagged_type_the_variant_does_not_run_is_ignored() {
        let value = fleet_utilization(&[pool("ml.g6.2xlarge", 2, &[(0, 4.0)])], &tag()).unwrap();
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
        )
        .unwrap();
        assert_eq!(value, [(t(0), 0.5)]);
    }

    #[test]
    fn a_running_type_missing_from_the_tag_is_an_error_naming_it() {
        let err = fleet_utilization(&[pool("ml.g5.xlarge", 1, &[(0, 1.0)])], &tag()).unwrap_err();
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
