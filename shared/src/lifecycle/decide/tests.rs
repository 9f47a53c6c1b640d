use super::*;
use crate::config::Config;
use crate::fleet::fixtures;
use crate::names::EndpointName;
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
        created: Some(at("2026-11-20T00:00:00Z")),
        ..fixtures::endpoint("chat", &["AllTraffic"], tags)
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
            definitions: None,
            variants: Vec::new(),
            endpoint_policy: None,
        },
        phase,
        version: 3,
        wake: None,
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
}

fn activity(invocations: f64, peak_concurrency: f64, incomplete: &[&str]) -> Activity {
    Activity {
        invocations,
        peak_concurrency,
        incomplete: incomplete.iter().map(|q| q.to_string()).collect(),
    }
}

#[test]
fn idle_means_no_invocations_no_request_in_flight_and_complete_data() {
    let window = SignedDuration::from_mins(90);
    assert_eq!(
        after_idle_check(&activity(0.0, 0.0, &[]), window, Some(2)),
        Verdict::Sleep { previous: Some(2) }
    );
    let not_idle = |a: Activity| match after_idle_check(&a, window, None) {
        Verdict::NotIdle(why) => why,
        other => panic!("expected not idle, got {other:?}"),
    };
    assert!(not_idle(activity(3.0, 0.0, &[])).contains("3 invocations in the last 1h 30m"));
    // The last minutes' requests are not in Invocations yet, but in flight they show.
    assert!(not_idle(activity(0.0, 2.0, &[])).contains("up to 2 requests in flight"));
    // A check that cannot be sure keeps the endpoint: it fails closed.
    assert!(not_idle(activity(0.0, 0.0, &["invocations0"])).contains("invocations0"));
}

#[test]
fn serverless_and_shadow_variants_are_not_slept_yet() {
    let mut serverless = endpoint(&[IDLE]);
    serverless.variants[0].serverless = Some(crate::fleet::Serverless {
        max_concurrency: 20,
        provisioned: None,
    });
    assert!(declined(idle(Some(&serverless), None, NIGHT)).contains("serverless"));
    let mut shadowed = endpoint(&[IDLE]);
    shadowed.shadow_variants = vec![crate::names::VariantName::new("shadow").unwrap()];
    assert!(declined(idle(Some(&shadowed), None, NIGHT)).contains("shadow variant shadow"));
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
    deleting.status = Status::Deleting;
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
        wake(None, None, Manual, None, at(NIGHT)),
        WakeDecision::Decline(_)
    ));
    let asleep = stored(Phase::Asleep, &[IDLE]);
    let create = WakeDecision::Create {
        version: 3,
        phase: Phase::Asleep,
    };
    assert_eq!(wake(Some(&asleep), None, Manual, None, at(NIGHT)), create);
    assert!(matches!(
        wake(Some(&asleep), None, Alarm, Some("queue-depth"), at(NIGHT)),
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
        wake(Some(&by_alarm), None, Alarm, Some("queue-depth"), at(NIGHT)),
        create
    );
    assert!(matches!(
        wake(Some(&by_alarm), None, Alarm, Some("other-alarm"), at(NIGHT)),
        WakeDecision::Decline(_)
    ));
    assert!(matches!(
        wake(Some(&by_alarm), None, Manual, None, at(NIGHT)),
        WakeDecision::Decline(_)
    ));
}

#[test]
fn wake_is_idempotent_and_finishes_a_stopped_sleep() {
    let asleep = stored(Phase::Asleep, &[IDLE]);
    let awake = endpoint(&[IDLE]);
    assert!(matches!(
        wake(
            Some(&asleep),
            Some(&awake),
            WakeSource::Manual,
            None,
            at(NIGHT)
        ),
        WakeDecision::Done(_)
    ));
    let mut deleting = awake.clone();
    deleting.status = Status::Deleting;
    assert!(matches!(
        wake(
            Some(&asleep),
            Some(&deleting),
            WakeSource::Manual,
            None,
            at(NIGHT)
        ),
        WakeDecision::Retry(_)
    ));
    let sleeping = stored(Phase::Sleeping, &[IDLE]);
    assert_eq!(
        wake(Some(&sleeping), None, WakeSource::Manual, None, at(NIGHT)),
        WakeDecision::Create {
            version: 3,
            phase: Phase::Sleeping
        }
    );
}

