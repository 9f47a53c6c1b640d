//! The local demo: a small fleet in moto lives through 48 simulated hours while the real
//! `scheduler` binary ticks every 15 minutes. Prints the timeline of capacity per endpoint, the
//! AWS calls it took, and what a week of these schedules saves against always-on.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use sagetide::config::Config;
use sagetide::schedule::Desired;
use sagetide_tests::{Harness, proxy, scheduled_event};
use serde_json::Value;

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
"#;

struct DemoEndpoint {
    name: &'static str,
    variants: &'static [&'static str],
    schedule: Option<&'static str>,
    /// Capacity of the scalable target before sagetide's first tick.
    initial: (i32, i32),
}

const FLEET: [DemoEndpoint; 6] = [
    DemoEndpoint {
        name: "fraud-detector",
        variants: &["AllTraffic"],
        schedule: Some("office-hours"),
        initial: (2, 10),
    },
    DemoEndpoint {
        name: "recommender-ab",
        variants: &["blue", "green"],
        schedule: Some("office-hours"),
        initial: (2, 10),
    },
    DemoEndpoint {
        name: "search-ranker",
        variants: &["AllTraffic"],
        schedule: Some("us-business"),
        initial: (3, 8),
    },
    DemoEndpoint {
        name: "support-bot",
        variants: &["AllTraffic"],
        schedule: Some("us-business"),
        initial: (3, 8),
    },
    DemoEndpoint {
        name: "nightly-embed",
        variants: &["AllTraffic"],
        schedule: Some("tokyo-batch"),
        initial: (2, 4),
    },
    DemoEndpoint {
        name: "legacy-scoring",
        variants: &["AllTraffic"],
        schedule: None,
        initial: (2, 2),
    },
];

const START: &str = "2026-11-23T00:00:00Z";
const HOURS: i64 = 48;
const TICK_MINUTES: i64 = 15;
/// The support team works late on Monday: they hold support-bot awake with an override.
const OVERRIDE_AT: &str = "2026-11-23T23:00:00Z";
const OVERRIDE: &str = "awake-until=2026-11-24T03:00:00Z";

