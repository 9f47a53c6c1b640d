//! The local demo: a small fleet in moto lives through 48 simulated hours while the real
//! `scheduler` binary ticks every 15 minutes, and `sleeper`, `waker` and `restorer` answer the
//! events AWS would send. Prints the timeline, the AWS calls it took, what a week of these
//! schedules saves against always-on, and pool-metrics' FleetUtilization.

mod fleet_utilization;
mod savings;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use sagetide_tests::{
    Harness, alarm_change, alarm_event, endpoint_state_event, proxy, scheduled_event,
};
use serde_json::{Value, json};

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
    holidays: ["2026-12-24", "2026-12-25"]
  us-business:
    timezone: America/New_York
    periods:
      - { days: mon-fri, start: "09:00", end: "18:00", capacity: { min: 3, max: 8 } }
    off_hours: { min: 1, max: 2 }
  tokyo-batch:
    timezone: Asia/Tokyo
    periods:
      - { days: mon-fri, start: "22:00", end: "06:00", capacity: { min: 2, max: 4 } }
    off_hours: { min: 1, max: 1 }
  berlin-desk:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-5xx-*"]
    action: suspend-scale-in
"#;

struct DemoEndpoint {
    name: &'static str,
    variants: &'static [&'static str],
    tags: &'static [(&'static str, &'static str)],
    /// Capacity of the scalable target before sagetide's first tick; `None`: a whole
    /// autoscaling set-up (target partly suspended, four policies, two scheduled actions).
    initial: Option<(i32, i32)>,
}

const FLEET: [DemoEndpoint; 8] = [
    DemoEndpoint {
        name: "fraud-detector",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Some((2, 10)),
    },
    DemoEndpoint {
        name: "recommender-ab",
        variants: &["blue", "green"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Some((2, 10)),
    },
    DemoEndpoint {
        name: "search-ranker",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Some((3, 8)),
    },
    DemoEndpoint {
        name: "support-bot",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Some((3, 8)),
    },
    DemoEndpoint {
        name: "nightly-embed",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "tokyo-batch")],
        initial: Some((2, 4)),
    },
    DemoEndpoint {
        name: "doc-summarizer",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "berlin-desk")],
        initial: None,
    },
    DemoEndpoint {
        name: "image-tagger",
        variants: &["AllTraffic"],
        tags: &[
            ("sagetide:idle-after", "2h"),
            ("sagetide:wake-on", "manual"),
        ],
        initial: None,
    },
    DemoEndpoint {
        name: "legacy-scoring",
        variants: &["AllTraffic"],
        tags: &[],
        initial: Some((2, 2)),
    },
];

impl DemoEndpoint {
    fn schedule(&self) -> Option<&'static str> {
        self.tags
            .iter()
            .find(|(k, _)| *k == "sagetide:schedule")
            .map(|(_, v)| *v)
    }
}

const HOURS: i64 = 48;
const TICK_MINUTES: i64 = 15;
const IDLE: &str = "image-tagger";

/// What happens besides the ticks, in hours after the start.
const OVERRIDE_AT: i64 = 23;
const OVERRIDE_UNTIL: i64 = 27;
const INVOKED_AT_MINUTES: i64 = 20;
const IDLE_ALARMS_AT: [i64; 2] = [1, 3];
const WOKEN_BY_HAND_AT: i64 = 9;
/// fraud-detector's 5XX alarm fires and clears (hours and minutes after the start).
const ERRORS_FIRE_AT: (i64, i64) = (11, 0);
const ERRORS_CLEAR_AT: (i64, i64) = (12, 30);
const ERRORS_ALARM: &str = "sagetide-remediate-5xx-fraud-detector";

/// The Monday after today, 00:00 UTC: the simulated days lie ahead of the real clock, which
/// moto stamps endpoints with (an endpoint is idle only once it has existed a whole window).
fn next_monday() -> Timestamp {
    let mut day = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    loop {
        day = day.tomorrow().expect("a date after today");
        if day.weekday() == Weekday::Monday {
            return day
                .to_zoned_datetime(TimeZone::UTC)
                .expect("midnight UTC exists")
                .timestamp();
        }
    }
}

