//! `scripts/bench`: what sagetide costs to run, measured on the release binaries behind the
//! counting proxy in front of moto: AWS calls per API and wall time of a steady scheduler tick
//! for 10, 100 and 1000 endpoints, with a tenth as many inference components on schedules of
//! their own (also with 50 ms added to every call), pool-metrics for 500
//! variants, peak RSS, process start to first Runtime API poll beside a hello-world
//! `lambda_runtime` binary, and the zips' sizes. Prints a table and writes the figures as JSON.
//!
//! Usage: `bench <folder with <function>/bootstrap, as cargo-lambda builds them> <JSON output file>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sagetide_tests::function::Function;
use sagetide_tests::{
    Harness, alarm_event, endpoint_state_event, proxy, scheduled_event, workspace_root,
};
use serde_json::{Value, json};

const SCHEDULE: &str = r#"
schedules:
  office-hours:
    timezone: UTC
    periods:
      - { days: mon-fri, start: "08:00", end: "18:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 10 }
"#;
const FLEETS: [usize; 3] = [10, 100, 1000];
const POOL_VARIANTS: usize = 500;
const LATENCY: Duration = Duration::from_millis(50);
/// Starts per function for the start-up figures; the median is reported.
const STARTS: usize = 7;
const FUNCTIONS: [&str; 6] = [
    "scheduler",
    "pool-metrics",
    "sleeper",
    "waker",
    "restorer",
    "remediator",
];
/// pool-metrics' run at 12:01:05 publishes the buckets of the minute from 12:00:00.
const POOL_RUN: &str = "2026-11-23T12:01:05Z";
const POOL_MINUTE: i64 = 1_795_435_200;

/// The release binary of `function`, where cargo-lambda puts it.
fn bootstrap(binaries: &Path, function: &str) -> PathBuf {
    binaries.join(function).join("bootstrap")
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn by_operation(calls: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call.clone()).or_default() += 1;
    }
    counts
}

/// The target for a steady tick: the page limits of discovery (100 endpoints per `Search`, 100
/// components per `GetResources`, one call even for none, and per `ListInferenceComponents`),
/// of `DescribeScalableTargets` (50 targets of one dimension per page) and the table's one
/// `Query`, with 10 % to spare.
fn steady_tick_target(endpoints: usize, components: usize) -> f64 {
    let pages = endpoints.div_ceil(100)
        + components.div_ceil(100).max(1)
        + components.div_ceil(100)
        + endpoints.div_ceil(50)
        + components.div_ceil(50)
        + 1;
    1.1 * pages as f64
}

async fn scheduler_tick(binaries: &Path, endpoints: usize) -> Value {
    let h = Harness::start(SCHEDULE).await;
    let names: Vec<String> = (0..endpoints).map(|i| format!("ep-{i:04}")).collect();
    let office = [("sagetide:schedule", "office-hours")];
    h.aws.scheduled_fleet(&names, &office, 1, 10).await;
    let components = endpoints / 10;
    h.aws.create_component_endpoint("ic-host", 0).await;
    for i in 0..components {
        h.aws
            .create_component(&format!("ic-{i:04}"), "ic-host", 1, &office)
            .await;
    }
    h.moto.settle().await;
    // One container answers the three ticks; its clock is the last one's time, as the real
    // clock would be (the scheduler refuses ticks ahead of its clock).
    let mut scheduler = h
        .function_binary(
            &bootstrap(binaries, "scheduler"),
            "scheduler",
            &[("SAGETIDE_NOW", "2026-11-23T12:10:00Z")],
        )
        .await;
    // Monday 12:00 UTC is inside the period: the first tick raises every minimum to 2, the
    // next ones find nothing to change.
    let tick = |at: &str| scheduled_event(&format!("2026-11-23T{at}Z"));
    scheduler
        .invoke(tick("12:00:00"))
        .await
        .expect("first tick");
    let converging = h.proxy.take();

    let started = Instant::now();
    scheduler
        .invoke(tick("12:05:00"))
        .await
        .expect("steady tick");
    let wall = started.elapsed();
    let steady = h.proxy.take();
    assert!(
        proxy::mutating(&steady).is_empty(),
        "the steady tick changed something: {steady:?}"
    );

    h.proxy.set_latency(LATENCY);
    let started = Instant::now();
    scheduler.invoke(tick("12:10:00")).await.expect("slow tick");
    let wall_slow = started.elapsed();
    h.proxy.set_latency(Duration::ZERO);
    h.proxy.take();

    json!({
        "endpoints": endpoints,
        "inference_components": components,
        "first_tick": {"calls": converging.len(), "mutating": proxy::mutating(&converging).len()},
        "steady_tick": {
            "calls": steady.len(),
            "target": steady_tick_target(endpoints, components),
            "by_api": by_operation(&steady),
            "wall_ms": ms(wall),
            "wall_ms_with_50ms_per_call": ms(wall_slow),
        },
        "peak_rss_mib": scheduler.peak_rss_kib().map(|k| k as f64 / 1024.0),
    })
}

