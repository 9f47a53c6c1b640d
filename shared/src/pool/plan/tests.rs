use super::*;
use crate::fleet::{Variant, fixtures};

fn endpoint(name: &str, tags: &[(&str, &str)], variants: Vec<Variant>) -> Endpoint {
    Endpoint {
        variants,
        ..fixtures::endpoint(name, &[], tags)
    }
}

fn variant(name: &str, instances: u32, pools: &[(&str, u32)]) -> Variant {
    Variant {
        pools: pools.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        ..fixtures::variant(name, instances)
    }
}

fn vref(endpoint: &str, variant: &str) -> VariantRef {
    VariantRef {
        endpoint: EndpointName::new(endpoint).unwrap(),
        variant: VariantName::new(variant).unwrap(),
    }
}

const MIXED: (&str, &str) = (
    "sagetide:pool-capacity",
    "ml.g6.2xlarge=8,ml.g6e.2xlarge=14",
);

/// 2026-11-23T12:00:00Z plus `second`.
fn t(second: i64) -> Timestamp {
    Timestamp::from_second(1_795_435_200 + second).unwrap()
}

/// The run at 12:01:05: buckets up to 12:00:50 have ended.
fn now() -> Timestamp {
    t(65)
}

fn shape(variants: &[(&str, Instances)], asynchronous: bool) -> ConfigShape {
    ConfigShape {
        asynchronous,
        variants: variants
            .iter()
            .map(|(n, i)| (VariantName::new(*n).unwrap(), i.clone()))
            .collect(),
    }
}

fn single(instance_type: &str) -> Instances {
    Instances::Single(instance_type.into())
}

fn mixed_variant(name: &str, g6: u32, g6e: u32) -> VariantPools {
    VariantPools {
        variant: vref(name, "v"),
        capacity: PoolCapacity::parse(MIXED.1).unwrap(),
        pools: vec![("ml.g6.2xlarge".into(), g6), ("ml.g6e.2xlarge".into(), g6e)],
        single_type: false,
        asynchronous: false,
    }
}

fn typed(endpoint: &str, instance_type: &str) -> Series {
    Series::Concurrency {
        variant: vref(endpoint, "v"),
        instance_type: Some(instance_type.into()),
    }
}

fn values(points: &[Point], metric: PoolMetric) -> Vec<(Timestamp, f64)> {
    points
        .iter()
        .filter(|p| p.metric == metric)
        .map(|p| (p.at, p.value))
        .collect()
}

#[test]
fn a_pooled_variant_asks_for_one_series_per_type_and_a_single_type_one_also_for_the_variant() {
    let e = endpoint(
        "ep",
        &[MIXED],
        vec![
            variant("pooled", 4, &[("ml.g6.2xlarge", 3), ("ml.g6e.2xlarge", 1)]),
            variant("single", 2, &[]),
        ],
    );
    let variants = resolve(
        &e,
        &shape(
            &[
                ("pooled", Instances::Pooled),
                ("single", single("ml.g6e.2xlarge")),
            ],
            false,
        ),
    )
    .unwrap();
    let wanted: Vec<(String, Option<String>)> = series(&variants)
        .into_iter()
        .filter_map(|s| match s {
            Series::Concurrency {
                variant,
                instance_type,
            } => Some((variant.variant.to_string(), instance_type)),
            _ => None,
        })
        .collect();
    assert_eq!(
        wanted,
        [
            ("pooled".into(), Some("ml.g6.2xlarge".into())),
            ("pooled".into(), Some("ml.g6e.2xlarge".into())),
            ("single".into(), Some("ml.g6e.2xlarge".into())),
            ("single".into(), None),
        ]
    );
    assert_eq!(variants[1].pools, [("ml.g6e.2xlarge".to_owned(), 2)]);
}

#[test]
fn an_asynchronous_endpoint_also_reads_its_backlog_once() {
    let e = endpoint(
        "ep",
        &[MIXED],
        vec![variant("a", 1, &[]), variant("b", 1, &[])],
    );
    let variants = resolve(
        &e,
        &shape(
            &[
                ("a", single("ml.g6.2xlarge")),
                ("b", single("ml.g6.2xlarge")),
            ],
            true,
        ),
    )
    .unwrap();
    let all = series(&variants);
    let backlogs = all
        .iter()
        .filter(|s| matches!(s, Series::Backlog { .. }))
        .count();
    let published = all
        .iter()
        .filter(|s| matches!(s, Series::Published { .. }))
        .count();
    assert_eq!((backlogs, published), (1, 4));
}

#[test]
fn a_malformed_tag_is_a_problem_of_that_endpoint() {
    let e = endpoint(
        "ep",
        &[("sagetide:pool-capacity", "ml.g6.2xlarge=0")],
        vec![variant("v", 1, &[])],
    );
    let problem = resolve(&e, &shape(&[("v", single("ml.g6.2xlarge"))], false)).unwrap_err();
    assert_eq!(problem.endpoint.as_str(), "ep");
    assert!(
        problem.message.contains("ml.g6.2xlarge"),
        "{}",
        problem.message
    );
}