fn hours(start: Timestamp, h: i64) -> Timestamp {
    start + SignedDuration::from_hours(h)
}

#[tokio::main]
async fn main() {
    let start = next_monday();
    let h = Harness::start(CONFIG).await;
    for e in &FLEET {
        h.aws.create_endpoint(e.name, e.variants, e.tags).await;
        for v in e.variants {
            match e.initial {
                Some((min, max)) => h.aws.register_target(e.name, v, min, max, None).await,
                None => h.aws.seed_autoscaling(e.name, v).await,
            }
        }
    }
    let idle_before = h.aws.autoscaling_state(IDLE, "AllTraffic").await;
    h.aws
        .put_invocations(
            IDLE,
            "AllTraffic",
            &[(
                (start + SignedDuration::from_mins(INVOKED_AT_MINUTES)).as_second(),
                12.0,
            )],
        )
        .await;
    let mut scheduler = h.function("scheduler", &[]).await;

    println!(
        "sagetide demo: {} endpoints in moto; the scheduler binary ticks every {TICK_MINUTES} simulated minutes for {HOURS} h from {start},",
        FLEET.len()
    );
    println!(
        "and sleeper, waker and restorer answer the events AWS would send (moto sends none, so the demo delivers them)."
    );
    println!(
        "schedules: office-hours (Europe/Berlin, mon-fri 08-19 → 2..10, else 1..1), us-business (America/New_York, mon-fri 09-18 → 3..8, else 1..2),"
    );
    println!(
        "           tokyo-batch (Asia/Tokyo, mon-fri 22-06 → 2..4, else 1..1), berlin-desk (Europe/Berlin, mon-fri 08-18 → 1..4, else asleep, prewarm 30m)."
    );
    println!(
        "image-tagger has no schedule but sagetide:idle-after=2h; legacy-scoring carries no sagetide tag."
    );
    println!(
        "cells are MinCapacity..MaxCapacity of each endpoint's scalable targets (\"asleep\": deleted, its snapshot in the table);"
    );
    println!(
        "\"-in\": dynamic scale-in suspended (image-tagger and doc-summarizer are seeded so by their owner; fraud-detector by the remediator while its 5XX alarm fires)."
    );
    println!("a row is printed whenever one changes, with what happened under it.\n");
    print_header();

    let ticks = HOURS * 60 / TICK_MINUTES;
    let mut previous = BTreeMap::new();
    let (mut calls, mut mutating) = (0, 0);
    for i in 0..ticks {
        let now = start + SignedDuration::from_mins(i * TICK_MINUTES);
        let mut notes = Vec::new();
        if now == hours(start, OVERRIDE_AT) {
            let value = format!("awake-until={}", hours(start, OVERRIDE_UNTIL));
            h.aws
                .set_tag("support-bot", "sagetide:override", &value)
                .await;
            notes.push(format!(
                "someone tags support-bot sagetide:override={value}: it stays awake past 18:00 New York"
            ));
        }
        if IDLE_ALARMS_AT.iter().any(|at| now == hours(start, *at)) {
            notes.push(format!(
                "idle alarm sagetide-idle-{IDLE} goes to ALARM → sleeper"
            ));
            let mut sleeper = h
                .function("sleeper", &[("SAGETIDE_NOW", &now.to_string())])
                .await;
            let response = sleeper
                .invoke(alarm_event(
                    &format!("sagetide-idle-{IDLE}"),
                    "ALARM",
                    Some(IDLE),
                ))
                .await
                .expect("sleeper");
            notes.extend(describe(&response["reports"]));
            if response["reports"][0]["outcome"] == "applied" {
                // What AWS does when an endpoint is deleted, and moto does not.
                h.aws.forget_autoscaling(IDLE, "AllTraffic").await;
            }
        }
        if now == hours(start, WOKEN_BY_HAND_AT) {
            notes.push(format!(
                "someone needs {IDLE}: {{\"action\":\"wake\",\"endpoint\":\"{IDLE}\"}} → waker"
            ));
            let env = [("SAGETIDE_NOW", now.to_string())];
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut waker = h.function("waker", &env).await;
            let response = waker
                .invoke(json!({"action": "wake", "endpoint": IDLE}))
                .await
                .expect("waker");
            notes.extend(describe(&response["reports"]));
            notes.extend(restore(&h, IDLE, now).await);
        }
        for ((h_, m), state) in [(ERRORS_FIRE_AT, "ALARM"), (ERRORS_CLEAR_AT, "OK")] {
            if now == hours(start, h_) + SignedDuration::from_mins(m) {
                notes.push(format!(
                    "alarm {ERRORS_ALARM} (Invocation5XXErrors) goes to {state} → remediator"
                ));
                h.aws.alarm_in_state(ERRORS_ALARM, state).await;
                let mut remediator = h
                    .function("remediator", &[("SAGETIDE_NOW", &now.to_string())])
                    .await;
                let response = remediator
                    .invoke(alarm_change(
                        ERRORS_ALARM,
                        state,
                        Some("fraud-detector"),
                        &now.to_string(),
                    ))
                    .await
                    .expect("remediator");
                notes.extend(describe(&response["reports"]));
            }
        }
        let report = scheduler
            .invoke(scheduled_event(&now.to_string()))
            .await
            .expect("tick");
        for action in report["actions"].as_array().into_iter().flatten() {
            if action["action"] == "put-idle-alarm" && i > 0
                || action["action"] == "delete-idle-alarm"
            {
                notes.extend(describe(&json!([action])));
            }
            if ["remove-override", "sleep", "wake", "restore"]
                .contains(&action["action"].as_str().unwrap_or(""))
            {
                notes.extend(describe(&json!([action])));
            }
            let endpoint = action["endpoint"].as_str().unwrap_or("");
            if action["outcome"] == "applied" && action["action"] == "sleep" {
                for v in variants(endpoint) {
                    h.aws.forget_autoscaling(endpoint, v).await;
                }
            }
            if action["outcome"] == "applied" && action["action"] == "wake" {
                notes.extend(restore(&h, endpoint, now).await);
            }
        }
        let tick_calls = h.proxy.take();
        calls += tick_calls.len();
        mutating += proxy::mutating(&tick_calls).len();
        let capacities = observe(&h).await;
        if capacities != previous || !notes.is_empty() {
            print_row(now, &capacities, &previous);
            for note in notes {
                println!("{:>27}  ✎ {note}", "");
            }
            previous = capacities;
        }
        if now == hours(start, WOKEN_BY_HAND_AT) {
            compare(
                &idle_before,
                &h.aws.autoscaling_state(IDLE, "AllTraffic").await,
            );
        }
    }

    let duplicate = scheduler
        .invoke(scheduled_event(&hours(start, HOURS - 1).to_string()))
        .await
        .expect("duplicate tick");
    let duplicate_calls = h.proxy.take();
    println!(
        "\nAWS calls: {calls} in {ticks} ticks and the events, {mutating} of them mutating; a steady tick makes {} calls ({}).",
        duplicate_calls.len(),
        duplicate_calls.join(", ")
    );
    println!(
        "A repeated tick (the last one delivered again) planned {} actions and made {} mutating calls.",
        duplicate["actions"].as_array().map_or(0, Vec::len),
        proxy::mutating(&duplicate_calls).len()
    );
    println!(
        "support-bot's tags after the override expired: {:?}",
        h.aws.tags("support-bot").await
    );
    for name in ["doc-summarizer", IDLE] {
        let mut history = h.aws.history(name).await;
        history.sort();
        println!("history of {name} in the table: {}", history.join(", "));
    }
    savings::print_week(start);
    fleet_utilization::show(&h, hours(start, 36)).await;
}

