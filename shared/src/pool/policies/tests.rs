use super::*;
use crate::fleet::fixtures;
use crate::names::{EndpointName, VariantName};
use crate::pool::PoolCapacity;

const MIXED: (&str, &str) = (
    "sagetide:pool-capacity",
    "ml.g6.2xlarge=8,ml.g6e.2xlarge=14",
);

fn vref(endpoint: &str) -> VariantRef {
    VariantRef {
        endpoint: EndpointName::new(endpoint).unwrap(),
        variant: VariantName::new("v").unwrap(),
    }
}

fn endpoint(name: &str, tags: &[(&str, &str)]) -> Endpoint {
    fixtures::endpoint(name, &["v"], tags)
}

fn pooled(name: &str, g6: u32, g6e: u32, asynchronous: bool) -> VariantPools {
    VariantPools {
        variant: vref(name),
        capacity: PoolCapacity::parse(MIXED.1).unwrap(),
        pools: vec![("ml.g6.2xlarge".into(), g6), ("ml.g6e.2xlarge".into(), g6e)],
        single_type: false,
        asynchronous,
    }
}

/// The planned changes as (kind, put or delete, target).
fn changes(actions: &[Planned]) -> Vec<(PolicyKind, &'static str, Option<f64>)> {
    actions
        .iter()
        .map(|p| match &p.action {
            Action::PutPolicy { policy, .. } => (policy.kind(), "put", policy.target()),
            Action::DeletePolicy { kind, .. } => (*kind, "delete", None),
            other => panic!("unexpected {other}"),
        })
        .collect()
}

/// What exists once `actions` are carried out on nothing.
fn applied(actions: &[Planned]) -> ExistingPolicies {
    let mut existing = ExistingPolicies::default();
    for p in actions {
        if let Action::PutPolicy { variant, policy } = &p.action {
            let v = VariantRef {
                endpoint: p.endpoint.clone(),
                variant: variant.clone(),
            };
            let arn = format!("arn:policy/{v}/{}", policy.kind());
            if let PoolPolicy::FastScaleOut(alarm) = policy {
                existing.alarms.insert(
                    ScaleOutAlarm::name(&v),
                    ExistingScaleOutAlarm {
                        alarm: alarm.clone(),
                        actions: vec![arn.clone()],
                    },
                );
            }
            existing.policies.insert(
                (v, policy.kind()),
                ExistingPolicy {
                    target: policy.target(),
                    arn: Some(arn),
                },
            );
        }
    }
    existing
}

#[test]
fn the_scale_out_alarm_computes_fleet_utilization_from_the_raw_series() {
    let alarm = ScaleOutAlarm::of(&pooled("ep", 3, 1, false), 0.75).unwrap();
    assert_eq!(alarm.expression, "(FILL(m0,0)*3+FILL(m1,0)*1)/38");
    assert_eq!(
        alarm.queries,
        [
            ("m0".to_owned(), Some("ml.g6.2xlarge".to_owned())),
            ("m1".to_owned(), Some("ml.g6e.2xlarge".to_owned()))
        ]
    );
    // An empty pool is left out; none running at all: no alarm to compute.
    let alarm = ScaleOutAlarm::of(&pooled("ep", 2, 0, false), 0.75).unwrap();
    assert_eq!(alarm.expression, "(FILL(m0,0)*2)/16");
    assert_eq!(ScaleOutAlarm::of(&pooled("ep", 0, 0, false), 0.75), None);
    let single = VariantPools {
        pools: vec![("ml.g6e.2xlarge".into(), 5)],
        single_type: true,
        ..pooled("ep", 0, 0, false)
    };
    assert_eq!(
        ScaleOutAlarm::of(&single, 0.75).unwrap().expression,
        "MAX([FILL(m0,0),FILL(m1,0)])/14"
    );
    assert_eq!(
        ScaleOutAlarm::name(&vref("ep")),
        "sagetide-fleet-scale-out-ep.v"
    );
}

