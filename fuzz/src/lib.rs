//! What the fuzz targets share: a configuration like the ones users write, and instants that
//! stress the schedule arithmetic (DST changes, holidays, the ends of the representable range).

use jiff::Timestamp;
use sagetide::config::Config;
use sagetide::events::Home;
use sagetide::schedule::Schedule;

pub const CONFIG: &str = r#"
schedules:
  office:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
      - { days: fri, start: "22:00", end: "06:00", capacity: { min: 1, max: 3 } }
    off_hours: { min: 1, max: 1 }
    holidays: ["2026-12-24", "2026-12-25"]
  sleepy:
    timezone: America/New_York
    periods:
      - { days: mon-fri, start: "09:00", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
    prewarm: 30m
remediation:
  - name: hold
    alarms: ["errors-*"]
    action: suspend-scale-in
  - name: wake-fuzz
    alarms: ["wake-fuzz"]
    action: wake
    endpoint: fuzz
"#;

pub fn config() -> Config {
    Config::parse(CONFIG).expect("the fuzz fixture is a valid configuration")
}

/// Instants a schedule is asked about: both DST changes of 2026 in Europe and the US, a
/// holiday, and the first and last instants events may carry.
pub fn instants() -> Vec<Timestamp> {
    let mut at: Vec<Timestamp> = [
        "2026-03-29T00:59:59Z",
        "2026-03-29T01:00:00Z",
        "2026-10-25T00:30:00Z",
        "2026-11-01T05:30:00Z",
        "2026-12-24T12:00:00Z",
    ]
    .iter()
    .map(|t| t.parse().expect("fixture instants parse"))
    .collect();
    let (earliest, latest) = sagetide::schedule::SUPPORTED;
    at.extend([earliest, latest]);
    at
}

/// An instant from any number of seconds, clamped into the range events may carry.
pub fn instant(seconds: i64) -> Timestamp {
    let (earliest, latest) = sagetide::schedule::SUPPORTED;
    let seconds = seconds.clamp(earliest.as_second(), latest.as_second());
    Timestamp::from_second(seconds).expect("clamped into range")
}

/// Everything the scheduler asks a schedule at `now`.
pub fn ask(schedule: &Schedule, now: Timestamp) {
    let _ = schedule.state_at(now);
    let _ = schedule.next_transition(now);
    let _ = schedule.awake_capacity();
    let _ = schedule.off_hours_desired();
}

/// The account and region of the events the fuzz targets take, as a deployment sees its own.
pub fn home() -> Home {
    Home {
        account: "123456789012".into(),
        region: "us-east-1".into(),
    }
}
