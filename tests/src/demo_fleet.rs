//! The demo fleet and the world it lives in, shared by the demo and the reliability tests:
//! eight endpoints under four schedules, and each simulated day the same script (an idle
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
remediation:
  - name: hold-on-5xx
    alarms: ["sagetide-remediate-5xx-*"]
    action: suspend-scale-in
"#;

pub struct DemoEndpoint {
    pub name: &'static str,
    pub variants: &'static [&'static str],
    pub tags: &'static [(&'static str, &'static str)],
    /// Capacity of the scalable target before sagetide's first tick; `None`: a whole
    /// autoscaling set-up (target partly suspended, four policies, two scheduled actions).
    pub initial: Option<(i32, i32)>,
}

pub const FLEET: [DemoEndpoint; 8] = [
    DemoEndpoint {
        name: "fraud-detector",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Some((2, 10)),
    },
    DemoEndpoint {
        name: "recommender-ab",
        variants: &["blue", "green"],
        tags: &[("sagetide:schedule", "office-hours")],
        initial: Some((2, 10)),
    },
    DemoEndpoint {
        name: "search-ranker",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Some((3, 8)),
    },
    DemoEndpoint {
        name: "support-bot",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "us-business")],
        initial: Some((3, 8)),
    },
    DemoEndpoint {
        name: "nightly-embed",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "tokyo-batch")],
        initial: Some((2, 4)),
    },
    DemoEndpoint {
        name: "doc-summarizer",
        variants: &["AllTraffic"],
        tags: &[("sagetide:schedule", "berlin-desk")],
        initial: None,
    },
    DemoEndpoint {
        name: "image-tagger",
        variants: &["AllTraffic"],
        tags: &[
            ("sagetide:idle-after", "2h"),
            ("sagetide:wake-on", "manual"),
        ],
        initial: None,
    },
    DemoEndpoint {
        name: "legacy-scoring",
        variants: &["AllTraffic"],
        tags: &[],
        initial: Some((2, 2)),
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
            h.aws.create_endpoint(e.name, e.variants, e.tags).await;
            for v in e.variants {
                match e.initial {
                    Some((min, max)) => h.aws.register_target(e.name, v, min, max, None).await,
                    None => h.aws.seed_autoscaling(e.name, v).await,
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

    /// Everything sagetide is responsible for in the fleet (see [`crate::seed::Aws::state`]).
    pub async fn state(&self) -> BTreeMap<String, Vec<String>> {
        let fleet: Vec<_> = FLEET.iter().map(|e| (e.name, e.variants)).collect();
        self.h.aws.state(&fleet).await
    }
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

pub fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}
