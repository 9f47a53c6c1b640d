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

fn t(second: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + second).unwrap()
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
    let types = [(
        VariantName::new("single").unwrap(),
        "ml.g6e.2xlarge".to_owned(),
    )];
    let variants = resolve(&e, &types).unwrap();
    let wanted: Vec<(String, Option<String>)> = series(&variants)
        .into_iter()
        .map(|s| (s.variant.variant.to_string(), s.instance_type))
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
fn a_malformed_tag_is_a_problem_of_that_endpoint() {
    let e = endpoint(
        "ep",
        &[("sagetide:pool-capacity", "ml.g6.2xlarge=0")],
        vec![variant("v", 1, &[])],
    );
    let problem = resolve(&e, &[]).unwrap_err();
    assert_eq!(problem.endpoint.as_str(), "ep");
    assert!(
        problem.message.contains("ml.g6.2xlarge"),
        "{}",
        problem.message
    );
}

#[test]
fn a_single_type_variant_falls_back_to_the_variant_level_series() {
    let v = VariantPools {
        variant: vref("ep", "v"),
        capacity: PoolCapacity::parse("ml.g6.2xlarge=8").unwrap(),
        pools: vec![("ml.g6.2xlarge".into(), 2)],
        single_type: true,
    };
    let fetched = BTreeMap::from([(
        ConcurrencySeries {
            variant: vref("ep", "v"),
            instance_type: None,
        },
        BTreeMap::from([(t(0), 4.0)]),
    )]);
    let (points, problems) = datapoints(&[v], &fetched);
    assert_eq!(points, [(vref("ep", "v"), t(0), 0.5)]);
    assert!(problems.is_empty());
}

#[test]
fn a_running_type_missing_from_the_tag_fails_that_variant_only() {
    let good = VariantPools {
        variant: vref("good", "v"),
        capacity: PoolCapacity::parse("ml.g6.2xlarge=8").unwrap(),
        pools: vec![("ml.g6.2xlarge".into(), 1)],
        single_type: false,
    };
    let bad = VariantPools {
        variant: vref("bad", "v"),
        capacity: PoolCapacity::parse("ml.g6.2xlarge=8").unwrap(),
        pools: vec![("ml.g5.xlarge".into(), 1)],
        single_type: false,
    };
    let series = |e: &str, ty: &str| ConcurrencySeries {
        variant: vref(e, "v"),
        instance_type: Some(ty.into()),
    };
    let fetched = BTreeMap::from([
        (
            series("good", "ml.g6.2xlarge"),
            BTreeMap::from([(t(0), 2.0)]),
        ),
        (series("bad", "ml.g5.xlarge"), BTreeMap::from([(t(0), 2.0)])),
    ]);
    let (points, problems) = datapoints(&[good, bad], &fetched);
    assert_eq!(points, [(vref("good", "v"), t(0), 0.25)]);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].endpoint.as_str(), "bad");
    assert!(problems[0].message.contains("ml.g5.xlarge"));
}

/// The (variant, target) of each planned policy put.
fn targets(put: &[Planned]) -> Vec<(VariantRef, f64)> {
    put.iter()
        .map(|p| match &p.action {
            Action::PutUtilizationPolicy { variant, target } => (
                VariantRef {
                    endpoint: p.endpoint.clone(),
                    variant: variant.clone(),
                },
                *target,
            ),
            other => panic!("unexpected action {other}"),
        })
        .collect()
}

#[test]
fn a_policy_is_put_once_and_again_only_when_the_target_changes() {
    let e = endpoint(
        "ep",
        &[MIXED, ("sagetide:target-utilization", "0.75")],
        vec![variant("v", 1, &[])],
    );
    let types = [(VariantName::new("v").unwrap(), "ml.g6.2xlarge".to_owned())];
    let variants = resolve(&e, &types).unwrap();
    let (put, _) = policies_to_put(std::slice::from_ref(&e), &variants, &[]);
    assert_eq!(targets(&put), [(vref("ep", "v"), 0.75)]);
    let (put, _) = policies_to_put(
        std::slice::from_ref(&e),
        &variants,
        &[(vref("ep", "v"), 0.75)],
    );
    assert_eq!(targets(&put), []);
    let (put, _) = policies_to_put(&[e], &variants, &[(vref("ep", "v"), 0.6)]);
    assert_eq!(targets(&put), [(vref("ep", "v"), 0.75)]);
}

#[test]
fn an_invalid_target_is_a_problem_and_no_policy() {
    let e = endpoint(
        "ep",
        &[MIXED, ("sagetide:target-utilization", "75%")],
        vec![variant("v", 1, &[])],
    );
    let types = [(VariantName::new("v").unwrap(), "ml.g6.2xlarge".to_owned())];
    let variants = resolve(&e, &types).unwrap();
    let (put, problems) = policies_to_put(&[e], &variants, &[]);
    assert_eq!(targets(&put), []);
    assert!(problems[0].message.contains("sagetide:target-utilization"));
}