#[tokio::main]
async fn main() {
    let h = Harness::start(CONFIG).await;
    for e in &FLEET {
        let tags: Vec<(&str, &str)> = e
            .schedule
            .map(|s| ("sagetide:schedule", s))
            .into_iter()
            .collect();
        h.aws.create_endpoint(e.name, e.variants, &tags).await;
        for v in e.variants {
            h.aws
                .register_target(e.name, v, e.initial.0, e.initial.1, None)
                .await;
        }
    }
    let mut scheduler = h.function("scheduler", &[]).await;

    println!(
        "sagetide demo: {} endpoints in moto, the scheduler binary ticking every {TICK_MINUTES} simulated minutes for {HOURS} h from {START}",
        FLEET.len()
    );
    println!(
        "schedules: office-hours (Europe/Berlin, mon-fri 08-19 → 2..10, else 1..1), us-business (America/New_York, mon-fri 09-18 → 3..8, else 1..2),"
    );
    println!(
        "           tokyo-batch (Asia/Tokyo, mon-fri 22-06 → 2..4, else 1..1); legacy-scoring carries no sagetide tag."
    );
    println!(
        "cells are MinCapacity..MaxCapacity of each endpoint's scalable targets; a row is printed whenever one changes.\n"
    );
    print_header();

    let start: Timestamp = START.parse().unwrap();
    let ticks = HOURS * 60 / TICK_MINUTES;
    let mut previous = BTreeMap::new();
    let (mut calls, mut mutating) = (0, 0);
    for i in 0..ticks {
        let now = start + SignedDuration::from_mins(i * TICK_MINUTES);
        if now == OVERRIDE_AT.parse().unwrap() {
            h.aws
                .set_tag("support-bot", "sagetide:override", OVERRIDE)
                .await;
            println!(
                "{:>27}  ✎ someone tags support-bot sagetide:override={OVERRIDE}: it stays awake past 18:00 New York",
                ""
            );
        }
        let report = scheduler
            .invoke(scheduled_event(&now.to_string()))
            .await
            .expect("tick");
        let tick_calls = h.proxy.take();
        calls += tick_calls.len();
        mutating += proxy::mutating(&tick_calls).len();
        let capacities = observe(&h).await;
        if capacities != previous {
            print_row(now, &capacities, &previous, &report);
            previous = capacities;
        }
    }

    let duplicate = scheduler
        .invoke(scheduled_event(
            &(start + SignedDuration::from_hours(HOURS - 1)).to_string(),
        ))
        .await
        .expect("duplicate tick");
    let duplicate_calls = h.proxy.take();
    println!(
        "\nAWS calls: {calls} in {ticks} ticks, {mutating} of them mutating (RegisterScalableTarget, DeleteTags); a steady tick makes {} calls ({}).",
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
    print_week_savings();
    show_fleet_utilization(&h).await;
}

/// pool-metrics on one endpoint: moto cannot run instance pools, so this is a single-type
/// variant (3 instances of the g6 stand-in, capacity 8 each) whose load rises through a minute.
async fn show_fleet_utilization(h: &Harness) {
    const ENDPOINT: &str = "chat-llm";
    let minute: i64 = "2026-11-24T12:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second();
    h.aws
        .create_endpoint_with(
            ENDPOINT,
            &[("AllTraffic", "ml.g4dn.xlarge", 3)],
            &[("sagetide:pool-capacity", "ml.g4dn.xlarge=8")],
        )
        .await;
    let load = [2.0, 3.5, 5.0, 6.0, 7.0, 7.5];
    let points: Vec<(i64, f64)> = load
        .iter()
        .enumerate()
        .map(|(i, c)| (minute + 10 * i as i64, *c))
        .collect();
    h.aws
        .put_concurrency(
            &[
                ("EndpointName", ENDPOINT),
                ("VariantName", "AllTraffic"),
                ("InstanceType", "ml.g4dn.xlarge"),
            ],
            &points,
        )
        .await;
    let mut pool_metrics = h.function("pool-metrics", &[]).await;
    let now = Timestamp::from_second(minute + 65).unwrap();
    pool_metrics
        .invoke(scheduled_event(&now.to_string()))
        .await
        .expect("pool-metrics run");
    let published = h
        .aws
        .fleet_utilization(ENDPOINT, "AllTraffic", minute, minute + 60)
        .await;

    println!(
        "\npool-metrics at {now}: {ENDPOINT}, 3 instances of capacity 8 (tag sagetide:pool-capacity=ml.g4dn.xlarge=8)"
    );
    println!(
        "{:<10} {:>28} {:>26}",
        "bucket", "in flight per instance", "Sagetide/FleetUtilization"
    );
    for (at, c) in &points {
        let bucket = Timestamp::from_second(*at)
            .unwrap()
            .strftime("%H:%M:%S")
            .to_string();
        let value = published
            .get(at)
            .map_or("-".to_owned(), |u| format!("{u:.3}"));
        let verdict = if published.get(at).is_some_and(|u| *u > 0.75) {
            "  > 0.75: scale out"
        } else {
            ""
        };
        println!("{bucket:<10} {c:>28.1} {value:>26}{verdict}");
    }
}

fn print_header() {
    let mut line = format!("{:<27}", "time (UTC) / Berlin NY Tokyo");
    for e in &FLEET {
        let _ = write!(line, " {:>14}", e.name);
    }
    println!("{line}");
}

/// Capacity per endpoint, as `min..max` (variants that differ are joined with `/`).
async fn observe(h: &Harness) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    for e in &FLEET {
        let mut cells: Vec<String> = Vec::new();
        for v in e.variants {
            let cell = match h.aws.capacity(e.name, v).await {
                Some((min, max)) => format!("{min}..{max}"),
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
    report: &Value,
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
        let _ = write!(
            line,
            " {:>14}",
            if changed {
                format!("*{cell}")
            } else {
                cell.clone()
            }
        );
    }
    println!("{line}");
    for action in report["actions"].as_array().into_iter().flatten() {
        if action["action"] == "remove-override" {
            println!(
                "{:>27}  ✎ {}: {} ({})",
                "",
                action["endpoint"].as_str().unwrap_or(""),
                action["detail"].as_str().unwrap_or(""),
                action["reason"].as_str().unwrap_or("")
            );
        }
    }
}

/// A week of the demo's schedules, sampled every 15 minutes with the same engine the scheduler
/// uses: instance-hours at MinCapacity (the floor an idle endpoint runs at) with sagetide,
/// against keeping the period's minimum all week.
fn print_week_savings() {
    let config = Config::parse(CONFIG).unwrap();
    let start: Timestamp = START.parse().unwrap();
    let step = SignedDuration::from_mins(TICK_MINUTES);
    println!("\nA week of these schedules (instance-hours at MinCapacity, per variant):");
    println!(
        "{:<16} {:>10} {:>10} {:>8}",
        "endpoint", "always-on", "sagetide", "saved"
    );
    let (mut total_on, mut total_st) = (0.0, 0.0);
    for e in FLEET.iter().filter(|e| e.schedule.is_some()) {
        let schedule = config.schedule(e.schedule.unwrap()).unwrap();
        let always_on = schedule.awake_capacity().unwrap().min() as f64;
        let mut hours_on = 0.0;
        let mut hours_st = 0.0;
        let mut at = start;
        while at < start + SignedDuration::from_hours(24 * 7) {
            let min = match schedule.state_at(at).desired {
                Desired::Awake(c) => c.min() as f64,
                Desired::Asleep => 0.0,
            };
            hours_on += always_on * 0.25;
            hours_st += min * 0.25;
            at += step;
        }
        let variants = e.variants.len() as f64;
        total_on += hours_on * variants;
        total_st += hours_st * variants;
        println!(
            "{:<16} {:>10.0} {:>10.0} {:>7.0}%",
            e.name,
            hours_on * variants,
            hours_st * variants,
            100.0 * (1.0 - hours_st / hours_on)
        );
    }
    println!(
        "{:<16} {:>10.0} {:>10.0} {:>7.0}%",
        "fleet",
        total_on,
        total_st,
        100.0 * (1.0 - total_st / total_on)
    );
}
