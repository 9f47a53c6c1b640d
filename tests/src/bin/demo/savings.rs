//! What a week of the demo's schedules saves against always-on.

use jiff::{SignedDuration, Timestamp};
use sagetide::config::Config;
use sagetide::schedule::Desired;

use sagetide_tests::demo_fleet::{CONFIG, FLEET, Kind, TICK_MINUTES};

/// A week of the demo's schedules, sampled every 15 minutes with the same engine the scheduler
/// uses: instance-hours at MinCapacity (the floor an idle endpoint runs at) with sagetide,
/// against keeping the period's minimum all week.
pub fn print_week(start: Timestamp) {
    let config = Config::parse(CONFIG).unwrap();
    let step = SignedDuration::from_mins(TICK_MINUTES);
    println!(
        "\nProjected over a whole week, from the schedules alone (instance-hours at MinCapacity, per variant, against each one's period minimum all week; `sagetide savings` above measured the 48 hours from the history; faq-serverless and llm-host, scheduled in provisioned concurrency and copies, left out):"
    );
    println!(
        "{:<16} {:>10} {:>10} {:>8}",
        "endpoint", "always-on", "sagetide", "saved"
    );
    let (mut total_on, mut total_st) = (0.0, 0.0);
    // Provisioned concurrency and copies are not instances.
    let instances = FLEET
        .iter()
        .filter(|e| matches!(e.kind, Kind::RealTime | Kind::Asynchronous));
    for e in instances {
        let Some(name) = e.schedule() else {
            continue;
        };
        let schedule = config.schedule(name).unwrap();
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
