//! `scripts/bench`: what sagetide costs to run, measured on the release binaries behind the
//! counting proxy in front of moto: AWS calls per API and wall time of a steady scheduler tick
//! for 10, 100 and 1000 endpoints, with a tenth as many inference components on schedules of
//! their own (also with 50 ms added to every call), pool-metrics for 500
//! variants, a steady tick over 10 accounts × 2 regions × 500 endpoints (the hub's, and each
//! place's), peak RSS, process start to first Runtime API poll beside a hello-world
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
const POOL_MINUTE: i64 = 1_795_435_200; // 2026-11-23T12:00:00Z
/// Stand-ins for a g6 and a g6e (moto knows only older types).
const POOL_TYPES: [&str; 2] = ["ml.g4dn.xlarge", "ml.g4dn.2xlarge"];
const POOL_RUNS: i64 = 8;
const POOL_DELAY_VARIANTS: usize = 10;
/// How long after a bucket ends its datapoint is in CloudWatch, in seconds: AWS documents no
/// figure, so this is an assumption, and the delays scale with it.
const POOL_LANDING: i64 = 20;

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

/// pool-metrics over `POOL_VARIANTS` variants with instance pools (one g6 and one g6e stand-in
/// each) with steady traffic, run each minute at 5 s past it: calls by API and wall time of the
/// first (cold) run and of a warm one with 50 ms added to every call; then the publication
/// delay of each bucket, from its end to the run that published it. moto's `GetMetricData`
/// compares every stored datapoint of the window with every period of every query, so more
/// runs over 500 variants would measure nothing but moto.
async fn pool_metrics(binaries: &Path) -> Value {
    let h = Harness::start("schedules: {}\n").await;
    let names: Vec<String> = (0..POOL_VARIANTS).map(|i| format!("ep-{i:03}")).collect();
    let mut metrics = pooled_fleet(&h, binaries, &names).await;
    let minute_of =
        |m: i64| -> Vec<i64> { (0..6).map(|b| POOL_MINUTE + 60 * m + 10 * b).collect() };
    let mut runs = Vec::new();
    for minute in 1..=2 {
        // The previous minute's traffic is in CloudWatch when the run looks.
        h.aws
            .put_fleet_concurrency(&names, &POOL_TYPES, &minute_of(minute - 1), 4.0)
            .await;
        h.proxy.take();
        if minute == 2 {
            h.proxy.set_latency(LATENCY);
        }
        let wall = run_pool_metrics(&mut metrics, POOL_MINUTE + 60 * minute + 5).await;
        h.proxy.set_latency(Duration::ZERO);
        runs.push((h.proxy.take(), wall));
    }
    let peak_rss_kib = metrics.peak_rss_kib();
    // One moto at a time on this machine.
    drop(metrics);
    drop(h);
    let delays = publication_delays(binaries).await;
    json!({
        "variants": POOL_VARIANTS,
        "instance_types_per_variant": POOL_TYPES.len(),
        "limits": {
            // Per variant: a series per type and sagetide's own.
            "cloudwatch:GetMetricData": (POOL_VARIANTS * (POOL_TYPES.len() + 1)).div_ceil(500),
            "cloudwatch:PutMetricData, six buckets each": (POOL_VARIANTS * 6).div_ceil(1000),
        },
        "first_run": {"by_api": by_operation(&runs[0].0), "wall_ms": ms(runs[0].1)},
        "later_run": {
            "by_api": by_operation(&runs[1].0),
            "wall_ms_with_50ms_per_call": ms(runs[1].1),
        },
        "publication_delay_s": delays,
        "peak_rss_mib": peak_rss_kib.map(|k| k as f64 / 1024.0),
    })
}

/// `names` endpoints whose AllTraffic runs one instance of each of `POOL_TYPES` as pools, and
/// the pool-metrics process that will publish for them.
async fn pooled_fleet(h: &Harness, binaries: &Path, names: &[String]) -> Function {
    for name in names {
        let pools = POOL_TYPES.map(|t| (t, 1));
        h.proxy
            .set_pools(name, &format!("{name}-config"), "AllTraffic", &pools);
    }
    h.aws
        .pool_fleet(
            names,
            &POOL_TYPES,
            (
                "sagetide:pool-capacity",
                "ml.g4dn.xlarge=8,ml.g4dn.2xlarge=14",
            ),
        )
        .await;
    h.function_binary(&bootstrap(binaries, "pool-metrics"), "pool-metrics", &[])
        .await
}

