//! The demo fleet and the world it lives in, shared by the demo and the reliability tests:
//! eleven endpoints of every kind (real-time, asynchronous, serverless, and one hosting an
//! inference component) under five schedules, and each simulated day the same script (an idle
//! endpoint slept by its alarm and woken by hand, an error alarm that fires and clears, once an
//! override). Between the functions it plays what AWS would do and moto does not: the events
//! of each change, Lambda's retries of failed asynchronous invocations, and dropping a deleted
//! endpoint's autoscaling.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use aws_sdk_sagemaker::types::{
    ProductionVariant, ProductionVariantInstanceType, ProductionVariantServerlessConfig,
};

use crate::{Harness, LEASE_TTL, alarm_change, alarm_event, scheduled_event, state_change};

pub const CONFIG: &str = r#"
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
      - { days: mon-fri, start: "08:00", end: "12:30", capacity: { min: 1, max: 4 } }
      - { days: mon-fri, start: "13:15", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
  queue-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "07:00", end: "20:00", capacity: { min: 1, max: 4 } }
    off_hours: { min: 0, max: 4 }
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-5xx-*"]
    action: suspend-scale-in
"#;

pub struct DemoEndpoint {
    pub name: &'static str,
    pub kind: Kind,
    pub variants: &'static [&'static str],
    /// The endpoint's tags; for [`Kind::Components`], its components'.
    pub tags: &'static [(&'static str, &'static str)],
    pub initial: Initial,
}

/// What kind of endpoint it is, which decides how it is made.
pub enum Kind {
    /// Variants with instances.
    RealTime,
    /// A variant with instances that answers from a queue (`AsyncInferenceConfig`).
    Asynchronous,
    /// A serverless variant with provisioned concurrency.
    Serverless,
    /// A variant whose instances SageMaker manages (from 0), hosting these inference
    /// components, one copy each.
    Components(&'static [&'static str]),
}

/// The autoscaling its owner set up before sagetide's first tick.
pub enum Initial {
    /// A scalable target per variant with this capacity.
    Target(i32, i32),
    /// A whole autoscaling set-up (target partly suspended, four policies, two scheduled
    /// actions).
    Whole,
    /// None: the scheduler registers what its schedule wants.
    Unregistered,
}

pub const FLEET: [DemoEndpoint; 11] = [
    DemoEndpoint {
        name: "fraud-detector",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Initial::Target(2, 10),
    },
    DemoEndpoint {
        name: "recommender-ab",
        kind: Kind::RealTime,
        variants: &["blue", "green"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Initial::Target(2, 10),
    },
    DemoEndpoint {
        name: "search-ranker",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Initial::Target(3, 8),
    },
    DemoEndpoint {
        name: "support-bot",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Initial::Target(3, 8),
    },
    DemoEndpoint {
        name: "nightly-embed",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "tokyo-batch")],
        initial: Initial::Target(2, 4),
    },
    DemoEndpoint {
        name: "doc-summarizer",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "berlin-desk")],
        initial: Initial::Whole,
    },
    DemoEndpoint {
        name: "image-tagger",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[
            ("sagetide:idle-after", "2h"),
            ("sagetide:wake-on", "manual"),
        ],
        initial: Initial::Whole,
    },
    DemoEndpoint {
        name: "audio-queue",
        kind: Kind::Asynchronous,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "queue-hours")],
        initial: Initial::Target(1, 4),
    },
    DemoEndpoint {
        name: "faq-serverless",
        kind: Kind::Serverless,
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Initial::Unregistered,
    },
    DemoEndpoint {
        name: "llm-host",
        kind: Kind::Components(&["llama-chat"]),
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "berlin-desk")],
        initial: Initial::Unregistered,
    },
    DemoEndpoint {
        name: "legacy-scoring",
        kind: Kind::RealTime,
        variants: &["AllTraffic"],
        tags: &[],
        initial: Initial::Target(2, 2),
    },
];

impl DemoEndpoint {
    pub fn schedule(&self) -> Option<&'static str> {
        self.tags
            .iter()
            .find(|(k, _)| *k == "sagetide:schedule")
            .map(|(_, v)| *v)
    }
}

pub const TICK_MINUTES: i64 = 15;
/// The endpoint with an idle window and no schedule.
pub const IDLE: &str = "image-tagger";
pub const ERRORS_ALARM: &str = "sagetide-remediate-5xx-fraud-detector";

