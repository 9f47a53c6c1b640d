//! The local demo: a small fleet in moto lives through 48 simulated hours while the real
//! `scheduler` binary ticks every 15 minutes, and `sleeper`, `waker` and `restorer` answer the
//! events AWS would send. Prints the timeline, the AWS calls it took, what a week of these
//! schedules saves against always-on, and pool-metrics' FleetUtilization.

mod fleet_utilization;
mod picture;
mod savings;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use sagetide::schedule::Why;
use sagetide_tests::demo_fleet::{
    CONFIG, FLEET, IDLE, Kind, TICK_MINUTES, World, hours, next_monday,
};
use sagetide_tests::{Harness, proxy};
use serde_json::{Value, json};

const HOURS: i64 = 48;
/// When image-tagger's restored autoscaling is compared with what it had (after the wake).
const COMPARED_AT: i64 = 9;

#[tokio::main]
async fn main() {
    let start = next_monday();
    let h = Harness::start(CONFIG).await;
    h.aws.deploy_functions().await;
    let mut world = World::seed(&h, start, HOURS / 24).await;
    let idle_before = h.aws.autoscaling_state(IDLE, "AllTraffic").await;
    h.proxy.take();

    println!(
        "sagetide demo: {} endpoints in moto; the scheduler binary ticks every {TICK_MINUTES} simulated minutes for {HOURS} h from {start},",
        FLEET.len()
    );
    println!(
        "and sleeper, waker, restorer and remediator answer the events: the local AWS's own (endpoint state changes), and the demo's alarms and requests."
    );
    println!(
        "schedules: office-hours (Europe/Berlin, mon-fri 08-19 → 2..10, else 1..1), us-business (America/New_York, mon-fri 09-18 → 3..8, else 1..2),"
    );
    println!(
        "           tokyo-batch (Asia/Tokyo, mon-fri 22-06 → 2..4, else 1..1), berlin-desk (Europe/Berlin, mon-fri 08-12:30 and 13:15-18 → 1..4, else asleep, prewarm 30m;
           the 15 minutes of lunch left after the prewarm are shorter than min_sleep, 1h, so it stays awake through them)."
    );
    println!(
        "image-tagger has no schedule but sagetide:idle-after=2h (requests at 00:20 each day); legacy-scoring carries no sagetide tag."
    );
    println!(
        "Other kinds: audio-queue is asynchronous on queue-hours (Europe/Berlin, mon-fri 07-20 → 1..4, else 0..4: zero instances off-hours),"
    );
    println!(
        "faq-serverless is serverless, its provisioned concurrency on office-hours; llm-host hosts the inference component llama-chat, whose own"
    );
    println!(
        "sagetide:schedule=berlin-desk gives it zero copies off-hours (its cell: the component's copies; nothing is deleted, the endpoint's instances follow)."
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
    let desk = sagetide::config::Config::parse(CONFIG).expect("the demo's document");
    let desk = desk.schedule("berlin-desk").expect("the desk schedule");
    let mut at_lunch = false;
    let mut observed = Vec::new();
    for i in 0..ticks {
        let step = world.step(world.tick_at(i)).await;
        let mut notes = step.by_hand.clone();
        // The lunch break is too short to sleep through: nothing changes, so say it once.
        let why = desk.state_at(step.now).why;
        if matches!(why, Why::ShortGap { .. }) && !at_lunch {
            notes.push(format!(
                "doc-summarizer stays awake: schedule berlin-desk: {why}"
            ));
        }
        at_lunch = matches!(why, Why::ShortGap { .. });
        for delivery in &step.deliveries {
            notes.push(delivery.what.clone());
            if let Ok(answer) = &delivery.answer {
                notes.extend(describe(&answer["reports"]));
            }
        }
        let report = step.tick.expect("tick");
        for action in report["actions"].as_array().into_iter().flatten() {
            let kind = action["action"].as_str().unwrap_or("");
            if kind == "put-idle-alarm" && i > 0
                || ["delete-idle-alarm", "remove-override", "sleep", "wake"].contains(&kind)
            {
                notes.extend(describe(&json!([action])));
            }
        }
        let step_calls = h.proxy.take();
        calls += step_calls.len();
        mutating += proxy::mutating(&step_calls).len();
        let capacities = observe(&h).await;
        observed.push((step.now, capacities.clone()));
        if capacities != previous || !notes.is_empty() {
            print_row(step.now, &capacities, &previous);
            for note in notes {
                println!("{:>27}  ✎ {note}", "");
            }
            previous = capacities;
        }
        if step.now == start + hours(COMPARED_AT) {
            compare(
                &idle_before,
                &h.aws.autoscaling_state(IDLE, "AllTraffic").await,
            );
        }
    }

    let repeated = world.step(world.tick_at(ticks - 4)).await;
    let repeated_calls = h.proxy.take();
    let repeated = repeated.tick.expect("repeated tick");
    println!(
        "\nAWS calls: {calls} in {ticks} ticks and the events, {mutating} of them mutating; a steady tick makes {} calls ({}).",
        repeated_calls.len(),
        repeated_calls.join(", ")
    );
    println!(
        "A repeated tick (the one an hour before the end, delivered again) planned {} actions and made {} mutating calls.",
        repeated["actions"].as_array().map_or(0, Vec::len),
        proxy::mutating(&repeated_calls).len()
    );
    println!(
        "support-bot's tags after the override expired: {:?}",
        h.aws.tags("support-bot").await
    );
    let end = start + hours(HOURS);
    println!(
        "\nThe picture of these {HOURS} hours: {}",
        picture::write(&observed, end).display()
    );
    for command in [
        vec!["status", "doc-summarizer", "--history", "8"],
        vec!["status", IDLE, "--history", "8"],
        vec!["savings", "--since", &start.to_string()],
    ] {
        let (_, out, err) = h.sagetide(&command, end).await;
        println!("\n$ sagetide {}\n{out}{err}", command.join(" "));
    }
    published_savings(&h, start, end).await;
    savings::print_week(start);
    fleet_utilization::show(&h, start + hours(36)).await;
}