async fn run_pool_metrics(metrics: &mut Function, at: i64) -> Duration {
    let at = jiff::Timestamp::from_second(at).unwrap().to_string();
    let started = Instant::now();
    metrics
        .invoke(scheduled_event(&at))
        .await
        .unwrap_or_else(|e| panic!("pool-metrics run at {at}: {e}"));
    started.elapsed()
}

/// The delay from a bucket's end to the run that published it, over `POOL_RUNS` runs a minute
/// apart, with each bucket landing in CloudWatch `POOL_LANDING` after it ends. The rule is the
/// same for every variant, so a few stand for the fleet: moto's `GetMetricData` scans every
/// stored datapoint per query, which makes minutes of a 500-variant fleet's traffic too slow to
/// read back run after run.
async fn publication_delays(binaries: &Path) -> Value {
    let h = Harness::start("schedules: {}\n").await;
    let names: Vec<String> = (0..POOL_DELAY_VARIANTS)
        .map(|i| format!("ep-{i:03}"))
        .collect();
    let mut metrics = pooled_fleet(&h, binaries, &names).await;
    // Traffic from before the first run's look-back, so every bucket has data.
    let mut next_bucket = POOL_MINUTE - 360;
    let mut published_by: BTreeMap<i64, i64> = BTreeMap::new();
    for minute in 1..=POOL_RUNS {
        let run = POOL_MINUTE + 60 * minute + 5;
        let landed: Vec<i64> = (next_bucket..)
            .step_by(10)
            .take_while(|b| b + 10 + POOL_LANDING <= run)
            .collect();
        next_bucket += 10 * landed.len() as i64;
        h.aws
            .put_fleet_concurrency(&names, &POOL_TYPES, &landed, 4.0)
            .await;
        run_pool_metrics(&mut metrics, run).await;
        let sample = h
            .aws
            .sagetide_metric(
                "FleetUtilization",
                &[("EndpointName", "ep-000"), ("VariantName", "AllTraffic")],
                (POOL_MINUTE - 600, run),
                10,
                "SampleCount",
            )
            .await;
        for bucket in sample.keys() {
            published_by.entry(*bucket).or_insert(run);
        }
    }
    // Steady state: the buckets that ended after the first run and landed before the last.
    let first_run = POOL_MINUTE + 65;
    let last_run = POOL_MINUTE + 60 * POOL_RUNS + 5;
    let mut delays: Vec<i64> = published_by
        .iter()
        .filter(|(b, _)| **b + 10 > first_run && **b + 10 + POOL_LANDING <= last_run - 60)
        .map(|(b, run)| run - (b + 10))
        .collect();
    delays.sort_unstable();
    let pct = |p: usize| delays[(delays.len() - 1) * p / 100];
    json!({
        "variants": POOL_DELAY_VARIANTS,
        "landing_s": POOL_LANDING,
        "buckets": delays.len(),
        "min": delays.first(),
        "median": pct(50),
        "p90": pct(90),
        "max": delays.last(),
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The hub's own place and the spokes of the many-accounts figures: `SPOKE_ACCOUNTS` accounts
/// (the hub's among them) in `SPOKE_REGIONS` regions each, `SPOKE_ENDPOINTS` endpoints in each
/// place.
const SPOKE_ACCOUNTS: usize = 10;
const SPOKE_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const SPOKE_ENDPOINTS: usize = 500;

/// A steady tick over many accounts (issue 19): the hub's tick, which ticks its own place and
/// queues one tick per other place, and each place's tick in a process of its own, as Lambda
/// runs them: calls by API, wall time (also with 50 ms added to every call) and peak RSS.
async fn spokes(binaries: &Path) -> Value {
    let accounts: Vec<String> = std::iter::once(sagetide_tests::accounts::HUB.to_owned())
        .chain((1..SPOKE_ACCOUNTS).map(|i| format!("{:012}", 200_000_000_000 + i)))
        .collect();
    let places: Vec<(&str, &str)> = accounts
        .iter()
        .flat_map(|a| SPOKE_REGIONS.map(|r| (a.as_str(), r)))
        .collect();
    let spokes: Vec<(&str, &str)> = places[1..].to_vec();
    let mut document = SCHEDULE.to_owned() + "accounts:\n";
    for account in &accounts {
        let regions = if *account == sagetide_tests::accounts::HUB {
            &SPOKE_REGIONS[1..]
        } else {
            &SPOKE_REGIONS[..]
        };
        document += &format!(
            "  - {{ account: \"{account}\", regions: [{}], external_id: {}, model_roles: \"*\" }}\n",
            regions.join(", "),
            sagetide_tests::accounts::EXTERNAL_ID
        );
    }
    let h = Harness::start(&document).await;
    h.manage_spokes(&spokes).await;
    let names: Vec<String> = (0..SPOKE_ENDPOINTS).map(|i| format!("ep-{i:04}")).collect();
    let office = [("sagetide:schedule", "office-hours")];
    // At the capacity the schedule wants at noon: every tick measured is a steady one, and
    // the first of each process differs only by assuming its role.
    for (account, region) in &places {
        eprintln!("bench: {SPOKE_ENDPOINTS} endpoints in {account}/{region}");
        let aws = sagetide_tests::seed::Aws::in_account(&h.moto.url, account, region).await;
        aws.scheduled_fleet(&names, &office, 2, 10).await;
    }
    h.moto.settle().await;
    // The queued ticks are recorded, not run: each place's is run below in a process of its
    // own, measured alone.
    let queued = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = queued.clone();
    h.proxy
        .set_invoker(std::sync::Arc::new(move |_: String, payload: Value| {
            recorded.lock().unwrap().push(payload);
            Box::pin(async { Ok(Value::Null) })
        }));
    let binary = bootstrap(binaries, "scheduler");
    let clock = [("SAGETIDE_NOW", "2026-11-23T12:10:00Z")];
    let tick = |at: &str| scheduled_event(&format!("2026-11-23T{at}Z"));

    // The hub: a first tick, then a steady one measured.
    let mut hub = h.function_binary(&binary, "scheduler", &clock).await;
    hub.invoke(tick("12:00:00"))
        .await
        .expect("the hub's first tick");
    h.proxy.take();
    let started = Instant::now();
    hub.invoke(tick("12:05:00"))
        .await
        .expect("the hub's steady tick");
    let hub_wall = started.elapsed();
    let hub_calls = h.proxy.take();
    h.proxy.set_latency(LATENCY);
    let started = Instant::now();
    hub.invoke(tick("12:10:00"))
        .await
        .expect("the hub's slow tick");
    let hub_wall_slow = started.elapsed();
    h.proxy.set_latency(Duration::ZERO);
    h.proxy.take();
    let queued = std::mem::take(&mut *queued.lock().unwrap());
    assert_eq!(
        queued.len(),
        3 * spokes.len(),
        "every tick queues every spoke"
    );

    // Each place: a first tick (which assumes the role), then a steady one measured.
    let mut workers = Vec::new();
    for payload in queued
        .iter()
        .filter(|p| p["time"] == "2026-11-23T12:00:00Z")
    {
        let place = format!(
            "{}/{}",
            payload["account"].as_str().unwrap(),
            payload["region"].as_str().unwrap()
        );
        let at = |time: &str| {
            let mut p = payload.clone();
            p["time"] = json!(format!("2026-11-23T{time}Z"));
            p
        };
        let mut worker = h.function_binary(&binary, "scheduler", &clock).await;
        worker
            .invoke(at("12:00:00"))
            .await
            .expect("a place's first tick");
        let first = h.proxy.take();
        let started = Instant::now();
        worker
            .invoke(at("12:05:00"))
            .await
            .expect("a place's steady tick");
        let wall = started.elapsed();
        let steady = h.proxy.take();
        assert!(
            proxy::mutating(&steady).is_empty(),
            "{place} changed: {steady:?}"
        );
        h.proxy.set_latency(LATENCY);
        let started = Instant::now();
        worker
            .invoke(at("12:10:00"))
            .await
            .expect("a place's slow tick");
        let wall_slow = started.elapsed();
        h.proxy.set_latency(Duration::ZERO);
        h.proxy.take();
        workers.push(json!({
            "place": place,
            "first_tick_calls": first.len(),
            "first_tick_assume_role": first.iter().filter(|c| *c == "sts:AssumeRole").count(),
            "steady_calls": steady.len(),
            "steady_by_api": by_operation(&steady),
            "wall_ms": ms(wall),
            "wall_ms_with_50ms_per_call": ms(wall_slow),
            "peak_rss_mib": worker.peak_rss_kib().map(|k| k as f64 / 1024.0),
        }));
    }
    let total = |key: &str| {
        workers
            .iter()
            .map(|w| w[key].as_f64().unwrap_or_default())
            .collect::<Vec<f64>>()
    };
    let (slow, rss) = (total("wall_ms_with_50ms_per_call"), total("peak_rss_mib"));
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    json!({
        "accounts": SPOKE_ACCOUNTS,
        "regions": SPOKE_REGIONS,
        "endpoints_per_place": SPOKE_ENDPOINTS,
        "hub_tick": {
            "calls": hub_calls.len(),
            "by_api": by_operation(&hub_calls),
            "wall_ms": ms(hub_wall),
            "wall_ms_with_50ms_per_call": ms(hub_wall_slow),
            "peak_rss_mib": hub.peak_rss_kib().map(|k| k as f64 / 1024.0),
        },
        "place_ticks": {
            "places": workers.len(),
            "steady_calls_total": workers.iter().map(|w| w["steady_calls"].as_u64().unwrap_or_default()).sum::<u64>(),
            "max_wall_ms_with_50ms_per_call": max(&slow),
            "max_peak_rss_mib": max(&rss),
        },
        "places": workers,
    })
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
        "  later run  {} in {} ms with 50 ms per call",
        pool["later_run"]["by_api"], pool["later_run"]["wall_ms_with_50ms_per_call"]
    );
    println!("  publication delay (s) {}", pool["publication_delay_s"]);
    let spokes = &results["spokes"];
    if !spokes.is_null() {
        println!(
            "\na steady tick over {} accounts × {} regions × {} endpoints:",
            spokes["accounts"], spokes["regions"], spokes["endpoints_per_place"]
        );
        println!("  hub tick     {}", spokes["hub_tick"]);
        println!("  place ticks  {}", spokes["place_ticks"]);
        println!("  one place    {}", spokes["places"][0]);
    }
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
        eprintln!(
            "usage: bench <folder with <function>/bootstrap> <JSON output file> [pool-metrics|spokes|zips]"
        );
        std::process::exit(2);
    };
    let binaries = PathBuf::from(binaries);
    // `pool-metrics`, `spokes` or `zips`: measure that part again (the zips always), keeping the
    // others' figures in `out`.
    let part = args.next();
    let results = if let Some(part) = part.as_deref() {
        let kept = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("reading {out}: {e}"));
        let mut results: Value = serde_json::from_str(&kept).expect("the bench's own JSON");
        match part {
            "pool-metrics" => {
                eprintln!("bench: pool-metrics with {POOL_VARIANTS} variants");
                results["pool_metrics"] = pool_metrics(&binaries).await;
            }
            "spokes" => {
                eprintln!(
                    "bench: a tick over {SPOKE_ACCOUNTS} accounts × 2 regions × {SPOKE_ENDPOINTS} endpoints"
                );
                results["spokes"] = spokes(&binaries).await;
            }
            "zips" => {}
            other => panic!("bench: no part {other:?}: pool-metrics, spokes or zips"),
        }
        results["zips"] = zips();
        results
    } else {
        let mut scheduler = Vec::new();
        for endpoints in FLEETS {
            eprintln!("bench: scheduler with {endpoints} endpoints");
            scheduler.push(scheduler_tick(&binaries, endpoints).await);
        }
        eprintln!("bench: pool-metrics with {POOL_VARIANTS} variants");
        let pool = pool_metrics(&binaries).await;
        eprintln!(
            "bench: a tick over {SPOKE_ACCOUNTS} accounts × 2 regions × {SPOKE_ENDPOINTS} endpoints"
        );
        let spokes = spokes(&binaries).await;
        eprintln!("bench: start-up");
        let starts = start_ups(&binaries).await;
        json!({
            "machine": machine(),
            "scheduler": scheduler,
            "pool_metrics": pool,
            "spokes": spokes,
            "start_up": starts,
            "zips": zips(),
        })
    };
    print(&results);
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap() + "\n")
        .unwrap_or_else(|e| panic!("writing {out}: {e}"));
    eprintln!("bench: written to {out}");
}