/// The day's script, in minutes after midnight UTC of each simulated day: image-tagger gets
/// requests at 00:20, its idle alarm fires at 01:00 (too soon) and 03:00 (it sleeps), someone
/// wakes it at 09:00; fraud-detector's 5XX alarm fires at 11:00 and clears at 12:30.
const INVOKED_AT: i64 = 20;
const IDLE_ALARMS_AT: [i64; 2] = [60, 180];
const WOKEN_BY_HAND_AT: i64 = 9 * 60;
const ERRORS_FIRE_AT: i64 = 11 * 60;
const ERRORS_CLEAR_AT: i64 = 12 * 60 + 30;
/// On the first day only, from 23:00 to 03:00 the next day: support-bot is kept awake.
const OVERRIDE: (i64, i64) = (23, 27);

/// The Monday after today, 00:00 UTC: the simulated days lie ahead of the real clock, which
/// moto stamps endpoints with (an endpoint is idle only once it has existed a whole window).
pub fn next_monday() -> Timestamp {
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

pub fn variants(endpoint: &str) -> &'static [&'static str] {
    FLEET
        .iter()
        .find(|e| e.name == endpoint)
        .map_or(&[], |e| e.variants)
}

/// One event delivered to a function, with Lambda's retries: what it was and the last answer.
pub struct Delivery {
    pub what: String,
    pub attempts: usize,
    pub answer: Result<Value, Value>,
}

/// What one step of the world did: what people did by hand, the deliveries, and the tick's
/// answer.
pub struct Step {
    pub now: Timestamp,
    pub by_hand: Vec<String>,
    pub deliveries: Vec<Delivery>,
    pub tick: Result<Value, Value>,
}

/// The demo fleet in moto, the scheduler ticking every [`TICK_MINUTES`], and the script's
/// events delivered around it.
pub struct World<'h> {
    h: &'h Harness,
    start: Timestamp,
    scheduler: crate::Ticker<'h>,
    /// The fleet's endpoints that existed at the last look.
    existing: BTreeSet<String>,
    /// The longest any invocation took (Lambda would have stopped it at the function's timeout).
    longest: Duration,
}

impl<'h> World<'h> {
    /// Seeds the fleet, and image-tagger's requests for `days` days from `start`.
    pub async fn seed(h: &'h Harness, start: Timestamp, days: i64) -> Self {
        for e in &FLEET {
            let (name, tags) = (e.name, e.tags);
            match e.kind {
                Kind::RealTime => h.aws.create_endpoint(name, e.variants, tags).await,
                Kind::Asynchronous => {
                    let variant = ProductionVariant::builder()
                        .instance_type(ProductionVariantInstanceType::MlM5Large)
                        .initial_instance_count(1);
                    h.aws.create_endpoint_of(name, variant, true, tags).await;
                }
                Kind::Serverless => {
                    let variant = ProductionVariant::builder().serverless_config(
                        ProductionVariantServerlessConfig::builder()
                            .memory_size_in_mb(2048)
                            .max_concurrency(20)
                            .provisioned_concurrency(1)
                            .build(),
                    );
                    h.aws.create_endpoint_of(name, variant, false, tags).await;
                }
                Kind::Components(components) => {
                    h.aws.create_component_endpoint(name, 0).await;
                    for component in components {
                        h.aws.create_component(component, name, 1, tags).await;
                    }
                }
            }
            for v in e.variants {
                match e.initial {
                    Initial::Target(min, max) => {
                        h.aws.register_target(name, v, min, max, None).await;
                    }
                    Initial::Whole => h.aws.seed_autoscaling(name, v).await,
                    Initial::Unregistered => {}
                }
            }
        }
        let requests: Vec<(i64, f64)> = (0..days)
            .map(|d| {
                (
                    (start + minutes(d * 24 * 60 + INVOKED_AT)).as_second(),
                    12.0,
                )
            })
            .collect();
        h.aws.put_invocations(IDLE, "AllTraffic", &requests).await;
        let scheduler = h.scheduler(&[("SAGETIDE_LEASE_TTL", LEASE_TTL)]);
        // The fleet's own creation happened before sagetide was deployed.
        h.moto.settle().await;
        let existing = h.aws.endpoints().await;
        Self {
            h,
            start,
            scheduler,
            existing,
            longest: Duration::ZERO,
        }
    }

    /// The longest time one invocation took so far.
    pub fn longest_invocation(&self) -> Duration {
        self.longest
    }

    /// The `i`-th tick's instant.
    pub fn tick_at(&self, i: i64) -> Timestamp {
        self.start + minutes(i * TICK_MINUTES)
    }

