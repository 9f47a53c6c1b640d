//! The pool-metrics scene: FleetUtilization published for one endpoint.

use jiff::Timestamp;
use sagetide_tests::{Harness, scheduled_event};

/// pool-metrics on one endpoint: moto cannot run instance pools, so this is a single-type
/// variant (3 instances of the g6 stand-in, capacity 8 each) whose load rises through a minute.
pub async fn show(h: &Harness, noon: Timestamp) {
    const ENDPOINT: &str = "chat-llm";
    let minute = noon.as_second();
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
