use super::*;
use crate::config::AlarmPattern;
use crate::fleet::fixtures;
use crate::resource::ScalableResource;

const DOC: &str = r#"
remediation:
  - name: hold-on-errors
    alarms: ["chat-5xx", "errors-*"]
    action: suspend-scale-in
  - name: keep-capacity
    alarms: ["chat-latency"]
    action: raise-min
    min: 4
"#;

fn config() -> Config {
    Config::parse(DOC).unwrap()
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + 60 * minute).unwrap()
}

fn target(min: u32, max: u32, suspended: Suspended) -> ScalableTarget {
    ScalableTarget {
        suspended,
        ..fixtures::target("chat", "AllTraffic", Capacity::new(min, max).unwrap())
    }
}

/// The instances of chat's variant AllTraffic.
fn instances() -> ScalableResource {
    target(1, 1, Suspended::default()).resource
}

/// Partly suspended by its owner: scheduled scaling off.
const OWNER: Suspended = Suspended {
    dynamic_scaling_in: false,
    dynamic_scaling_out: false,
    scheduled_scaling: true,
};

struct Endpoint {
    target: ScalableTarget,
    record: Option<Record>,
    scheduled: BTreeMap<ScalableResource, Capacity>,
    running: BTreeMap<ScalableResource, u32>,
}

impl Endpoint {
    fn new(target: ScalableTarget) -> Self {
        Self {
            target,
            record: None,
            scheduled: BTreeMap::new(),
            running: BTreeMap::from([(instances(), 3)]),
        }
    }

    /// Decides the change and carries it out on this in-memory endpoint; returns the writes.
    fn receive(&mut self, rule: &str, alarm: &str, state: AlarmState, minute: i64) -> Vec<Write> {
        self.receive_with(&config(), rule, alarm, state, minute)
    }

    fn receive_with(
        &mut self,
        config: &Config,
        rule: &str,
        alarm: &str,
        state: AlarmState,
        minute: i64,
    ) -> Vec<Write> {
        let change = Change {
            rule: config.rule(rule).unwrap(),
            alarm,
            state,
            at: at(minute),
        };
        let observed = Observed {
            targets: std::slice::from_ref(&self.target),
            running: &self.running,
            scheduled: &self.scheduled,
        };
        match decide(self.record.as_ref(), &change, &observed, config) {
            Decision::Ignore(_) => Vec::new(),
            Decision::Change { record, writes, .. } => {
                for w in &writes {
                    match w {
                        Write::Suspended { to, .. } => self.target.suspended = *to,
                        Write::Capacity { to, .. } => self.target.capacity = *to,
                    }
                }
                self.record = Some(record);
                writes
            }
        }
    }

    fn suspended(&self) -> Suspended {
        self.target.suspended
    }

    fn min(&self) -> u32 {
        self.target.capacity.min()
    }
}

use AlarmState::{Alarm, Ok};

#[test]
fn alarm_names_match_exactly_or_by_prefix() {
    let rule = config().rule("hold-on-errors").cloned().unwrap();
    assert!(rule.names("chat-5xx"));
    assert!(rule.names("errors-search"));
    assert!(!rule.names("chat-5xx-old"));
    assert!(AlarmPattern::parse("a*b*").is_err());
    assert!(AlarmPattern::parse("*").is_err());
}

#[test]
fn alarm_then_ok_restores_the_exact_prior_suspended_state() {
    let mut e = Endpoint::new(target(1, 4, OWNER));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    assert_eq!(
        e.suspended(),
        Suspended {
            dynamic_scaling_in: true,
            ..OWNER
        }
    );
    e.receive("hold-on-errors", "chat-5xx", Ok, 10);
    assert_eq!(e.suspended(), OWNER);
    assert_eq!(e.record.as_ref().unwrap().baseline, None);
}

#[test]
fn a_late_ok_never_undoes_a_newer_alarm() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    // ALARM at 0, OK at 5, ALARM at 9, delivered as ALARM 0, ALARM 9, OK 5.
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    e.receive("hold-on-errors", "chat-5xx", Alarm, 9);
    assert_eq!(e.receive("hold-on-errors", "chat-5xx", Ok, 5), Vec::new());
    assert!(e.suspended().dynamic_scaling_in);
}

