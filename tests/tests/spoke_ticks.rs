//! The scheduler across accounts (issue 19, its second step): EventBridge's tick of the hub
//! queues one tick per managed place on the scheduler itself, each of which acts there through
//! the scheduler's spoke role; a place that cannot be reached is told of, and the others are
//! scheduled regardless. Real binaries, one local AWS holding the hub's account and three
//! others; the proxy judges every spoke call under the spoke role's policy.

use sagetide_tests::accounts::{EXTERNAL_ID, HUB, HUB_REGION};
use sagetide_tests::{Harness, scheduled_event, seed, tick_actions};
use serde_json::{Value, json};

const SPOKE: (&str, &str) = ("222222222222", "eu-west-1");
const OTHER_SPOKE: (&str, &str) = ("333333333333", "us-west-2");
/// Listed in the document, but without the spoke stack: its role cannot be assumed.
const UNREACHABLE: (&str, &str) = ("555555555555", "us-east-1");

const ENDPOINT: &str = "chat";
const NINE: &str = "2026-12-08T09:00:00Z";
const FIVE: &str = "2026-12-08T17:00:00Z";
const EVENING: &str = "2026-12-08T19:00:00Z";

fn config() -> String {
    let account = |(account, region): (&str, &str)| {
        format!(
            "  - {{ account: \"{account}\", regions: [{region}], external_id: {EXTERNAL_ID}, model_roles: \"*\" }}\n"
        )
    };
    format!(
        r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - {{ days: mon-sun, start: "08:00", end: "18:00", capacity: {{ min: 2, max: 6 }} }}
    off_hours: {{ min: 1, max: 1 }}
accounts:
{}{}{}{}"#,
        // The hub's own place, listed: it stays the hub's, ticked by EventBridge only.
        account((HUB, HUB_REGION)),
        account(SPOKE),
        account(OTHER_SPOKE),
        account(UNREACHABLE)
    )
}

/// The scheduled endpoint at 1..1 in the hub and in each of `places`.
async fn fleet(h: &Harness, places: &[(&str, &str)]) -> Vec<seed::Aws> {
    let mut fleets = vec![seed::Aws::new(&h.moto.url).await];
    for (account, region) in places {
        fleets.push(seed::Aws::in_account(&h.moto.url, account, region).await);
    }
    for aws in &fleets {
        aws.create_endpoint(
            ENDPOINT,
            &["AllTraffic"],
            &[("sagetide:schedule", "office-hours")],
        )
        .await;
        aws.register_target(ENDPOINT, "AllTraffic", 1, 1, None)
            .await;
    }
    fleets
}

fn place((account, region): (&str, &str)) -> String {
    format!("{account}/{region}")
}

