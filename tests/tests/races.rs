//! Events as EventBridge and Lambda deliver them: at the same moment from concurrent
//! invocations, again, late and out of order. Whatever the interleaving, each intent has
//! exactly one effect: one sleep, one wake, one restore.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sagetide_tests::{Harness, LEASE_EXPIRED, alarm_change, endpoint_state_event, scheduled_event};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  desk:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
"#;

const DESK: &str = "desk";
const TAGS: [(&str, &str); 3] = [
    ("sagetide:schedule", "desk"),
    ("sagetide:idle-after", "2h"),
    ("sagetide:wake-on", "schedule,manual"),
];
const ROUNDS: u64 = 4;

fn at(days: i64, time: &str) -> Timestamp {
    sagetide_tests::after_tomorrow(days, time)
}

async fn seed(h: &Harness) {
    h.reset(CONFIG).await;
    h.aws.create_endpoint(DESK, &["AllTraffic"], &TAGS).await;
    h.aws.seed_autoscaling(DESK, "AllTraffic").await;
}

fn tick(now: Timestamp) -> Value {
    scheduled_event(&now.to_string())
}

fn idle_alarm(now: Timestamp) -> Value {
    alarm_change("sagetide-idle-desk", "ALARM", Some(DESK), &now.to_string())
}

fn wake() -> Value {
    json!({"action": "wake", "endpoint": DESK})
}

fn in_service() -> Value {
    endpoint_state_event(DESK, "IN_SERVICE")
}

