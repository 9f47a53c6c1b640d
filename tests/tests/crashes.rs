//! The scheduler and the remediator stopped dead after each of their AWS calls: the same event
//! again, then the next one, leave exactly what the run without a crash leaves, and no endpoint
//! is ever gone without its snapshot in the table.

use std::collections::BTreeMap;

use sagetide_tests::crash::at_every_call;
use sagetide_tests::proxy::EndpointChanges;
use sagetide_tests::{Harness, alarm_change, endpoint_state_event, scheduled_event};
use serde_json::Value;

const SCHEDULES: &str = r#"
schedules:
  office:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 2, max: 6 } }
    off_hours: { min: 1, max: 1 }
  desk:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
"#;

/// Each endpoint with its variants: `scaled` follows `office` on two variants, `desk` sleeps
/// off-hours with a whole autoscaling set-up, `idle` wants an idle alarm, `held` carries an
/// override that has expired.
const FLEET: [(&str, &[&str]); 4] = [
    ("scaled", &["AllTraffic", "shadow"]),
    ("desk", &["AllTraffic"]),
    ("idle", &["AllTraffic"]),
    ("held", &["AllTraffic"]),
];

fn at(time: &str) -> String {
    format!("2026-11-{time}:00Z")
}

async fn seed_fleet(h: &Harness) {
    let aws = &h.aws;
    aws.create_endpoint("scaled", FLEET[0].1, &[("sagetide:schedule", "office")])
        .await;
    for v in FLEET[0].1 {
        aws.register_target("scaled", v, 2, 6, None).await;
    }
    aws.create_endpoint("desk", FLEET[1].1, &[("sagetide:schedule", "desk")])
        .await;
    aws.seed_autoscaling("desk", "AllTraffic").await;
    aws.create_endpoint("idle", FLEET[2].1, &[("sagetide:idle-after", "2h")])
        .await;
    let expired = format!("awake-until={}", at("24T12:00"));
    aws.create_endpoint(
        "held",
        FLEET[3].1,
        &[
            ("sagetide:schedule", "office"),
            ("sagetide:override", expired.as_str()),
        ],
    )
    .await;
    aws.register_target("held", "AllTraffic", 2, 6, None).await;
}

/// A tick at `time`, in a fresh scheduler process, and AWS finishing what it began.
async fn tick(h: &Harness, time: &str) -> Result<Value, Value> {
    let now = at(time);
    let answer = h.invoke("scheduler", scheduled_event(&now), &now).await;
    h.moto.settle().await;
    h.aws.assert_snapshot_if_gone("desk").await;
    answer
}

/// The fleet, and how often moto created and deleted its endpoints since the scenario was prepared.
async fn fleet_state(h: &Harness) -> (BTreeMap<String, Vec<String>>, EndpointChanges) {
    (h.aws.state(&FLEET).await, h.proxy.take_endpoint_changes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_call_of_the_evening_tick_is_healed_by_the_same_tick_again() {
    // 18:00: both variants of `scaled` and `held` go to 1..1, `held` loses its expired override,
    // `desk` goes to sleep and `idle` gets its alarm; 18:15 is a steady tick.
    let h = Harness::start(SCHEDULES).await;
    let calls = at_every_call(
        &h,
        async || {
            h.reset(SCHEDULES).await;
            seed_fleet(&h).await;
            h.proxy.take_endpoint_changes();
        },
        async || tick(&h, "24T18:00").await,
        async || tick(&h, "24T18:15").await,
        async || fleet_state(&h).await,
    )
    .await;
    eprintln!("the evening tick: cut after each of {calls} calls");
    assert!(calls >= 20, "the evening tick made {calls} calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_call_of_the_prewarm_tick_is_healed_by_the_same_tick_again() {
    // 07:30: `desk` is created again for its 08:00 period; then it is in service (restorer) and
    // the 08:00 tick scales `scaled` and `held` up.
    let h = Harness::start(SCHEDULES).await;
    let calls = at_every_call(
        &h,
        async || {
            h.reset(SCHEDULES).await;
            seed_fleet(&h).await;
            tick(&h, "24T18:00").await.expect("the evening tick");
            h.proxy.take_endpoint_changes();
        },
        async || tick(&h, "25T07:30").await,
        async || {
            let in_service = endpoint_state_event("desk", "IN_SERVICE");
            h.invoke("restorer", in_service, at("25T07:30")).await?;
            tick(&h, "25T08:00").await
        },
        async || fleet_state(&h).await,
    )
    .await;
    eprintln!("the prewarm tick: cut after each of {calls} calls");
    assert!(calls >= 5, "the prewarm tick made {calls} calls");
}

const REMEDIES: &str = r#"
schedules:
  office:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 10 }
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-5xx-*"]
    action: suspend-scale-in
  - name: keep-capacity
    alarms: ["sagetide-remediate-latency-*"]
    action: raise-min
    min: 4
"#;

const CHAT: [(&str, &[&str]); 1] = [("chat", &["AllTraffic", "shadow"])];

/// `chat` in office hours, its `AllTraffic` target partly suspended by its owner, and `alarm`
/// in ALARM.
async fn seed_chat(h: &Harness, alarm: &str) {
    use aws_sdk_applicationautoscaling::types::SuspendedState;
    h.reset(REMEDIES).await;
    h.aws
        .create_endpoint("chat", CHAT[0].1, &[("sagetide:schedule", "office")])
        .await;
    let owner = SuspendedState::builder()
        .dynamic_scaling_out_suspended(true)
        .build();
    h.aws
        .register_target("chat", "AllTraffic", 2, 10, Some(owner))
        .await;
    h.aws.register_target("chat", "shadow", 2, 10, None).await;
    h.aws.alarm_in_state(alarm, "ALARM").await;
}

/// `alarm` changing to `state` at `time`, delivered to a fresh remediator process.
async fn remediate(h: &Harness, alarm: &str, state: &str, time: &str) -> Result<Value, Value> {
    h.aws.alarm_in_state(alarm, state).await;
    let now = at(time);
    let event = alarm_change(alarm, state, Some("chat"), &now);
    h.invoke("remediator", event, &now).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_call_of_a_remedy_loses_neither_the_remedy_nor_the_state_before_it() {
    let h = Harness::start(REMEDIES).await;
    for alarm in [
        "sagetide-remediate-5xx-chat",
        "sagetide-remediate-latency-chat",
    ] {
        for (fires, clears) in [("ALARM", "OK"), ("OK", "ALARM")] {
            // The remedy starting (then ending), and the remedy ending (then starting again).
            let calls = at_every_call(
                &h,
                async || {
                    seed_chat(&h, alarm).await;
                    if fires == "OK" {
                        remediate(&h, alarm, "ALARM", "24T10:00")
                            .await
                            .expect("ALARM");
                    }
                },
                async || remediate(&h, alarm, fires, "24T10:30").await,
                async || remediate(&h, alarm, clears, "24T11:00").await,
                async || h.aws.state(&CHAT).await,
            )
            .await;
            eprintln!("{alarm} {fires}: cut after each of {calls} calls");
            assert!(calls >= 3, "{alarm} {fires}: {calls} calls");
        }
    }
}
