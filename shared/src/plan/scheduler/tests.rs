use super::*;
use crate::fleet::{IN_SERVICE, Variant};
use crate::names::VariantRef;

const DOC: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
  nightly:
    timezone: UTC
    periods:
      - { days: mon-fri, start: "09:00", end: "17:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
"#;

/// The plan for a fleet with nothing asleep and no idle alarms.
fn plan(
    endpoints: &[Endpoint],
    targets: &[ScalableTarget],
    config: &Config,
    now: Timestamp,
) -> Plan {
    super::plan(
        &Observed {
            endpoints,
            targets,
            sleeping: &[],
            idle_alarms: &[],
            idle_alarms_made: false,
            alarms: &BTreeMap::new(),
            remediations: &[],
        },
        config,
        now,
    )
}

fn config() -> Config {
    Config::parse(DOC).unwrap()
}

fn cap(min: u32, max: u32) -> Capacity {
    Capacity::new(min, max).unwrap()
}

fn endpoint(name: &str, variants: &[&str], tags: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        name: EndpointName::new(name).unwrap(),
        arn: Some(format!(
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
        )),
        status: IN_SERVICE.into(),
        created: None,
        config_name: Some(format!("{name}-config")),
        variants: variants
            .iter()
            .map(|v| Variant {
                name: VariantName::new(*v).unwrap(),
                instances: 1,
                pools: Vec::new(),
            })
            .collect(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn target(endpoint: &str, variant: &str, capacity: Capacity) -> ScalableTarget {
    ScalableTarget {
        variant: VariantRef {
            endpoint: EndpointName::new(endpoint).unwrap(),
            variant: VariantName::new(variant).unwrap(),
        },
        capacity,
        suspended: Default::default(),
    }
}

fn berlin(local: &str) -> Timestamp {
    format!("{local}[Europe/Berlin]")
        .parse::<jiff::ZonedDateTime>()
        .unwrap()
        .timestamp()
}

fn actions(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|p| format!("{} {}", p.endpoint, p.action))
        .collect()
}

const OFFICE: (&str, &str) = ("sagetide:schedule", "office-hours");

#[test]
fn at_0800_on_a_weekday_the_period_capacity_is_set() {
    let plan = plan(
        &[endpoint("ep", &["AllTraffic"], &[OFFICE])],
        &[target("ep", "AllTraffic", cap(1, 1))],
        &config(),
        berlin("2026-11-23T08:00"),
    );
    assert_eq!(actions(&plan), ["ep set-capacity AllTraffic 1..1 -> 2..10"]);
    assert_eq!(
        plan.actions[0].reason,
        "schedule office-hours: period mon-fri 08:00-19:00"
    );
}

#[test]
fn a_target_that_already_matches_needs_nothing() {
    let plan = plan(
        &[endpoint("ep", &["AllTraffic"], &[OFFICE])],
        &[target("ep", "AllTraffic", cap(1, 1))],
        &config(),
        berlin("2026-11-23T07:59"),
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn a_variant_without_a_target_gets_one_registered() {
    let plan = plan(
        &[endpoint("ep", &["a", "b"], &[OFFICE])],
        &[target("ep", "a", cap(2, 10))],
        &config(),
        berlin("2026-11-23T09:00"),
    );
    assert_eq!(actions(&plan), ["ep register-target b 2..10"]);
}

#[test]
fn every_variant_of_a_two_variant_endpoint_is_planned() {
    let plan = plan(
        &[endpoint("ep", &["a", "b"], &[OFFICE])],
        &[target("ep", "a", cap(2, 10)), target("ep", "b", cap(2, 10))],
        &config(),
        berlin("2026-11-23T19:00"),
    );
    assert_eq!(
        actions(&plan),
        [
            "ep set-capacity a 2..10 -> 1..1",
            "ep set-capacity b 2..10 -> 1..1"
        ]
    );
}

#[test]
fn an_unknown_schedule_is_skipped_and_the_others_still_planned() {
    let plan = plan(
        &[
            endpoint("lost", &["v"], &[("sagetide:schedule", "nope")]),
            endpoint("ep", &["v"], &[OFFICE]),
        ],
        &[],
        &config(),
        berlin("2026-11-23T09:00"),
    );
    assert_eq!(actions(&plan), ["ep register-target v 2..10"]);
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].endpoint.as_str(), "lost");
    assert!(
        plan.skipped[0].why.contains("\"nope\""),
        "{}",
        plan.skipped[0].why
    );
}

#[test]
fn an_endpoint_that_is_not_in_service_waits() {
    let mut updating = endpoint("ep", &["v"], &[OFFICE]);
    updating.status = "Updating".into();
    let plan = plan(&[updating], &[], &config(), berlin("2026-11-23T09:00"));
    assert!(plan.actions.is_empty());
    assert!(plan.skipped[0].why.contains("Updating"));
}

#[test]
fn an_awake_override_holds_the_largest_period_capacity_off_hours() {
    let plan = plan(
        &[endpoint(
            "ep",
            &["v"],
            &[
                OFFICE,
                ("sagetide:override", "awake-until=2026-11-23T22:00:00Z"),
            ],
        )],
        &[target("ep", "v", cap(1, 1))],
        &config(),
        berlin("2026-11-23T20:00"),
    );
    assert_eq!(actions(&plan), ["ep set-capacity v 1..1 -> 2..10"]);
    assert_eq!(
        plan.actions[0].reason,
        "override awake-until=2026-11-23T22:00:00Z"
    );
}

#[test]
fn an_asleep_override_holds_off_hours_capacity_in_a_period() {
    let plan = plan(
        &[endpoint(
            "ep",
            &["v"],
            &[
                OFFICE,
                ("sagetide:override", "asleep-until=2026-11-23T12:00:00Z"),
            ],
        )],
        &[target("ep", "v", cap(2, 10))],
        &config(),
        berlin("2026-11-23T10:00"),
    );
    assert_eq!(actions(&plan), ["ep set-capacity v 2..10 -> 1..1"]);
}

#[test]
fn an_expired_override_is_removed_and_the_schedule_rules_again() {
    let plan = plan(
        &[endpoint(
            "ep",
            &["v"],
            &[
                OFFICE,
                ("sagetide:override", "awake-until=2026-11-23T18:00:00Z"),
            ],
        )],
        &[target("ep", "v", cap(2, 10))],
        &config(),
        berlin("2026-11-23T20:00"),
    );
    assert_eq!(
        actions(&plan),
        [
            "ep remove-override awake-until=2026-11-23T18:00:00Z",
            "ep set-capacity v 2..10 -> 1..1"
        ]
    );
}

#[test]
fn an_unparsable_override_leaves_the_endpoint_alone() {
    let plan = plan(
        &[endpoint(
            "ep",
            &["v"],
            &[OFFICE, ("sagetide:override", "awake-until=soon")],
        )],
        &[target("ep", "v", cap(1, 1))],
        &config(),
        berlin("2026-11-23T10:00"),
    );
    assert!(plan.actions.is_empty());
    assert!(
        plan.skipped[0].why.contains("sagetide:override"),
        "{}",
        plan.skipped[0].why
    );
}

#[test]
fn a_sleep_schedule_plans_sleep_off_hours() {
    let plan = plan(
        &[endpoint("ep", &["v"], &[("sagetide:schedule", "nightly")])],
        &[target("ep", "v", cap(1, 4))],
        &config(),
        "2026-11-23T20:00:00Z".parse().unwrap(),
    );
    assert_eq!(actions(&plan), ["ep sleep"]);
    assert_eq!(plan.actions[0].reason, "schedule nightly: off-hours");
}

#[test]
fn an_endpoint_without_the_schedule_tag_is_never_planned() {
    let plan = plan(
        &[endpoint("ep", &["v"], &[("team", "fraud")])],
        &[target("ep", "v", cap(5, 5))],
        &config(),
        berlin("2026-11-23T10:00"),
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn a_raise_min_remedy_in_force_holds_the_minimum_over_the_schedule() {
    let e = endpoint(
        "ep",
        &["AllTraffic"],
        &[("sagetide:schedule", "office-hours")],
    );
    let record = crate::remediation::Record {
        triggers: std::collections::BTreeMap::from([(
            "keep/latency".to_owned(),
            crate::remediation::Trigger {
                rule: "keep".into(),
                alarm: "latency".into(),
                suspends: false,
                firing: true,
                at: berlin("2026-11-23T07:00"),
                raise: std::collections::BTreeMap::from([(
                    VariantName::new("AllTraffic").unwrap(),
                    4,
                )]),
            },
        )]),
        baseline: None,
    };
    let held = [crate::remediation::StoredRecord {
        endpoint: EndpointName::new("ep").unwrap(),
        record,
        version: 1,
    }];
    let observed = Observed {
        endpoints: std::slice::from_ref(&e),
        targets: &[target("ep", "AllTraffic", cap(4, 10))],
        sleeping: &[],
        idle_alarms: &[],
        idle_alarms_made: false,
        alarms: &BTreeMap::new(),
        remediations: &held,
    };
    // At 08:00 the schedule wants 2..10; the remedy holds 4.
    let plan = super::plan(&observed, &config(), berlin("2026-11-23T08:00"));
    assert_eq!(actions(&plan), Vec::<String>::new());
    // At 19:00 the schedule wants 1..1: the schedule's max caps the hold.
    let plan = super::plan(&observed, &config(), berlin("2026-11-23T19:00"));
    assert_eq!(actions(&plan), ["ep set-capacity AllTraffic 4..10 -> 1..1"]);
}

#[test]
fn a_remedy_whose_alarm_cleared_or_vanished_is_ended_by_the_tick() {
    let doc = format!(
        "{DOC}remediation:\n  - {{ name: hold, alarms: [\"errors\"], action: suspend-scale-in }}\n"
    );
    let config = Config::parse(&doc).unwrap();
    let fired = berlin("2026-11-23T09:00");
    let record = |alarm: &str| crate::remediation::StoredRecord {
        endpoint: EndpointName::new("ep").unwrap(),
        record: crate::remediation::Record {
            triggers: std::collections::BTreeMap::from([(
                format!("hold/{alarm}"),
                crate::remediation::Trigger {
                    rule: "hold".into(),
                    alarm: alarm.into(),
                    suspends: true,
                    firing: true,
                    at: fired,
                    raise: Default::default(),
                },
            )]),
            baseline: Some(Vec::new()),
        },
        version: 1,
    };
    let held = [record("errors")];
    let status = |firing: bool, since: Timestamp| {
        BTreeMap::from([("errors".to_owned(), AlarmStatus { firing, since })])
    };
    let plan_with = |alarms: &BTreeMap<String, AlarmStatus>| {
        let observed = Observed {
            endpoints: &[],
            targets: &[],
            sleeping: &[],
            idle_alarms: &[],
            idle_alarms_made: false,
            alarms,
            remediations: &held,
        };
        actions(&super::plan(&observed, &config, berlin("2026-11-23T10:00")))
    };
    let later = berlin("2026-11-23T09:30");
    assert_eq!(plan_with(&status(true, later)), Vec::<String>::new());
    assert_eq!(plan_with(&status(false, fired)), Vec::<String>::new());
    assert_eq!(
        plan_with(&status(false, later)),
        ["ep end-remedy hold (alarm errors is OK)"]
    );
    assert_eq!(
        plan_with(&BTreeMap::new()),
        ["ep end-remedy hold (alarm errors is OK)"]
    );
}

#[test]
fn the_first_idle_alarm_marks_the_table_and_stale_ones_are_deleted() {
    let quiet = [endpoint(
        "quiet",
        &["AllTraffic"],
        &[("sagetide:idle-after", "90m")],
    )];
    let plan_with = |existing: &[IdleAlarm], marked: bool| {
        let observed = Observed {
            endpoints: &quiet,
            targets: &[],
            sleeping: &[],
            idle_alarms: existing,
            idle_alarms_made: marked,
            alarms: &BTreeMap::new(),
            remediations: &[],
        };
        super::plan(&observed, &config(), berlin("2026-11-23T10:00")).actions
    };
    let marks = |actions: &[Planned]| -> Vec<bool> {
        actions
            .iter()
            .filter_map(|p| match &p.action {
                Action::PutIdleAlarm { mark_first, .. } => Some(*mark_first),
                _ => None,
            })
            .collect()
    };
    assert_eq!(marks(&plan_with(&[], false)), [true]);
    assert_eq!(marks(&plan_with(&[], true)), [false]);

    let window = jiff::SignedDuration::from_mins(90);
    let name = |n: &str| EndpointName::new(n).unwrap();
    let variant = VariantName::new("AllTraffic").unwrap();
    let kept = IdleAlarm::new(name("quiet"), [variant.clone()], window);
    let stale = IdleAlarm::new(name("gone"), [variant], window);
    let actions = plan_with(&[kept, stale], true);
    let described: Vec<String> = actions
        .iter()
        .map(|p| format!("{} {}", p.endpoint, p.action.kind()))
        .collect();
    assert_eq!(described, ["gone delete-idle-alarm"]);
}

/// Found by the crash-at-every-call test: a sleep stopped after its DeleteEndpoint left the
/// snapshot `sleeping`, and no tick finished it.
#[test]
fn a_sleep_cut_short_after_its_delete_is_finished_unless_the_endpoint_is_wanted_awake() {
    use crate::snapshot::{Phase, Snapshot, Stored};
    let cut_short = |schedule: &str| Stored {
        snapshot: Snapshot {
            endpoint: EndpointName::new("desk").unwrap(),
            endpoint_config: "desk-config".into(),
            tags: [("sagetide:schedule".to_owned(), schedule.to_owned())].into(),
            targets: Vec::new(),
            taken_at: "2026-11-24T17:00:00Z".parse().unwrap(),
        },
        phase: Phase::Sleeping,
        version: 2,
    };
    let tick = |stored: &Stored, now: &str| {
        super::plan(
            &Observed {
                endpoints: &[],
                targets: &[],
                sleeping: std::slice::from_ref(stored),
                idle_alarms: &[],
                idle_alarms_made: false,
                alarms: &BTreeMap::new(),
                remediations: &[],
            },
            &config(),
            now.parse().unwrap(),
        )
    };
    let night = "2026-11-24T20:00:00Z";
    assert_eq!(actions(&tick(&cut_short("nightly"), night)), ["desk sleep"]);
    // A schedule it no longer knows does not keep the sleep from being recorded.
    assert_eq!(actions(&tick(&cut_short("gone"), night)), ["desk sleep"]);
    // In its period it is woken instead (the wake finishes the sleep first).
    let day = "2026-11-24T10:00:00Z";
    assert_eq!(actions(&tick(&cut_short("nightly"), day)), ["desk wake"]);
}