#[test]
fn an_ok_that_overtook_its_alarm_leaves_nothing_suspended() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    assert_eq!(e.receive("hold-on-errors", "chat-5xx", Ok, 5), Vec::new());
    assert_eq!(
        e.receive("hold-on-errors", "chat-5xx", Alarm, 0),
        Vec::new()
    );
    assert_eq!(e.suspended(), Suspended::default());
}

#[test]
fn duplicates_change_nothing_and_keep_the_baseline() {
    let mut e = Endpoint::new(target(1, 4, OWNER));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    let record = e.record.clone();
    assert_eq!(
        e.receive("hold-on-errors", "chat-5xx", Alarm, 0),
        Vec::new()
    );
    assert_eq!(e.record, record);
    e.receive("hold-on-errors", "chat-5xx", Ok, 3);
    assert_eq!(e.receive("hold-on-errors", "chat-5xx", Ok, 3), Vec::new());
    assert_eq!(e.suspended(), OWNER);
}

#[test]
fn two_alarms_of_a_rule_resume_only_when_both_cleared() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    e.receive("hold-on-errors", "errors-gpu", Alarm, 1);
    e.receive("hold-on-errors", "chat-5xx", Ok, 2);
    assert!(e.suspended().dynamic_scaling_in);
    e.receive("hold-on-errors", "errors-gpu", Ok, 3);
    assert_eq!(e.suspended(), Suspended::default());
}

#[test]
fn raise_min_holds_and_restores_the_previous_minimum() {
    let mut e = Endpoint::new(target(1, 10, Suspended::default()));
    e.receive("keep-capacity", "chat-latency", Alarm, 0);
    assert_eq!(e.min(), 4);
    assert_eq!(e.record.as_ref().unwrap().held_min(&instances()), Some(4));
    e.receive("keep-capacity", "chat-latency", Ok, 10);
    assert_eq!(e.min(), 1);
    assert_eq!(e.suspended(), Suspended::default());
}

#[test]
fn raise_min_never_goes_above_max_nor_lowers_a_higher_minimum() {
    let mut capped = Endpoint::new(target(1, 3, Suspended::default()));
    capped.receive("keep-capacity", "chat-latency", Alarm, 0);
    assert_eq!(capped.min(), 3);
    let mut higher = Endpoint::new(target(6, 10, Suspended::default()));
    assert_eq!(
        higher.receive("keep-capacity", "chat-latency", Alarm, 0),
        Vec::new()
    );
    assert_eq!(higher.min(), 6);
}

#[test]
fn after_ok_the_minimum_is_the_one_the_schedule_wants_now() {
    let mut e = Endpoint::new(target(1, 10, Suspended::default()));
    e.scheduled = BTreeMap::from([(instances(), Capacity::new(1, 10).unwrap())]);
    e.receive("keep-capacity", "chat-latency", Alarm, 0);
    assert_eq!(e.min(), 4);
    // The period begins during the alarm: the schedule now wants 2..10.
    e.scheduled = BTreeMap::from([(instances(), Capacity::new(2, 10).unwrap())]);
    e.receive("keep-capacity", "chat-latency", Ok, 30);
    assert_eq!(e.min(), 2);
}

#[test]
fn a_suspend_rule_does_not_touch_the_minimum_and_raise_min_not_the_suspended_state() {
    let mut e = Endpoint::new(target(2, 10, OWNER));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    // The owner lowers the minimum meanwhile; the remedy leaves it.
    e.target.capacity = Capacity::new(1, 10).unwrap();
    assert_eq!(
        e.receive("hold-on-errors", "chat-5xx", Alarm, 0),
        Vec::new()
    );
    e.receive("keep-capacity", "chat-latency", Alarm, 1);
    assert_eq!(e.min(), 4);
    e.receive("hold-on-errors", "chat-5xx", Ok, 2);
    assert_eq!(e.suspended(), OWNER);
    assert_eq!(e.min(), 4, "raise-min still holds");
}

#[test]
fn insufficient_data_is_ignored() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    assert_eq!(
        e.receive(
            "hold-on-errors",
            "chat-5xx",
            AlarmState::InsufficientData,
            0
        ),
        Vec::new()
    );
    assert_eq!(e.record, None);
}

