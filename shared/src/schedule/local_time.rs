//! Turns a schedule's local wall-clock times into instants, with the contract's rule for the
//! hours a DST change skips or repeats.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// The instant at which local time `dt` happens in `tz`.
///
/// A time that a DST change skips (spring forward) is taken as the first instant after the
/// gap, i.e. the transition itself: a period that starts at 02:30 on the night Berlin jumps
/// from 02:00 to 03:00 starts at 03:00. A time that a DST change repeats (fall back) is taken
/// as its first occurrence.
pub fn resolve(tz: &TimeZone, dt: DateTime) -> Timestamp {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
            offset
                .to_timestamp(dt)
                .expect("a schedule's local times are far inside jiff's range")
        }
        AmbiguousOffset::Gap { before, .. } => {
            // Read with the offset in force before the gap, `dt` lands at or after the
            // transition; the latest transition not after it is the end of the gap.
            let after_gap = before
                .to_timestamp(dt)
                .expect("a schedule's local times are far inside jiff's range");
            tz.preceding(after_gap + SignedDuration::from_nanos(1))
                .next()
                .map(|transition| transition.timestamp())
                .unwrap_or(after_gap)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(tz: &str, dt: DateTime) -> String {
        let tz = TimeZone::get(tz).unwrap();
        resolve(&tz, dt).to_zoned_datetime(tz).to_string()
    }

    #[test]
    fn berlin_spring_forward_gap_resolves_to_the_end_of_the_gap() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        assert_eq!(
            at("Europe/Berlin", date(2026, 3, 29).at(2, 30, 0, 0)),
            "2026-03-29T03:00:00+02:00[Europe/Berlin]"
        );
        assert_eq!(
            at("Europe/Berlin", date(2026, 3, 29).at(2, 0, 0, 0)),
            "2026-03-29T03:00:00+02:00[Europe/Berlin]"
        );
    }

    #[test]
    fn berlin_fall_back_overlap_resolves_to_the_first_occurrence() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        assert_eq!(
            at("Europe/Berlin", date(2026, 10, 25).at(2, 30, 0, 0)),
            "2026-10-25T02:30:00+02:00[Europe/Berlin]"
        );
    }

    #[test]
    fn new_york_spring_forward_and_fall_back() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT; 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        assert_eq!(
            at("America/New_York", date(2026, 3, 8).at(2, 15, 0, 0)),
            "2026-03-08T03:00:00-04:00[America/New_York]"
        );
        assert_eq!(
            at("America/New_York", date(2026, 11, 1).at(1, 30, 0, 0)),
            "2026-11-01T01:30:00-04:00[America/New_York]"
        );
    }
}