fn variants(endpoint: &str) -> &'static [&'static str] {
    FLEET
        .iter()
        .find(|e| e.name == endpoint)
        .map_or(&[], |e| e.variants)
}

/// The endpoint is InService again: the "SageMaker Endpoint State Change" reaches the restorer.
async fn restore(h: &Harness, endpoint: &str, now: Timestamp) -> Vec<String> {
    let mut restorer = h
        .function("restorer", &[("SAGETIDE_NOW", &now.to_string())])
        .await;
    let response = restorer
        .invoke(endpoint_state_event(endpoint, "IN_SERVICE"))
        .await
        .expect("restorer");
    let mut notes = vec![format!("{endpoint} is IN_SERVICE → restorer")];
    notes.extend(describe(&response["reports"]));
    notes
}

/// One line per report: endpoint, action, outcome and what was done or why not.
fn describe(reports: &Value) -> Vec<String> {
    reports
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            // A scheduler action's detail may only repeat the action: its reason says more.
            let detail = text("detail");
            let detail = if detail.is_empty() || detail == text("action") {
                text("reason")
            } else {
                detail
            };
            format!(
                "{} {}: {} — {detail}",
                text("endpoint"),
                text("action"),
                text("outcome")
            )
        })
        .collect()
}

/// The autoscaling of the idle endpoint before it slept, next to what the restorer brought back.
fn compare(before: &[String], after: &[String]) {
    println!(
        "{:>27}  {IDLE}'s autoscaling, before its sleep → after its restore:",
        ""
    );
    for line in before {
        let summary: Vec<&str> = line.split_whitespace().take(4).collect();
        let verdict = if after.contains(line) {
            "identical"
        } else {
            "MISSING"
        };
        println!("{:>27}    {:<60} {verdict}", "", summary.join(" "));
    }
    for line in after.iter().filter(|l| !before.contains(l)) {
        println!("{:>27}    unexpected: {line}", "");
    }
}