#[test]
fn an_idle_fleet_gets_zeros_once_its_buckets_have_settled() {
    let (points, problems) = datapoints(now(), &[mixed_variant("ep", 3, 1)], &BTreeMap::new());
    assert!(problems.is_empty());
    let published = values(&points, PoolMetric::FleetUtilization);
    // Nothing later says the last two minutes are complete: 11:56:00 … 11:58:50 only.
    assert_eq!(published.len(), 18);
    assert_eq!(published.first(), Some(&(t(-240), 0.0)));
    assert_eq!(published.last(), Some(&(t(-70), 0.0)));
}

#[test]
fn late_data_is_not_published_as_zero_and_a_later_bucket_lands_the_earlier_ones() {
    // g6 reported 12:00:00 and 12:00:20; the g6e reported 12:00:00.
    let fetched = BTreeMap::from([
        (
            typed("ep", "ml.g6.2xlarge"),
            BTreeMap::from([(t(0), 4.0), (t(20), 8.0)]),
        ),
        (typed("ep", "ml.g6e.2xlarge"), BTreeMap::from([(t(0), 7.0)])),
    ]);
    let (points, _) = datapoints(now(), &[mixed_variant("ep", 3, 1)], &fetched);
    let published = values(&points, PoolMetric::FleetUtilization);
    let at = |s| published.iter().find(|(b, _)| *b == t(s)).map(|(_, v)| *v);
    assert_eq!(at(0), Some((12.0 + 7.0) / 38.0));
    // Only g6 reported: the g6e's may be late, so it is left out of both sums.
    assert_eq!(at(20), Some(24.0 / 24.0));
    // Nothing in 12:00:10, and 12:00:20 has landed: no requests in flight.
    assert_eq!(at(10), Some(0.0));
    assert_eq!(at(-10), Some(0.0));
    // Nothing after 12:00:20 yet: late, not idle.
    for late in [30, 40, 50] {
        assert_eq!(at(late), None, "{late}");
    }
}

#[test]
fn a_bucket_already_published_is_not_published_again() {
    let fetched = BTreeMap::from([
        (
            typed("ep", "ml.g6.2xlarge"),
            BTreeMap::from([(t(0), 4.0), (t(10), 8.0)]),
        ),
        (
            Series::Published {
                metric: PoolMetric::FleetUtilization,
                variant: vref("ep", "v"),
            },
            (-240..10)
                .step_by(10)
                .filter(|s| *s != -10)
                .map(|s| (t(s), 1.0))
                .collect(),
        ),
    ]);
    let (points, _) = datapoints(now(), &[mixed_variant("ep", 3, 1)], &fetched);
    assert_eq!(
        values(&points, PoolMetric::FleetUtilization),
        [(t(-10), 0.0), (t(10), 1.0)]
    );
}

#[test]
fn a_single_type_variant_falls_back_to_the_variant_level_series() {
    let v = VariantPools {
        variant: vref("ep", "v"),
        capacity: PoolCapacity::parse("ml.g6.2xlarge=8").unwrap(),
        pools: vec![("ml.g6.2xlarge".into(), 2)],
        single_type: true,
        asynchronous: false,
    };
    let fetched = BTreeMap::from([(
        Series::Concurrency {
            variant: vref("ep", "v"),
            instance_type: None,
        },
        BTreeMap::from([(t(0), 4.0), (t(10), 4.0)]),
    )]);
    let (points, problems) = datapoints(now(), &[v], &fetched);
    assert!(problems.is_empty());
    let published = values(&points, PoolMetric::FleetUtilization);
    assert_eq!(published.last(), Some(&(t(10), 0.5)));
}

#[test]
fn a_running_type_missing_from_the_tag_fails_that_variant_only() {
    let good = VariantPools {
        pools: vec![("ml.g6.2xlarge".into(), 1)],
        ..mixed_variant("good", 0, 0)
    };
    let bad = VariantPools {
        pools: vec![("ml.g5.xlarge".into(), 1)],
        ..mixed_variant("bad", 0, 0)
    };
    let fetched = BTreeMap::from([
        (
            typed("good", "ml.g6.2xlarge"),
            BTreeMap::from([(t(0), 2.0), (t(10), 2.0)]),
        ),
        (
            typed("bad", "ml.g5.xlarge"),
            BTreeMap::from([(t(0), 2.0), (t(10), 2.0)]),
        ),
    ]);
    let (points, problems) = datapoints(now(), &[good, bad], &fetched);
    assert!(points.iter().all(|p| p.variant == vref("good", "v")));
    assert_eq!(points.last().map(|p| p.value), Some(0.25));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].endpoint.as_str(), "bad");
    assert!(problems[0].message.contains("ml.g5.xlarge"));
}

#[test]
fn backlog_per_capacity_is_the_queue_over_the_running_capacity() {
    let v = VariantPools {
        asynchronous: true,
        ..mixed_variant("ep", 3, 1)
    };
    let fetched = BTreeMap::from([(
        Series::Backlog {
            endpoint: EndpointName::new("ep").unwrap(),
        },
        BTreeMap::from([(t(-120), 19.0), (t(-60), 57.0), (t(0), 76.0)]),
    )]);
    let (points, _) = datapoints(now(), &[v], &fetched);
    let backlog = values(&points, PoolMetric::BacklogPerCapacity);
    // 11:56 and 11:57 had an empty queue (a later minute has data); 12:00 has ended.
    assert_eq!(
        backlog,
        [
            (t(-240), 0.0),
            (t(-180), 0.0),
            (t(-120), 0.5),
            (t(-60), 1.5),
            (t(0), 2.0)
        ]
    );
}
