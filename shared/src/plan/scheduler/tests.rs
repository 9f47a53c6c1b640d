use super::*;
use crate::fleet::{Serverless, fixtures};
use crate::names::VariantName;
use crate::plan::Action::SetCapacity;

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
            components: Some(&[]),
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
    fixtures::endpoint(name, variants, tags)
}

use fixtures::target;

fn berlin(local: &str) -> Timestamp {
    format!("{local}[Europe/Berlin]")
        .parse::<jiff::ZonedDateTime>()
        .unwrap()
        .timestamp()
}

fn at(utc: &str) -> Timestamp {
    utc.parse().unwrap()
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
    updating.status = Status::Updating;
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
fn a_tick_sleeps_no_more_than_the_limit_and_says_why_of_the_others() {
    let names = ["e3", "e1", "e4", "e2"];
    let endpoints: Vec<Endpoint> = names
        .iter()
        .map(|n| endpoint(n, &["v"], &[("sagetide:schedule", "nightly")]))
        .collect();
    let targets: Vec<ScalableTarget> = names.iter().map(|n| target(n, "v", cap(1, 4))).collect();
    let all = plan(
        &endpoints,
        &targets,
        &config(),
        "2026-11-23T20:00:00Z".parse().unwrap(),
    );
    assert_eq!(super::limit_sleeps(all.clone(), 4), all);
    let limited = super::limit_sleeps(all, 2);
    assert_eq!(actions(&limited), ["e1 sleep", "e2 sleep"]);
    let skipped: Vec<&str> = limited
        .skipped
        .iter()
        .map(|s| s.endpoint.as_str())
        .collect();
    assert_eq!(skipped, ["e3", "e4"]);
    for s in &limited.skipped {
        assert!(
            s.why.contains("4 endpoints") && s.why.contains("SAGETIDE_MAX_SLEEPS_PER_TICK"),
            "{}",
            s.why
        );
    }
    let none = super::limit_sleeps(limited, 0);
    assert_eq!(actions(&none), Vec::<String>::new());
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
                raise: std::collections::BTreeMap::from([("AllTraffic".to_owned(), 4)]),
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
        components: Some(&[]),
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
            components: Some(&[]),
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
    let plan_with = |existing: &[ExistingAlarm], marked: bool| {
        let observed = Observed {
            endpoints: &quiet,
            targets: &[],
            sleeping: &[],
            idle_alarms: existing,
            idle_alarms_made: marked,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
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

    // An endpoint being deleted (slept a moment ago, with its alarm) or failed gets none.
    for status in [Status::Deleting, Status::Failed] {
        let mut going = quiet[0].clone();
        going.status = status;
        let observed = Observed {
            endpoints: std::slice::from_ref(&going),
            targets: &[],
            sleeping: &[],
            idle_alarms: &[],
            idle_alarms_made: true,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
        };
        let plan = super::plan(&observed, &config(), berlin("2026-11-23T10:00"));
        assert_eq!(
            marks(&plan.actions),
            Vec::<bool>::new(),
            "{:?}",
            going.status
        );
    }

    let window = jiff::SignedDuration::from_mins(90);
    let name = |n: &str| EndpointName::new(n).unwrap();
    let variant = VariantName::new("AllTraffic").unwrap();
    let existing = |alarm, firing| ExistingAlarm { alarm, firing };
    let kept = existing(
        IdleAlarm::new(name("quiet"), [variant.clone()], window),
        false,
    );
    let stale = existing(IdleAlarm::new(name("gone"), [variant], window), false);
    let actions = plan_with(&[kept, stale], true);
    let described: Vec<String> = actions
        .iter()
        .map(|p| format!("{} {}", p.endpoint, p.action.kind()))
        .collect();
    assert_eq!(described, ["gone delete-idle-alarm"]);
    assert_eq!(
        actions[0].reason,
        "no endpoint with sagetide:idle-after by this name"
    );
}

#[test]
fn an_idle_alarm_left_by_a_sleep_is_deleted_as_the_endpoints_while_it_sleeps() {
    let window = jiff::SignedDuration::from_mins(90);
    let variant = VariantName::new("AllTraffic").unwrap();
    let left = ExistingAlarm {
        alarm: IdleAlarm::new(EndpointName::new("idle").unwrap(), [variant], window),
        firing: true,
    };
    let asleep = stored("idle", Phase::Asleep, &[("sagetide:idle-after", "90m")]);
    let plan = super::plan(
        &Observed {
            endpoints: &[],
            targets: &[],
            sleeping: std::slice::from_ref(&asleep),
            idle_alarms: std::slice::from_ref(&left),
            idle_alarms_made: true,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
        },
        &config(),
        "2026-11-24T20:00:00Z".parse().unwrap(),
    );
    let deleted: Vec<&str> = plan
        .actions
        .iter()
        .filter(|p| matches!(p.action, Action::DeleteIdleAlarm { .. }))
        .map(|p| p.reason.as_str())
        .collect();
    assert_eq!(
        deleted,
        ["asleep: its idle alarm is made again when it wakes"]
    );
}

/// Found by the crash-at-every-call test: a sleep stopped after its DeleteEndpoint left the
/// snapshot `sleeping`, and no tick finished it.
#[test]
fn a_sleep_cut_short_after_its_delete_is_finished_unless_the_endpoint_is_wanted_awake() {
    let cut_short =
        |schedule: &str| stored("desk", Phase::Sleeping, &[("sagetide:schedule", schedule)]);
    let tick = |stored: &Stored, now: &str| tick_with(&[], stored, now.parse().unwrap());
    let night = "2026-11-24T20:00:00Z";
    assert_eq!(actions(&tick(&cut_short("nightly"), night)), ["desk sleep"]);
    // A schedule it no longer knows does not keep the sleep from being recorded.
    assert_eq!(actions(&tick(&cut_short("gone"), night)), ["desk sleep"]);
    // In its period it is woken instead (the wake finishes the sleep first).
    let day = "2026-11-24T10:00:00Z";
    assert_eq!(actions(&tick(&cut_short("nightly"), day)), ["desk wake"]);
}

fn stored(name: &str, phase: Phase, tags: &[(&str, &str)]) -> Stored {
    use crate::snapshot::Snapshot;
    Stored {
        snapshot: Snapshot {
            endpoint: EndpointName::new(name).unwrap(),
            endpoint_config: format!("{name}-config"),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            targets: Vec::new(),
            taken_at: "2026-11-24T17:00:00Z".parse().unwrap(),
            definitions: None,
            variants: Vec::new(),
            endpoint_policy: None,
        },
        phase,
        version: 2,
        wake: None,
    }
}

/// A tick that sees `endpoints` and one snapshot not yet restored.
fn tick_with(endpoints: &[Endpoint], stored: &Stored, now: Timestamp) -> Plan {
    super::plan(
        &Observed {
            endpoints,
            targets: &[],
            sleeping: std::slice::from_ref(stored),
            idle_alarms: &[],
            idle_alarms_made: false,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
        },
        &config(),
        now,
    )
}

#[test]
fn a_woken_endpoint_that_failed_is_recovered_and_one_creating_too_long_reported() {
    use crate::snapshot::WakeAttempt;
    let tags = [("sagetide:schedule", "nightly")];
    let asked = WakeAttempt::asked(None, WakeSource::Schedule, None, at("2026-11-24T08:30:00Z"));
    let woken = Stored {
        wake: Some(asked),
        ..stored("desk", Phase::Asleep, &tags)
    };
    let mut failed = endpoint("desk", &["AllTraffic"], &tags);
    failed.status = Status::Failed;
    failed.failure_reason = Some("InsufficientInstanceCapacity".into());
    let plan = tick_with(&[failed], &woken, at("2026-11-24T08:45:00Z"));
    assert_eq!(actions(&plan), ["desk failed-wake"]);
    assert!(
        plan.actions[0]
            .reason
            .contains("InsufficientInstanceCapacity")
    );

    let mut creating = endpoint("desk", &["AllTraffic"], &tags);
    creating.status = Status::Creating;
    let early = tick_with(
        std::slice::from_ref(&creating),
        &woken,
        at("2026-11-24T09:00:00Z"),
    );
    assert_eq!(actions(&early), Vec::<String>::new());
    assert!(early.skipped[0].why.contains("status Creating"));
    let late = tick_with(&[creating], &woken, at("2026-11-24T09:15:00Z"));
    assert_eq!(actions(&late), ["desk failed-wake"]);
}

#[test]
fn a_failed_wake_is_tried_again_after_its_wait_while_something_still_wants_it_awake() {
    use crate::snapshot::WakeAttempt;
    let tags = [("sagetide:schedule", "nightly")];
    let failed_at = at("2026-11-24T09:05:00Z");
    let attempt = WakeAttempt::asked(None, WakeSource::Schedule, None, at("2026-11-24T08:55:00Z"))
        .failed("no capacity", failed_at, None);
    let asleep = Stored {
        wake: Some(attempt.clone()),
        ..stored("desk", Phase::Asleep, &tags)
    };
    let waiting = tick_with(&[], &asleep, at("2026-11-24T09:10:00Z"));
    assert_eq!(actions(&waiting), Vec::<String>::new());
    assert!(
        waiting.skipped[0]
            .why
            .contains("tried again from 2026-11-24T09:15:00Z")
    );
    assert_eq!(
        actions(&tick_with(&[], &asleep, at("2026-11-24T09:15:00Z"))),
        ["desk wake"]
    );
    // Off-hours nothing wants it awake any more: it stays asleep until its next period.
    assert_eq!(
        actions(&tick_with(&[], &asleep, at("2026-11-24T20:00:00Z"))),
        Vec::<String>::new()
    );
    // A person's wake that failed is tried again whatever the schedule says.
    let by_hand = Stored {
        wake: Some(WakeAttempt {
            source: WakeSource::Manual,
            ..attempt
        }),
        ..stored("desk", Phase::Asleep, &tags)
    };
    let plan = tick_with(&[], &by_hand, at("2026-11-24T20:00:00Z"));
    assert_eq!(actions(&plan), ["desk wake"]);
    assert!(matches!(
        plan.actions[0].action,
        Action::Wake {
            source: WakeSource::Manual,
            alarm: None
        }
    ));
}

fn serverless(provisioned: Option<u32>) -> Option<Serverless> {
    Some(Serverless {
        max_concurrency: 20,
        provisioned,
    })
}

#[test]
fn a_serverless_variants_provisioned_concurrency_follows_the_schedule() {
    let mut mixed = endpoint(
        "mixed",
        &["gpu", "serverless", "on-demand"],
        &[("sagetide:schedule", "office-hours")],
    );
    mixed.variants[1].serverless = serverless(Some(5));
    mixed.variants[2].serverless = serverless(None);
    let plan = plan(&[mixed], &[], &config(), berlin("2026-11-23T10:00"));
    assert_eq!(
        actions(&plan),
        [
            "mixed register-target gpu 2..10",
            "mixed register-target serverless provisioned concurrency 2..10"
        ]
    );
    let SetCapacity { resource, .. } = &plan.actions[1].action else {
        panic!("{plan:?}");
    };
    assert_eq!(
        resource.dimension(),
        aws_sdk_applicationautoscaling::types::ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency
    );
    // Provisioned concurrency may not exceed the variant's MaxConcurrency (20 here).
    let mut big = endpoint(
        "big",
        &["AllTraffic"],
        &[("sagetide:schedule", "office-hours")],
    );
    big.variants[0].serverless = Some(Serverless {
        max_concurrency: 6,
        provisioned: Some(2),
    });
    let capped = self::plan(&[big], &[], &config(), berlin("2026-11-23T10:00"));
    assert_eq!(
        actions(&capped),
        ["big register-target AllTraffic provisioned concurrency 2..6"]
    );
    assert!(capped.actions[0].reason.contains("MaxConcurrency 6"));
    // One without provisioned concurrency has nothing to schedule, and says so.
    assert_eq!(plan.skipped.len(), 1);
    assert!(
        plan.skipped[0]
            .why
            .contains("variant on-demand is serverless without provisioned concurrency")
    );
    // Off-hours of a sleep schedule it is not put to sleep, and says why.
    let mut sleepy = endpoint(
        "sleepy",
        &["AllTraffic"],
        &[("sagetide:schedule", "nightly")],
    );
    sleepy.variants[0].serverless = serverless(Some(1));
    let night = super::plan(
        &Observed {
            endpoints: std::slice::from_ref(&sleepy),
            targets: &[],
            sleeping: &[],
            idle_alarms: &[],
            idle_alarms_made: false,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
        },
        &config(),
        at("2026-11-24T20:00:00Z"),
    );
    assert_eq!(actions(&night), Vec::<String>::new());
    assert!(
        night
            .skipped
            .iter()
            .any(|s| s.why.contains("not put to sleep"))
    );
}

#[test]
fn an_idle_alarm_left_in_alarm_by_a_declined_sleep_is_rearmed_once_the_endpoint_may_sleep() {
    let mut idle = endpoint(
        "idle",
        &["AllTraffic"],
        &[
            ("sagetide:idle-after", "90m"),
            ("sagetide:schedule", "office-hours"),
        ],
    );
    idle.created = Some(at("2026-11-01T00:00:00Z"));
    let window = jiff::SignedDuration::from_mins(90);
    let alarm = IdleAlarm::new(
        idle.name.clone(),
        [VariantName::new("AllTraffic").unwrap()],
        window,
    );
    let tick = |firing: bool, now: Timestamp| {
        let existing = [ExistingAlarm {
            alarm: alarm.clone(),
            firing,
        }];
        let observed = Observed {
            endpoints: std::slice::from_ref(&idle),
            targets: &[],
            sleeping: &[],
            idle_alarms: &existing,
            idle_alarms_made: true,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(&[]),
        };
        super::plan(&observed, &config(), now)
            .actions
            .iter()
            .filter(|p| p.action == Action::RearmIdleAlarm { component: None })
            .count()
    };
    // Declined inside its period, the alarm stays in ALARM quietly all day…
    assert_eq!(tick(true, berlin("2026-11-23T15:00")), 0);
    // …and asks again once the period is over; an alarm that is OK needs nothing.
    assert_eq!(tick(true, berlin("2026-11-23T19:05")), 1);
    assert_eq!(tick(false, berlin("2026-11-23T19:05")), 0);
}

/// A sleep schedule with a lunch break of `gap` minutes (from 12:00), and `prewarm`.
fn lunch_config(gap: u32, prewarm: &str) -> Config {
    Config::parse(&crate::schedule::tests::lunch_document(gap, prewarm, None)).unwrap()
}

#[test]
fn through_a_lunch_break_shorter_than_min_sleep_a_sleep_schedule_keeps_the_endpoint() {
    let desk = endpoint("desk", &["AllTraffic"], &[("sagetide:schedule", "desk")]);
    let at_capacity = [target("desk", "AllTraffic", cap(1, 4))];
    let lunchtime = berlin("2026-11-23T12:10");
    for (gap, prewarm) in [(30, "0m"), (90, "45m")] {
        let plan = plan(
            std::slice::from_ref(&desk),
            &at_capacity,
            &lunch_config(gap, prewarm),
            lunchtime,
        );
        assert_eq!(
            actions(&plan),
            Vec::<String>::new(),
            "{gap}m, prewarm {prewarm}"
        );
        assert!(plan.skipped.is_empty());
    }
    for (gap, prewarm) in [(180, "0m"), (90, "15m")] {
        let plan = plan(
            std::slice::from_ref(&desk),
            &at_capacity,
            &lunch_config(gap, prewarm),
            lunchtime,
        );
        assert_eq!(actions(&plan), ["desk sleep"], "{gap}m, prewarm {prewarm}");
    }
    // The plan says why, where it changes something: here, the minimum of the morning.
    let below = [target("desk", "AllTraffic", cap(1, 2))];
    let kept = plan(
        std::slice::from_ref(&desk),
        &below,
        &lunch_config(30, "0m"),
        lunchtime,
    );
    assert!(
        kept.actions[0]
            .reason
            .contains("shorter than min_sleep 1h: kept awake"),
        "{:?}",
        kept.actions
    );
}

#[test]
fn an_idle_endpoint_is_not_slept_in_a_gap_too_short_to_sleep_through() {
    let mut idle = endpoint(
        "desk",
        &["AllTraffic"],
        &[("sagetide:schedule", "desk"), ("sagetide:idle-after", "1h")],
    );
    idle.created = Some(at("2026-11-01T00:00:00Z"));
    let lunchtime = berlin("2026-11-23T12:10");
    let short = eligibility(
        &idle,
        SleepTrigger::IdleAlarm(&lunch_config(30, "0m")),
        lunchtime,
    );
    assert!(short.unwrap_err().contains("kept awake"));
    let long = eligibility(
        &idle,
        SleepTrigger::IdleAlarm(&lunch_config(180, "0m")),
        lunchtime,
    );
    assert_eq!(long, Ok(Some(jiff::SignedDuration::from_hours(1))));
}

#[test]
fn sleeps_the_deployment_could_not_bring_back_are_left_out_and_say_why() {
    use crate::fleet::ConfigFacts;
    use crate::permissions::Allowed;
    let sealed = endpoint(
        "sealed",
        &["AllTraffic"],
        &[("sagetide:schedule", "nightly")],
    );
    let plain = endpoint(
        "plain",
        &["AllTraffic"],
        &[("sagetide:schedule", "nightly")],
    );
    let fleet = [sealed, plain];
    let night = at("2026-11-24T20:00:00Z");
    let planned = plan(&fleet, &[], &config(), night);
    assert_eq!(actions(&planned), ["sealed sleep", "plain sleep"]);
    assert_eq!(
        configs_to_vet(&planned, &fleet),
        ["plain-config", "sealed-config"].into()
    );
    let facts = |kms: Option<&str>| ConfigFacts {
        kms_key_id: kms.map(str::to_owned),
        hosts_inference_components: false,
        asynchronous: false,
        model_roles: Vec::new(),
        unreadable: None,
    };
    // What is known: one encrypted with a key the deployment may not grant; of the other
    // nothing yet, so its sleep is left to the sleeper's own check.
    let known = HashMap::from([("sealed-config".to_owned(), facts(Some("alias/models")))]);
    let allowed = Allowed {
        kms_keys: Vec::new(),
        model_roles: "*".into(),
    };
    let vetted = vet(planned, &config_blocked(&fleet, &known, &allowed));
    assert_eq!(actions(&vetted), ["plain sleep"]);
    assert_eq!(vetted.skipped.len(), 1);
    assert!(
        vetted.skipped[0].why.contains("it is not put to sleep")
            && vetted.skipped[0].why.contains("alias/models"),
        "{:?}",
        vetted.skipped
    );
}

#[test]
fn sleeps_that_could_not_come_back_take_no_place_under_the_tick_limit() {
    let names: Vec<String> = (0..11).map(|i| format!("e{i:02}")).collect();
    let fleet: Vec<Endpoint> = names
        .iter()
        .map(|n| endpoint(n, &["v"], &[("sagetide:schedule", "nightly")]))
        .collect();
    let planned = plan(&fleet, &[], &config(), at("2026-11-24T20:00:00Z"));
    assert_eq!(planned.actions.len(), 11);
    assert_eq!(to_vet(&planned, &fleet).len(), 11);
    // The first ten by name have a step policy whose alarm may not be re-pointed.
    let blocked: BTreeMap<EndpointName, String> = fleet[..10]
        .iter()
        .map(|e| (e.name.clone(), "alarm latency runs step policy".to_owned()))
        .collect();
    let limited = limit_sleeps(vet(planned, &blocked), 10);
    assert_eq!(actions(&limited), ["e10 sleep"]);
    assert_eq!(limited.skipped.len(), 10);
    assert!(
        limited
            .skipped
            .iter()
            .all(|s| s.why.contains("not put to sleep: alarm latency")),
        "{:?}",
        limited.skipped
    );
}

const ZERO: &str = r#"
schedules:
  queue:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "20:00", capacity: { min: 1, max: 4 } }
    off_hours: { min: 0, max: 4 }
"#;

#[test]
fn only_an_asynchronous_endpoint_is_given_zero_instances_and_a_real_time_one_is_refused_alone() {
    let config = Config::parse(ZERO).unwrap();
    let queue = ("sagetide:schedule", "queue");
    let fleet = [
        endpoint("batch", &["AllTraffic"], &[queue]),
        endpoint("chat", &["AllTraffic"], &[queue]),
        endpoint("unknown", &["AllTraffic"], &[queue]),
    ];
    let targets = [
        target("batch", "AllTraffic", cap(1, 4)),
        target("chat", "AllTraffic", cap(1, 4)),
        target("unknown", "AllTraffic", cap(1, 4)),
    ];
    let night = plan(&fleet, &targets, &config, at("2026-11-23T22:00:00Z"));
    let configs: Vec<&str> = configs_to_vet(&night, &fleet).into_iter().collect();
    assert_eq!(configs, ["batch-config", "chat-config", "unknown-config"]);
    let facts = |asynchronous| ConfigFacts {
        kms_key_id: None,
        hosts_inference_components: false,
        asynchronous,
        model_roles: Vec::new(),
        unreadable: None,
    };
    let known = HashMap::from([
        ("batch-config".to_owned(), facts(true)),
        ("chat-config".to_owned(), facts(false)),
    ]);
    let vetted = vet_zero_minimums(night, &fleet, &known);
    assert_eq!(
        actions(&vetted),
        ["batch set-capacity AllTraffic 1..4 -> 0..4"]
    );
    let skipped: Vec<String> = vetted
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.endpoint, s.why))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].starts_with("chat: "), "{skipped:?}");
    assert!(skipped[0].contains("`off_hours: sleep`"), "{skipped:?}");
    assert!(skipped[1].starts_with("unknown: "), "{skipped:?}");
    assert!(skipped[1].contains("could not be read"), "{skipped:?}");
    // Of a refused endpoint, only what the schedule asks of its variants goes: what else is
    // planned under its name (its components' copies, a remedy's end) stays.
    let mut night_with_more = plan(&fleet, &targets, &config, at("2026-11-23T22:00:00Z"));
    let copies = Planned {
        endpoint: EndpointName::new("chat").unwrap(),
        action: Action::SetCapacity {
            resource: ScalableResource::Copies {
                variant: fixtures::target("chat", "AllTraffic", cap(1, 1))
                    .resource
                    .variant()
                    .clone(),
                component: crate::names::ComponentName::new("llama").unwrap(),
            },
            from: None,
            to: cap(0, 0),
            from_zero: false,
        },
        reason: "component llama's own schedule".into(),
    };
    night_with_more.actions.push(copies.clone());
    let kept = vet_zero_minimums(night_with_more, &fleet, &known);
    assert!(kept.actions.contains(&copies), "{kept:?}");
    // Whether something brings the asynchronous variant back from zero is told in the plan.
    let zeroed = zeroed(&vetted);
    assert_eq!(zeroed, [target("batch", "AllTraffic", cap(0, 4)).resource]);
    let lone = note_no_way_back(vetted.clone(), &BTreeSet::new());
    assert!(lone.actions[0].reason.contains("HasBacklogWithoutCapacity"));
    let helped = note_no_way_back(vetted.clone(), &zeroed.iter().collect());
    assert_eq!(helped.actions, vetted.actions);
    // In its period, no minimum is 0, and nothing needs a config's facts.
    let day = plan(&fleet, &targets, &config, at("2026-11-23T12:00:00Z"));
    assert!(configs_to_vet(&day, &fleet).is_empty());
}

