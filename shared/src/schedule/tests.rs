use super::*;
use crate::config::Config;

const DOC: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - days: mon-fri
        start: "08:00"
        end: "19:00"
        capacity: { min: 2, max: 10 }
    off_hours: { min: 1, max: 1 }
    holidays: ["2026-12-24", "2026-12-25"]
  night-batch:
    timezone: Europe/Berlin
    periods:
      - days: fri
        start: "22:00"
        end: "06:00"
        capacity: { min: 3, max: 3 }
      - days: mon-fri
        start: "12:00"
        end: "14:00"
        capacity: { min: 1, max: 4 }
      - days: mon-fri
        start: "13:00"
        end: "15:00"
        capacity: { min: 2, max: 2 }
    off_hours: { min: 1, max: 2 }
  dst-edges-berlin:
    timezone: Europe/Berlin
    periods:
      - days: sun
        start: "02:30"
        end: "05:00"
        capacity: { min: 4, max: 4 }
      - days: sat
        start: "23:00"
        end: "02:30"
        capacity: { min: 5, max: 5 }
    off_hours: { min: 1, max: 1 }
  dst-edges-new-york:
    timezone: America/New_York
    periods:
      - days: sun
        start: "02:15"
        end: "04:00"
        capacity: { min: 4, max: 4 }
      - days: sat
        start: "22:00"
        end: "01:30"
        capacity: { min: 5, max: 5 }
    off_hours: { min: 1, max: 1 }
  sleepy:
    timezone: America/New_York
    periods:
      - days: mon-fri
        start: "09:00"
        end: "17:00"
        capacity: { min: 1, max: 3 }
    off_hours: sleep
    prewarm: 15m
"#;

fn schedule(name: &str) -> Schedule {
    Config::parse(DOC).unwrap().schedule(name).unwrap().clone()
}

