//! sleeper, waker and restorer, run as real binaries against moto: the full cycle, the refusals,
//! duplicates, leases, and a crash after every AWS call of every step.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use sagetide_tests::crash::at_every_call;
use sagetide_tests::lifecycle::backlog_alarm;
use sagetide_tests::moto::Timing;
use sagetide_tests::proxy::{self, EndpointChanges};
use sagetide_tests::{
    Harness, LEASE_EXPIRED, LEASE_TTL, alarm_event, endpoint_state_event, function::Function,
    route, state_change,
};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - { days: mon-sun, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: { min: 1, max: 1 }
"#;

const ENDPOINT: &str = "chat";
const SLOW: Timing = Timing {
    creating: 1.0,
    updating: 1.0,
    deleting: 1.0,
};
const VARIANTS: [&str; 2] = ["AllTraffic", "shadow"];
const TAGS: [(&str, &str); 3] = [
    ("sagetide:idle-after", "90m"),
    ("sagetide:wake-on", "manual,alarm"),
    ("team", "search"),
];

/// An instant `minutes` after the real clock: moto stamps endpoints with the real time, and an
/// endpoint is idle only once it has existed for its whole window.
fn later(minutes: i64) -> String {
    (Timestamp::now() + SignedDuration::from_mins(minutes)).to_string()
}

/// The idle endpoint with its whole autoscaling set-up on both variants.
async fn seed(h: &Harness) {
    h.aws.create_endpoint(ENDPOINT, &VARIANTS, &TAGS).await;
    for variant in VARIANTS {
        h.aws.seed_autoscaling(ENDPOINT, variant).await;
    }
}

async fn autoscaling(h: &Harness) -> Vec<String> {
    let mut lines = Vec::new();
    for variant in VARIANTS {
        lines.extend(h.aws.autoscaling_state(ENDPOINT, variant).await);
    }
    lines
}

fn manual(action: &str) -> Value {
    json!({"action": action, "endpoint": ENDPOINT})
}

fn idle_alarm() -> Value {
    alarm_event("sagetide-idle-chat", "ALARM", Some(ENDPOINT))
}

fn in_service() -> Value {
    endpoint_state_event(ENDPOINT, "IN_SERVICE")
}

/// The IN_SERVICE that AWS sent for the endpoint among `events`.
fn in_service_of(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| route(e) == Some("restorer") && state_change(e).0 == ENDPOINT)
        .cloned()
        .unwrap_or_else(|| panic!("no IN_SERVICE of {ENDPOINT} among {events:#?}"))
}

fn outcome(response: &Value) -> &str {
    response["reports"][0]["outcome"].as_str().unwrap_or("none")
}

/// sleeper, waker and restorer acting at `now`.
struct Functions {
    sleeper: Function,
    waker: Function,
    restorer: Function,
}

impl Functions {
    async fn start(h: &Harness, now: &str) -> Self {
        Self::start_with(h, &[("SAGETIDE_NOW", now)]).await
    }

