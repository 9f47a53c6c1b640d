//! The `sagetide` command line as an operator runs it, against a fleet in moto and the deployed
//! functions: `plan` decides what the next tick then does, `status` tells the fleet as it
//! stands, `sleep` and `wake` reach the functions.

use sagetide_tests::seed::DEPLOYMENT;
use sagetide_tests::{Harness, alarm_change, proxy, scheduled_event};
use serde_json::Value;

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
  nights-off:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 1, max: 2 } }
    off_hours: sleep
    prewarm: 30m
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-5xx-*"]
    action: suspend-scale-in
"#;

const FIVE_XX: &str = "sagetide-remediate-5xx-guarded";
/// Monday 2026-11-23 in Berlin (CET, UTC+1): 06:00, off-hours.
const DAWN: &str = "2026-11-23T05:00:00Z";
const LATER: &str = "2026-11-23T05:10:00Z";
/// 08:00 CET: the periods begin.
const EIGHT: &str = "2026-11-23T07:00:00Z";

/// office and guarded on office-hours at 1..1, sleepy on nights-off, manual opted in to the
/// sleeper only; guarded's 5XX alarm fires and its remedy is in force.
async fn fleet() -> Harness {
    let h = Harness::start(CONFIG).await;
    h.aws.deploy_functions().await;
    for (name, tag) in [
        ("office", ("sagetide:schedule", "office-hours")),
        ("guarded", ("sagetide:schedule", "office-hours")),
        ("sleepy", ("sagetide:schedule", "nights-off")),
        ("manual", ("sagetide:idle-after", "1h")),
    ] {
        h.aws.create_endpoint(name, &["AllTraffic"], &[tag]).await;
        h.aws.register_target(name, "AllTraffic", 1, 1, None).await;
    }
    h.aws.create_component_endpoint("host", 0).await;
    h.aws
        .create_component("chat", "host", 1, &[("sagetide:schedule", "office-hours")])
        .await;
    h.aws
        .create_component("embed", "host", 1, &[("sagetide:idle-after", "1h")])
        .await;
    h.aws.alarm_in_state(FIVE_XX, "ALARM").await;
    let remedy = h
        .invoke(
            "remediator",
            alarm_change(FIVE_XX, "ALARM", Some("guarded"), DAWN),
            DAWN,
        )
        .await
        .expect("the remedy starts");
    assert_eq!(remedy["reports"][0]["outcome"], "applied", "{remedy}");
    h
}

/// `(endpoint, action, detail, reason)` of each action and `(endpoint, why)` of each skip.
fn decisions(report: &Value) -> (Vec<[String; 4]>, Vec<[String; 2]>) {
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    let actions = report["actions"]
        .as_array()
        .expect("a tick report")
        .iter()
        .map(|a| {
            [
                text(a, "endpoint"),
                text(a, "action"),
                text(a, "detail"),
                text(a, "reason"),
            ]
        })
        .collect();
    let skipped = report["skipped"]
        .as_array()
        .expect("a tick report")
        .iter()
        .map(|s| [text(s, "endpoint"), text(s, "why")])
        .collect();
    (actions, skipped)
}

/// `sagetide plan --at now` changes nothing, and decides what the tick of `now` then does.
async fn plan_then_tick(h: &Harness, now: &str) -> Value {
    h.proxy.take();
    let (code, stdout, stderr) = h
        .sagetide(&["plan", "--at", now, "--output", "json"], now)
        .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        proxy::mutating(&h.proxy.take()),
        Vec::<String>::new(),
        "plan wrote something"
    );
    let plan: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(plan["dry_run"], true);
    assert!(
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "dry-run"),
        "{plan}"
    );
    let tick = h
        .scheduler(&[])
        .invoke(scheduled_event(now))
        .await
        .expect("the tick");
    assert_eq!(
        decisions(&plan),
        decisions(&tick),
        "plan {plan}\ntick {tick}"
    );
    assert!(
        tick["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "applied"),
        "{tick}"
    );
    plan
}

fn has_action(plan: &Value, endpoint: &str, action: &str) -> bool {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["endpoint"] == endpoint && a["action"] == action)
}

