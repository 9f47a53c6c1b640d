//! The real `scheduler` binary against moto, through the Lambda Runtime API.

use sagetide_tests::{Harness, proxy, scheduled_event};

const CONFIG: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - days: mon-fri
        start: "08:00"
        end: "19:00"
        capacity: { min: 2, max: 10 }
    off_hours: { min: 1, max: 1 }
    holidays: ["2026-12-24"]
"#;

const SCHEDULE: (&str, &str) = ("sagetide:schedule", "office-hours");

#[tokio::test(flavor = "multi_thread")]
async fn berlin_schedule_at_0759_0800_1859_1900() {
    let h = Harness::start(CONFIG).await;
    h.aws.create_endpoint("ep", &["AllTraffic"], &[SCHEDULE]).await;
    h.aws.register_target("ep", "AllTraffic", 1, 1, None).await;
    let mut scheduler = h.function("scheduler", &[]).await;

    // Monday 2026-11-23, CET (UTC+1).
    for (utc, expected) in [
        ("2026-11-23T06:59:00Z", (1, 1)),
        ("2026-11-23T07:00:00Z", (2, 10)),
        ("2026-11-23T17:59:00Z", (2, 10)),
        ("2026-11-23T18:00:00Z", (1, 1)),
    ] {
        let report = scheduler.invoke(scheduled_event(utc)).await.unwrap();
        assert_eq!(h.aws.capacity("ep", "AllTraffic").await, Some(expected), "at {utc}: {report}");
    }
    let calls = h.proxy.take();
    assert_eq!(proxy::mutating(&calls).len(), 2, "{calls:?}");
}