    async fn start_with(h: &Harness, env: &[(&str, &str)]) -> Self {
        Self {
            sleeper: h.function("sleeper", env).await,
            waker: h.function("waker", env).await,
            restorer: h.function("restorer", env).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sleep_wake_and_restore_bring_back_tags_targets_policies_and_scheduled_actions() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    // Slow enough to see it Deleting and Creating between the steps.
    h.moto.set_timing(SLOW).await;
    let tags_before = h.aws.tags(ENDPOINT).await;
    let before = autoscaling(&h).await;
    assert_eq!(before.len(), 2 * (1 + 4 + 2 + 1), "{before:#?}");
    let step_alarm = "runs [\"on-call\", \"step-out\"], on OK [\"on-call\"]";
    assert!(before.iter().any(|l| l.contains(step_alarm)), "{before:#?}");
    let mut f = Functions::start(&h, &later(120)).await;

    let slept = f.sleeper.invoke(idle_alarm()).await.unwrap();
    assert_eq!(outcome(&slept), "applied", "{slept}");
    assert_eq!(
        h.aws.endpoint(ENDPOINT).await.map(|e| e.0),
        Some("Deleting".into())
    );
    assert_eq!(
        h.aws.snapshot_phase(ENDPOINT).await.as_deref(),
        Some("asleep")
    );
    // Once it is gone, AWS has dropped its targets, policies and scheduled actions, and taken
    // the step policy out of the owner's alarm (which still notifies the pager).
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint(ENDPOINT).await, None);
    assert_eq!(
        h.aws.autoscaling_state(ENDPOINT, "AllTraffic").await,
        Vec::<String>::new()
    );
    assert!(
        h.aws
            .alarms()
            .await
            .iter()
            .all(|a| !a.starts_with("TargetTracking-"))
    );

    let woken = f.waker.invoke(manual("wake")).await.unwrap();
    assert_eq!(outcome(&woken), "applied", "{woken}");
    assert_eq!(
        h.aws.endpoint(ENDPOINT).await,
        Some(("Creating".into(), "chat-config".into()))
    );
    let events = h.moto.settle().await;
    assert_eq!(h.aws.tags(ENDPOINT).await, tags_before);

    let restored = f.restorer.invoke(in_service_of(&events)).await.unwrap();
    assert_eq!(outcome(&restored), "applied", "{restored}");
    assert_eq!(autoscaling(&h).await, before);
    assert_eq!(
        h.aws.snapshot_phase(ENDPOINT).await.as_deref(),
        Some("restored")
    );
    let mut history = h.aws.history(ENDPOINT).await;
    history.sort();
    assert_eq!(
        history,
        ["restore applied", "sleep applied", "wake applied"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recently_invoked_endpoint_is_not_deleted() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let now = later(120);
    let thirty_minutes_before = now.parse::<Timestamp>().unwrap().as_second() - 1800;
    h.aws
        .put_invocations(ENDPOINT, "shadow", &[(thirty_minutes_before, 2.0)])
        .await;
    let mut f = Functions::start(&h, &now).await;

    let response = f.sleeper.invoke(idle_alarm()).await.unwrap();

    assert_eq!(outcome(&response), "declined", "{response}");
    assert!(
        response["reports"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("2 invocations"),
        "{response}"
    );
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
    assert_eq!(h.aws.snapshot_phase(ENDPOINT).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_young_endpoint_is_not_idle_yet() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let mut f = Functions::start(&h, &later(30)).await;

    let response = f.sleeper.invoke(idle_alarm()).await.unwrap();

    assert_eq!(outcome(&response), "declined", "{response}");
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_without_the_opt_in_tag_is_never_deleted() {
    let h = Harness::start(CONFIG).await;
    h.aws
        .create_endpoint(ENDPOINT, &VARIANTS, &[("team", "search")])
        .await;
    let mut f = Functions::start(&h, &later(120)).await;

    let forced = f
        .sleeper
        .invoke(json!({"action": "sleep", "endpoint": ENDPOINT, "force": true}))
        .await
        .unwrap();
    let by_alarm = f.sleeper.invoke(idle_alarm()).await.unwrap();

    for response in [forced, by_alarm] {
        assert_eq!(outcome(&response), "declined", "{response}");
        assert!(
            response["reports"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("sagetide:idle-after")
        );
    }
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
    assert_eq!(h.aws.snapshot_phase(ENDPOINT).await, None);
    let deletes: Vec<String> = h
        .proxy
        .take()
        .into_iter()
        .filter(|c| c.starts_with("sagemaker:Delete"))
        .collect();
    assert_eq!(deletes, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_whose_step_policy_alarm_may_not_be_repointed_is_not_put_to_sleep() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let alarm = backlog_alarm(ENDPOINT, "shadow");
    h.aws
        .tag_alarm(&alarm, (sagetide::tags::REPOINT, "no"))
        .await;
    let mut f = Functions::start(&h, &later(120)).await;
    let sleep = json!({"action": "sleep", "endpoint": ENDPOINT, "force": true});

    let declined = f.sleeper.invoke(sleep.clone()).await.unwrap();

    assert_eq!(outcome(&declined), "declined", "{declined}");
    let detail = declined["reports"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&alarm) && detail.contains("sagetide:repoint=true"),
        "{detail}"
    );
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
    assert_eq!(h.aws.snapshot_phase(ENDPOINT).await, None);
    // Once its owner allows it, the same sleep happens.
    h.aws
        .tag_alarm(&alarm, (sagetide::tags::REPOINT, "true"))
        .await;
    let slept = f.sleeper.invoke(sleep).await.unwrap();
    assert_eq!(outcome(&slept), "applied", "{slept}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_events_are_rejected_without_a_change() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let mut f = Functions::start(&h, &later(120)).await;

    let bad = [
        json!({"action": "sleep"}),
        json!({"action": "wake", "endpoint": ENDPOINT}),
        json!({"action": "sleep", "endpoint": "not a name"}),
        alarm_event("queue-depth", "ALARM", None),
        json!({"detail-type": "Scheduled Event"}),
    ];
    for event in bad {
        let error = f.sleeper.invoke(event.clone()).await.unwrap_err();
        assert_eq!(error["errorType"], "RejectedEvent", "{event} → {error}");
    }
    let ok = f
        .sleeper
        .invoke(alarm_event("sagetide-idle-chat", "OK", Some(ENDPOINT)))
        .await
        .unwrap();
    assert!(
        ok["ignored"].as_str().unwrap().contains("not ALARM"),
        "{ok}"
    );
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_events_change_nothing_more() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let before = autoscaling(&h).await;
    let mut f = Functions::start(&h, &later(120)).await;
    // Only the lease (put, then deleted) may be written by a duplicate.
    let only_lease = |calls: Vec<String>| {
        proxy::mutating(&calls)
            .into_iter()
            .filter(|c| c != "dynamodb:PutItem" && c != "dynamodb:DeleteItem")
            .collect::<Vec<_>>()
    };

    assert_eq!(
        outcome(&f.sleeper.invoke(idle_alarm()).await.unwrap()),
        "applied"
    );
    h.moto.settle().await;
    h.proxy.take();
    let again = f.sleeper.invoke(idle_alarm()).await.unwrap();
    assert_eq!(outcome(&again), "already-done", "{again}");
    assert_eq!(only_lease(h.proxy.take()), Vec::<String>::new());

    assert_eq!(
        outcome(&f.waker.invoke(manual("wake")).await.unwrap()),
        "applied"
    );
    h.proxy.take();
    let again = f.waker.invoke(manual("wake")).await.unwrap();
    assert_eq!(outcome(&again), "already-done", "{again}");
    assert_eq!(only_lease(h.proxy.take()), Vec::<String>::new());
    let in_service = in_service_of(&h.moto.settle().await);

    // A woken endpoint is not put back to sleep before its autoscaling is back.
    let early = f
        .sleeper
        .invoke(json!({"action": "sleep", "endpoint": ENDPOINT, "force": true}))
        .await
        .unwrap();
    assert_eq!(outcome(&early), "declined", "{early}");

    assert_eq!(
        outcome(&f.restorer.invoke(in_service.clone()).await.unwrap()),
        "applied"
    );
    h.proxy.take();
    let again = f.restorer.invoke(in_service).await.unwrap();
    assert_eq!(outcome(&again), "already-done", "{again}");
    assert_eq!(only_lease(h.proxy.take()), Vec::<String>::new());
    assert_eq!(autoscaling(&h).await, before);
}

/// Clean-up scripts and CloudFormation updates delete EndpointConfigs and models that no
/// endpoint uses, and a sleeping endpoint uses none.
#[tokio::test(flavor = "multi_thread")]
async fn a_wake_creates_again_the_endpoint_config_and_model_deleted_while_it_slept() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let config_before = h.aws.endpoint_config("chat-config").await;
    let model_before = h.aws.model("chat-model").await;
    let mut f = Functions::start(&h, &later(120)).await;
    assert_eq!(
        outcome(&f.sleeper.invoke(idle_alarm()).await.unwrap()),
        "applied"
    );
    h.moto.settle().await;
    h.aws.delete_endpoint_config("chat-config").await;
    h.aws.delete_model("chat-model").await;

    let woken = f.waker.invoke(manual("wake")).await.unwrap();

    assert_eq!(outcome(&woken), "applied", "{woken}");
    let detail = woken["reports"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("creating again model chat-model and EndpointConfig chat-config"),
        "{detail}"
    );
    let marked = |(definition, tags): (Value, BTreeMap<String, String>)| {
        let mut tags = tags;
        assert_eq!(
            tags.remove("sagetide:recreated-for").as_deref(),
            Some(ENDPOINT)
        );
        (definition, tags)
    };
    assert_eq!(
        marked(h.aws.endpoint_config("chat-config").await),
        config_before
    );
    assert_eq!(marked(h.aws.model("chat-model").await), model_before);
    let restored = f
        .restorer
        .invoke(in_service_of(&h.moto.settle().await))
        .await;
    assert_eq!(outcome(&restored.unwrap()), "applied");
    assert_eq!(
        h.aws.endpoint(ENDPOINT).await,
        Some(("InService".into(), "chat-config".into()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lease_defers_the_action_until_it_expires() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    // Leases run on the real clock (epoch milliseconds): this one expires in two seconds.
    let expires = Timestamp::now().as_millisecond() + 2000;
    h.aws
        .dynamodb
        .put_item()
        .table_name(sagetide_tests::seed::TABLE)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("lease".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(ENDPOINT.into()),
        )
        .item(
            "holder",
            aws_sdk_dynamodb::types::AttributeValue::S("waker/other".into()),
        )
        .item(
            "expires",
            aws_sdk_dynamodb::types::AttributeValue::N(expires.to_string()),
        )
        .send()
        .await
        .unwrap();
    let mut f = Functions::start(&h, &later(120)).await;

    let error = f.sleeper.invoke(idle_alarm()).await.unwrap_err();
    assert_eq!(error["errorType"], "Deferred", "{error}");
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = f.sleeper.invoke(idle_alarm()).await.unwrap();
    assert_eq!(outcome(&response), "applied", "{response}");
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Sleep,
    Wake,
    Restore,
}

/// The function of `step` answering its event in a fresh process (as after a crash), then AWS
/// finishing what it began (a deletion, a creation).
async fn run_step(h: &Harness, step: Step) -> Result<Value, Value> {
    let (function, event) = match step {
        Step::Sleep => ("sleeper", idle_alarm()),
        Step::Wake => ("waker", manual("wake")),
        Step::Restore => ("restorer", in_service()),
    };
    let answer = h.invoke(function, event, later(120)).await;
    h.moto.settle().await;
    h.aws.assert_snapshot_if_gone(ENDPOINT).await;
    answer
}

/// The freshly seeded endpoint, brought to just before `step`.
async fn prepare(h: &Harness, step: Step) {
    h.reset(CONFIG).await;
    seed(h).await;
    if matches!(step, Step::Wake | Step::Restore) {
        let slept = run_step(h, Step::Sleep).await.unwrap();
        assert_eq!(outcome(&slept), "applied");
    }
    if matches!(step, Step::Restore) {
        let woken = run_step(h, Step::Wake).await.unwrap();
        assert_eq!(outcome(&woken), "applied");
    }
    h.proxy.take_endpoint_changes();
}

/// The rest of the way round: woken (if it was put to sleep) and restored.
async fn finish_cycle(h: &Harness, step: Step) -> Result<Value, Value> {
    if matches!(step, Step::Sleep) {
        run_step(h, Step::Wake).await?;
    }
    run_step(h, Step::Restore).await
}

/// Tags and autoscaling, the snapshot's phase, and how often the endpoint was created and
/// deleted since `prepare`.
async fn end_state(
    h: &Harness,
) -> (
    Vec<String>,
    BTreeMap<String, String>,
    Option<String>,
    EndpointChanges,
) {
    (
        autoscaling(h).await,
        h.aws.tags(ENDPOINT).await,
        h.aws.snapshot_phase(ENDPOINT).await,
        h.proxy.take_endpoint_changes(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_call_of_sleep_wake_or_restore_is_finished_by_the_next_event() {
    let h = Harness::start(CONFIG).await;
    let mut calls = Vec::new();
    for step in [Step::Sleep, Step::Wake, Step::Restore] {
        calls.push(
            at_every_call(
                &h,
                async || prepare(&h, step).await,
                async || run_step(&h, step).await,
                async || finish_cycle(&h, step).await,
                async || end_state(&h).await,
            )
            .await,
        );
    }
    // Every step was cut at every one of its calls.
    eprintln!("sleep, wake, restore: cut after each of {calls:?} calls");
    assert!(
        calls[0] >= 14 && calls[1] >= 6 && calls[2] >= 20,
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_invocations_give_one_effective_sleep() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let now = later(120);
    let mut a = h.function("sleeper", &[("SAGETIDE_NOW", &now)]).await;
    let mut b = h.function("sleeper", &[("SAGETIDE_NOW", &now)]).await;
    let mut c = h.function("sleeper", &[("SAGETIDE_NOW", &now)]).await;
    let force = json!({"action": "sleep", "endpoint": ENDPOINT, "force": true});

    let (ra, rb, rc) = tokio::join!(
        a.invoke(idle_alarm()),
        b.invoke(force.clone()),
        c.invoke(idle_alarm())
    );

    let outcomes: Vec<String> = [ra, rb, rc]
        .into_iter()
        .map(|r| match r {
            Ok(response) => outcome(&response).to_owned(),
            Err(error) => error["errorType"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| ["applied", "already-done", "Deferred"].contains(&o.as_str())),
        "{outcomes:?}"
    );
    let calls = h.proxy.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("sagemaker:DeleteEndpoint"), 1, "{calls:?}");
    assert_eq!(
        h.aws.snapshot_phase(ENDPOINT).await.as_deref(),
        Some("asleep")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_alarm_wakes_the_endpoints_that_named_it_and_only_those() {
    let h = Harness::start(CONFIG).await;
    let by_alarm = [
        ("sagetide:idle-after", "90m"),
        ("sagetide:wake-on", "alarm"),
        ("sagetide:wake-alarm", "queue-backlog"),
    ];
    let by_hand_only = [
        ("sagetide:idle-after", "90m"),
        ("sagetide:wake-alarm", "queue-backlog"),
    ];
    h.aws
        .create_endpoint("batch-a", &["AllTraffic"], &by_alarm)
        .await;
    h.aws
        .create_endpoint("batch-b", &["AllTraffic"], &by_alarm)
        .await;
    h.aws
        .create_endpoint("batch-c", &["AllTraffic"], &by_hand_only)
        .await;
    let mut f = Functions::start(&h, &later(120)).await;
    for name in ["batch-a", "batch-b", "batch-c"] {
        let slept = f
            .sleeper
            .invoke(alarm_event(
                &format!("sagetide-idle-{name}"),
                "ALARM",
                Some(name),
            ))
            .await
            .unwrap();
        assert_eq!(outcome(&slept), "applied", "{slept}");
    }
    h.moto.settle().await;

    let unrelated = f
        .waker
        .invoke(alarm_event("cpu-high", "ALARM", None))
        .await
        .unwrap();
    assert!(unrelated["ignored"].is_string(), "{unrelated}");
    let response = f
        .waker
        .invoke(alarm_event("queue-backlog", "ALARM", None))
        .await
        .unwrap();

    let mut reports: Vec<String> = response["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["endpoint"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            )
        })
        .collect();
    reports.sort();
    assert_eq!(
        reports,
        ["batch-a applied", "batch-b applied", "batch-c declined"]
    );
    assert!(h.aws.endpoint("batch-a").await.is_some());
    assert!(h.aws.endpoint("batch-b").await.is_some());
    assert_eq!(h.aws.endpoint("batch-c").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_decides_and_deletes_nothing() {
    let h = Harness::start(CONFIG).await;
    seed(&h).await;
    let now = later(120);
    let mut sleeper = h
        .function(
            "sleeper",
            &[("SAGETIDE_NOW", &now), ("SAGETIDE_DRY_RUN", "true")],
        )
        .await;

    let response = sleeper.invoke(idle_alarm()).await.unwrap();

    assert_eq!(outcome(&response), "dry-run", "{response}");
    assert_eq!(proxy::mutating(&h.proxy.take()), Vec::<String>::new());
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_alarm_still_in_alarm_wakes_its_endpoint_at_the_next_tick() {
    let h = Harness::start(CONFIG).await;
    let tags = [
        ("sagetide:idle-after", "90m"),
        ("sagetide:wake-on", "alarm"),
        ("sagetide:wake-alarm", "queue-backlog"),
    ];
    h.aws.create_endpoint("batch", &["AllTraffic"], &tags).await;
    let now = later(120);
    let mut sleeper = h.function("sleeper", &[("SAGETIDE_NOW", &now)]).await;
    let slept = sleeper
        .invoke(alarm_event("sagetide-idle-batch", "ALARM", Some("batch")))
        .await
        .unwrap();
    assert_eq!(outcome(&slept), "applied", "{slept}");
    // Gone, as by the time of the next tick in AWS (a tick during its Deleting waits).
    h.moto.settle().await;
    let mut scheduler = h.scheduler(&[]);
    let tick = sagetide_tests::scheduled_event(&now);
    assert_eq!(
        scheduler.invoke(tick.clone()).await.unwrap()["actions"],
        json!([])
    );

    // The wake alarm went to ALARM; its one event was lost (or came while it could not wake).
    h.aws.alarm_in_state("queue-backlog", "ALARM").await;

    let report = scheduler.invoke(tick).await.unwrap();
    assert_eq!(report["actions"][0]["action"], "wake", "{report}");
    assert_eq!(report["actions"][0]["outcome"], "applied", "{report}");
    assert!(h.aws.endpoint("batch").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wake_finishes_a_sleep_cut_short_after_its_delete() {
    let h = Harness::start(CONFIG).await;
    let now = later(120);
    // A lease left by the cut-short sleep blocks the endpoint for a second only.
    let env = [
        ("SAGETIDE_NOW", now.as_str()),
        ("SAGETIDE_LEASE_TTL", LEASE_TTL),
    ];
    let mut rehearsal = Functions::start_with(&h, &env).await;
    seed(&h).await;
    rehearsal.sleeper.invoke(idle_alarm()).await.unwrap();
    h.moto.settle().await;
    let calls = h.proxy.take();
    let delete = calls
        .iter()
        .position(|c| c == "sagemaker:DeleteEndpoint")
        .expect("the sleep deletes the endpoint");

    h.reset(CONFIG).await;
    seed(&h).await;
    let mut f = Functions::start_with(&h, &env).await;
    h.proxy.crash_after(Some(delete + 1));
    assert!(f.sleeper.invoke(idle_alarm()).await.is_err());
    h.proxy.crash_after(None);
    h.moto.settle().await;
    assert_eq!(h.aws.endpoint(ENDPOINT).await, None);
    assert_eq!(
        h.aws.snapshot_phase(ENDPOINT).await.as_deref(),
        Some("sleeping")
    );
    tokio::time::sleep(LEASE_EXPIRED).await;

    // The waker's role allows the UpdateItem that records the sleep as finished (the proxy
    // refuses what a role does not allow).
    let woken = f.waker.invoke(manual("wake")).await.unwrap();
    assert_eq!(outcome(&woken), "applied", "{woken}");
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
    assert_eq!(
        h.aws.snapshot_phase(ENDPOINT).await.as_deref(),
        Some("asleep")
    );
}
