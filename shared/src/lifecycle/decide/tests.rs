use super::*;
use crate::fleet::{IN_SERVICE, Variant};
use crate::names::{EndpointName, VariantName};
use crate::snapshot::Snapshot;

const DOC: &str = r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - { days: mon-fri, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: { min: 1, max: 1 }
  desk:
    timezone: UTC
    periods:
      - { days: mon-fri, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
"#;

fn config() -> Config {
    Config::parse(DOC).unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Monday 2026-11-23, 02:00 UTC: off-hours.
const NIGHT: &str = "2026-11-23T02:00:00Z";

fn endpoint(tags: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        name: EndpointName::new("chat").unwrap(),
        arn: Some("arn:aws:sagemaker:us-east-1:123456789012:endpoint/chat".into()),
        status: IN_SERVICE.into(),
        config_name: Some("chat-config".into()),
        created: Some(at("2026-11-20T00:00:00Z")),
        variants: vec![Variant {
            name: VariantName::new("AllTraffic").unwrap(),
            instances: 1,
            pools: Vec::new(),
        }],
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn stored(phase: Phase, tags: &[(&str, &str)]) -> Stored {
    Stored {
        snapshot: Snapshot {
            endpoint: EndpointName::new("chat").unwrap(),
            endpoint_config: "chat-config".into(),
            tags: endpoint(tags).tags,
            targets: Vec::new(),
            taken_at: at(NIGHT),
        },
        phase,
        version: 3,
    }
}

fn idle(e: Option<&Endpoint>, s: Option<&Stored>, now: &str) -> SleepDecision {
    sleep(e, s, SleepTrigger::IdleAlarm(&config()), at(now))
}

fn declined(decision: SleepDecision) -> String {
    match decision {
        SleepDecision::Verdict(Verdict::Decline(why)) => why,
        other => panic!("expected a decline, got {other:?}"),
    }
}

const IDLE: (&str, &str) = ("sagetide:idle-after", "90m");

#[test]
fn an_idle_tagged_endpoint_off_hours_gets_its_invocations_checked() {
    assert_eq!(
        idle(Some(&endpoint(&[IDLE])), None, NIGHT),
        SleepDecision::CheckIdle {
            window: SignedDuration::from_mins(90)
        }
    );
    assert_eq!(
        after_idle_check(0.0, SignedDuration::from_mins(90), None),
        Verdict::Sleep { previous: None }
    );
    assert!(matches!(
        after_idle_check(3.0, SignedDuration::from_mins(90), None),
        Verdict::Decline(_)
    ));
}

#[test]
fn an_endpoint_without_the_opt_in_tag_is_never_slept_even_by_force() {
    let untagged = endpoint(&[("team", "search")]);
    assert!(declined(idle(Some(&untagged), None, NIGHT)).contains("sagetide:idle-after"));
    let forced = sleep(
        Some(&untagged),
        None,
        SleepTrigger::Manual {
            force: true,
            config: &config(),
        },
        at(NIGHT),
    );
    assert!(declined(forced).contains("opt-in"));
    let scheduled = sleep(
        Some(&untagged),
        None,
        SleepTrigger::Schedule(&config()),
        at(NIGHT),
    );
    assert!(declined(scheduled).contains("sagetide:schedule"));
}

#[test]
fn inside_a_period_an_idle_endpoint_stays() {
    let e = endpoint(&[IDLE, ("sagetide:schedule", "office-hours")]);
    assert!(declined(idle(Some(&e), None, "2026-11-23T10:00:00Z")).contains("period mon-fri"));
    let unknown = endpoint(&[IDLE, ("sagetide:schedule", "night-shift")]);
    assert!(declined(idle(Some(&unknown), None, NIGHT)).contains("not in the configuration"));
    assert!(matches!(
        idle(Some(&e), None, NIGHT),
        SleepDecision::CheckIdle { .. }
    ));
}

#[test]
fn an_awake_override_keeps_it_awake() {
    let e = endpoint(&[
        IDLE,
        ("sagetide:override", "awake-until=2026-11-23T05:00:00Z"),
    ]);
    assert!(declined(idle(Some(&e), None, NIGHT)).contains("override"));
}

#[test]
fn a_young_endpoint_is_not_idle_but_force_skips_the_check() {
    let mut e = endpoint(&[IDLE]);
    e.created = Some(at("2026-11-23T01:00:00Z"));
    assert!(declined(idle(Some(&e), None, NIGHT)).contains("less than 1h 30m ago"));
    let forced = sleep(
        Some(&e),
        None,
        SleepTrigger::Manual {
            force: true,
            config: &config(),
        },
        at(NIGHT),
    );
    assert_eq!(
        forced,
        SleepDecision::Verdict(Verdict::Sleep { previous: None })
    );
}

#[test]
fn a_stopped_sleep_is_finished_and_a_finished_one_is_left() {
    let sleeping = stored(Phase::Sleeping, &[IDLE]);
    assert_eq!(
        idle(None, Some(&sleeping), NIGHT),
        SleepDecision::Verdict(Verdict::Finish { version: 3 })
    );
    let mut deleting = endpoint(&[IDLE]);
    deleting.status = "Deleting".into();
    assert_eq!(
        idle(Some(&deleting), Some(&sleeping), NIGHT),
        SleepDecision::Verdict(Verdict::Finish { version: 3 })
    );
    let asleep = stored(Phase::Asleep, &[IDLE]);
    assert!(matches!(
        idle(None, Some(&asleep), NIGHT),
        SleepDecision::Verdict(Verdict::Done(_))
    ));
}

#[test]
fn a_snapshot_written_by_a_stopped_sleep_is_replaced_while_the_endpoint_lives() {
    let sleeping = stored(Phase::Sleeping, &[IDLE]);
    let forced = sleep(
        Some(&endpoint(&[IDLE])),
        Some(&sleeping),
        SleepTrigger::Manual {
            force: true,
            config: &config(),
        },
        at(NIGHT),
    );
    assert_eq!(
        forced,
        SleepDecision::Verdict(Verdict::Sleep { previous: Some(3) })
    );
}

#[test]
fn a_woken_endpoint_is_not_slept_again_before_its_restore() {
    let asleep = stored(Phase::Asleep, &[IDLE]);
    assert!(declined(idle(Some(&endpoint(&[IDLE])), Some(&asleep), NIGHT)).contains("restore"));
}

#[test]
fn wake_needs_a_snapshot_and_a_source_that_wake_on_allows() {
    use WakeSource::*;
    assert!(matches!(
        wake(None, None, Manual, None),
        WakeDecision::Decline(_)
    ));
    let asleep = stored(Phase::Asleep, &[IDLE]);
    assert_eq!(
        wake(Some(&asleep), None, Manual, None),
        WakeDecision::Create { finish_sleep: None }
    );
    assert!(matches!(
        wake(Some(&asleep), None, Alarm, Some("queue-depth")),
        WakeDecision::Decline(_)
    ));
    let by_alarm = stored(
        Phase::Asleep,
        &[
            IDLE,
            ("sagetide:wake-on", "alarm"),
            ("sagetide:wake-alarm", "queue-depth"),
        ],
    );
    assert_eq!(
        wake(Some(&by_alarm), None, Alarm, Some("queue-depth")),
        WakeDecision::Create { finish_sleep: None }
    );
    assert!(matches!(
        wake(Some(&by_alarm), None, Alarm, Some("other-alarm")),
        WakeDecision::Decline(_)
    ));
    assert!(matches!(
        wake(Some(&by_alarm), None, Manual, None),
        WakeDecision::Decline(_)
    ));
}

#[test]
fn wake_is_idempotent_and_finishes_a_stopped_sleep() {
    let asleep = stored(Phase::Asleep, &[IDLE]);
    let awake = endpoint(&[IDLE]);
    assert!(matches!(
        wake(Some(&asleep), Some(&awake), WakeSource::Manual, None),
        WakeDecision::Done(_)
    ));
    let mut deleting = awake.clone();
    deleting.status = "Deleting".into();
    assert!(matches!(
        wake(Some(&asleep), Some(&deleting), WakeSource::Manual, None),
        WakeDecision::Retry(_)
    ));
    let sleeping = stored(Phase::Sleeping, &[IDLE]);
    assert_eq!(
        wake(Some(&sleeping), None, WakeSource::Manual, None),
        WakeDecision::Create {
            finish_sleep: Some(3)
        }
    );
}

#[test]
fn restore_waits_for_in_service_and_happens_once() {
    let asleep = stored(Phase::Asleep, &[IDLE]);
    let mut creating = endpoint(&[IDLE]);
    creating.status = "Creating".into();
    // Found by the late-events test: an IN_SERVICE older than the endpoint's deletion was
    // deferred, and Lambda retried it for hours.
    assert!(matches!(
        restore(Some(&asleep), None),
        RestoreDecision::Decline(_)
    ));
    assert!(matches!(
        restore(Some(&asleep), Some(&creating)),
        RestoreDecision::Wait(_)
    ));
    assert_eq!(
        restore(Some(&asleep), Some(&endpoint(&[IDLE]))),
        RestoreDecision::Restore { version: 3 }
    );
    let restored = stored(Phase::Restored, &[IDLE]);
    assert!(matches!(
        restore(Some(&restored), Some(&endpoint(&[IDLE]))),
        RestoreDecision::Done(_)
    ));
    let sleeping = stored(Phase::Sleeping, &[IDLE]);
    assert!(matches!(
        restore(Some(&sleeping), Some(&endpoint(&[IDLE]))),
        RestoreDecision::Done(_)
    ));
}

fn scheduled(e: &Endpoint, now: &str) -> SleepDecision {
    sleep(Some(e), None, SleepTrigger::Schedule(&config()), at(now))
}

const DESK: (&str, &str) = ("sagetide:schedule", "desk");

#[test]
fn a_scheduled_sleep_is_checked_again_against_the_tags_just_read() {
    assert_eq!(
        scheduled(&endpoint(&[DESK]), NIGHT),
        SleepDecision::Verdict(Verdict::Sleep { previous: None })
    );
    assert!(declined(scheduled(&endpoint(&[DESK]), "2026-11-23T10:00:00Z")).contains("awake"));
    let overridden = endpoint(&[
        DESK,
        ("sagetide:override", "awake-until=2026-11-23T05:00:00Z"),
    ]);
    assert!(declined(scheduled(&overridden, NIGHT)).contains("override"));
}

#[test]
fn nothing_is_slept_that_nothing_could_wake() {
    let no_schedule_source = endpoint(&[DESK, ("sagetide:wake-on", "manual")]);
    assert!(declined(scheduled(&no_schedule_source, NIGHT)).contains("schedule could not wake"));
    let alarm_without_name = endpoint(&[IDLE, ("sagetide:wake-on", "alarm")]);
    assert!(declined(idle(Some(&alarm_without_name), None, NIGHT)).contains("nothing could wake"));
    let garbled = endpoint(&[IDLE, ("sagetide:wake-on", "whenever")]);
    assert!(declined(idle(Some(&garbled), None, NIGHT)).contains("sagetide:wake-on"));
    let by_alarm = endpoint(&[
        IDLE,
        ("sagetide:wake-on", "alarm"),
        ("sagetide:wake-alarm", "queue-backlog"),
    ]);
    assert!(matches!(
        idle(Some(&by_alarm), None, NIGHT),
        SleepDecision::CheckIdle { .. }
    ));
}

#[test]
fn a_wake_rule_naming_the_endpoint_is_an_alarm_that_could_wake_it() {
    let config = |endpoint: &str| {
        Config::parse(&format!(
            "remediation: [{{name: wake-chat, alarms: [backlog], endpoint: {endpoint}, action: wake}}]"
        ))
        .unwrap()
    };
    let alarm_only = endpoint(&[IDLE, ("sagetide:wake-on", "alarm")]);
    let named = config("chat");
    assert!(matches!(
        sleep(
            Some(&alarm_only),
            None,
            SleepTrigger::IdleAlarm(&named),
            at(NIGHT)
        ),
        SleepDecision::CheckIdle { .. }
    ));
    let other = config("batch");
    let why = declined(sleep(
        Some(&alarm_only),
        None,
        SleepTrigger::IdleAlarm(&other),
        at(NIGHT),
    ));
    assert!(why.contains("nothing could wake"), "{why}");
}