/// An instant written as local time with its zone, e.g. `2026-11-23T07:59[Europe/Berlin]`.
fn at(text: &str) -> Timestamp {
    text.parse::<jiff::ZonedDateTime>().unwrap().timestamp()
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn awake(min: u32, max: u32) -> Desired {
    Desired::Awake(Capacity::new(min, max).unwrap())
}

fn desired(name: &str, text: &str) -> Desired {
    schedule(name).state_at(at(text)).desired
}

#[test]
fn weekday_in_berlin_at_0759_is_off_hours() {
    // Monday 2026-11-23.
    let state = schedule("office-hours").state_at(at("2026-11-23T07:59[Europe/Berlin]"));
    assert_eq!(state.desired, awake(1, 1));
    assert_eq!(state.why, Why::OffHours);
}

#[test]
fn weekday_in_berlin_at_0800_starts_the_period() {
    let state = schedule("office-hours").state_at(at("2026-11-23T08:00[Europe/Berlin]"));
    assert_eq!(state.desired, awake(2, 10));
    assert_eq!(state.why, Why::Period("mon-fri 08:00-19:00".into()));
}

#[test]
fn weekday_in_berlin_at_1859_is_still_the_period_and_1900_is_off_hours() {
    assert_eq!(
        desired("office-hours", "2026-11-23T18:59[Europe/Berlin]"),
        awake(2, 10)
    );
    assert_eq!(
        desired("office-hours", "2026-11-23T19:00[Europe/Berlin]"),
        awake(1, 1)
    );
}

#[test]
fn saturday_is_off_hours_all_day() {
    assert_eq!(
        desired("office-hours", "2026-11-28T12:00[Europe/Berlin]"),
        awake(1, 1)
    );
}

#[test]
fn holiday_on_a_weekday_is_off_hours_all_day() {
    // Thursday 2026-12-24.
    let state = schedule("office-hours").state_at(at("2026-12-24T10:00[Europe/Berlin]"));
    assert_eq!(state.desired, awake(1, 1));
    assert_eq!(state.why, Why::Holiday(jiff::civil::date(2026, 12, 24)));
}

#[test]
fn period_crossing_midnight_belongs_to_the_day_it_starts() {
    // Friday 2026-11-27 22:00 to Saturday 06:00.
    assert_eq!(
        desired("night-batch", "2026-11-27T21:59[Europe/Berlin]"),
        awake(1, 2)
    );
    assert_eq!(
        desired("night-batch", "2026-11-27T22:00[Europe/Berlin]"),
        awake(3, 3)
    );
    assert_eq!(
        desired("night-batch", "2026-11-28T05:59[Europe/Berlin]"),
        awake(3, 3)
    );
    assert_eq!(
        desired("night-batch", "2026-11-28T06:00[Europe/Berlin]"),
        awake(1, 2)
    );
    // Thursday night is not Friday night.
    assert_eq!(
        desired("night-batch", "2026-11-26T23:00[Europe/Berlin]"),
        awake(1, 2)
    );
}

#[test]
fn overlapping_periods_take_the_larger_min_and_the_larger_max() {
    assert_eq!(
        desired("night-batch", "2026-11-23T12:30[Europe/Berlin]"),
        awake(1, 4)
    );
    assert_eq!(
        desired("night-batch", "2026-11-23T13:30[Europe/Berlin]"),
        awake(2, 4)
    );
    assert_eq!(
        desired("night-batch", "2026-11-23T14:30[Europe/Berlin]"),
        awake(2, 2)
    );
}

#[test]
fn berlin_spring_forward_a_start_inside_the_gap_begins_when_the_gap_ends() {
    // 2026-03-29 (Sunday): 02:00 CET = 01:00 UTC jumps to 03:00 CEST. "02:30" does not exist.
    let s = schedule("dst-edges-berlin");
    assert_eq!(s.state_at(utc("2026-03-29T00:59:59Z")).desired, awake(5, 5));
    // The Saturday-night period ends at "02:30", which is also skipped: both boundaries fall
    // on the gap's end, where the Sunday period takes over.
    assert_eq!(s.state_at(utc("2026-03-29T01:00:00Z")).desired, awake(4, 4));
    assert_eq!(s.state_at(utc("2026-03-29T02:59:59Z")).desired, awake(4, 4));
    assert_eq!(s.state_at(utc("2026-03-29T03:00:00Z")).desired, awake(1, 1));
}

#[test]
fn berlin_fall_back_a_repeated_end_is_its_first_occurrence() {
    // 2026-10-25 (Sunday): 03:00 CEST = 01:00 UTC falls back to 02:00 CET; 02:00–03:00 repeats.
    let s = schedule("dst-edges-berlin");
    // First 02:29 (CEST) is 00:29 UTC: still Saturday night's period.
    assert_eq!(s.state_at(utc("2026-10-25T00:29:00Z")).desired, awake(5, 5));
    // The first 02:30 (CEST) is 00:30 UTC: the night period ends and the Sunday one starts.
    assert_eq!(s.state_at(utc("2026-10-25T00:30:00Z")).desired, awake(4, 4));
    // The second 02:10 (CET, 01:10 UTC) does not bring the night period back.
    assert_eq!(s.state_at(utc("2026-10-25T01:10:00Z")).desired, awake(4, 4));
    // 05:00 CET is 04:00 UTC.
    assert_eq!(s.state_at(utc("2026-10-25T03:59:00Z")).desired, awake(4, 4));
    assert_eq!(s.state_at(utc("2026-10-25T04:00:00Z")).desired, awake(1, 1));
}

#[test]
fn new_york_spring_forward_a_start_inside_the_gap_begins_at_0300_edt() {
    // 2026-03-08 (Sunday): 02:00 EST = 07:00 UTC jumps to 03:00 EDT. "02:15" does not exist.
    let s = schedule("dst-edges-new-york");
    assert_eq!(s.state_at(utc("2026-03-08T06:59:00Z")).desired, awake(1, 1));
    assert_eq!(s.state_at(utc("2026-03-08T07:00:00Z")).desired, awake(4, 4));
    // 04:00 EDT is 08:00 UTC.
    assert_eq!(s.state_at(utc("2026-03-08T07:59:00Z")).desired, awake(4, 4));
    assert_eq!(s.state_at(utc("2026-03-08T08:00:00Z")).desired, awake(1, 1));
}

#[test]
fn new_york_fall_back_a_repeated_end_is_its_first_occurrence() {
    // 2026-11-01 (Sunday): 02:00 EDT = 06:00 UTC falls back to 01:00 EST; 01:00–02:00 repeats.
    let s = schedule("dst-edges-new-york");
    // Saturday 22:00 EDT to the first 01:30 EDT (05:30 UTC).
    assert_eq!(s.state_at(utc("2026-11-01T05:29:00Z")).desired, awake(5, 5));
    assert_eq!(s.state_at(utc("2026-11-01T05:30:00Z")).desired, awake(1, 1));
    // The second 01:10 (EST, 06:10 UTC) is off-hours.
    assert_eq!(s.state_at(utc("2026-11-01T06:10:00Z")).desired, awake(1, 1));
    // 02:15 EST (07:15 UTC) starts the Sunday period.
    assert_eq!(s.state_at(utc("2026-11-01T07:15:00Z")).desired, awake(4, 4));
}

#[test]
fn a_weekday_period_follows_local_time_across_a_dst_change() {
    let s = schedule("office-hours");
    // 08:00 Berlin is 07:00 UTC in winter and 06:00 UTC in summer.
    assert_eq!(
        s.state_at(utc("2026-03-27T07:00:00Z")).desired,
        awake(2, 10)
    );
    assert_eq!(
        s.state_at(utc("2026-03-30T06:00:00Z")).desired,
        awake(2, 10)
    );
    assert_eq!(s.state_at(utc("2026-03-30T05:59:00Z")).desired, awake(1, 1));
}

#[test]
fn next_transition_after_friday_evening_is_monday_morning() {
    let s = schedule("office-hours");
    let (when, state) = s
        .next_transition(at("2026-11-27T19:00[Europe/Berlin]"))
        .unwrap();
    assert_eq!(when, at("2026-11-30T08:00[Europe/Berlin]"));
    assert_eq!(state.desired, awake(2, 10));
}

#[test]
fn next_transition_skips_holidays() {
    let s = schedule("office-hours");
    let (when, _) = s
        .next_transition(at("2026-12-23T19:00[Europe/Berlin]"))
        .unwrap();
    // 24th and 25th are holidays, then the weekend.
    assert_eq!(when, at("2026-12-28T08:00[Europe/Berlin]"));
}

#[test]
fn transitions_of_a_week_are_every_change_in_order_and_none_past_its_end() {
    let s = schedule("office-hours");
    let week = s.transitions(
        at("2026-12-21T00:00[Europe/Berlin]"),
        at("2026-12-28T08:00[Europe/Berlin]"),
    );
    let when: Vec<_> = week.iter().map(|(t, _)| *t).collect();
    // Mon to Wed as usual; Thu and Fri are holidays; the next Monday's start is the window's
    // last instant, and counts.
    assert_eq!(
        when,
        [
            at("2026-12-21T08:00[Europe/Berlin]"),
            at("2026-12-21T19:00[Europe/Berlin]"),
            at("2026-12-22T08:00[Europe/Berlin]"),
            at("2026-12-22T19:00[Europe/Berlin]"),
            at("2026-12-23T08:00[Europe/Berlin]"),
            at("2026-12-23T19:00[Europe/Berlin]"),
            at("2026-12-28T08:00[Europe/Berlin]"),
        ]
    );
    assert_eq!(week[0].1.desired, awake(2, 10));
    assert_eq!(week[1].1.desired, awake(1, 1));
    assert!(
        s.transitions(
            at("2026-12-24T00:00[Europe/Berlin]"),
            at("2026-12-27T23:00[Europe/Berlin]")
        )
        .is_empty()
    );
}

#[test]
fn sleep_schedule_is_asleep_off_hours_and_awake_from_start_minus_prewarm() {
    let s = schedule("sleepy");
    assert_eq!(
        desired("sleepy", "2026-11-23T08:44[America/New_York]"),
        Desired::Asleep
    );
    let prewarm = s.state_at(at("2026-11-23T08:45[America/New_York]"));
    assert_eq!(prewarm.desired, awake(1, 3));
    assert_eq!(prewarm.why, Why::Prewarm("mon-fri 09:00-17:00".into()));
    assert_eq!(
        desired("sleepy", "2026-11-23T17:00[America/New_York]"),
        Desired::Asleep
    );
    let (when, _) = s
        .next_transition(at("2026-11-23T17:00[America/New_York]"))
        .unwrap();
    assert_eq!(when, at("2026-11-24T08:45[America/New_York]"));
}

#[test]
fn override_capacity_is_the_largest_of_all_periods() {
    assert_eq!(
        schedule("night-batch").awake_capacity(),
        Some(Capacity::new(3, 4).unwrap())
    );
}

#[test]
fn a_schedule_without_periods_never_changes() {
    let doc = "schedules:\n  flat:\n    timezone: UTC\n    off_hours: { min: 1, max: 2 }\n";
    let config = Config::parse(doc).unwrap();
    let flat = config.schedule("flat").unwrap();
    assert_eq!(
        flat.state_at(utc("2026-01-01T00:00:00Z")).desired,
        awake(1, 2)
    );
    assert_eq!(flat.next_transition(utc("2026-01-01T00:00:00Z")), None);
}

/// Found by fuzzing: asked at the ends of jiff's range, the engine panicked converting local
/// times; events now stop at `SUPPORTED`, and every schedule answers at both of its ends.
#[test]
fn schedules_answer_at_both_ends_of_the_supported_instants() {
    let config = Config::parse(DOC).unwrap();
    let (earliest, latest) = SUPPORTED;
    for s in config.schedules() {
        for now in [earliest, latest] {
            let _ = s.state_at(now);
            assert!(s.next_transition(now).is_some(), "{} at {now}", s.name);
        }
    }
    assert!(supported(latest + SignedDuration::from_secs(1)).is_err());
    assert!(supported(earliest - SignedDuration::from_secs(1)).is_err());
}

/// A configuration with one sleep schedule, `desk`: a lunch break between its two periods as
/// long as `gap` minutes (from 12:00), with `prewarm` and the default or a given `min_sleep`.
pub(crate) fn lunch_document(gap: u32, prewarm: &str, min_sleep: Option<&str>) -> String {
    let afternoon = format!("{:02}:{:02}", 12 + gap / 60, gap % 60);
    let min_sleep = min_sleep.map_or(String::new(), |m| format!("\n    min_sleep: {m}"));
    format!(
        r#"
schedules:
  desk:
    timezone: Europe/Berlin
    periods:
      - {{ days: mon-fri, start: "08:00", end: "12:00", capacity: {{ min: 1, max: 4 }} }}
      - {{ days: mon-fri, start: "{afternoon}", end: "18:00", capacity: {{ min: 2, max: 6 }} }}
    off_hours: sleep
    prewarm: {prewarm}{min_sleep}
"#
    )
}

fn lunch(gap: u32, prewarm: &str, min_sleep: Option<&str>) -> Schedule {
    Config::parse(&lunch_document(gap, prewarm, min_sleep))
        .unwrap()
        .schedule("desk")
        .unwrap()
        .clone()
}

#[test]
fn a_lunch_gap_shorter_than_min_sleep_keeps_the_endpoint_awake_at_the_morning_capacity() {
    let desk = lunch(30, "0m", None);
    let state = desk.state_at(at("2026-11-23T12:10[Europe/Berlin]"));
    assert_eq!(state.desired, awake(1, 4));
    assert_eq!(
        state.why.to_string(),
        "a gap of 30m after period mon-fri 08:00-12:00, shorter than min_sleep 1h: kept awake"
    );
    // Nothing changes between the morning and the afternoon but the capacity.
    assert_eq!(
        desk.next_transition(at("2026-11-23T11:00[Europe/Berlin]")),
        Some((
            at("2026-11-23T12:30[Europe/Berlin]"),
            State {
                desired: awake(2, 6),
                why: Why::Period("mon-fri 12:30-18:00".into()),
            }
        ))
    );
}

#[test]
fn a_lunch_gap_longer_than_min_sleep_sleeps() {
    let desk = lunch(180, "0m", None);
    assert_eq!(
        desk.state_at(at("2026-11-23T12:10[Europe/Berlin]")),
        State {
            desired: Desired::Asleep,
            why: Why::OffHours
        }
    );
    // A min_sleep of its own can make the same gap too short.
    let patient = lunch(180, "0m", Some("4h"));
    assert_eq!(
        patient
            .state_at(at("2026-11-23T12:10[Europe/Berlin]"))
            .desired,
        awake(1, 4)
    );
}

#[test]
fn the_gap_is_measured_to_the_next_start_less_its_prewarm() {
    // 90 minutes of lunch less 45 of prewarm leaves 45: shorter than an hour, kept awake.
    let prewarmed = lunch(90, "45m", None);
    assert_eq!(
        prewarmed
            .state_at(at("2026-11-23T12:10[Europe/Berlin]"))
            .desired,
        awake(1, 4)
    );
    // From start - prewarm it is the afternoon's prewarm, at the afternoon's capacity.
    assert_eq!(
        prewarmed.state_at(at("2026-11-23T12:50[Europe/Berlin]")),
        State {
            desired: awake(2, 6),
            why: Why::Prewarm("mon-fri 13:30-18:00".into())
        }
    );
    // The same lunch with 15 minutes of prewarm leaves 75 minutes: asleep.
    let brief = lunch(90, "15m", None);
    assert_eq!(
        brief
            .state_at(at("2026-11-23T12:10[Europe/Berlin]"))
            .desired,
        Desired::Asleep
    );
    // The night is long whatever the gap rule says.
    assert_eq!(
        prewarmed
            .state_at(at("2026-11-23T20:00[Europe/Berlin]"))
            .desired,
        Desired::Asleep
    );
}

fn until_midnight(end: &str) -> Schedule {
    let doc = format!(
        r#"
schedules:
  late:
    timezone: Europe/Berlin
    periods:
      - {{ days: mon-fri, start: "18:00", end: "{end}", capacity: {{ min: 2, max: 2 }} }}
      - {{ days: tue-sat, start: "00:00", end: "06:00", capacity: {{ min: 1, max: 1 }} }}
    off_hours: sleep
    min_sleep: 0m
"#
    );
    Config::parse(&doc)
        .unwrap()
        .schedule("late")
        .unwrap()
        .clone()
}

#[test]
fn a_period_ending_at_24_00_or_23_59_runs_until_midnight_with_no_gap_before_a_00_00_period() {
    for end in ["24:00", "23:59"] {
        let late = until_midnight(end);
        for local in ["23:59", "23:59:30"] {
            let now = at(&format!("2026-11-23T{local}[Europe/Berlin]"));
            assert_eq!(
                late.state_at(now).desired,
                awake(2, 2),
                "end {end}, {local}"
            );
        }
        let midnight = at("2026-11-24T00:00[Europe/Berlin]");
        assert_eq!(late.state_at(midnight).desired, awake(1, 1), "end {end}");
        // From 18:00 the next change is 00:00, to the night's capacity, not a sleep.
        let (next, state) = late
            .next_transition(at("2026-11-23T19:00[Europe/Berlin]"))
            .unwrap();
        assert_eq!((next, state.desired), (midnight, awake(1, 1)), "end {end}");
    }
}

#[test]
fn a_short_gap_keeps_the_larger_capacity_of_periods_ending_together() {
    let doc = r#"
schedules:
  desk:
    timezone: UTC
    periods:
      - { days: mon-fri, start: "08:00", end: "12:00", capacity: { min: 1, max: 4 } }
      - { days: mon-fri, start: "10:00", end: "12:00", capacity: { min: 3, max: 3 } }
      - { days: mon-fri, start: "12:30", end: "18:00", capacity: { min: 1, max: 4 } }
    off_hours: sleep
"#;
    let desk = Config::parse(doc)
        .unwrap()
        .schedule("desk")
        .unwrap()
        .clone();
    assert_eq!(
        desk.state_at(utc("2026-11-23T12:10:00Z")).desired,
        awake(3, 4)
    );
}

#[test]
fn a_gap_across_a_holiday_is_slept_however_short_min_sleep_makes_it() {
    // Saturday 23:30 to Monday 00:00 across the 23-hour Sunday Berlin springs forward on.
    let doc = |holidays: &str| {
        format!(
            r#"
schedules:
  weekend:
    timezone: Europe/Berlin
    periods:
      - {{ days: sat, start: "08:00", end: "23:30", capacity: {{ min: 1, max: 1 }} }}
      - {{ days: mon, start: "00:00", end: "06:00", capacity: {{ min: 1, max: 1 }} }}
    off_hours: sleep
    min_sleep: 24h
    holidays: [{holidays}]
"#
        )
    };
    let late = at("2026-03-28T23:45[Europe/Berlin]");
    let plain = Config::parse(&doc("")).unwrap();
    assert_eq!(
        plain.schedule("weekend").unwrap().state_at(late).desired,
        awake(1, 1)
    );
    let holiday = Config::parse(&doc("\"2026-03-29\"")).unwrap();
    assert_eq!(
        holiday.schedule("weekend").unwrap().state_at(late).desired,
        Desired::Asleep
    );
}

#[test]
fn a_period_from_23_59_to_23_59_is_a_whole_day() {
    let doc = r#"
schedules:
  round:
    timezone: UTC
    periods:
      - { days: mon, start: "23:59", end: "23:59", capacity: { min: 2, max: 2 } }
    off_hours: { min: 1, max: 1 }
"#;
    let round = Config::parse(doc)
        .unwrap()
        .schedule("round")
        .unwrap()
        .clone();
    assert_eq!(
        round.state_at(utc("2026-11-24T12:00:00Z")).desired,
        awake(2, 2)
    );
}