#[test]
fn each_tag_installs_its_policies_once() {
    let e = endpoint(
        "ep",
        &[
            MIXED,
            ("sagetide:target-utilization", "0.75"),
            ("sagetide:target-backlog", "2"),
            ("sagetide:invocations-per-instance", "300"),
        ],
    );
    let variants = [pooled("ep", 3, 1, true)];
    let (actions, problems) = plan_policies(
        std::slice::from_ref(&e),
        &variants,
        &ExistingPolicies::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        changes(&actions),
        [
            (PolicyKind::FleetUtilization, "put", Some(0.75)),
            (PolicyKind::FastScaleOut, "put", None),
            (PolicyKind::BacklogPerCapacity, "put", Some(2.0)),
            (PolicyKind::InvocationsPerInstance, "put", Some(300.0)),
        ]
    );
    let (again, _) = plan_policies(&[e], &variants, &applied(&actions));
    assert_eq!(changes(&again), []);
}

#[test]
fn policies_follow_the_tags_and_the_fleet() {
    let before = endpoint(
        "ep",
        &[
            MIXED,
            ("sagetide:target-utilization", "0.75"),
            ("sagetide:invocations-per-instance", "300"),
        ],
    );
    let (actions, _) = plan_policies(
        &[before],
        &[pooled("ep", 3, 1, false)],
        &ExistingPolicies::default(),
    );
    let existing = applied(&actions);

    // The target changes, the hybrid tag goes, and the fleet gained a g6e.
    let after = endpoint("ep", &[MIXED, ("sagetide:target-utilization", "0.6")]);
    let (actions, _) = plan_policies(&[after], &[pooled("ep", 3, 2, false)], &existing);
    assert_eq!(
        changes(&actions),
        [
            (PolicyKind::FleetUtilization, "put", Some(0.6)),
            (PolicyKind::FastScaleOut, "put", None),
            (PolicyKind::InvocationsPerInstance, "delete", None),
        ]
    );
    let Action::PutPolicy {
        policy: PoolPolicy::FastScaleOut(alarm),
        ..
    } = &actions[1].action
    else {
        unreachable!()
    };
    assert_eq!(alarm.threshold, 0.6);
    assert_eq!(alarm.expression, "(FILL(m0,0)*3+FILL(m1,0)*2)/52");

    // Without the target, both of its policies go, the scale-out alarm with its policy.
    let bare = endpoint("ep", &[MIXED]);
    let (actions, _) = plan_policies(&[bare], &[pooled("ep", 3, 2, false)], &existing);
    assert_eq!(
        changes(&actions),
        [
            (PolicyKind::FleetUtilization, "delete", None),
            (PolicyKind::FastScaleOut, "delete", None),
            (PolicyKind::InvocationsPerInstance, "delete", None),
        ]
    );
}

#[test]
fn a_bad_tag_is_reported_and_changes_nothing() {
    let e = endpoint(
        "ep",
        &[
            MIXED,
            ("sagetide:target-utilization", "75%"),
            ("sagetide:target-backlog", "2"),
        ],
    );
    let existing = ExistingPolicies {
        policies: BTreeMap::from([(
            (vref("ep"), PolicyKind::FleetUtilization),
            ExistingPolicy {
                target: Some(0.7),
                arn: None,
            },
        )]),
        alarms: BTreeMap::new(),
    };
    // Not asynchronous: a backlog target is a mistake too.
    let (actions, problems) = plan_policies(&[e], &[pooled("ep", 3, 1, false)], &existing);
    assert_eq!(changes(&actions), []);
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("sagetide:target-utilization"));
    assert!(messages[1].contains("asynchronous"));
}

#[test]
fn an_alarm_pointed_elsewhere_is_put_again_and_pool_order_does_not_matter() {
    let e = endpoint("ep", &[MIXED, ("sagetide:target-utilization", "0.75")]);
    let (actions, _) = plan_policies(
        std::slice::from_ref(&e),
        &[pooled("ep", 3, 1, false)],
        &ExistingPolicies::default(),
    );
    let mut existing = applied(&actions);
    let reversed = VariantPools {
        pools: vec![("ml.g6e.2xlarge".into(), 1), ("ml.g6.2xlarge".into(), 3)],
        ..pooled("ep", 0, 0, false)
    };
    let (again, _) = plan_policies(std::slice::from_ref(&e), &[reversed], &existing);
    assert_eq!(changes(&again), []);
    existing
        .alarms
        .values_mut()
        .for_each(|a| a.actions = vec!["arn:someone-elses".into()]);
    let (again, _) = plan_policies(&[e], &[pooled("ep", 3, 1, false)], &existing);
    assert_eq!(changes(&again), [(PolicyKind::FastScaleOut, "put", None)]);
}
