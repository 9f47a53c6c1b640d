//! The real `remediator` binary against moto: remedies start on ALARM and end on OK exactly as
//! before, whatever the order and number of the events, and agree with the scheduler.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace, SuspendedState};
use sagetide_tests::{Harness, alarm_change, proxy, scheduled_event};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  office-hours:
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

const FIVE_XX: &str = "sagetide-remediate-5xx-chat";
const LATENCY: &str = "sagetide-remediate-latency-chat";
const OFFICE: (&str, &str) = ("sagetide:schedule", "office-hours");

/// `chat` with two variants: `AllTraffic` partly suspended by its owner (scale-out), `shadow`
/// not suspended.
async fn chat(h: &Harness) {
    h.aws
        .create_endpoint("chat", &["AllTraffic", "shadow"], &[OFFICE])
        .await;
    let owner = SuspendedState::builder()
        .dynamic_scaling_out_suspended(true)
        .build();
    h.aws
        .register_target("chat", "AllTraffic", 1, 10, Some(owner))
        .await;
    h.aws.register_target("chat", "shadow", 1, 10, None).await;
}

/// `(in, out, scheduled)` suspended flags of a variant's target.
async fn suspended(h: &Harness, variant: &str) -> (bool, bool, bool) {
    let s = h
        .aws
        .target("chat", variant)
        .await
        .unwrap()
        .suspended_state
        .unwrap_or_else(|| SuspendedState::builder().build());
    (
        s.dynamic_scaling_in_suspended.unwrap_or(false),
        s.dynamic_scaling_out_suspended.unwrap_or(false),
        s.scheduled_scaling_suspended.unwrap_or(false),
    )
}