#[test]
fn a_failed_wake_is_deleted_and_retried_later_and_a_slow_one_reported_once() {
    let asked = WakeAttempt::asked(None, WakeSource::Schedule, None, at("2026-11-23T06:30:00Z"));
    let asleep = Stored {
        wake: Some(asked.clone()),
        ..stored(Phase::Asleep, &[IDLE])
    };
    let mut failed = endpoint(&[IDLE]);
    failed.status = Status::Failed;
    failed.failure_reason = Some("Unable to provision requested ML compute capacity".into());
    let now = at("2026-11-23T06:45:00Z");
    let RecoverDecision::DeleteFailed { version, attempt } =
        recover(Some(&asleep), Some(&failed), now)
    else {
        panic!("a failed wake is deleted");
    };
    assert_eq!((version, attempt.failures), (3, 1));
    assert!(attempt.last_failure.as_ref().unwrap().contains("capacity"));
    assert_eq!(attempt.retry_after, Some(at("2026-11-23T06:55:00Z")));
    // Recorded, then cut short before the delete: the next recovery only deletes.
    let recorded = Stored {
        wake: Some(attempt),
        ..asleep.clone()
    };
    assert_eq!(
        recover(Some(&recorded), Some(&failed), now),
        RecoverDecision::DeleteRecorded
    );

    let mut creating = endpoint(&[IDLE]);
    creating.status = Status::Creating;
    assert!(matches!(
        recover(Some(&asleep), Some(&creating), at("2026-11-23T07:00:00Z")),
        RecoverDecision::Done(_)
    ));
    let RecoverDecision::ReportSlow { attempt, .. } =
        recover(Some(&asleep), Some(&creating), at("2026-11-23T07:15:00Z"))
    else {
        panic!("45 minutes of Creating is reported");
    };
    let reported = Stored {
        wake: Some(attempt),
        ..asleep.clone()
    };
    assert!(matches!(
        recover(Some(&reported), Some(&creating), at("2026-11-23T08:00:00Z")),
        RecoverDecision::Done(_)
    ));
    assert!(matches!(
        recover(Some(&asleep), None, now),
        RecoverDecision::Done(_)
    ));
}

#[test]
fn restore_waits_for_in_service_and_happens_once() {
    let asleep = stored(Phase::Asleep, &[IDLE]);
    let mut creating = endpoint(&[IDLE]);
    creating.status = Status::Creating;
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

#[test]
fn an_alarm_waits_for_a_failed_wake_s_retry_and_a_person_does_not() {
    let by_alarm = [
        IDLE,
        ("sagetide:wake-on", "alarm,manual"),
        ("sagetide:wake-alarm", "queue-depth"),
    ];
    let failed = WakeAttempt::asked(None, WakeSource::Alarm, Some("queue-depth"), at(NIGHT))
        .failed("quota", at(NIGHT), None);
    let waiting = Stored {
        wake: Some(failed),
        ..stored(Phase::Asleep, &by_alarm)
    };
    let soon = at("2026-11-23T02:05:00Z");
    assert!(matches!(
        wake(Some(&waiting), None, WakeSource::Alarm, Some("queue-depth"), soon),
        WakeDecision::Decline(why) if why.contains("tried again from 2026-11-23T02:10:00Z")
    ));
    assert!(matches!(
        wake(Some(&waiting), None, WakeSource::Manual, None, soon),
        WakeDecision::Create { .. }
    ));
    let later = at("2026-11-23T02:10:00Z");
    assert!(matches!(
        wake(
            Some(&waiting),
            None,
            WakeSource::Alarm,
            Some("queue-depth"),
            later
        ),
        WakeDecision::Create { .. }
    ));
}