async fn pool_metrics(binaries: &Path) -> Value {
    let h = Harness::start("schedules: {}\n").await;
    let names: Vec<String> = (0..POOL_VARIANTS).map(|i| format!("ep-{i:03}")).collect();
    h.aws
        .pool_fleet(
            &names,
            "ml.g4dn.xlarge",
            ("sagetide:pool-capacity", "ml.g4dn.xlarge=8"),
            POOL_MINUTE,
            4.0,
        )
        .await;
    let mut metrics = h
        .function_binary(&bootstrap(binaries, "pool-metrics"), "pool-metrics", &[])
        .await;
    let started = Instant::now();
    let first = metrics
        .invoke(scheduled_event(POOL_RUN))
        .await
        .expect("first run");
    let wall_first = started.elapsed();
    let cold = h.proxy.take();

    // The same minute again, with the EndpointConfigs cached, as every later run finds them:
    // once as it is, once with 50 ms added to every call.
    let started = Instant::now();
    metrics
        .invoke(scheduled_event(POOL_RUN))
        .await
        .expect("second run");
    let wall_later = started.elapsed();
    h.proxy.take();
    h.proxy.set_latency(LATENCY);
    let started = Instant::now();
    metrics
        .invoke(scheduled_event(POOL_RUN))
        .await
        .expect("third run");
    let wall_slow = started.elapsed();
    h.proxy.set_latency(Duration::ZERO);
    let warm = h.proxy.take();

    let series = 2 * POOL_VARIANTS; // per variant: the typed series and the variant-level one
    let datapoints = first["datapoints"].as_u64().unwrap_or_default() as usize;
    json!({
        "variants": POOL_VARIANTS,
        "datapoints": datapoints,
        "limits": {
            "cloudwatch:GetMetricData": series.div_ceil(500),
            "cloudwatch:PutMetricData": datapoints.div_ceil(1000),
        },
        "first_run": {"by_api": by_operation(&cold), "wall_ms": ms(wall_first)},
        "later_run": {
            "by_api": by_operation(&warm),
            "wall_ms": ms(wall_later),
            "wall_ms_with_50ms_per_call": ms(wall_slow),
        },
        "peak_rss_mib": metrics.peak_rss_kib().map(|k| k as f64 / 1024.0),
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Start to first poll, start to first answer, and peak RSS of `name`, median of `STARTS`.
async fn start_up(h: &Harness, binary: &Path, name: &str, event: &Value) -> Value {
    let (mut polls, mut answers, mut rss) = (Vec::new(), Vec::new(), 0);
    for _ in 0..STARTS {
        let clock = [("SAGETIDE_NOW", "2026-11-23T12:00:00Z")];
        let mut function: Function = h.function_binary(binary, name, &clock).await;
        // A declined or rejected event is an answer too: start-up is what is measured.
        let _ = function.invoke(event.clone()).await;
        answers.push(function.started().elapsed());
        polls.push(function.start_to_poll().expect("the function polled"));
        rss = rss.max(function.peak_rss_kib().unwrap_or_default());
    }
    json!({
        "function": name,
        "start_to_poll_ms": ms(median(polls)),
        "start_to_first_answer_ms": ms(median(answers)),
        "peak_rss_mib": rss as f64 / 1024.0,
    })
}

async fn start_ups(binaries: &Path) -> Vec<Value> {
    let h = Harness::start(SCHEDULE).await;
    let tick = scheduled_event("2026-11-23T12:00:00Z");
    let events = [
        ("hello-world", json!({"hello": "world"})),
        ("scheduler", tick.clone()),
        ("pool-metrics", tick),
        ("sleeper", json!({"action": "sleep", "endpoint": "absent"})),
        ("waker", json!({"action": "wake", "endpoint": "absent"})),
        ("restorer", endpoint_state_event("absent", "IN_SERVICE")),
        (
            "remediator",
            alarm_event("sagetide-remediate-5xx-absent", "ALARM", Some("absent")),
        ),
    ];
    let mut results = Vec::new();
    for (name, event) in events {
        results.push(start_up(&h, &bootstrap(binaries, name), name, &event).await);
    }
    let hello = results[0]["start_to_poll_ms"].as_f64().unwrap_or(f64::NAN);
    for r in &mut results {
        let ratio = r["start_to_poll_ms"].as_f64().unwrap_or(f64::NAN) / hello;
        r["vs_hello_world"] = json!((ratio * 100.0).round() / 100.0);
    }
    results
}

fn zips() -> Value {
    let dir = workspace_root().join("target/lambda");
    let architecture = std::fs::read_to_string(dir.join("architecture"))
        .map(|a| a.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let sizes: BTreeMap<&str, Option<u64>> = FUNCTIONS
        .iter()
        .map(|f| {
            let zip = dir.join(f).join("bootstrap.zip");
            (*f, std::fs::metadata(zip).ok().map(|m| m.len()))
        })
        .collect();
    json!({"architecture": architecture, "bytes": sizes})
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

fn print(results: &Value) {
    println!("scheduler, steady tick (nothing to change):");
    println!(
        "{:>9} {:>10} {:>6} {:>7} {:>9} {:>14} {:>9}",
        "endpoints", "components", "calls", "target", "wall ms", "wall ms @50ms", "RSS MiB"
    );
    for r in results["scheduler"].as_array().into_iter().flatten() {
        let tick = &r["steady_tick"];
        println!(
            "{:>9} {:>10} {:>6} {:>7.1} {:>9} {:>14} {:>9.1}",
            r["endpoints"].to_string(),
            r["inference_components"].to_string(),
            tick["calls"].to_string(),
            tick["target"].as_f64().unwrap_or_default(),
            tick["wall_ms"].to_string(),
            tick["wall_ms_with_50ms_per_call"].to_string(),
            r["peak_rss_mib"].as_f64().unwrap_or_default()
        );
        println!("          {}", tick["by_api"]);
    }
    let pool = &results["pool_metrics"];
    println!("\npool-metrics, {} variants:", pool["variants"]);
    println!("  limits     {}", pool["limits"]);
    println!(
        "  first run  {} in {} ms",
        pool["first_run"]["by_api"], pool["first_run"]["wall_ms"]
    );
    println!(
        "  later run  {} in {} ms, {} ms with 50 ms per call",
        pool["later_run"]["by_api"],
        pool["later_run"]["wall_ms"],
        pool["later_run"]["wall_ms_with_50ms_per_call"]
    );
    println!("\nstart-up (median of {STARTS}):");
    println!(
        "{:<13} {:>13} {:>8} {:>18} {:>9}",
        "function", "to poll ms", "× hello", "to first answer ms", "RSS MiB"
    );
    for r in results["start_up"].as_array().into_iter().flatten() {
        println!(
            "{:<13} {:>13} {:>8} {:>18} {:>9.1}",
            r["function"].as_str().unwrap_or_default(),
            r["start_to_poll_ms"].to_string(),
            r["vs_hello_world"].to_string(),
            r["start_to_first_answer_ms"].to_string(),
            r["peak_rss_mib"].as_f64().unwrap_or_default()
        );
    }
    println!("\nzips ({}):", results["zips"]["architecture"]);
    for (f, bytes) in results["zips"]["bytes"].as_object().into_iter().flatten() {
        println!("  {f:<13} {bytes} bytes");
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(binaries), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: bench <folder with <function>/bootstrap> <JSON output file>");
        std::process::exit(2);
    };
    let binaries = PathBuf::from(binaries);
    let mut scheduler = Vec::new();
    for endpoints in FLEETS {
        eprintln!("bench: scheduler with {endpoints} endpoints");
        scheduler.push(scheduler_tick(&binaries, endpoints).await);
    }
    eprintln!("bench: pool-metrics with {POOL_VARIANTS} variants");
    let pool = pool_metrics(&binaries).await;
    eprintln!("bench: start-up");
    let starts = start_ups(&binaries).await;
    let results = json!({
        "machine": machine(),
        "scheduler": scheduler,
        "pool_metrics": pool,
        "start_up": starts,
        "zips": zips(),
    });
    print(&results);
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap() + "\n")
        .unwrap_or_else(|e| panic!("writing {out}: {e}"));
    eprintln!("bench: written to {out}");
}
