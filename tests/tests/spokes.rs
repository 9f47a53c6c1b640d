//! The hub acting in other accounts (issue 19, its first step): sleeper, waker and restorer, run
//! as real binaries with sessions of their own hub roles, act on a spoke's endpoint through the
//! roles `spoke.yaml` makes there, in one local AWS holding the hub's account and two others.
//! The proxy judges every call made in a spoke under that spoke role's policy.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};
use sagetide_tests::accounts::{EXTERNAL_ID, HUB, HUB_REGION};
use sagetide_tests::crash::at_every_call;
use sagetide_tests::proxy::EndpointChanges;
use sagetide_tests::{
    Harness, alarm_change, alarm_event, endpoint_state_event, route, seed, state_change,
};
use serde_json::{Value, json};

const SPOKE: &str = "222222222222";
/// The spoke's region, not the hub's: its calls go there, and its role is named for it.
const SPOKE_REGION: &str = "eu-west-1";
/// `@<account>/<region>`: the suffix of the spoke's keys in the hub's table.
const AT_SPOKE: &str = "@222222222222/eu-west-1";
/// An account that has the spoke stack but is not in the hub's document.
const UNLISTED: &str = "444444444444";

const ENDPOINT: &str = "chat";
const FIVE_XX: &str = "sagetide-remediate-5xx-chat";
const VARIANTS: [&str; 2] = ["AllTraffic", "shadow"];
const TAGS: [(&str, &str); 3] = [
    ("sagetide:idle-after", "90m"),
    ("sagetide:wake-on", "manual,alarm"),
    ("team", "search"),
];

fn config() -> String {
    format!(
        r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - {{ days: mon-sun, start: "08:00", end: "18:00", capacity: {{ min: 1, max: 4 }} }}
    off_hours: {{ min: 1, max: 1 }}
remediation:
  - name: hold-on-5xx
    alarms: ["{FIVE_XX}"]
    action: suspend-scale-in
accounts:
  - account: "{SPOKE}"
    regions: [{SPOKE_REGION}]
    external_id: {EXTERNAL_ID}
    model_roles: "*"
"#
    )
}

/// An instant `minutes` after the real clock: moto stamps endpoints with the real time, and an
/// endpoint is idle only once it has existed for its whole window.
fn later(minutes: i64) -> String {
    (Timestamp::now() + SignedDuration::from_mins(minutes)).to_string()
}

/// A hub managing [`SPOKE`] (and, unknown to its document, [`UNLISTED`], which has the spoke
/// stack), each with the same endpoint as the hub: only their place tells them apart.
async fn world(h: &Harness) -> (seed::Aws, seed::Aws) {
    h.manage_spokes(&[(SPOKE, SPOKE_REGION), (UNLISTED, HUB_REGION)])
        .await;
    let spoke = seed::Aws::in_account(&h.moto.url, SPOKE, SPOKE_REGION).await;
    let unlisted = seed::Aws::in_account(&h.moto.url, UNLISTED, HUB_REGION).await;
    for aws in [&h.aws, &spoke, &unlisted] {
        aws.create_endpoint(ENDPOINT, &VARIANTS, &TAGS).await;
        for variant in VARIANTS {
            aws.seed_autoscaling(ENDPOINT, variant).await;
        }
    }
    (spoke, unlisted)
}

/// The endpoint, its tags, autoscaling and the alarms in one account, and its snapshot's phase
/// in the hub's table (`place`: the keys' suffix).
async fn state(h: &Harness, aws: &seed::Aws, place: &str) -> Vec<String> {
    let endpoint = aws.endpoint(ENDPOINT).await;
    let mut lines = vec![format!("endpoint {endpoint:?}")];
    if endpoint.is_some() {
        let tags = aws.tags(ENDPOINT).await;
        lines.extend(tags.into_iter().map(|(k, v)| format!("tag {k}={v}")));
    }
    for variant in VARIANTS {
        lines.extend(aws.autoscaling_state(ENDPOINT, variant).await);
    }
    let mut alarms = aws.alarms().await;
    // Alarms made again are listed in another order.
    alarms.sort();
    lines.extend(alarms);
    let phase = h.aws.snapshot_phase_at(place, ENDPOINT).await;
    lines.push(format!("snapshot {phase:?}"));
    lines
}

