//! How the command line words a schedule's wants and its instants, the same in every
//! subcommand.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sagetide::schedule::Desired;

/// `awake 2..10` or `asleep`.
pub fn wants(desired: &Desired) -> String {
    match desired {
        Desired::Awake(capacity) => format!("awake {capacity}"),
        Desired::Asleep => "asleep".into(),
    }
}

/// `2026-12-03 Thu 08:00 CET`: in the schedule's time zone.
pub fn local(tz: &TimeZone, at: Timestamp) -> String {
    at.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %a %H:%M %Z")
        .to_string()
}