fn outcomes(response: &Value) -> Vec<String> {
    response["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_then_ok_restores_the_exact_prior_suspended_state() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    h.aws.alarm_in_state(FIVE_XX, "ALARM").await;
    let mut remediator = h.function("remediator", &[]).await;

    let alarm = remediator
        .invoke(alarm_change(
            FIVE_XX,
            "ALARM",
            Some("chat"),
            "2026-11-24T10:00:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(outcomes(&alarm), ["applied"], "{alarm}");
    assert_eq!(suspended(&h, "AllTraffic").await, (true, true, false));
    assert_eq!(suspended(&h, "shadow").await, (true, false, false));

    h.aws.set_alarm_state(FIVE_XX, "OK").await;
    let ok = remediator
        .invoke(alarm_change(
            FIVE_XX,
            "OK",
            Some("chat"),
            "2026-11-24T10:20:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(outcomes(&ok), ["applied"], "{ok}");
    assert_eq!(suspended(&h, "AllTraffic").await, (false, true, false));
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));
    assert_eq!(h.aws.capacity("chat", "AllTraffic").await, Some((1, 10)));
}

#[tokio::test(flavor = "multi_thread")]
async fn reordered_and_duplicate_events_leave_the_right_state() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    h.aws.alarm_in_state(FIVE_XX, "OK").await;
    let mut remediator = h.function("remediator", &[]).await;
    let event = |state: &str, at: &str| alarm_change(FIVE_XX, state, Some("chat"), at);

    // The OK of 10:20 overtakes the ALARM of 10:00 it ends: nothing is suspended.
    remediator
        .invoke(event("OK", "2026-11-24T10:20:00Z"))
        .await
        .unwrap();
    let late = remediator
        .invoke(event("ALARM", "2026-11-24T10:00:00Z"))
        .await
        .unwrap();
    assert!(late["ignored"].is_string(), "{late}");
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));

    // A new ALARM at 11:00, delivered twice, then the late OK of 10:20 again.
    h.aws.set_alarm_state(FIVE_XX, "ALARM").await;
    for _ in 0..2 {
        remediator
            .invoke(event("ALARM", "2026-11-24T11:00:00Z"))
            .await
            .unwrap();
    }
    h.proxy.take();
    remediator
        .invoke(event("OK", "2026-11-24T10:20:00Z"))
        .await
        .unwrap();
    let writes: Vec<String> = proxy::mutating(&h.proxy.take())
        .into_iter()
        .filter(|c| c.starts_with("application-autoscaling"))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "a late OK changes nothing");
    assert_eq!(suspended(&h, "AllTraffic").await, (true, true, false));

    h.aws.set_alarm_state(FIVE_XX, "OK").await;
    remediator
        .invoke(event("OK", "2026-11-24T11:30:00Z"))
        .await
        .unwrap();
    remediator
        .invoke(event("OK", "2026-11-24T11:30:00Z"))
        .await
        .unwrap();
    assert_eq!(suspended(&h, "AllTraffic").await, (false, true, false));
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn raise_min_and_a_scheduler_tick_during_the_alarm_agree() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    let at = |time: &str| format!("2026-11-24T{time}:00Z");
    let mut scheduler = h.scheduler(&[]);
    let mut tick = async |time: &str| scheduler.invoke(scheduled_event(&at(time))).await.unwrap();

    tick("07:00").await;
    assert_eq!(h.aws.capacity("chat", "shadow").await, Some((1, 10)));

    h.aws.alarm_in_state(LATENCY, "ALARM").await;
    let mut remediator = h
        .function("remediator", &[("SAGETIDE_NOW", &at("07:10"))])
        .await;
    remediator
        .invoke(alarm_change(LATENCY, "ALARM", Some("chat"), &at("07:10")))
        .await
        .unwrap();
    assert_eq!(h.aws.capacity("chat", "shadow").await, Some((4, 10)));

    // 08:00: the period begins and wants 2..10; the remedy holds the minimum at 4.
    let report = tick("08:00").await;
    assert_eq!(report["actions"], serde_json::json!([]), "{report}");
    assert_eq!(h.aws.capacity("chat", "shadow").await, Some((4, 10)));

    // The alarm clears at 09:00: the minimum is the schedule's 2, not the 1 from before.
    h.aws.alarm_in_state(LATENCY, "OK").await;
    let mut remediator = h
        .function("remediator", &[("SAGETIDE_NOW", &at("09:00"))])
        .await;
    remediator
        .invoke(alarm_change(LATENCY, "OK", Some("chat"), &at("09:00")))
        .await
        .unwrap();
    assert_eq!(h.aws.capacity("chat", "shadow").await, Some((2, 10)));
    assert_eq!(h.aws.capacity("chat", "AllTraffic").await, Some((2, 10)));
    let report = tick("09:05").await;
    assert_eq!(report["actions"], serde_json::json!([]), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_logged_and_changes_nothing() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    h.aws.create_endpoint("plain", &["AllTraffic"], &[]).await;
    h.aws
        .register_target("plain", "AllTraffic", 1, 4, None)
        .await;
    h.aws.alarm_in_state(FIVE_XX, "ALARM").await;
    let mut remediator = h.function("remediator", &[]).await;
    let at = "2026-11-24T10:00:00Z";

    let nameless = remediator
        .invoke(alarm_change(FIVE_XX, "ALARM", None, at))
        .await
        .unwrap();
    assert_eq!(outcomes(&nameless), ["declined"], "{nameless}");
    assert!(
        nameless["reports"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("no EndpointName dimension"),
        "{nameless}"
    );
    let untagged = remediator
        .invoke(alarm_change(FIVE_XX, "ALARM", Some("plain"), at))
        .await
        .unwrap();
    assert_eq!(outcomes(&untagged), ["declined"], "{untagged}");
    let unknown = remediator
        .invoke(alarm_change("cpu-high", "ALARM", Some("chat"), at))
        .await
        .unwrap();
    assert!(unknown["ignored"].is_string(), "{unknown}");
    let error = remediator
        .invoke(serde_json::json!({"detail-type": "Scheduled Event"}))
        .await
        .unwrap_err();
    assert_eq!(error["errorType"], "RejectedEvent");

    let writes: Vec<String> = proxy::mutating(&h.proxy.take())
        .into_iter()
        .filter(|c| !c.starts_with("dynamodb"))
        .collect();
    assert_eq!(writes, Vec::<String>::new());
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_ok_is_delivered_by_the_next_tick() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    h.aws.alarm_in_state(FIVE_XX, "ALARM").await;
    let fired = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10)).to_string();
    let mut remediator = h.function("remediator", &[]).await;
    remediator
        .invoke(alarm_change(FIVE_XX, "ALARM", Some("chat"), &fired))
        .await
        .unwrap();
    assert_eq!(suspended(&h, "shadow").await, (true, false, false));

    // The alarm is OK now, but its event never reaches the remediator.
    h.aws.alarm_in_state(FIVE_XX, "OK").await;
    let mut scheduler = h.scheduler(&[]);
    let report = scheduler
        .invoke(scheduled_event("2026-11-24T10:00:00Z"))
        .await
        .unwrap();

    let ended: Vec<&Value> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "end-remedy")
        .collect();
    assert_eq!(ended.len(), 1, "{report}");
    assert_eq!(ended[0]["outcome"], "applied", "{report}");
    assert_eq!(suspended(&h, "AllTraffic").await, (false, true, false));
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_rule_selecting_its_alarm_by_tags_wakes_a_sleeping_endpoint() {
    const BACKLOG: &str = "sagetide-remediate-backlog";
    let config = r#"
remediation:
  - name: wake-on-backlog
    alarm_tags: { team: search }
    endpoint: batch
    action: wake
"#;
    let h = Harness::start(config).await;
    h.aws
        .create_endpoint(
            "batch",
            &["AllTraffic"],
            &[("sagetide:idle-after", "1h"), ("sagetide:wake-on", "alarm")],
        )
        .await;
    let mut sleeper = h.function("sleeper", &[]).await;
    let slept = sleeper
        .invoke(json!({"action": "sleep", "endpoint": "batch", "force": true}))
        .await
        .unwrap();
    assert_eq!(outcomes(&slept), ["applied"], "{slept}");
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint("batch").await, None);
    h.aws.alarm_in_state(BACKLOG, "ALARM").await;
    h.aws
        .alarm_in_state("sagetide-remediate-other", "ALARM")
        .await;
    h.aws.tag_alarm(BACKLOG, ("team", "search")).await;
    let mut remediator = h.function("remediator", &[]).await;
    let at = "2026-11-24T10:00:00Z";

    let untagged = remediator
        .invoke(alarm_change("sagetide-remediate-other", "ALARM", None, at))
        .await
        .unwrap();
    assert!(untagged["ignored"].is_string(), "{untagged}");
    assert_eq!(h.aws.endpoint("batch").await, None);

    let woken = remediator
        .invoke(alarm_change(BACKLOG, "ALARM", None, at))
        .await
        .unwrap();
    assert_eq!(outcomes(&woken), ["applied"], "{woken}");
    assert!(h.aws.endpoint("batch").await.is_some());
    let creates = h
        .proxy
        .take()
        .into_iter()
        .filter(|c| c == "sagemaker:CreateEndpoint")
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_stamped_ahead_of_the_clock_or_not_in_alarm_starts_no_remedy() {
    let h = Harness::start(CONFIG).await;
    chat(&h).await;
    h.aws.alarm_in_state(FIVE_XX, "OK").await;
    let mut remediator = h
        .function("remediator", &[("SAGETIDE_NOW", "2026-11-24T10:00:00Z")])
        .await;
    h.proxy.take();

    // Stamped in the year 8999, it would outrank every real OK until then.
    let forged = remediator
        .invoke(alarm_change(
            FIVE_XX,
            "ALARM",
            Some("chat"),
            "8999-01-01T00:00:00Z",
        ))
        .await
        .unwrap_err();
    assert_eq!(forged["errorType"], "RejectedEvent", "{forged}");
    assert!(
        forged["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("ahead of the clock")),
        "{forged}"
    );
    // On time, but CloudWatch says the alarm is OK.
    let on_time = alarm_change(FIVE_XX, "ALARM", Some("chat"), "2026-11-24T09:59:00Z");
    let not_firing = remediator.invoke(on_time.clone()).await.unwrap();
    assert!(
        not_firing["ignored"]
            .as_str()
            .is_some_and(|m| m.contains("not in ALARM now")),
        "{not_firing}"
    );
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert_eq!(suspended(&h, "shadow").await, (false, false, false));

    // Once it is in ALARM, the same event starts the remedy.
    h.aws.set_alarm_state(FIVE_XX, "ALARM").await;
    let started = remediator.invoke(on_time.clone()).await.unwrap();
    assert_eq!(outcomes(&started), ["applied"], "{started}");
    assert_eq!(suspended(&h, "shadow").await, (true, false, false));
}

/// `(min, max, scale-in suspended)` of inference component `component`'s copies.
async fn component_target(h: &Harness, component: &str) -> (i32, i32, bool) {
    let copies = ScalableDimension::SageMakerInferenceComponentDesiredCopyCount;
    let t = h
        .aws
        .target_of(&format!("inference-component/{component}"), copies)
        .await
        .expect("the component's target");
    let suspended = t
        .suspended_state
        .and_then(|s| s.dynamic_scaling_in_suspended)
        .unwrap_or(false);
    (t.min_capacity, t.max_capacity, suspended)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remedy_acts_on_the_copies_of_the_inference_components_an_endpoint_hosts() {
    let h = Harness::start(CONFIG).await;
    // The endpoint carries no tag of its own; its component opted in.
    h.aws.create_component_endpoint("llm", 0).await;
    h.aws.create_component("llama", "llm", 2, &[OFFICE]).await;
    h.moto.settle().await;
    h.aws
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerInferenceComponentDesiredCopyCount)
        .resource_id("inference-component/llama")
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .unwrap();
    let (hold, keep) = (
        "sagetide-remediate-5xx-llm",
        "sagetide-remediate-latency-llm",
    );
    h.aws.alarm_in_state(hold, "ALARM").await;
    h.aws.alarm_in_state(keep, "ALARM").await;
    // Inside office hours, whose minimum the component's copies go back to.
    let now = [("SAGETIDE_NOW", "2026-11-24T10:30:00Z")];
    let mut remediator = h.function("remediator", &now).await;

    for (alarm, at) in [
        (hold, "2026-11-24T10:00:00Z"),
        (keep, "2026-11-24T10:01:00Z"),
    ] {
        let fired = remediator
            .invoke(alarm_change(alarm, "ALARM", Some("llm"), at))
            .await
            .unwrap();
        assert_eq!(outcomes(&fired), ["applied"], "{fired}");
    }
    // raise-min to 4, capped at the component's maximum of 3; scale-in suspended.
    assert_eq!(component_target(&h, "llama").await, (3, 3, true));

    // The copies the minimum brought are being added: a target is not changed meanwhile.
    h.moto.settle().await;
    h.aws.set_alarm_state(hold, "OK").await;
    let ended = remediator
        .invoke(alarm_change(
            hold,
            "OK",
            Some("llm"),
            "2026-11-24T10:20:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(outcomes(&ended), ["applied"], "{ended}");
    assert_eq!(component_target(&h, "llama").await, (3, 3, false));

    // The other alarm's OK never reaches the remediator: the tick ends its remedy, with the
    // component's own schedule (office hours: 2..10), which the raise held at 3 until then.
    h.aws.set_alarm_state(keep, "OK").await;
    let tick = h
        .scheduler(&now)
        .invoke(scheduled_event("2026-11-24T10:30:00Z"))
        .await
        .unwrap();
    assert_eq!(
        component_target(&h, "llama").await,
        (2, 10, false),
        "{tick}"
    );
}