/// The tick each place's queued invocation answered (`Err`: the error it ended with).
fn by_place(ended: &[sagetide_tests::proxy::Invocation]) -> Vec<(String, Result<Value, Value>)> {
    let mut answers: Vec<(String, Result<Value, Value>)> = ended
        .iter()
        .map(|i| {
            assert_eq!(i.payload["action"], "tick", "{:?}", i.payload);
            assert!(
                i.function.ends_with("-scheduler") || i.function.ends_with("-pool-metrics"),
                "{} queued its own runs",
                i.function
            );
            let place = format!(
                "{}/{}",
                i.payload["account"].as_str().unwrap(),
                i.payload["region"].as_str().unwrap()
            );
            (place, i.answer.clone())
        })
        .collect();
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_applies_in_the_hub_and_two_spokes_while_an_unreachable_one_is_reported() {
    let h = Harness::start(&config()).await;
    h.manage_spokes(&[SPOKE, OTHER_SPOKE]).await;
    let fleets = fleet(&h, &[SPOKE, OTHER_SPOKE, UNREACHABLE]).await;
    let actions = h
        .aws
        .event_queue(
            "sagetide-actions",
            json!({"source": ["sagetide"], "detail-type": ["sagetide action"]}),
        )
        .await;
    let bus = [("SAGETIDE_EVENT_BUS", "default")];
    let mut ticker = h.scheduler(&bus);

    let hub = ticker
        .invoke(scheduled_event(NINE))
        .await
        .expect("the hub's tick");
    assert_eq!(hub.get("place"), None, "{hub}");
    assert_eq!(hub["actions"][0]["outcome"], "applied", "{hub}");
    let mut queued: Vec<&str> = hub["spokes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    queued.sort_unstable();
    let (spoke, other, unreachable) = (place(SPOKE), place(OTHER_SPOKE), place(UNREACHABLE));
    assert_eq!(
        queued,
        [spoke.as_str(), other.as_str(), unreachable.as_str()]
    );

    let answers = by_place(&h.proxy.settled().await);
    assert_eq!(answers.len(), 3, "{answers:#?}");
    for (at, answer) in &answers[..2] {
        let report = answer.as_ref().expect("a reachable spoke's tick");
        assert_eq!(&report["place"], at, "{report}");
        assert_eq!(report["actions"][0]["outcome"], "applied", "{report}");
    }
    let (at, failed) = &answers[2];
    assert_eq!(at, &unreachable);
    let failed = failed
        .as_ref()
        .expect_err("the unreachable spoke's tick fails");
    assert_eq!(failed["errorType"], "PlaceFailed", "{failed}");
    let message = failed["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("account 555555555555 (us-east-1)")
            && message.contains("assume-role")
            && message.contains("sagetide-spoke-us-east-1-scheduler"),
        "{message}"
    );

    // Each place got its own schedule, through its own role; the unreachable one kept its own.
    for (aws, want) in fleets.iter().zip([(2, 6), (2, 6), (2, 6), (1, 1)]) {
        assert_eq!(aws.capacity(ENDPOINT, "AllTraffic").await, Some(want));
    }
    let events = h.aws.queued_events(&actions).await;
    let told: Vec<(Option<&str>, &str, &str)> = events
        .iter()
        .map(|e| {
            let d = &e["detail"];
            (
                d["place"].as_str(),
                d["action"].as_str().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        (None, "set-capacity", "applied"),
        (Some(spoke.as_str()), "set-capacity", "applied"),
        (Some(other.as_str()), "set-capacity", "applied"),
        (Some(unreachable.as_str()), "assume-role", "failed"),
    ] {
        assert_eq!(
            told.iter().filter(|t| **t == want).count(),
            1,
            "{want:?} in {told:#?}"
        );
    }
    let nine = NINE.parse::<jiff::Timestamp>().unwrap().as_second();
    let failures = h
        .aws
        .sagetide_metric(
            "PlaceFailures",
            &[
                ("Account", UNREACHABLE.0),
                ("Function", "scheduler"),
                ("Region", UNREACHABLE.1),
                ("Step", "assume-role"),
            ],
            (nine - 60, nine + 60),
            60,
            "Sum",
        )
        .await;
    assert_eq!(failures.values().sum::<f64>(), 1.0, "{failures:?}");
    // `sagetide status` shows each managed place by what the hub holds of it.
    h.aws.deploy_functions().await;
    let (code, shown, stderr) = h
        .sagetide(&["status", "--output", "json"], "2026-12-08T09:05:00Z")
        .await;
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let quiet = json!({"asleep": [], "remedies": [], "failed_last_hour": {}});
    let mut places = vec![quiet.clone(), quiet.clone(), quiet];
    for (status, at) in places.iter_mut().zip([&spoke, &other, &unreachable]) {
        status["place"] = json!(at);
    }
    places[2]["failed_last_hour"] = json!({"assume-role": 1});
    assert_eq!(shown["places"], json!(places), "{shown:#}");

    // Each place claims its own ticks: a tick of the spoke's for the evening claims the evening
    // there only. The hub's tick of five, held back by Lambda until the evening, then acts in
    // the hub and the other spoke, which drifted from their schedule, while in the spoke it is
    // late.
    let evening = PlaceTick(SPOKE, EVENING).payload();
    let spoke_evening = ticker
        .invoke(evening)
        .await
        .expect("the spoke's evening tick");
    assert_eq!(spoke_evening["place"], spoke, "{spoke_evening}");
    assert_eq!(
        fleets[1].capacity(ENDPOINT, "AllTraffic").await,
        Some((1, 1))
    );
    for aws in [&fleets[0], &fleets[2]] {
        aws.register_target(ENDPOINT, "AllTraffic", 1, 1, None)
            .await;
    }
    let hub = ticker
        .invoke_at(scheduled_event(FIVE), EVENING)
        .await
        .expect("the hub's tick of five");
    assert_eq!(hub["actions"][0]["outcome"], "applied", "{hub}");
    let answers = by_place(&h.proxy.settled().await);
    assert_eq!(answers.len(), 3, "{answers:#?}");
    let late = answers[0].1.as_ref().expect("the spoke's tick of five");
    assert!(late["late"].is_string(), "{late}");
    let other = answers[1]
        .1
        .as_ref()
        .expect("the other spoke's tick of five");
    assert_eq!(other["actions"][0]["outcome"], "applied", "{other}");
    let again = answers[2]
        .1
        .as_ref()
        .expect_err("the unreachable spoke fails again");
    assert_eq!(again["errorType"], "PlaceFailed", "{again}");
    for (aws, want) in fleets.iter().zip([(2, 6), (1, 1), (2, 6), (1, 1)]) {
        assert_eq!(aws.capacity(ENDPOINT, "AllTraffic").await, Some(want));
    }
}

/// A place's own tick, as the hub's tick queues it.
struct PlaceTick((&'static str, &'static str), &'static str);

impl PlaceTick {
    fn payload(&self) -> Value {
        let PlaceTick((account, region), time) = self;
        json!({"action": "tick", "account": account, "region": region, "time": time})
    }
}

/// `account/region` → the outcomes of the actions that place's tick reported.
fn actions_by_place(ended: &[sagetide_tests::proxy::Invocation]) -> Vec<(String, Vec<String>)> {
    by_place(ended)
        .into_iter()
        .map(|(at, answer)| {
            let report = answer.unwrap_or_else(|e| panic!("the tick of {at} failed: {e}"));
            (at, tick_actions(&report))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spoke_sleeps_off_hours_wakes_through_the_waker_and_is_restored_by_its_own_ticks() {
    let config = format!(
        r#"
schedules:
  nightly:
    timezone: UTC
    periods:
      - {{ days: mon-sun, start: "20:00", end: "23:00", capacity: {{ min: 1, max: 4 }} }}
    off_hours: sleep
    prewarm: 30m
accounts:
  - {{ account: "{}", regions: [{}], external_id: {EXTERNAL_ID}, model_roles: "*" }}
"#,
        SPOKE.0, SPOKE.1
    );
    let h = Harness::start(&config).await;
    h.manage_spokes(&[SPOKE]).await;
    let spoke = seed::Aws::in_account(&h.moto.url, SPOKE.0, SPOKE.1).await;
    // The hub has an endpoint of the same name that opts into nothing.
    h.aws.create_endpoint(ENDPOINT, &["AllTraffic"], &[]).await;
    spoke
        .create_endpoint(
            ENDPOINT,
            &["AllTraffic"],
            &[("sagetide:schedule", "nightly"), ("team", "search")],
        )
        .await;
    spoke.seed_autoscaling(ENDPOINT, "AllTraffic").await;
    spoke
        .create_endpoint("quiet", &["AllTraffic"], &[("sagetide:idle-after", "2h")])
        .await;
    let (before, tags) = (
        spoke.autoscaling_state(ENDPOINT, "AllTraffic").await,
        spoke.tags(ENDPOINT).await,
    );
    let mut ticker = h.scheduler(&[]);
    let at_spoke = format!("@{}", place(SPOKE));
    let mut tick = async |time: &str| {
        let hub = ticker.invoke(scheduled_event(time)).await.unwrap();
        assert_eq!(
            hub["actions"],
            json!([]),
            "the hub has nothing scheduled: {hub}"
        );
        let places = actions_by_place(&h.proxy.settled().await);
        assert_eq!(places.len(), 1, "{places:?}");
        places.into_iter().next().unwrap().1
    };

    // Noon is off-hours: the spoke's endpoint sleeps there, and its idle alarm is made there.
    assert_eq!(
        tick("2026-12-08T12:00:00Z").await,
        ["chat sleep applied", "quiet put-idle-alarm applied"]
    );
    assert_eq!(
        h.aws
            .snapshot_phase_at(&at_spoke, ENDPOINT)
            .await
            .as_deref(),
        Some("asleep")
    );
    h.moto.settle().await;
    assert_eq!(spoke.endpoint(ENDPOINT).await, None);
    let idle = r#"sagetide-idle-quiet 24 x 300 s ["AllTraffic"]"#.to_owned();
    assert!(spoke.alarms().await.contains(&idle));
    assert!(h.aws.endpoint(ENDPOINT).await.is_some());
    assert_eq!(h.aws.alarms().await, Vec::<String>::new());

    // 19:31 is within the prewarm: the scheduler asks the waker, which wakes it in the spoke.
    assert_eq!(tick("2026-12-08T19:31:00Z").await, ["chat wake applied"]);
    h.moto.settle().await;
    assert_eq!(spoke.tags(ENDPOINT).await, tags);
    // No IN_SERVICE reaches the restorer here: the spoke's next ticks restore instead (in two
    // steps if the endpoint is still Updating after the first, which sets its instances).
    let mut restored = Vec::new();
    for time in ["2026-12-08T19:36:00Z", "2026-12-08T19:38:00Z"] {
        restored.extend(tick(time).await);
        h.moto.settle().await;
    }
    assert!(
        matches!(restored.len(), 1 | 2) && restored.iter().all(|r| r == "chat restore applied"),
        "{restored:?}"
    );
    assert_eq!(
        spoke.autoscaling_state(ENDPOINT, "AllTraffic").await,
        before
    );
    assert_eq!(
        h.aws
            .snapshot_phase_at(&at_spoke, ENDPOINT)
            .await
            .as_deref(),
        Some("restored")
    );
    assert_eq!(h.aws.snapshot_phase(ENDPOINT).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn pool_metrics_publishes_a_spokes_fleet_utilization_in_the_spoke() {
    const MINUTE: i64 = 1_795_435_200; // 2026-11-23T12:00:00Z
    let config = format!(
        "schedules: {{}}\naccounts:\n  - {{ account: \"{}\", regions: [{}], external_id: {EXTERNAL_ID}, model_roles: \"*\" }}\n",
        SPOKE.0, SPOKE.1
    );
    let h = Harness::start(&config).await;
    h.manage_spokes(&[SPOKE]).await;
    let spoke = seed::Aws::in_account(&h.moto.url, SPOKE.0, SPOKE.1).await;
    let capacity = ("sagetide:pool-capacity", "ml.g4dn.xlarge=8");
    for aws in [&h.aws, &spoke] {
        aws.create_endpoint_with(
            "pooled",
            &[("AllTraffic", "ml.g4dn.xlarge", 2)],
            &[capacity],
        )
        .await;
    }
    // Only the spoke's fleet has traffic: 4 requests per instance of capacity 8.
    let dimensions = [
        ("EndpointName", "pooled"),
        ("VariantName", "AllTraffic"),
        ("InstanceType", "ml.g4dn.xlarge"),
    ];
    let points: Vec<(i64, f64)> = (0..6).map(|b| (MINUTE + 10 * b, 4.0)).collect();
    spoke.put_concurrency(&dimensions, &points).await;

    let at = jiff::Timestamp::from_second(MINUTE + 60 * 3 + 5).unwrap();
    let mut metrics = h.function("pool-metrics", &[]).await;
    let hub = metrics
        .invoke(scheduled_event(&at.to_string()))
        .await
        .expect("the hub's run");
    assert_eq!(hub["spokes"], json!([place(SPOKE)]), "{hub}");
    let runs = by_place(&h.proxy.settled().await);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let report = runs[0].1.as_ref().expect("the spoke's run");
    assert_eq!(report["place"], place(SPOKE), "{report}");

    let in_spoke = utilization(&spoke, (MINUTE - 60, MINUTE + 120)).await;
    assert_eq!(in_spoke.get(&MINUTE), Some(&0.5), "{in_spoke:?}");
    // The hub's own fleet of the same name had no traffic: its zeros, not the spoke's 0.5.
    let in_hub = utilization(&h.aws, (MINUTE - 60, MINUTE + 120)).await;
    assert!(
        !in_hub.is_empty() && in_hub.values().all(|v| *v == 0.0),
        "{in_hub:?}"
    );

    // A document that cannot be read: the hub's own metrics go out all the same, no place is
    // queued, and the run fails with the document's error.
    let published =
        async |aws: &seed::Aws| utilization(aws, (MINUTE - 60, MINUTE + 900)).await.len();
    let before = published(&h.aws).await;
    h.aws.put_config("schedules: [").await;
    let at = jiff::Timestamp::from_second(MINUTE + 60 * 5 + 5).unwrap();
    // A new container: a warm one keeps the document it read for a minute.
    let failed = h
        .function("pool-metrics", &[])
        .await
        .invoke(scheduled_event(&at.to_string()))
        .await
        .expect_err("the run fails with the document's error");
    assert_eq!(failed["errorType"], "InvalidConfiguration", "{failed}");
    assert!(published(&h.aws).await > before);
    assert!(h.proxy.settled().await.is_empty());
}

/// `FleetUtilization` of `pooled`'s AllTraffic in [from, to), by epoch second.
async fn utilization(
    aws: &seed::Aws,
    (from, to): (i64, i64),
) -> std::collections::BTreeMap<i64, f64> {
    aws.sagetide_metric(
        "FleetUtilization",
        &[("EndpointName", "pooled"), ("VariantName", "AllTraffic")],
        (from, to),
        10,
        "Average",
    )
    .await
}