fn status_of<'a>(statuses: &'a Value, endpoint: &str) -> &'a Value {
    statuses["endpoints"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("{endpoint} in {statuses}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_is_the_next_tick_status_tells_the_fleet_and_sleep_and_wake_reach_the_functions() {
    let h = fleet().await;

    // 06:00 CET: sleepy's off-hours are asleep; manual wants its idle alarm.
    let dawn = plan_then_tick(&h, DAWN).await;
    assert!(has_action(&dawn, "sleepy", "sleep"), "{dawn}");
    h.deliver_events(DAWN).await;

    // A person's sleep, through the sleeper; one the sleeper declines exits 1.
    let (code, stdout, stderr) = h
        .sagetide(&["sleep", "manual", "--force"], "2026-11-23T05:05:00Z")
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("manual sleep: applied"), "{stdout}");
    let (code, stdout, _) = h
        .sagetide(&["sleep", "office", "--force"], "2026-11-23T05:05:00Z")
        .await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("declined"), "{stdout}");
    h.deliver_events("2026-11-23T05:05:00Z").await;
    assert_eq!(h.aws.endpoint_status("manual").await, None);
    // And an inference component's, to zero copies.
    let (code, stdout, stderr) = h
        .sagetide(
            &["sleep", "--component", "embed", "--force"],
            "2026-11-23T05:05:00Z",
        )
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("host sleep: applied") && stdout.contains("embed"),
        "{stdout}"
    );
    h.moto.settle().await;
    assert_eq!(h.aws.copies("embed").await, ("InService".into(), 0, 0));

    // The fleet as it stands.
    let (code, stdout, stderr) = h.sagetide(&["status", "--output", "json"], LATER).await;
    assert_eq!(code, 0, "{stderr}");
    let statuses: Value = serde_json::from_str(&stdout).unwrap();
    let sleepy = status_of(&statuses, "sleepy");
    assert_eq!(sleepy["state"], "asleep", "{sleepy}");
    assert_eq!(sleepy["wants"], "asleep", "{sleepy}");
    assert_eq!(sleepy["next"]["utc"], "2026-11-23T06:30:00Z", "{sleepy}");
    assert_eq!(
        sleepy["next"]["local"], "2026-11-23 Mon 07:30 CET",
        "{sleepy}"
    );
    assert_eq!(sleepy["next"]["wants"], "awake 1..2", "{sleepy}");
    let office = status_of(&statuses, "office");
    assert_eq!(office["state"], "awake");
    assert_eq!(office["variants"][0]["instances"], 1, "{office}");
    assert_eq!(office["variants"][0]["target"], "1..1", "{office}");
    assert_eq!(office["wants"], "awake 1..1", "{office}");
    assert_eq!(office["next"]["utc"], "2026-11-23T07:00:00Z", "{office}");
    assert_eq!(office["next"]["wants"], "awake 2..10", "{office}");
    let remedies = status_of(&statuses, "guarded")["remedies"].to_string();
    assert!(
        remedies.contains("hold-on-5xx") && remedies.contains(FIVE_XX),
        "{remedies}"
    );
    assert!(remedies.contains("scale-in suspended"), "{remedies}");
    assert_eq!(status_of(&statuses, "manual")["state"], "asleep");
    // Each endpoint's history in time order, the sleeps among it.
    for status in statuses["endpoints"].as_array().unwrap() {
        let times: Vec<&str> = status["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["at"].as_str().unwrap())
            .collect();
        let mut sorted = times.clone();
        sorted.sort_by_key(|t| t.parse::<jiff::Timestamp>().unwrap());
        assert_eq!(times, sorted, "{status}");
    }
    // The component on its own, by its copies.
    let chat = &statuses["components"][0];
    assert_eq!(chat["component"], "chat", "{statuses}");
    assert_eq!(chat["endpoint"], "host", "{chat}");
    assert_eq!(chat["state"], "awake", "{chat}");
    assert_eq!(chat["copies"], 1, "{chat}");
    assert_eq!(chat["wants"], "awake 1..1", "{chat}");
    assert_eq!(chat["next"]["wants"], "awake 2..10", "{chat}");
    let embed = &statuses["components"][1];
    assert_eq!(
        (&embed["component"], &embed["state"], &embed["copies"]),
        (
            &Value::from("embed"),
            &Value::from("asleep"),
            &Value::from(0)
        ),
        "{statuses}"
    );
    // Each one's own entries from its host's history: embed's sleep, chat's target.
    let slept = embed["history"].to_string();
    assert!(
        slept.contains("\"sleep\"") && slept.contains("applied") && !slept.contains("chat"),
        "{statuses}"
    );
    let targeted = statuses["components"][0]["history"].to_string();
    assert!(
        targeted.contains("register-target component chat") && !targeted.contains("embed"),
        "{statuses}"
    );
    let history = status_of(&statuses, "sleepy")["history"].to_string();
    assert!(
        history.contains("\"sleep\"") && history.contains("applied"),
        "{history}"
    );
    // The same as text, and one endpoint by name; an unknown one exits 1.
    let (code, table, _) = h.sagetide(&["status"], LATER).await;
    assert_eq!(code, 0);
    assert!(table.contains("sleepy: asleep"), "{table}");
    assert!(
        table.contains("next      2026-11-23 Mon 07:30 CET (2026-11-23 06:30 UTC): awake 1..2"),
        "{table}"
    );
    assert!(table.contains("remedy    rule hold-on-5xx"), "{table}");
    assert!(
        table.contains("chat (component on host/AllTraffic): awake\n  capacity  1 copies"),
        "{table}"
    );
    let (code, one, _) = h.sagetide(&["status", "office"], LATER).await;
    assert_eq!(code, 0);
    assert!(one.starts_with("office: awake"), "{one}");
    assert!(!one.contains("sleepy"), "{one}");
    let (code, _, stderr) = h.sagetide(&["status", "nowhere"], LATER).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nowhere is not opted in"), "{stderr}");

    // 08:00 CET: the periods begin, with a remedy in force and two endpoints asleep. As
    // text, for one endpoint:
    let (code, text, _) = h
        .sagetide(&["plan", "--at", EIGHT, "--endpoint", "office"], EIGHT)
        .await;
    assert_eq!(code, 0);
    assert!(
        text.contains("office  set-capacity AllTraffic 1..1 -> 2..10  (schedule office-hours"),
        "{text}"
    );
    assert!(!text.contains("sleepy"), "{text}");
    let eight = plan_then_tick(&h, EIGHT).await;
    assert!(has_action(&eight, "office", "set-capacity"), "{eight}");
    assert!(has_action(&eight, "sleepy", "wake"), "{eight}");
    // The waker carried the tick's wake out: its entry, not the scheduler's too.
    assert_eq!(
        h.aws.history("sleepy").await,
        ["sleep applied", "wake applied"]
    );

    // A person's wake, through the waker.
    let (code, stdout, stderr) = h.sagetide(&["wake", "manual"], EIGHT).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("manual wake: applied"), "{stdout}");
    assert!(h.aws.endpoint_status("manual").await.is_some());
    let (code, stdout, stderr) = h.sagetide(&["wake", "--component", "embed"], EIGHT).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    h.moto.settle().await;
    assert_eq!(h.aws.copies("embed").await, ("InService".into(), 1, 1));
    // An endpoint and a component at once is refused by the command line itself.
    let (code, _, stderr) = h
        .sagetide(&["wake", "manual", "--component", "embed"], EIGHT)
        .await;
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_the_parameter_and_a_missing_deployment_is_named() {
    let h = Harness::start(CONFIG).await;
    let parameter = sagetide_tests::seed::CONFIG_PARAMETER;
    let (code, stdout, stderr) = h
        .sagetide(&["check", "--parameter", parameter, "--days", "1"], DAWN)
        .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .contains("nights-off (Europe/Berlin), 2026-11-23 05:00 UTC to 2026-11-24 05:00 UTC:"),
        "{stdout}"
    );
    let (code, _, stderr) = h
        .sagetide(&["check", "--parameter", "/nowhere"], DAWN)
        .await;
    // The operator's policy reads the deployment's own parameter only.
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("AccessDenied") && stderr.contains("parameter/nowhere"),
        "{stderr}"
    );

    let (code, _, stderr) = h.sagetide(&["plan"], DAWN).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{DEPLOYMENT}-scheduler")),
        "{stderr}"
    );
    let (code, _, stderr) = h.sagetide(&["status", "--stack", "elsewhere"], DAWN).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("elsewhere-scheduler"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn savings_equal_the_hours_the_history_shows_below_each_baseline() {
    let h = Harness::start(CONFIG).await;
    h.aws.deploy_functions().await;
    for (name, schedule) in [("office", "office-hours"), ("sleepy", "nights-off")] {
        h.aws
            .create_endpoint(name, &["AllTraffic"], &[("sagetide:schedule", schedule)])
            .await;
        h.aws.register_target(name, "AllTraffic", 1, 1, None).await;
    }
    // Monday and Tuesday in Berlin: the periods at 08:00 CET (07:00 UTC), sleepy's prewarm
    // at 07:30, the off-hours at 19:00.
    let mut scheduler = h.scheduler(&[]);
    for tick in [
        "2026-11-23T07:00:00Z",
        "2026-11-23T18:00:00Z",
        "2026-11-24T06:30:00Z",
        "2026-11-24T07:00:00Z",
        "2026-11-24T18:00:00Z",
    ] {
        let report = scheduler
            .invoke(scheduled_event(tick))
            .await
            .expect("the tick");
        assert!(
            !report["actions"].as_array().unwrap().is_empty(),
            "{tick}: {report}"
        );
        h.deliver_events(tick).await;
    }
    let prices = std::env::temp_dir().join(format!("sagetide-prices-{}.yaml", std::process::id()));
    std::fs::write(&prices, "currency: EUR\nper_hour: {ml.m5.large: 0.1}\n").unwrap();
    let (code, stdout, stderr) = h
        .sagetide(
            &[
                "savings",
                "--since",
                "2026-11-23T00:00:00Z",
                "--prices",
                prices.to_str().unwrap(),
                "--output",
                "json",
            ],
            "2026-11-25T00:00:00Z",
        )
        .await;
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let variant = |endpoint: &str| {
        report["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == endpoint)
            .unwrap_or_else(|| panic!("{endpoint} in {report}"))["variants"][0]
            .clone()
    };
    // office: 2 instances in its periods, 1 from Monday 19:00 CET to Tuesday 08:00 (13 h) and
    // from Tuesday 19:00 to the report (6 h).
    let office = variant("office");
    assert_eq!(office["baseline"], 2, "{office}");
    assert_eq!(office["scaled_down_hours"], 19.0, "{office}");
    assert_eq!(office["instance_type"], "ml.m5.large");
    // sleepy: its one instance asleep from Monday 19:00 CET to Tuesday 07:30 (12.5 h) and from
    // Tuesday 19:00 (6 h).
    let sleepy = variant("sleepy");
    assert_eq!(sleepy["baseline"], 1, "{sleepy}");
    assert_eq!(sleepy["asleep_hours"], 18.5, "{sleepy}");
    assert_eq!(sleepy["scaled_down_hours"], 0.0, "{sleepy}");
    assert_eq!(report["instance_hours"], 37.5);
    assert!(
        (report["money"].as_f64().unwrap() - 3.75).abs() < 1e-9,
        "{report}"
    );
    assert_eq!(report["currency"], "EUR");
    assert_eq!(report["example_prices"], false);

    // The same as text, with the shipped example's prices marked as such.
    let (code, text, _) = h
        .sagetide(
            &["savings", "--since", "2026-11-23T00:00:00Z"],
            "2026-11-25T00:00:00Z",
        )
        .await;
    assert_eq!(code, 0);
    assert!(
        text.contains("office/AllTraffic (ml.m5.large, baseline 2): 0.0 instance-hours asleep, 19.0 scaled down"),
        "{text}"
    );
    assert!(text.contains("total: 37.5 instance-hours"), "{text}");
    assert!(text.contains("EXAMPLE, not current prices"), "{text}");

    // The functions published the same figure as each change ended an interval: office's 13 h
    // at Tuesday 08:00 CET, sleepy's 12.5 h at its prewarm wake; the 6 h each since Tuesday
    // 19:00 are counted by the change that ends them.
    let (from, to) = (
        "2026-11-23T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second(),
        "2026-11-25T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second(),
    );
    let aws = &h.aws;
    let below = |endpoint: &'static str| async move {
        aws.sagetide_metric(
            sagetide::act::INSTANCE_HOURS_BELOW_BASELINE,
            &[("EndpointName", endpoint)],
            (from, to),
            60,
            "Sum",
        )
        .await
    };
    let at = |time: &str| time.parse::<jiff::Timestamp>().unwrap().as_second();
    assert_eq!(
        below("office").await.into_iter().collect::<Vec<_>>(),
        [(at("2026-11-24T07:00:00Z"), 13.0)]
    );
    assert_eq!(
        below("sleepy").await.into_iter().collect::<Vec<_>>(),
        [(at("2026-11-24T06:30:00Z"), 12.5)]
    );
    // The minimum held from each change on, and the sleeps counted.
    let held = h
        .aws
        .sagetide_metric(
            sagetide::act::MINIMUM_HELD,
            &[("EndpointName", "office"), ("VariantName", "AllTraffic")],
            (from, to),
            60,
            "Maximum",
        )
        .await;
    assert_eq!(
        held.into_iter().collect::<Vec<_>>(),
        [
            (at("2026-11-23T07:00:00Z"), 2.0),
            (at("2026-11-23T18:00:00Z"), 1.0),
            (at("2026-11-24T07:00:00Z"), 2.0),
            (at("2026-11-24T18:00:00Z"), 1.0),
        ]
    );
    let sleepy = h
        .aws
        .sagetide_metric(
            sagetide::act::MINIMUM_HELD,
            &[("EndpointName", "sleepy"), ("VariantName", "AllTraffic")],
            (from, to),
            60,
            "Maximum",
        )
        .await;
    assert_eq!(
        sleepy.get(&at("2026-11-23T18:00:00Z")),
        Some(&0.0),
        "{sleepy:?}"
    );
    assert_eq!(
        sleepy.get(&at("2026-11-24T06:30:00Z")),
        Some(&1.0),
        "{sleepy:?}"
    );
    assert_eq!(
        h.aws
            .sagetide_sum(
                sagetide::act::ACTIONS,
                &[("Action", "sleep"), ("Outcome", "applied")],
                from,
                to
            )
            .await,
        2.0
    );
}