    /// The script's events due at `now`, then the scheduler's tick.
    pub async fn step(&mut self, now: Timestamp) -> Step {
        let since_start = (now - self.start).as_mins();
        let of_day = since_start.rem_euclid(24 * 60);
        let (mut by_hand, mut deliveries) = (Vec::new(), Vec::new());
        if since_start == OVERRIDE.0 * 60 {
            let value = format!("awake-until={}", self.start + hours(OVERRIDE.1));
            self.h
                .aws
                .set_tag("support-bot", "sagetide:override", &value)
                .await;
            by_hand.push(format!(
                "someone tags support-bot sagetide:override={value}: it stays awake past 18:00 New York"
            ));
        }
        if IDLE_ALARMS_AT.contains(&of_day) {
            let event = alarm_event(&format!("sagetide-idle-{IDLE}"), "ALARM", Some(IDLE));
            let what = format!("idle alarm sagetide-idle-{IDLE} goes to ALARM → sleeper");
            deliveries.extend(self.deliver("sleeper", event, what, now).await);
        }
        if of_day == WOKEN_BY_HAND_AT {
            let event = json!({"action": "wake", "endpoint": IDLE});
            let what = format!("someone needs {IDLE}: {event} → waker");
            deliveries.extend(self.deliver("waker", event, what, now).await);
        }
        for (at, state) in [(ERRORS_FIRE_AT, "ALARM"), (ERRORS_CLEAR_AT, "OK")] {
            if of_day == at {
                self.h.aws.alarm_in_state(ERRORS_ALARM, state).await;
                let event = alarm_change(
                    ERRORS_ALARM,
                    state,
                    Some("fraud-detector"),
                    &now.to_string(),
                );
                let what = format!(
                    "alarm {ERRORS_ALARM} (Invocation5XXErrors) goes to {state} → remediator"
                );
                deliveries.extend(self.deliver("remediator", event, what, now).await);
            }
        }
        // Ticks are not retried (the next one is the retry).
        let started = Instant::now();
        let tick = self
            .scheduler
            .invoke(scheduled_event(&now.to_string()))
            .await;
        self.longest = self.longest.max(started.elapsed());
        deliveries.extend(self.react(now).await);
        Step {
            now,
            by_hand,
            deliveries,
            tick,
        }
    }

    /// Delivers `event` to `function` acting at `now`, as Lambda does (functions act one after
    /// another here, so the short test lease is safe), then what AWS does in answer to what
    /// changed.
    async fn deliver(
        &mut self,
        function: &str,
        event: Value,
        what: String,
        now: Timestamp,
    ) -> Vec<Delivery> {
        let delivered = self.h.deliver(function, event, now).await;
        self.longest = self.longest.max(delivered.longest);
        let mut deliveries = vec![Delivery {
            what,
            attempts: delivered.attempts,
            answer: delivered.answer,
        }];
        deliveries.extend(Box::pin(self.react(now)).await);
        deliveries
    }

    /// What AWS does when endpoints change: they finish creating and deleting, and their state
    /// changes reach the functions through EventBridge (IN_SERVICE: the restorer). An endpoint
    /// gone without its snapshot fails the demo.
    async fn react(&mut self, now: Timestamp) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        for (event, function, delivered) in self.h.deliver_events(now).await {
            self.longest = self.longest.max(delivered.longest);
            let (endpoint, status) = state_change(&event);
            deliveries.push(Delivery {
                what: format!("{endpoint} is {status} → {function}"),
                attempts: delivered.attempts,
                answer: delivered.answer,
            });
        }
        let existing = self.h.aws.endpoints().await;
        for gone in self.existing.difference(&existing) {
            self.h.aws.assert_snapshot_if_gone(gone).await;
        }
        self.existing = existing;
        if !deliveries.is_empty() {
            // What the deliveries changed may send events of its own (a restore that sets the
            // weights makes the endpoint Updating, then InService again).
            deliveries.extend(Box::pin(self.react(now)).await);
        }
        deliveries
    }

    /// Everything sagetide is responsible for in the fleet (see [`crate::seed::Aws::state`]),
    /// with the inference components' copies and targets.
    pub async fn state(&self) -> BTreeMap<String, Vec<String>> {
        let fleet: Vec<_> = FLEET.iter().map(|e| (e.name, e.variants)).collect();
        let mut state = self.h.aws.state(&fleet).await;
        for e in &FLEET {
            if let Kind::Components(components) = e.kind {
                for component in components {
                    let lines = state.entry(e.name.to_owned()).or_default();
                    lines.push(format!(
                        "{component} {:?}",
                        self.h.aws.copies(component).await
                    ));
                    lines.push(format!(
                        "{component} target {:?}",
                        self.h.aws.copy_bounds(component).await
                    ));
                }
            }
        }
        state
    }
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

pub fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}
