//! A week of the demo fleet with a fifth of all AWS calls failing (throttled, 503, answers lost
//! after the call took effect, connections dropped, answers late) ends exactly as the same
//! week without faults: nothing lost, nothing created twice, nothing deleted that should stay.

use std::collections::BTreeMap;
use std::time::Duration;

use sagetide_tests::Harness;
use sagetide_tests::demo_fleet::{CONFIG, TICK_MINUTES, World, next_monday};
use sagetide_tests::proxy::{EndpointChanges, Fault, Faults};

const DAYS: i64 = 7;
const SEED: u64 = 20261124;
const RATE: f64 = 0.2;

struct Week {
    state: BTreeMap<String, Vec<String>>,
    endpoint_changes: EndpointChanges,
    /// Events still failing after Lambda's last delivery.
    lost_events: Vec<String>,
    failed_ticks: usize,
    calls: usize,
    longest_invocation: Duration,
    injected: BTreeMap<Fault, usize>,
}

async fn week(faults: Option<Faults>) -> Week {
    let h = Harness::start(CONFIG).await;
    let mut world = World::seed(&h, next_monday(), DAYS).await;
    h.proxy.take();
    h.proxy.set_faults(faults);
    let (mut lost_events, mut failed_ticks, mut calls) = (Vec::new(), 0, 0);
    for i in 0..DAYS * 24 * 60 / TICK_MINUTES {
        let step = world.step(world.tick_at(i)).await;
        for d in step.deliveries {
            if let Err(e) = d.answer {
                lost_events.push(format!(
                    "{} {} ({} deliveries): {e}",
                    step.now, d.what, d.attempts
                ));
            }
        }
        failed_ticks += usize::from(step.tick.is_err());
        calls += h.proxy.take().len();
    }
    h.proxy.set_faults(None);
    Week {
        state: world.state().await,
        endpoint_changes: h.proxy.take_endpoint_changes(),
        longest_invocation: world.longest_invocation(),
        lost_events,
        failed_ticks,
        calls,
        injected: h.proxy.injected(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_week_with_a_fifth_of_all_calls_failing_ends_as_the_week_without() {
    let (clean, faulty) = tokio::join!(week(None), week(Some(Faults::new(SEED, RATE))));
    eprintln!(
        "clean week: {} calls; with faults: {} calls, {} ticks failed (healed by the next), injected {:?}; longest invocation {:?} (clean {:?})",
        clean.calls,
        faulty.calls,
        faulty.failed_ticks,
        faulty.injected,
        faulty.longest_invocation,
        clean.longest_invocation
    );
    assert_eq!(clean.failed_ticks, 0);
    assert_eq!(clean.lost_events, Vec::<String>::new());
    assert_eq!(faulty.lost_events, Vec::<String>::new());
    assert_eq!(faulty.state, clean.state);
    // Retries and backoff fit in the functions' timeout (template.yaml: 60 s).
    assert!(
        faulty.longest_invocation < Duration::from_secs(60),
        "{:?}",
        faulty.longest_invocation
    );
    assert_eq!(faulty.endpoint_changes, clean.endpoint_changes);
    // The week slept and woke endpoints every day, and every kind of fault hit it often.
    let woken = clean
        .endpoint_changes
        .get(&("image-tagger".into(), "sagemaker:CreateEndpoint".into()));
    assert_eq!(
        woken,
        Some(&(DAYS as usize)),
        "{:?}",
        clean.endpoint_changes
    );
    let injected: usize = faulty.injected.values().sum();
    assert!(injected as f64 > 0.15 * faulty.calls as f64, "{injected}");
    for kind in Fault::ALL {
        assert!(
            faulty.injected.get(&kind) > Some(&50),
            "{:?}",
            faulty.injected
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_per_api_faults_only_that_api_and_the_sdk_retries_it() {
    let h = Harness::start(CONFIG).await;
    let world = World::seed(&h, next_monday(), 1).await;
    let mut scheduler = h.scheduler(&[]);
    // The first tick applies the schedules (and measures each change); the ones after are
    // steady.
    let first = sagetide_tests::scheduled_event(&world.tick_at(0).to_string());
    scheduler.invoke(first).await.expect("the first tick");
    h.proxy.take();
    let faults = Faults::new(SEED, 0.0).with_rate("sagemaker:Search", 0.3);
    h.proxy.set_faults(Some(faults));
    let ticks = 8;
    for i in 1..=ticks {
        let tick = sagetide_tests::scheduled_event(&world.tick_at(i).to_string());
        let answer = scheduler.invoke(tick).await;
        assert!(answer.is_ok(), "tick {i}: {answer:?}");
    }
    let calls = h.proxy.take();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    let injected = h.proxy.injected();
    let failed: usize = injected
        .iter()
        .filter(|(kind, _)| **kind != Fault::Slow)
        .map(|(_, n)| n)
        .sum();
    // Each failed Search was asked again; every other API once a tick.
    assert!(failed > 0, "{injected:?}");
    assert_eq!(
        count("sagemaker:Search"),
        ticks as usize + failed,
        "{injected:?}"
    );
    assert_eq!(count("dynamodb:Query"), ticks as usize, "{calls:?}");
    assert_eq!(count("cloudwatch:PutMetricData"), 0, "{calls:?}");
}