/// What the functions published as `Sagetide/InstanceHoursBelowBaseline` (the dashboard's
/// savings): the intervals that ended within `start..end`, each counted at the change that
/// ended it.
async fn published_savings(h: &Harness, start: Timestamp, end: Timestamp) {
    let metric = sagetide::act::INSTANCE_HOURS_BELOW_BASELINE;
    println!(
        "\nThe functions' {metric} over the same hours (the dashboard's savings, each interval counted when a change ends it):"
    );
    let mut total = 0.0;
    for series in h.aws.sagetide_series(metric).await {
        let Some(endpoint) = series.iter().find_map(|d| d.strip_prefix("EndpointName=")) else {
            continue;
        };
        let hours = h
            .aws
            .sagetide_sum(
                metric,
                &[("EndpointName", endpoint)],
                start.as_second(),
                end.as_second(),
            )
            .await;
        total += hours;
        println!("  {endpoint:<16} {hours:>6.1}");
    }
    println!("  {:<16} {total:>6.1}", "total");
}

/// One line per report: endpoint, action, outcome and what was done or why not.
fn describe(reports: &Value) -> Vec<String> {
    reports
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            // A scheduler action's detail may only repeat the action: its reason, or why it was
            // not done, says more.
            let detail = match r["why"].as_str() {
                Some(why) => why.to_owned(),
                None => text("detail"),
            };
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
        let words = if line.starts_with("alarm") {
            usize::MAX
        } else {
            4
        };
        let summary: Vec<&str> = line.split_whitespace().take(words).collect();
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
        if let Kind::Components(components) = e.kind {
            let mut cells = Vec::new();
            for component in components {
                cells.push(match h.aws.copy_bounds(component).await {
                    Some((min, max)) => format!("{min}..{max}"),
                    None => "-".into(),
                });
            }
            out.insert(e.name, cells.join("/"));
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