/// `(CreateEndpoint, DeleteEndpoint)` that moto carried out for `desk` since the last look.
fn changes(h: &Harness) -> (usize, usize) {
    let changes = h.proxy.take_endpoint_changes();
    let count = |call: &str| {
        changes
            .get(&(DESK.to_owned(), call.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    (
        count("sagemaker:CreateEndpoint"),
        count("sagemaker:DeleteEndpoint"),
    )
}

/// The three racing invocations, each after its own short, seeded delay.
async fn race(
    h: &Harness,
    round: u64,
    now: Timestamp,
    wake_event: Value,
) -> [Result<Value, Value>; 3] {
    let mut rng = fastrand::Rng::with_seed(round);
    let delays: Vec<Duration> = (0..3)
        .map(|_| Duration::from_millis(rng.u64(0..40)))
        .collect();
    let after = |d: Duration, function: &'static str, event: Value| async move {
        tokio::time::sleep(d).await;
        h.invoke(function, event, now).await
    };
    let (t, s, w) = tokio::join!(
        after(delays[0], "scheduler", tick(now)),
        after(delays[1], "sleeper", idle_alarm(now)),
        after(delays[2], "waker", wake_event),
    );
    [t, s, w]
}

/// How each racer ended, for the test's output: its outcome, or the error Lambda would see.
fn ended(answers: &[Result<Value, Value>; 3]) -> Vec<String> {
    answers
        .iter()
        .map(|a| match a {
            Ok(v) if v["actions"].is_array() => v["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["action"] == "sleep" || a["action"] == "wake")
                .map(|a| {
                    format!(
                        "{} {}",
                        a["action"].as_str().unwrap_or(""),
                        a["outcome"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Ok(v) => v["reports"][0]["outcome"]
                .as_str()
                .unwrap_or("ignored")
                .to_owned(),
            Err(e) => e["errorType"].as_str().unwrap_or("error").to_owned(),
        })
        .collect()
}

/// Whether a racer lost: its invocation failed (`Deferred`: the lease was taken), or, for the
/// tick, one of its actions was deferred.
fn lost(answer: &Result<Value, Value>) -> bool {
    match answer {
        Err(_) => true,
        Ok(v) => v["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["outcome"] == "deferred"),
    }
}

/// AWS finishes deleting (or creating) the endpoint; it must not have gone without its snapshot.
async fn aws_settles(h: &Harness) {
    h.moto.settle().await;
    h.aws.assert_snapshot_if_gone(DESK).await;
}

/// Lambda's retries for the events that lost the race; a tick's deferred action waits for the
/// next tick, 15 minutes on.
async fn settle(h: &Harness, answers: &[Result<Value, Value>; 3], now: Timestamp) {
    let [t, s, w] = answers;
    if lost(t) {
        tokio::time::sleep(LEASE_EXPIRED).await;
        let next = now + SignedDuration::from_mins(15);
        h.invoke("scheduler", tick(next), next)
            .await
            .expect("the next tick");
    }
    if lost(s) {
        h.deliver("sleeper", idle_alarm(now), now)
            .await
            .answer
            .expect("the idle alarm again");
    }
    if lost(w) {
        h.deliver("waker", wake(), now)
            .await
            .answer
            .expect("the wake again");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tick_an_idle_alarm_and_a_manual_wake_racing_on_a_sleeping_endpoint_wake_it_once() {
    let h = Harness::start(CONFIG).await;
    let mut contended = 0;
    for round in 0..ROUNDS {
        seed(&h).await;
        let before = h.aws.autoscaling_state(DESK, "AllTraffic").await;
        let evening = at(0, "19:00");
        h.deliver("scheduler", tick(evening), evening)
            .await
            .answer
            .expect("the evening tick");
        aws_settles(&h).await;
        assert_eq!(changes(&h), (0, 1), "round {round}: the evening sleep");

        // 07:35, inside the prewarm: the tick wakes it, someone wakes it by hand, and a late
        // idle alarm wants it asleep.
        let prewarm = at(1, "07:35");
        let answers = race(&h, round, prewarm, wake()).await;
        eprintln!(
            "waking, round {round}: tick, sleeper, waker: {:?}",
            ended(&answers)
        );
        contended += answers.iter().filter(|a| lost(a)).count();
        settle(&h, &answers, prewarm).await;
        aws_settles(&h).await;
        h.deliver("restorer", in_service(), prewarm)
            .await
            .answer
            .expect("restore");
        assert_eq!(changes(&h), (1, 0), "round {round}: one wake, no sleep");
        assert_eq!(
            h.aws.autoscaling_state(DESK, "AllTraffic").await,
            before,
            "round {round}"
        );
        assert_eq!(
            h.aws.snapshot_phase(DESK).await.as_deref(),
            Some("restored")
        );
    }
    assert!(
        contended > 0,
        "no round raced: each racer found the endpoint free"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tick_an_idle_alarm_and_a_manual_wake_racing_on_an_idle_endpoint_sleep_it_once() {
    let h = Harness::start(CONFIG).await;
    let mut contended = 0;
    for round in 0..ROUNDS {
        seed(&h).await;
        let before = h.aws.autoscaling_state(DESK, "AllTraffic").await;
        h.proxy.take_endpoint_changes();

        // 19:00, off-hours and idle: the tick and the idle alarm both want it asleep; a manual
        // wake either finds it awake (nothing to do) or wakes it after the one sleep.
        let evening = at(0, "19:00");
        let answers = race(&h, round, evening, wake()).await;
        eprintln!(
            "sleeping, round {round}: tick, sleeper, waker: {:?}",
            ended(&answers)
        );
        aws_settles(&h).await;
        contended += answers.iter().filter(|a| lost(a)).count();
        settle(&h, &answers, evening).await;
        aws_settles(&h).await;
        let (creates, deletes) = changes(&h);
        assert_eq!(deletes, 1, "round {round}: one sleep");
        assert!(creates <= 1, "round {round}: {creates} wakes");
        if creates == 1 {
            h.deliver("restorer", in_service(), evening)
                .await
                .answer
                .expect("restore");
            assert_eq!(h.aws.autoscaling_state(DESK, "AllTraffic").await, before);
        } else {
            assert_eq!(h.aws.endpoint(DESK).await, None, "round {round}");
            assert_eq!(h.aws.snapshot_phase(DESK).await.as_deref(), Some("asleep"));
        }
    }
    assert!(
        contended > 0,
        "no round raced: each racer found the endpoint free"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn late_repeated_and_reordered_events_change_nothing_more() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let before = h.aws.autoscaling_state(DESK, "AllTraffic").await;
    let evening = at(0, "19:00");
    h.invoke("scheduler", tick(evening), evening).await.unwrap();
    aws_settles(&h).await;
    assert_eq!(changes(&h), (0, 1));

    // The 17:45 tick, delivered after the 19:00 one: its schedule said awake, but it is late.
    let late = h
        .invoke("scheduler", tick(at(0, "17:45")), evening)
        .await
        .unwrap();
    assert!(late["late"].is_string(), "{late}");
    // An IN_SERVICE of some earlier creation, overtaken by the sleep.
    h.invoke("restorer", in_service(), evening).await.unwrap();
    assert_eq!(
        changes(&h),
        (0, 0),
        "a late tick or IN_SERVICE changes nothing"
    );
    assert_eq!(h.aws.endpoint(DESK).await, None);

    let prewarm = at(1, "07:30");
    h.invoke("scheduler", tick(prewarm), prewarm).await.unwrap();
    aws_settles(&h).await;
    let restored = h.invoke("restorer", in_service(), prewarm).await.unwrap();
    assert_eq!(restored["reports"][0]["outcome"], "applied", "{restored}");
    assert_eq!(changes(&h), (1, 0));

    // Late again: the IN_SERVICE, the evening's idle alarm, the 05:00 tick (off-hours: it
    // would sleep the endpoint) and the prewarm tick.
    let later = prewarm + SignedDuration::from_mins(10);
    let again = h.invoke("restorer", in_service(), later).await.unwrap();
    assert_eq!(again["reports"][0]["outcome"], "already-done", "{again}");
    let alarm = h
        .invoke("sleeper", idle_alarm(evening), later)
        .await
        .unwrap();
    assert_eq!(alarm["reports"][0]["outcome"], "declined", "{alarm}");
    let stale = h
        .invoke("scheduler", tick(at(1, "05:00")), later)
        .await
        .unwrap();
    assert!(stale["late"].is_string(), "{stale}");
    h.invoke("scheduler", tick(prewarm), later).await.unwrap();
    assert_eq!(changes(&h), (0, 0), "nothing is slept or woken again");
    assert_eq!(h.aws.autoscaling_state(DESK, "AllTraffic").await, before);

    // Someone sends ticks by hand with times ahead of the clock (a month ahead, off-hours; and
    // just inside the six hours a late tick may lag): refused, they change nothing and claim
    // nothing, and the real tick after them is not "late".
    for ahead in [
        at(30, "19:00"),
        later + SignedDuration::from_mins(5 * 60 + 59),
    ] {
        let forged = h.invoke("scheduler", tick(ahead), later).await.unwrap_err();
        assert!(
            forged["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains("ahead of the clock")),
            "{forged}"
        );
    }
    aws_settles(&h).await;
    assert_eq!(changes(&h), (0, 0));
    assert_eq!(h.aws.autoscaling_state(DESK, "AllTraffic").await, before);
    let next = prewarm + SignedDuration::from_mins(15);
    let report = h.invoke("scheduler", tick(next), next).await.unwrap();
    assert!(report["late"].is_null(), "{report}");
    aws_settles(&h).await;
    assert_eq!(
        changes(&h),
        (0, 0),
        "awake, as the real clock's schedule wants"
    );
    assert_eq!(h.aws.autoscaling_state(DESK, "AllTraffic").await, before);
}