#[test]
fn an_ok_cut_short_after_its_writes_is_finished_when_it_comes_again() {
    let mut e = Endpoint::new(target(1, 4, OWNER));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    let config = config();
    let change = Change {
        rule: config.rule("hold-on-errors").unwrap(),
        alarm: "chat-5xx",
        state: Ok,
        at: at(10),
    };
    let observed = Observed {
        targets: std::slice::from_ref(&e.target),
        running: &e.running,
        scheduled: &BTreeMap::new(),
    };
    let Decision::Change {
        writes,
        record_first,
        ..
    } = decide(e.record.as_ref(), &change, &observed, &config)
    else {
        panic!("an OK of a firing alarm changes something");
    };
    assert!(!record_first, "ending a remedy writes the targets first");
    // The run stops after the writes, before the record: the same OK again finishes it.
    for w in writes {
        if let Write::Suspended { to, .. } = w {
            e.target.suspended = to;
        }
    }
    assert_eq!(e.receive("hold-on-errors", "chat-5xx", Ok, 10), Vec::new());
    assert_eq!(e.record.as_ref().unwrap().baseline, None);
    assert_eq!(e.suspended(), OWNER);
}

#[test]
fn a_repeated_alarm_keeps_the_minimum_fixed_when_it_first_fired() {
    let doc = r#"
remediation:
  - { name: keep-running, alarms: ["lat"], action: raise-min }
"#;
    let config = Config::parse(doc).unwrap();
    let mut e = Endpoint::new(target(1, 10, Suspended::default()));
    e.receive_with(&config, "keep-running", "lat", Alarm, 0);
    assert_eq!(e.min(), 3);
    e.running.insert(instances(), 7);
    e.receive_with(&config, "keep-running", "lat", Alarm, 0);
    assert_eq!(e.min(), 3);
}

#[test]
fn suspending_scale_in_leaves_the_other_flags_to_their_owner() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    // The owner suspends scale-out meanwhile; the remedy keeps it, before and after OK.
    e.target.suspended.dynamic_scaling_out = true;
    assert_eq!(
        e.receive("hold-on-errors", "chat-5xx", Alarm, 0),
        Vec::new()
    );
    e.receive("hold-on-errors", "chat-5xx", Ok, 5);
    assert_eq!(
        e.suspended(),
        Suspended {
            dynamic_scaling_out: true,
            ..Suspended::default()
        }
    );
}

#[test]
fn a_rule_removed_while_its_alarm_fires_counts_as_cleared() {
    let mut e = Endpoint::new(target(1, 4, Suspended::default()));
    e.receive("hold-on-errors", "chat-5xx", Alarm, 0);
    let without = Config::parse(
        r#"
remediation:
  - { name: keep-capacity, alarms: ["chat-latency"], action: raise-min, min: 2 }
"#,
    )
    .unwrap();
    e.receive_with(&without, "keep-capacity", "chat-latency", Alarm, 1);
    assert_eq!(e.suspended(), Suspended::default());
    assert_eq!(e.min(), 2);
}

#[test]
fn a_variant_that_appears_while_remedies_hold_joins_the_baseline() {
    let config = config();
    let mut record = None;
    let shadow = ScalableTarget {
        resource: fixtures::target("chat", "shadow", Capacity::new(1, 1).unwrap()).resource,
        ..target(1, 4, OWNER)
    };
    let running = BTreeMap::new();
    for (minute, state, targets) in [
        (0, Alarm, vec![target(1, 4, Suspended::default())]),
        (
            1,
            Alarm,
            vec![target(1, 4, Suspended::default()), shadow.clone()],
        ),
    ] {
        let change = Change {
            rule: config.rule("hold-on-errors").unwrap(),
            alarm: if minute == 0 {
                "chat-5xx"
            } else {
                "errors-gpu"
            },
            state,
            at: at(minute),
        };
        let observed = Observed {
            targets: &targets,
            running: &running,
            scheduled: &BTreeMap::new(),
        };
        if let Decision::Change { record: r, .. } =
            decide(record.as_ref(), &change, &observed, &config)
        {
            record = Some(r);
        }
    }
    let baseline = record.unwrap().baseline.unwrap();
    assert_eq!(baseline.len(), 2);
    assert_eq!(baseline[1].suspended, OWNER);
}
