//! Every applied and every failed action is put on the deployment's EventBridge bus as one
//! `sagetide` event, which a user's rule routes on (here to a queue, read back from moto).

use sagetide_tests::proxy::{Fault, Faults};
use sagetide_tests::{Harness, scheduled_event};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
"#;

const NINE: &str = "2026-11-23T09:00:00Z";
const TEN: &str = "2026-11-23T10:00:00Z";

fn event_of<'a>(events: &'a [Value], endpoint: &str, action: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail"]["endpoint"] == endpoint && e["detail"]["action"] == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_applied_and_a_failed_action_each_put_one_event_and_a_dry_run_none() {
    let h = Harness::start(CONFIG).await;
    let queue = h
        .aws
        .event_queue(
            "sagetide-actions",
            json!({"source": ["sagetide"], "detail-type": ["sagetide action"]}),
        )
        .await;
    // `scaled` goes to its period's 2..10 while Application Auto Scaling is down; `watched`
    // gets its idle alarm.
    h.aws
        .create_endpoint(
            "scaled",
            &["AllTraffic"],
            &[("sagetide:schedule", "office-hours")],
        )
        .await;
    h.aws
        .register_target("scaled", "AllTraffic", 1, 1, None)
        .await;
    h.aws
        .create_endpoint("watched", &["AllTraffic"], &[("sagetide:idle-after", "1h")])
        .await;
    let bus = [("SAGETIDE_EVENT_BUS", "default")];

    let mut dry = h.scheduler(&[
        ("SAGETIDE_EVENT_BUS", "default"),
        ("SAGETIDE_DRY_RUN", "true"),
    ]);
    dry.invoke(scheduled_event(NINE)).await.expect("a dry tick");
    assert_eq!(h.aws.queued_events(&queue).await, Vec::<Value>::new());

    h.proxy.set_faults(Some(
        Faults::new(1, 0.0)
            .with_rate("application-autoscaling:RegisterScalableTarget", 1.0)
            .only(Fault::Unavailable),
    ));
    let failed = h
        .scheduler(&bus)
        .invoke(scheduled_event(NINE))
        .await
        .expect_err("a tick with a failed action fails");
    h.proxy.set_faults(None);
    assert_eq!(failed["errorType"], "ActionsFailed", "{failed}");

    let events = h.aws.queued_events(&queue).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let scaled = event_of(&events, "scaled", "set-capacity");
    assert_eq!(scaled.len(), 1, "{events:#?}");
    let scaled = scaled[0];
    assert_eq!(scaled["source"], "sagetide");
    assert_eq!(scaled["detail-type"], "sagetide action");
    assert_eq!(scaled["time"], NINE);
    assert_eq!(scaled["detail"]["outcome"], "failed");
    assert!(
        scaled["detail"]["detail"]
            .as_str()
            .unwrap()
            .contains("RegisterScalableTarget"),
        "{scaled}"
    );
    assert_eq!(
        scaled["detail"]["reason"],
        "schedule office-hours: period mon-sun 08:00-18:00"
    );
    assert_eq!(scaled["detail"]["deployment"], "sagetide-test");
    assert_eq!(scaled["detail"]["by"], format!("scheduler@{NINE}"));
    let watched = event_of(&events, "watched", "put-idle-alarm");
    assert_eq!(watched.len(), 1, "{events:#?}");
    assert_eq!(watched[0]["detail"]["outcome"], "applied");
    // The history keeps the same two, one entry each.
    assert_eq!(h.aws.history("scaled").await, ["set-capacity failed"]);
    assert_eq!(h.aws.history("watched").await, ["put-idle-alarm applied"]);

    // The next tick applies what failed; what is already done is no action and no event.
    h.scheduler(&bus)
        .invoke(scheduled_event(TEN))
        .await
        .expect("the tick");
    let events = h.aws.queued_events(&queue).await;
    assert_eq!(events.len(), 3, "{events:#?}");
    let applied: Vec<_> = event_of(&events, "scaled", "set-capacity")
        .into_iter()
        .filter(|e| e["detail"]["outcome"] == "applied")
        .collect();
    assert_eq!(applied.len(), 1, "{events:#?}");
    assert_eq!(applied[0]["time"], TEN);
    assert_eq!(
        h.aws.history("scaled").await,
        ["set-capacity failed", "set-capacity applied"]
    );
}

const NIGHTS_OFF: &str = r#"
schedules:
  nights-off:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 2 } }
    off_hours: sleep
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_the_waker_never_got_is_the_schedulers_to_record_and_announce() {
    let h = Harness::start(NIGHTS_OFF).await;
    let queue = h
        .aws
        .event_queue("sagetide-actions", json!({"source": ["sagetide"]}))
        .await;
    h.aws
        .create_endpoint(
            "nightly",
            &["AllTraffic"],
            &[("sagetide:schedule", "nights-off")],
        )
        .await;
    h.aws
        .register_target("nightly", "AllTraffic", 1, 2, None)
        .await;
    let bus = [("SAGETIDE_EVENT_BUS", "default")];
    let evening = "2026-11-23T20:00:00Z";
    h.scheduler(&bus)
        .invoke(scheduled_event(evening))
        .await
        .expect("the evening's sleep");
    h.deliver_events(evening).await;

    // Lambda is down for the morning's tick: the waker is never invoked.
    h.proxy.set_faults(Some(
        Faults::new(1, 0.0)
            .with_rate("lambda:InvokeFunction", 1.0)
            .only(Fault::Unavailable),
    ));
    let morning = "2026-11-24T08:00:00Z";
    let failed = h
        .scheduler(&bus)
        .invoke(scheduled_event(morning))
        .await
        .expect_err("the wake failed");
    h.proxy.set_faults(None);
    assert_eq!(failed["errorType"], "ActionsFailed", "{failed}");

    let events = h.aws.queued_events(&queue).await;
    let wakes = event_of(&events, "nightly", "wake");
    assert_eq!(wakes.len(), 1, "{events:#?}");
    assert_eq!(wakes[0]["detail"]["outcome"], "failed");
    assert_eq!(wakes[0]["detail"]["by"], format!("scheduler@{morning}"));
    assert_eq!(
        h.aws.history("nightly").await,
        ["sleep applied", "wake failed"]
    );
}