fn component(name: &str, tags: &[(&str, &str)]) -> Component {
    Component {
        name: crate::names::ComponentName::new(name).unwrap(),
        arn: format!("arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}"),
        variant: target("llm-host", "AllTraffic", cap(1, 1))
            .resource
            .variant()
            .clone(),
        status: Status::InService,
        created: Some(at("2026-11-01T00:00:00Z")),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn copies(component: &Component, capacity: Capacity) -> ScalableTarget {
    ScalableTarget {
        resource: component.copies(),
        capacity,
        ..target("llm-host", "AllTraffic", capacity)
    }
}

fn plan_components(
    components: &[Component],
    targets: &[ScalableTarget],
    idle_alarms: &[ExistingAlarm],
    now: Timestamp,
) -> Plan {
    super::plan(
        &Observed {
            endpoints: &[],
            targets,
            sleeping: &[],
            idle_alarms,
            idle_alarms_made: true,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: Some(components),
        },
        &config(),
        now,
    )
}

const NIGHTLY: (&str, &str) = ("sagetide:schedule", "nightly");
const ASLEEP: (&str, &str) = ("sagetide:sleep", "asleep-since=2026-11-23T20:00:00Z");

#[test]
fn a_sleeping_component_is_held_at_zero_copies_until_its_period_wakes_it() {
    let llama = component("llama", &[OFFICE, ASLEEP]);
    let targets = [copies(&llama, cap(1, 1))];
    // Off-hours of office-hours would be 1..1: asleep, it stays at none.
    let night = plan_components(
        std::slice::from_ref(&llama),
        &targets,
        &[],
        berlin("2026-11-23T22:00"),
    );
    assert_eq!(
        actions(&night),
        ["llm-host set-capacity component llama 1..1 -> 0..0"]
    );
    let held = [copies(&llama, cap(0, 0))];
    let night = plan_components(
        std::slice::from_ref(&llama),
        &held,
        &[],
        berlin("2026-11-23T22:00"),
    );
    assert_eq!(actions(&night), Vec::<String>::new());
    // Its period wakes it (`schedule` is in the default wake-on); a person must wake one
    // whose wake-on leaves it out.
    let morning = plan_components(
        std::slice::from_ref(&llama),
        &held,
        &[],
        berlin("2026-11-24T08:00"),
    );
    assert_eq!(actions(&morning), ["llm-host wake-component llama"]);
    let manual_only = component("llama", &[OFFICE, ASLEEP, ("sagetide:wake-on", "manual")]);
    let morning = plan_components(&[manual_only], &held, &[], berlin("2026-11-24T08:00"));
    assert_eq!(actions(&morning), Vec::<String>::new());
    // Asleep when idle, a request does not bring it back: its sleep is no copies at all.
    let on_request = component(
        "llama",
        &[OFFICE, ASLEEP, ("sagetide:wake-on", "manual,request")],
    );
    let night = plan_components(&[on_request], &held, &[], berlin("2026-11-23T22:00"));
    assert_eq!(actions(&night), Vec::<String>::new());
    // Woken, it follows its schedule again.
    let awake = ("sagetide:sleep", "awake-since=2026-11-24T08:00:00Z");
    let woken = component("llama", &[OFFICE, awake]);
    let night = plan_components(&[woken], &held, &[], berlin("2026-11-24T22:00"));
    assert_eq!(
        actions(&night),
        ["llm-host set-capacity component llama 0..0 -> 1..1"]
    );
}

#[test]
fn off_hours_with_request_open_from_no_copies_with_the_scale_from_zero_policy() {
    let on_request = component("llama", &[NIGHTLY, ("sagetide:wake-on", "request")]);
    let targets = [copies(&on_request, cap(1, 4))];
    let night = plan_components(
        std::slice::from_ref(&on_request),
        &targets,
        &[],
        at("2026-11-23T22:00:00Z"),
    );
    // First no copies (Application Auto Scaling lowers copies to a maximum only), then, from
    // none, room for requests to bring them back, the policy put first.
    assert_eq!(
        actions(&night),
        ["llm-host set-capacity component llama 1..4 -> 0..0"]
    );
    let none = [copies(&on_request, cap(0, 0))];
    let opened = plan_components(
        std::slice::from_ref(&on_request),
        &none,
        &[],
        at("2026-11-23T22:01:00Z"),
    );
    assert_eq!(
        actions(&opened),
        ["llm-host set-capacity component llama 0..0 -> 0..4 (with its scale-from-zero policy)"]
    );
    // Then steady: a tick reads and puts no policy.
    let zeroed = [copies(&on_request, cap(0, 4))];
    let later = plan_components(&[on_request], &zeroed, &[], at("2026-11-23T23:00:00Z"));
    assert_eq!(actions(&later), Vec::<String>::new());
    // Without `request`, off-hours of a sleep schedule are no copies at all.
    let plain = component("llama", &[NIGHTLY]);
    let night = plan_components(&[plain], &targets, &[], at("2026-11-23T22:00:00Z"));
    assert_eq!(
        actions(&night),
        ["llm-host set-capacity component llama 1..4 -> 0..0"]
    );
}

#[test]
fn a_component_with_an_idle_window_has_its_own_idle_alarm() {
    let idle = ("sagetide:idle-after", "2h");
    let llama = component("llama", &[idle]);
    let plan = plan_components(
        std::slice::from_ref(&llama),
        &[],
        &[],
        at("2026-11-23T22:00:00Z"),
    );
    assert_eq!(
        actions(&plan),
        ["llm-host put-idle-alarm sagetide-idle-llm-host.llama (24 x 300 s)"]
    );
    // Declined inside its period, its alarm stays in ALARM: re-armed once it may sleep.
    let alarm = IdleAlarm::of_component(
        llama.variant.endpoint.clone(),
        llama.name.clone(),
        jiff::SignedDuration::from_hours(2),
    );
    let firing = [ExistingAlarm {
        alarm,
        firing: true,
    }];
    let scheduled = component("llama", &[idle, OFFICE]);
    let targets = [copies(&scheduled, cap(2, 10))];
    let day = plan_components(
        std::slice::from_ref(&scheduled),
        &targets,
        &firing,
        berlin("2026-11-23T12:00"),
    );
    assert_eq!(actions(&day), Vec::<String>::new());
    let evening = [copies(&scheduled, cap(1, 1))];
    let night = plan_components(&[scheduled], &evening, &firing, berlin("2026-11-23T22:00"));
    assert_eq!(
        actions(&night),
        ["llm-host rearm-idle-alarm of component llama"]
    );
    // Gone (or the tag removed): its alarm goes.
    let gone = plan_components(&[], &[], &firing, at("2026-11-23T22:00:00Z"));
    assert_eq!(
        actions(&gone),
        ["llm-host delete-idle-alarm of component llama"]
    );
    // Not found this tick: nothing is known of them, so their alarms stay.
    let unknown = super::plan(
        &Observed {
            endpoints: &[],
            targets: &[],
            sleeping: &[],
            idle_alarms: &firing,
            idle_alarms_made: true,
            alarms: &BTreeMap::new(),
            remediations: &[],
            components: None,
        },
        &config(),
        at("2026-11-23T22:00:00Z"),
    );
    assert_eq!(actions(&unknown), Vec::<String>::new());
}

#[test]
fn no_scale_from_zero_policy_beside_the_owners_and_none_on_a_guess() {
    let on_request = component("llama", &[NIGHTLY, ("sagetide:wake-on", "request")]);
    let none = [copies(&on_request, cap(0, 0))];
    let plan = plan_components(
        std::slice::from_ref(&on_request),
        &none,
        &[],
        at("2026-11-23T22:00:00Z"),
    );
    let zeroed = zeroed(&plan);
    assert_eq!(zeroed, [on_request.copies()]);
    // The owner's own policy already brings it back: the bounds change, no policy is put.
    let owned = note_no_way_back(plan.clone(), &zeroed.iter().collect());
    assert_eq!(
        actions(&owned),
        ["llm-host set-capacity component llama 0..0 -> 0..4"]
    );
    // Its policies could not be read: the change waits for the next tick, saying why.
    let deferred = defer_from_zero(plan);
    assert!(deferred.actions.is_empty());
    assert!(deferred.skipped[0].why.contains("could not be read"));
}
