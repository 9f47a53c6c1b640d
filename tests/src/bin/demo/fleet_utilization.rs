//! The pool-metrics scene: a mixed fleet's FleetUtilization, published as its buckets land.

use jiff::Timestamp;
use sagetide_tests::{Harness, scheduled_event};

const ENDPOINT: &str = "chat-llm";
/// Stand-ins for a g6 (capacity 8) and a g6e (capacity 14): moto knows only older types.
const G6: &str = "ml.g4dn.xlarge";
const G6E: &str = "ml.g4dn.2xlarge";

/// pool-metrics on one endpoint with instance pools (3 × g6, 1 × g6e, through the test world's
/// emulation of pools) whose load rises through a minute: two runs a minute apart, and the
/// alarm that scales it out within a minute.
pub async fn show(h: &Harness, noon: Timestamp) {
    let minute = noon.as_second();
    h.proxy.set_pools(
        ENDPOINT,
        &format!("{ENDPOINT}-config"),
        "AllTraffic",
        &[(G6, 3), (G6E, 1)],
    );
    h.aws
        .create_endpoint_with(
            ENDPOINT,
            &[("AllTraffic", G6, 4)],
            &[
                (
                    "sagetide:pool-capacity",
                    "ml.g4dn.xlarge=8,ml.g4dn.2xlarge=14",
                ),
                ("sagetide:target-utilization", "0.75"),
            ],
        )
        .await;
    h.aws
        .register_target(ENDPOINT, "AllTraffic", 4, 12, None)
        .await;
    // In flight per instance, each 10-second bucket of the minute, g6 and g6e.
    let load = [
        (2.0, 3.0),
        (3.5, 5.0),
        (5.0, 8.0),
        (6.0, 10.0),
        (7.0, 12.0),
        (7.5, 13.0),
    ];
    let series = |pick: fn(&(f64, f64)) -> f64, buckets: std::ops::Range<usize>| {
        let points: Vec<(i64, f64)> = buckets
            .map(|i| (minute + 10 * i as i64, pick(&load[i])))
            .collect();
        points
    };
    let dims = |t| {
        [
            ("EndpointName", ENDPOINT),
            ("VariantName", "AllTraffic"),
            ("InstanceType", t),
        ]
    };
    // The minute's last bucket is late: it is not in CloudWatch when the first run looks.
    h.aws
        .put_concurrency(&dims(G6), &series(|l| l.0, 0..5))
        .await;
    h.aws
        .put_concurrency(&dims(G6E), &series(|l| l.1, 0..5))
        .await;

    let mut pool_metrics = h.function("pool-metrics", &[]).await;
    let mut published_by = std::collections::BTreeMap::new();
    for run in [65, 125] {
        if run == 125 {
            h.aws
                .put_concurrency(&dims(G6), &series(|l| l.0, 5..6))
                .await;
            h.aws
                .put_concurrency(&dims(G6E), &series(|l| l.1, 5..6))
                .await;
        }
        let now = Timestamp::from_second(minute + run).unwrap();
        pool_metrics
            .invoke(scheduled_event(&now.to_string()))
            .await
            .expect("pool-metrics run");
        let published = h
            .aws
            .fleet_utilization(ENDPOINT, "AllTraffic", minute, minute + 60)
            .await;
        for (at, u) in published {
            published_by.entry(at).or_insert((u, now));
        }
    }

    println!(
        "\npool-metrics: {ENDPOINT}, instance pools 3 × g6 (capacity 8) and 1 × g6e (capacity 14)"
    );
    println!(
        "{:<10} {:>8} {:>8} {:>18} {:>14}",
        "bucket", "g6 each", "g6e each", "FleetUtilization", "published at"
    );
    for (i, (g6, g6e)) in load.iter().enumerate() {
        let at = minute + 10 * i as i64;
        let bucket = Timestamp::from_second(at)
            .unwrap()
            .strftime("%H:%M:%S")
            .to_string();
        let (value, by) = published_by
            .get(&at)
            .map_or(("-".into(), "-".into()), |(u, by)| {
                let verdict = if *u > 0.75 { " > 0.75" } else { "" };
                (
                    format!("{u:.3}{verdict}"),
                    by.strftime("%H:%M:%S").to_string(),
                )
            });
        println!("{bucket:<10} {g6:>8.1} {g6e:>8.1} {value:>18} {by:>14}");
    }
    if let Some(alarm) = h
        .aws
        .metric_alarm(&format!("sagetide-fleet-scale-out-{ENDPOINT}.AllTraffic"))
        .await
    {
        let expression = alarm.metrics().iter().find_map(|q| q.expression());
        println!(
            "scale-out alarm {} every 10 s: {} > {}",
            alarm.alarm_name().unwrap_or_default(),
            expression.unwrap_or_default(),
            alarm.threshold().unwrap_or_default()
        );
    }
}