/// `event` as the spoke stack of `account` forwards it to the hub's bus, from the region
/// where the document has that account.
fn from(account: &str, mut event: Value) -> Value {
    event["account"] = account.into();
    if account == SPOKE {
        event["region"] = SPOKE_REGION.into();
    }
    event
}

fn outcome(response: &Value) -> &str {
    response["reports"][0]["outcome"].as_str().unwrap_or("none")
}

/// The IN_SERVICE AWS sent for the endpoint in `account`, among `events`.
fn in_service_in(account: &str, events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| {
            route(e) == Some("restorer") && state_change(e).0 == ENDPOINT && e["account"] == account
        })
        .cloned()
        .unwrap_or_else(|| panic!("no IN_SERVICE of {ENDPOINT} in {account} among {events:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sleep_and_wake_in_a_spoke_restore_everything_there_and_touch_nothing_elsewhere() {
    let h = Harness::start(&config()).await;
    let (spoke, unlisted) = world(&h).await;
    let (hub_before, unlisted_before) =
        (state(&h, &h.aws, "").await, state(&h, &unlisted, "").await);
    let spoke_before = state(&h, &spoke, AT_SPOKE).await;
    let now = later(120);
    h.proxy.take();

    let sleep = json!({
        "action": "sleep", "endpoint": ENDPOINT, "account": SPOKE, "region": SPOKE_REGION
    });
    let slept = h.invoke("sleeper", sleep, &now).await.unwrap();
    assert_eq!(outcome(&slept), "applied", "{slept}");
    assert_eq!(slept["place"], format!("{SPOKE}/{SPOKE_REGION}"), "{slept}");
    assert_eq!(
        h.aws.snapshot_phase_at(AT_SPOKE, ENDPOINT).await.as_deref(),
        Some("asleep")
    );
    h.moto.settle().await;
    assert_eq!(spoke.endpoint(ENDPOINT).await, None);

    // A person wakes it with the command line, which asks the hub's waker.
    h.aws.deploy_functions().await;
    let (code, out, err) = h
        .sagetide(
            &[
                "wake",
                ENDPOINT,
                "--spoke-account",
                SPOKE,
                "--spoke-region",
                SPOKE_REGION,
            ],
            &now,
        )
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "in account/region {SPOKE}/{SPOKE_REGION}:\n{ENDPOINT} wake: applied"
        )),
        "{out}"
    );
    let events = h.moto.settle().await;
    let restored = h
        .invoke("restorer", in_service_in(SPOKE, &events), &now)
        .await
        .unwrap();
    assert_eq!(outcome(&restored), "applied", "{restored}");
    // One role assumed by each function's (fresh) process.
    let calls = h.proxy.take();
    let assumed = calls.iter().filter(|c| *c == "sts:AssumeRole").count();
    assert_eq!(assumed, 3, "{calls:?}");

    let mut spoke_after = state(&h, &spoke, AT_SPOKE).await;
    assert_eq!(
        spoke_after.pop().as_deref(),
        Some("snapshot Some(\"restored\")")
    );
    let mut expected = spoke_before;
    expected.pop();
    assert_eq!(spoke_after, expected);
    let mut history = h.aws.history_at(AT_SPOKE, ENDPOINT).await;
    history.sort();
    assert_eq!(
        history,
        ["restore applied", "sleep applied", "wake applied"]
    );
    // The hub's endpoint of the same name, and the unlisted account's, were never touched.
    assert_eq!(state(&h, &h.aws, "").await, hub_before);
    assert_eq!(state(&h, &unlisted, "").await, unlisted_before);
    assert!(h.aws.history(ENDPOINT).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_or_request_of_a_place_the_document_does_not_name_changes_nothing() {
    let h = Harness::start(&config()).await;
    let (_, unlisted) = world(&h).await;
    let before = state(&h, &unlisted, "").await;
    let now = later(120);
    let idle = from(
        UNLISTED,
        alarm_event("sagetide-idle-chat", "ALARM", Some(ENDPOINT)),
    );
    // The spoke's account, in the hub's region, where the document does not have it.
    let mut other_region = alarm_event("sagetide-idle-chat", "ALARM", Some(ENDPOINT));
    other_region["account"] = SPOKE.into();
    h.proxy.take();

    for (what, event) in [
        ("an unlisted account's idle alarm", idle.clone()),
        (
            "a listed account's idle alarm in an unlisted region",
            other_region,
        ),
        (
            "a sleep asked in an unlisted account",
            json!({"action": "sleep", "endpoint": ENDPOINT, "account": UNLISTED, "force": true}),
        ),
    ] {
        let refused = h.invoke("sleeper", event, &now).await.unwrap_err();
        assert_eq!(refused["errorType"], "RejectedEvent", "{what}: {refused}");
        let message = refused["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(&format!("{HUB}/{HUB_REGION}, {SPOKE}/{SPOKE_REGION}")),
            "{what}: {message}"
        );
    }
    // The scheduler's request of the waker, for a place its document does not name.
    let due = json!({
        "action": "wake-if-due", "endpoint": ENDPOINT, "at": now, "account": UNLISTED
    });
    for (what, function, event) in [("a wake-if-due in an unlisted account", "waker", due)] {
        let refused = h.invoke(function, event, &now).await.unwrap_err();
        assert_eq!(refused["errorType"], "RejectedEvent", "{what}: {refused}");
        let message = refused["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(&format!("{HUB}/{HUB_REGION}, {SPOKE}/{SPOKE_REGION}")),
            "{what}: {message}"
        );
    }
    for (function, event) in [
        ("waker", idle),
        (
            "waker",
            json!({"action": "wake", "endpoint": ENDPOINT, "account": UNLISTED}),
        ),
        (
            "restorer",
            from(UNLISTED, endpoint_state_event(ENDPOINT, "IN_SERVICE")),
        ),
    ] {
        let ignored = h.invoke(function, event, &now).await.unwrap();
        assert!(
            ignored["ignored"]
                .as_str()
                .is_some_and(|why| why.contains("put nothing to sleep in account 444444444444")),
            "{function}: {ignored}"
        );
    }
    // Nothing was written, not even a lease, and no role of the unlisted account was assumed.
    let calls = h.proxy.take();
    assert!(
        calls
            .iter()
            .all(|c| ["dynamodb:GetItem", "ssm:GetParameters"].contains(&c.as_str())),
        "{calls:?}"
    );
    assert_eq!(state(&h, &unlisted, "").await, before);
}

/// Whether the variant's scale-in is suspended, in `aws`'s account.
async fn holds(aws: &seed::Aws) -> bool {
    let target = aws.target(ENDPOINT, "AllTraffic").await.unwrap();
    target
        .suspended_state
        .and_then(|s| s.dynamic_scaling_in_suspended)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remedy_in_a_spoke_holds_there_while_its_alarm_fires_and_ends_with_it() {
    let h = Harness::start(&config()).await;
    let (spoke, _) = world(&h).await;
    // Scale-in runs, in both accounts, before the alarm.
    let running = aws_sdk_applicationautoscaling::types::SuspendedState::builder()
        .dynamic_scaling_in_suspended(false)
        .build();
    for aws in [&spoke, &h.aws] {
        aws.register_target(ENDPOINT, "AllTraffic", 1, 4, Some(running.clone()))
            .await;
    }
    spoke.alarm_in_state(FIVE_XX, "ALARM").await;
    h.aws.alarm_in_state(FIVE_XX, "OK").await;
    let now = Timestamp::now().to_string();
    let change = |state: &str| from(SPOKE, alarm_change(FIVE_XX, state, Some(ENDPOINT), &now));

    let held = h.invoke("remediator", change("ALARM"), &now).await.unwrap();
    assert_eq!(outcome(&held), "applied", "{held}");
    assert_eq!(held["place"], format!("{SPOKE}/{SPOKE_REGION}"), "{held}");
    let record = h
        .aws
        .dynamodb
        .get_item()
        .table_name(seed::TABLE)
        .key("pk", AttributeValue::S(format!("remediation{AT_SPOKE}")))
        .key("sk", AttributeValue::S(ENDPOINT.into()))
        .send()
        .await
        .unwrap();
    assert!(
        record.item.is_some(),
        "the remedy's record, under the spoke's key"
    );
    assert!(holds(&spoke).await);
    assert!(!holds(&h.aws).await, "the hub's endpoint of the same name");

    spoke.set_alarm_state(FIVE_XX, "OK").await;
    let ended = h.invoke("remediator", change("OK"), &now).await.unwrap();
    assert_eq!(outcome(&ended), "applied", "{ended}");
    assert!(!holds(&spoke).await);
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Sleep,
    Wake,
    Restore,
}

/// The function of `step` answering its event about the spoke's endpoint in a fresh process (as
/// after a crash), then AWS finishing what it began.
async fn run_step(h: &Harness, spoke: &seed::Aws, step: Step) -> Result<Value, Value> {
    let (function, event) = match step {
        Step::Sleep => (
            "sleeper",
            from(
                SPOKE,
                alarm_event("sagetide-idle-chat", "ALARM", Some(ENDPOINT)),
            ),
        ),
        Step::Wake => (
            "waker",
            json!({"action": "wake", "endpoint": ENDPOINT, "account": SPOKE, "region": SPOKE_REGION}),
        ),
        Step::Restore => (
            "restorer",
            from(SPOKE, endpoint_state_event(ENDPOINT, "IN_SERVICE")),
        ),
    };
    let answer = h.invoke(function, event, later(120)).await;
    h.moto.settle().await;
    if spoke.endpoint(ENDPOINT).await.is_none() {
        let phase = h.aws.snapshot_phase_at(AT_SPOKE, ENDPOINT).await;
        assert!(
            matches!(phase.as_deref(), Some("sleeping" | "asleep")),
            "the spoke's {ENDPOINT} is gone without its snapshot in the table (phase {phase:?})"
        );
    }
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_call_in_a_spoke_is_finished_by_the_next_event() {
    let h = Harness::start(&config()).await;
    let spoke = seed::Aws::in_account(&h.moto.url, SPOKE, SPOKE_REGION).await;
    let prepare = async |step: Step| {
        h.reset(&config()).await;
        h.manage_spokes(&[(SPOKE, SPOKE_REGION)]).await;
        spoke.create_endpoint(ENDPOINT, &VARIANTS, &TAGS).await;
        for variant in VARIANTS {
            spoke.seed_autoscaling(ENDPOINT, variant).await;
        }
        if matches!(step, Step::Wake | Step::Restore) {
            let slept = run_step(&h, &spoke, Step::Sleep).await.unwrap();
            assert_eq!(outcome(&slept), "applied", "{slept}");
        }
        if matches!(step, Step::Restore) {
            let woken = run_step(&h, &spoke, Step::Wake).await.unwrap();
            assert_eq!(outcome(&woken), "applied", "{woken}");
        }
        h.proxy.take_endpoint_changes();
    };
    let end_state = async || -> (Vec<String>, EndpointChanges) {
        (
            state(&h, &spoke, AT_SPOKE).await,
            h.proxy.take_endpoint_changes(),
        )
    };
    let mut calls = BTreeMap::new();
    for step in [Step::Sleep, Step::Wake, Step::Restore] {
        let finish = async || {
            if matches!(step, Step::Sleep) {
                run_step(&h, &spoke, Step::Wake).await?;
            }
            run_step(&h, &spoke, Step::Restore).await
        };
        let made = at_every_call(
            &h,
            async || prepare(step).await,
            async || run_step(&h, &spoke, step).await,
            finish,
            end_state,
        )
        .await;
        calls.insert(format!("{step:?}"), made);
    }
    eprintln!("in a spoke: sleep, wake, restore cut after each of {calls:?} calls");
    // Each step assumes its spoke role first, then does what it does at home.
    assert!(
        calls["Sleep"] >= 15 && calls["Wake"] >= 7 && calls["Restore"] >= 21,
        "{calls:?}"
    );
}
