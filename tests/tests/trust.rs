//! Who can make sagetide act: ticks far from the clock, events of other accounts and regions,
//! and changes that would put many endpoints to sleep at once change nothing (or no more than
//! the limit), each with the real binaries.

use jiff::{SignedDuration, Timestamp};
use sagetide_tests::{Harness, alarm_change, endpoint_state_event, proxy, scheduled_event};
use serde_json::Value;

const CONFIG: &str = r#"
schedules:
  desk:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
"#;

const DESK: [(&str, &str); 2] = [("sagetide:schedule", "desk"), ("sagetide:idle-after", "2h")];

fn at(time: &str) -> Timestamp {
    sagetide_tests::after_tomorrow(0, time)
}

fn tick(now: Timestamp) -> Value {
    scheduled_event(&now.to_string())
}

fn error_message(answer: &Value) -> &str {
    answer["errorMessage"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_real_clock_a_tick_far_from_it_changes_nothing_and_an_on_time_tick_acts() {
    // A period around the real clock's hour, so that 5 h 59 min ahead is off-hours: asleep.
    let now = Timestamp::now();
    let hour = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).hour();
    let config = format!(
        r#"
schedules:
  around-now:
    timezone: UTC
    periods:
      - {{ days: mon-sun, start: "{:02}:00", end: "{:02}:00", capacity: {{ min: 1, max: 4 }} }}
    off_hours: sleep
"#,
        (hour + 23) % 24,
        (hour + 2) % 24
    );
    let h = Harness::start(&config).await;
    h.aws
        .create_endpoint(
            "ep",
            &["AllTraffic"],
            &[("sagetide:schedule", "around-now")],
        )
        .await;
    h.aws.register_target("ep", "AllTraffic", 1, 1, None).await;
    h.proxy.take();
    let mut scheduler = h.scheduler(&[]);

    for (time, why) in [
        (
            now + SignedDuration::from_mins(5 * 60 + 59),
            "ahead of the clock",
        ),
        (
            now - SignedDuration::from_mins(6 * 60 + 1),
            "before the clock",
        ),
    ] {
        let answer = scheduler.invoke_at(tick(time), "").await.unwrap_err();
        assert_eq!(answer["errorType"], "RejectedEvent", "{answer}");
        assert!(error_message(&answer).contains(why), "{answer}");
    }
    assert_eq!(
        h.proxy.take(),
        Vec::<String>::new(),
        "a refused tick calls nothing"
    );
    assert!(h.aws.endpoint("ep").await.is_some());

    let report = scheduler.invoke_at(tick(now), "").await.unwrap();
    assert!(report["late"].is_null(), "{report}");
    assert_eq!(h.aws.capacity("ep", "AllTraffic").await, Some((1, 4)));
}

/// `event` as if it came from `account` in `region`.
fn from(mut event: Value, account: &str, region: &str) -> Value {
    event["account"] = account.into();
    event["region"] = region.into();
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn events_of_another_account_or_region_change_nothing() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("desk", &["AllTraffic"], &DESK).await;
    h.aws.seed_autoscaling("desk", "AllTraffic").await;
    h.proxy.take();
    let evening = at("19:00");
    let idle = alarm_change(
        "sagetide-idle-desk",
        "ALARM",
        Some("desk"),
        &evening.to_string(),
    );
    let strangers = [("210987654321", "us-east-1"), ("123456789012", "eu-west-1")];
    for (account, region) in strangers {
        for (function, event) in [
            ("sleeper", idle.clone()),
            ("remediator", idle.clone()),
            ("scheduler", tick(evening)),
        ] {
            let answer = h
                .invoke(function, from(event, account, region), evening)
                .await
                .unwrap_err();
            let message = error_message(&answer);
            assert!(
                message.contains(&format!(
                    "from account {account} in {region}: this deployment acts"
                )) && message.contains("123456789012")
                    && message.contains("us-east-1 only"),
                "{function}: {answer}"
            );
        }
        // The waker and the restorer read no document, so that a broken one never blocks a
        // wake: they act where the sleeper put something to sleep, and nowhere else.
        for (function, event) in [
            ("waker", idle.clone()),
            ("restorer", endpoint_state_event("desk", "IN_SERVICE")),
        ] {
            let answer = h
                .invoke(function, from(event, account, region), evening)
                .await
                .unwrap();
            assert!(
                answer["ignored"]
                    .as_str()
                    .is_some_and(|why| why.contains(&format!(
                        "this deployment has put nothing to sleep in account {account} ({region})"
                    ))),
                "{function}: {answer}"
            );
        }
    }
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert!(h.aws.endpoint("desk").await.is_some());

    // The same alarm from the deployment's own account puts the idle endpoint to sleep.
    let slept = h.invoke("sleeper", idle, evening).await.unwrap();
    assert_eq!(slept["reports"][0]["outcome"], "applied", "{slept}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_would_sleep_more_than_the_limits_sleeps_no_more_and_says_so() {
    let h = Harness::start(CONFIG).await;
    let names = ["d1", "d2", "d3"];
    for name in names {
        h.aws
            .create_endpoint(name, &["AllTraffic"], &[("sagetide:schedule", "desk")])
            .await;
        h.aws.seed_autoscaling(name, "AllTraffic").await;
    }
    h.moto.settle().await;
    let limits = [
        ("SAGETIDE_MAX_SLEEPS_PER_TICK", "2"),
        ("SAGETIDE_MAX_SLEEPS_PER_HOUR", "2"),
    ];
    let mut scheduler = h.scheduler(&limits);
    let exist = async || {
        let mut exist = Vec::new();
        for name in names {
            if h.aws.endpoint(name).await.is_some() {
                exist.push(name);
            }
        }
        exist
    };

    // 19:00: off-hours for all three; the tick sleeps two and leaves the third for a person.
    let report = scheduler.invoke(tick(at("19:00"))).await.unwrap();
    let slept: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "sleep" && a["outcome"] == "applied")
        .map(|a| a["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(slept, ["d1", "d2"], "{report}");
    assert_eq!(report["skipped"][0]["endpoint"], "d3", "{report}");
    let why = report["skipped"][0]["why"].as_str().unwrap();
    assert!(why.contains("SAGETIDE_MAX_SLEEPS_PER_TICK"), "{why}");
    h.moto.settle().await;
    assert_eq!(exist().await, ["d3"]);

    // 19:05: the third alone is within the tick's limit, but the hour's two are taken.
    let report = scheduler.invoke(tick(at("19:05"))).await.unwrap();
    assert_eq!(report["actions"][0]["endpoint"], "d3", "{report}");
    assert_eq!(report["actions"][0]["outcome"], "declined", "{report}");
    let logs = scheduler.take_logs();
    assert!(
        logs.iter().any(|l| l["level"] == "ERROR"
            && l["endpoint"] == "d3"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("SAGETIDE_MAX_SLEEPS_PER_HOUR"))),
        "{logs:?}"
    );
    h.moto.settle().await;
    assert_eq!(exist().await, ["d3"]);

    // 20:00: a new hour; the third sleeps.
    scheduler.invoke(tick(at("20:00"))).await.unwrap();
    h.moto.settle().await;
    assert_eq!(exist().await, Vec::<&str>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_deployment_in_the_account_and_region_changes_nothing() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("desk", &["AllTraffic"], &DESK).await;
    h.aws.seed_autoscaling("desk", "AllTraffic").await;
    h.proxy.take();
    let evening = at("19:00");
    let second = [
        ("SAGETIDE_DEPLOYMENT", "sagetide-second"),
        ("SAGETIDE_NOW", &evening.to_string()),
    ];
    let idle = alarm_change(
        "sagetide-idle-desk",
        "ALARM",
        Some("desk"),
        &evening.to_string(),
    );
    for (function, event) in [
        ("scheduler", tick(evening)),
        ("sleeper", idle.clone()),
        (
            "sleeper",
            serde_json::json!({"action": "sleep", "endpoint": "desk", "force": true}),
        ),
        ("remediator", idle.clone()),
        (
            "waker",
            serde_json::json!({"action": "wake", "endpoint": "desk"}),
        ),
        ("restorer", endpoint_state_event("desk", "IN_SERVICE")),
    ] {
        let answer = h
            .function(function, &second)
            .await
            .invoke(event)
            .await
            .unwrap_err();
        assert!(
            error_message(&answer).contains(
                "belong to sagetide deployment sagetide-test, not to this one (sagetide-second)"
            ),
            "{function}: {answer}"
        );
    }
    let calls = h.proxy.take();
    assert!(calls.iter().all(|c| c == "ssm:GetParameters"), "{calls:?}");
    assert!(h.aws.endpoint("desk").await.is_some());

    // The deployment the marker names acts.
    let slept = h.invoke("sleeper", idle, evening).await.unwrap();
    assert_eq!(slept["reports"][0]["outcome"], "applied", "{slept}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_waker_wakes_only_what_it_finds_due_itself_whoever_asks_and_the_tick_asks_it() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("ep", &["AllTraffic"], &DESK).await;
    h.aws.register_target("ep", "AllTraffic", 1, 4, None).await;
    let mut scheduler = h.scheduler(&[]);
    let slept = scheduler.invoke(tick(at("19:00"))).await.unwrap();
    assert_eq!(slept["actions"][0]["action"], "sleep", "{slept}");
    h.moto.settle().await;
    assert!(h.aws.endpoint("ep").await.is_none());
    h.proxy.take();

    // Off-hours, nothing wants it awake: a wake-if-due from anyone changes nothing.
    let asked = serde_json::json!({"action": "wake-if-due", "endpoint": "ep", "at": at("20:00")});
    let answer = h.invoke("waker", asked, at("20:00")).await.unwrap();
    assert!(
        answer["ignored"]
            .as_str()
            .is_some_and(|why| why.contains("nothing wants ep awake")),
        "{answer}"
    );
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    // A request that says it was decided at the period's start, hours from the waker's
    // clock, is refused before any call.
    let forged = serde_json::json!({"action": "wake-if-due", "endpoint": "ep", "at": at("08:00")});
    let refused = h.invoke("waker", forged, at("20:00")).await.unwrap_err();
    assert_eq!(refused["errorType"], "RejectedEvent", "{refused}");
    assert_eq!(h.proxy.take(), Vec::<String>::new());
    assert!(h.aws.endpoint("ep").await.is_none());

    // The next morning's tick asks the waker, which creates it: the scheduler itself creates
    // nothing.
    let morning = sagetide_tests::after_tomorrow(1, "08:00");
    let woke = scheduler.invoke(tick(morning)).await.unwrap();
    assert_eq!(woke["actions"][0]["action"], "wake", "{woke}");
    assert_eq!(woke["actions"][0]["outcome"], "applied", "{woke}");
    let calls = h.proxy.take();
    assert!(
        calls.contains(&"lambda:InvokeFunction".to_owned()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"sagemaker:CreateEndpoint".to_owned()),
        "{calls:?}"
    );
    assert!(h.aws.endpoint("ep").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_morning_tick_still_has_the_waker_wake_what_is_due_at_the_clock() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("ep", &["AllTraffic"], &DESK).await;
    h.aws.register_target("ep", "AllTraffic", 1, 4, None).await;
    let mut scheduler = h.scheduler(&[]);
    scheduler.invoke(tick(at("19:00"))).await.unwrap();
    h.moto.settle().await;
    assert!(h.aws.endpoint("ep").await.is_none());

    // The 08:00 tick, delivered two hours late (Lambda held it): the period still runs, so
    // the waker, asked at the clock's instant, wakes the endpoint.
    let morning = sagetide_tests::after_tomorrow(1, "08:00");
    let clock = morning + SignedDuration::from_hours(2);
    let woke = scheduler
        .invoke_at(tick(morning), &clock.to_string())
        .await
        .unwrap();
    assert_eq!(woke["actions"][0]["action"], "wake", "{woke}");
    assert_eq!(woke["actions"][0]["outcome"], "applied", "{woke}");
    assert!(h.aws.endpoint("ep").await.is_some());
}