fn width(name: &str) -> usize {
    name.len().max(8)
}

fn print_header() {
    let mut line = format!("{:<27}", "time (UTC) / Berlin NY Tokyo");
    for e in &FLEET {
        let _ = write!(line, " {:>w$}", e.name, w = width(e.name));
    }
    println!("{line}");
}

/// Capacity per endpoint, as `min..max` (variants that differ are joined with `/`), or
/// "asleep" when the endpoint does not exist.
async fn observe(h: &Harness) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    for e in &FLEET {
        if h.aws.endpoint(e.name).await.is_none() {
            out.insert(e.name, "asleep".to_owned());
            continue;
        }
        let mut cells: Vec<String> = Vec::new();
        for v in e.variants {
            let cell = match h.aws.target(e.name, v).await {
                Some(t) => {
                    let scale_in_off = t
                        .suspended_state
                        .and_then(|s| s.dynamic_scaling_in_suspended)
                        .unwrap_or(false);
                    let mark = if scale_in_off { " -in" } else { "" };
                    format!("{}..{}{mark}", t.min_capacity, t.max_capacity)
                }
                None => "-".into(),
            };
            if !cells.contains(&cell) {
                cells.push(cell);
            }
        }
        out.insert(e.name, cells.join("/"));
    }
    out
}

fn print_row(
    now: Timestamp,
    capacities: &BTreeMap<&str, String>,
    previous: &BTreeMap<&str, String>,
) {
    let local = |tz: &str| now.in_tz(tz).unwrap().strftime("%H:%M").to_string();
    let mut line = format!(
        "{} {} {} {}",
        now.in_tz("UTC").unwrap().strftime("%a %H:%M"),
        local("Europe/Berlin"),
        local("America/New_York"),
        local("Asia/Tokyo")
    );
    line = format!("{line:<27}");
    for e in &FLEET {
        let cell = &capacities[e.name];
        let changed = previous.get(e.name).is_some_and(|p| p != cell);
        let cell = if changed {
            format!("*{cell}")
        } else {
            cell.clone()
        };
        let _ = write!(line, " {cell:>w$}", w = width(e.name));
    }
    println!("{line}");
}
