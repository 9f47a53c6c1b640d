//! A wake that fails, as it does in AWS when SageMaker cannot provision the instance type again
//! (the local AWS ends such a CreateEndpoint `Failed` with InsufficientInstanceCapacity): it is
//! seen (history, metric, a failed tick), cleaned up, tried again later, and succeeds once the
//! capacity is back.

use jiff::{SignedDuration, Timestamp};
use sagetide_tests::{Harness, route, scheduled_event, state_change};
use serde_json::{Value, json};

const CONFIG: &str = "schedules: {}\n";
const GPU: &str = "ml.g4dn.xlarge";

fn at(base: Timestamp, minutes: i64) -> String {
    (base + SignedDuration::from_mins(minutes)).to_string()
}

fn tick(now: &str) -> Value {
    scheduled_event(now)
}

/// The wakes a tick's report lists, as `endpoint outcome`.
fn wakes(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["action"] == "wake")
        .map(|a| {
            format!(
                "{} {}",
                a["endpoint"].as_str().unwrap(),
                a["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_that_fails_for_capacity_is_seen_cleaned_up_retried_and_succeeds_once_it_is_back() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint_with(
            "vision",
            &[("AllTraffic", GPU, 1)],
            &[
                ("sagetide:idle-after", "1h"),
                ("sagetide:wake-on", "manual"),
            ],
        )
        .await;
    h.aws
        .register_target("vision", "AllTraffic", 1, 3, None)
        .await;
    // Simulated time runs two hours ahead of the clock moto stamps endpoints with.
    let base = Timestamp::now() + SignedDuration::from_hours(2);
    let slept = h
        .invoke(
            "sleeper",
            json!({"action": "sleep", "endpoint": "vision", "force": true}),
            at(base, 0),
        )
        .await
        .unwrap();
    assert_eq!(slept["reports"][0]["outcome"], "applied", "{slept}");
    h.moto.settle().await;

    // The instances it had are gone to someone else.
    h.moto.set_capacity(GPU, false).await;
    let woken = h
        .invoke(
            "waker",
            json!({"action": "wake", "endpoint": "vision"}),
            at(base, 5),
        )
        .await
        .unwrap();
    assert_eq!(woken["reports"][0]["outcome"], "applied", "{woken}");
    let events = h.moto.settle().await;
    let statuses: Vec<(&str, &str)> = events.iter().map(state_change).collect();
    assert!(statuses.contains(&("vision", "FAILED")), "{statuses:?}");
    assert_eq!(
        h.aws.endpoint_status("vision").await.as_deref(),
        Some("Failed")
    );
    // No IN_SERVICE reaches the restorer; the scheduler is what notices.
    assert!(events.iter().all(|e| route(e).is_none()));

    // The next tick sees it failed: it deletes the failed endpoint, counts the failure, keeps
    // it in the history, and fails itself so that Lambda's error metric shows it too.
    let failed = h
        .invoke("scheduler", tick(&at(base, 10)), at(base, 10))
        .await;
    let error = failed.expect_err("a tick that met a failed wake fails");
    assert_eq!(error["errorType"], "ActionsFailed", "{error}");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("InsufficientInstanceCapacity")
            && message.contains(&format!("tried again from {}", at(base, 20))),
        "{message}"
    );
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint_status("vision").await, None);
    assert_eq!(
        h.aws.snapshot_phase("vision").await.as_deref(),
        Some("asleep")
    );
    let now = Timestamp::now().as_second();
    let counted = h
        .aws
        .sagetide_sum(
            "WakeFailures",
            &[("EndpointName", "vision")],
            now - 600,
            now + 600,
        )
        .await;
    assert_eq!(counted, 1.0);
    // And once without dimensions, the series the template's alarm watches (moto sums every
    // series of a name for a query without dimensions, so its existence is what is checked).
    let series = h.aws.sagetide_series("WakeFailures").await;
    assert_eq!(series, [vec![], vec!["EndpointName=vision".to_owned()]]);
    let history = h.aws.history("vision").await;
    assert!(
        history.contains(&"failed-wake failed".to_owned()),
        "{history:?}"
    );

    // Before its wait is over it is left asleep, and the tick says why.
    let waiting = h
        .invoke("scheduler", tick(&at(base, 15)), at(base, 15))
        .await
        .unwrap();
    assert_eq!(wakes(&waiting), Vec::<String>::new(), "{waiting}");
    assert!(
        waiting["skipped"][0]["why"]
            .as_str()
            .unwrap()
            .contains("failed 1 time(s)"),
        "{waiting}"
    );

    // Capacity is back; at its retry time the tick wakes it again, for the person who asked.
    h.moto.set_capacity(GPU, true).await;
    let again = h
        .invoke("scheduler", tick(&at(base, 20)), at(base, 20))
        .await
        .unwrap();
    assert_eq!(wakes(&again), ["vision applied"], "{again}");
    let restored = h.deliver_events(at(base, 25)).await;
    let answers: Vec<&Value> = restored
        .iter()
        .filter_map(|(_, _, d)| d.answer.as_ref().ok())
        .collect();
    assert!(
        answers
            .iter()
            .any(|a| a["reports"][0]["outcome"] == "applied"),
        "{answers:?}"
    );
    assert_eq!(
        h.aws.endpoint_status("vision").await.as_deref(),
        Some("InService")
    );
    assert_eq!(h.aws.capacity("vision", "AllTraffic").await, Some((1, 3)));
    assert_eq!(
        h.aws.snapshot_phase("vision").await.as_deref(),
        Some("restored")
    );
}

/// A wake that AWS refuses outright (here: the EndpointConfig is gone and the snapshot, from an
/// older build, cannot create it again) is a failed wake like one SageMaker fails later:
/// counted, recorded, and tried again after its wait, not at every tick.
#[tokio::test(flavor = "multi_thread")]
async fn a_wake_aws_refuses_is_counted_and_waits_for_its_retry() {
    let h = Harness::start(CONFIG).await;
    let snapshot = json!({
        "endpoint": "legacy",
        "endpoint_config": "legacy-config",
        "tags": {"sagetide:idle-after": "1h"},
        "targets": [],
        "taken_at": "2026-11-23T02:00:00Z"
    });
    h.aws.put_asleep_snapshot("legacy", &snapshot).await;
    let base = Timestamp::now();

    let refused = h
        .invoke(
            "waker",
            json!({"action": "wake", "endpoint": "legacy"}),
            at(base, 0),
        )
        .await;
    let error = refused.expect_err("the wake failed");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("EndpointConfig legacy-config no longer exists")
            && message.contains(&format!("tried again from {}", at(base, 10))),
        "{message}"
    );
    assert_eq!(h.aws.history("legacy").await, ["wake failed"]);
    let now = Timestamp::now().as_second();
    let counted = h
        .aws
        .sagetide_sum(
            "WakeFailures",
            &[("EndpointName", "legacy")],
            now - 600,
            now + 600,
        )
        .await;
    assert_eq!(counted, 1.0);
    // The tick tries the person's wake again only after the wait.
    let early = h
        .invoke("scheduler", tick(&at(base, 5)), at(base, 5))
        .await
        .unwrap();
    assert_eq!(wakes(&early), Vec::<String>::new(), "{early}");
}
