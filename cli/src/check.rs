//! `sagetide check`: a configuration document validated by the functions' own parser, and each
//! schedule's transitions over the days ahead, in its local time and in UTC, with its DST
//! changes and holidays marked.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use sagetide::config::{Config, ConfigError};
use sagetide::schedule::{Schedule, Why};
use sagetide_cli::picture::{self, Band, Row, Shade};
use sagetide_cli::wording::{local, wants};

/// What is wrong with a document, one entry per problem.
#[derive(Debug, Serialize)]
pub struct Problem {
    pub place: String,
    pub field: String,
    pub message: String,
}

/// A valid document's schedules over a window.
#[derive(Debug, Serialize)]
pub struct Week {
    pub from: Timestamp,
    pub until: Timestamp,
    pub schedules: Vec<ScheduleWeek>,
}

#[derive(Debug, Serialize)]
pub struct ScheduleWeek {
    pub name: String,
    pub timezone: String,
    /// State changes and DST changes, in time order.
    pub events: Vec<Event>,
}

#[derive(Debug, Serialize)]
pub struct Event {
    pub utc: Timestamp,
    /// `2026-12-03 Thu 08:00 CET`.
    pub local: String,
    #[serde(flatten)]
    pub kind: Kind,
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Kind {
    /// The schedule wants another state from here on.
    Transition {
        state: String,
        why: String,
        holiday: bool,
    },
    /// The time zone's offset changes (DST starts or ends).
    Dst { from: String, to: String },
    /// A holiday of the schedule begins: the whole local day is off-hours.
    Holiday { date: String },
}

/// The document as the functions read it, or every problem they would find.
pub fn parse(document: &str) -> Result<Config, Vec<Problem>> {
    Config::parse(document).map_err(problems)
}

/// A valid document's schedules over `days` days from `from`.
pub fn week(config: &Config, from: Timestamp, days: i64) -> Week {
    let until = from + SignedDuration::from_hours(24 * days);
    let schedules = config
        .schedules()
        .map(|s| ScheduleWeek {
            name: s.name.clone(),
            timezone: s.timezone.iana_name().unwrap_or("?").to_owned(),
            events: events(s, from, until),
        })
        .collect();
    Week {
        from,
        until,
        schedules,
    }
}

/// The picture of a valid document's schedules from `from` to `until`: a row per schedule,
/// its DST changes and holidays marked.
pub fn picture(config: &Config, from: Timestamp, until: Timestamp) -> String {
    let rows: Vec<Row> = config
        .schedules()
        .map(|schedule| {
            let bands = bands(schedule, from, until);
            let marks = events(schedule, from, until)
                .into_iter()
                .filter_map(|e| match e.kind {
                    Kind::Dst { from, to } => Some((e.utc, format!("DST: {from} -> {to}"))),
                    Kind::Holiday { date } => Some((e.utc, format!("holiday {date}"))),
                    Kind::Transition { .. } => None,
                })
                .collect();
            Row {
                name: schedule.name.clone(),
                note: schedule.timezone.iana_name().unwrap_or("?").to_owned(),
                bands,
                marks,
            }
        })
        .collect();
    let title = format!(
        "sagetide schedules, {} to {} (UTC)",
        from.strftime("%Y-%m-%d %H:%M"),
        until.strftime("%Y-%m-%d %H:%M")
    );
    picture::draw(&title, from, until, &rows)
}

/// The schedule's bands: a new one wherever what a band shows changes (its shade or its
/// capacity; the reason is in its tooltip). Besides its
/// transitions, that is where a prewarm runs into its period (a prewarm after a transition) and
/// where a holiday begins or ends (at local midnight), so the state is read at those instants.
fn bands(schedule: &Schedule, from: Timestamp, until: Timestamp) -> Vec<Band> {
    let transitions: Vec<Timestamp> = schedule
        .transitions(from, until)
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    let tz = &schedule.timezone;
    let (first, last) = (
        from.to_zoned_datetime(tz.clone()).date(),
        until.to_zoned_datetime(tz.clone()).date(),
    );
    let midnights = std::iter::successors(Some(first), |day| day.tomorrow().ok())
        .take_while(|day| *day <= last)
        .filter_map(|day| day.to_zoned_datetime(tz.clone()).ok())
        .map(|midnight| midnight.timestamp());
    let mut instants: Vec<Timestamp> = std::iter::once(from)
        .chain(transitions.iter().copied())
        .chain(transitions.iter().map(|at| *at + schedule.prewarm))
        .chain(midnights)
        .filter(|at| (from..until).contains(at))
        .collect();
    instants.sort();
    instants.dedup();
    let mut bands: Vec<Band> = Vec::new();
    for at in instants {
        let state = schedule.state_at(at);
        let band = Band {
            from: at,
            shade: Shade::of(&state),
            label: picture::label(&state.desired),
            why: state.why.to_string(),
        };
        if bands
            .last()
            .is_none_or(|last| (last.shade, &last.label) != (band.shade, &band.label))
        {
            bands.push(band);
        }
    }
    bands
}

fn problems(error: ConfigError) -> Vec<Problem> {
    match error {
        ConfigError::Invalid(problems) => problems
            .into_iter()
            .map(|p| Problem {
                place: p.place,
                field: p.field,
                message: p.message,
            })
            .collect(),
        other => vec![Problem {
            place: "the document".into(),
            field: String::new(),
            message: other.to_string(),
        }],
    }
}

fn events(schedule: &Schedule, from: Timestamp, until: Timestamp) -> Vec<Event> {
    let tz = &schedule.timezone;
    let mut events: Vec<Event> = schedule
        .transitions(from, until)
        .into_iter()
        .map(|(at, state)| Event {
            utc: at,
            local: local(tz, at),
            kind: Kind::Transition {
                state: wants(&state.desired),
                holiday: matches!(state.why, Why::Holiday(_)),
                why: state.why.to_string(),
            },
        })
        .collect();
    let second = SignedDuration::from_secs(1);
    events.extend(
        tz.following(from)
            .take_while(|t| t.timestamp() <= until)
            .map(|t| Event {
                utc: t.timestamp(),
                local: local(tz, t.timestamp()),
                kind: Kind::Dst {
                    from: tz.to_offset(t.timestamp() - second).to_string(),
                    to: t.offset().to_string(),
                },
            }),
    );
    let (first, last) = (
        from.to_zoned_datetime(tz.clone()).date(),
        until.to_zoned_datetime(tz.clone()).date(),
    );
    events.extend(
        schedule
            .holidays
            .range(first..=last)
            .filter_map(|day| day.to_zoned_datetime(tz.clone()).ok())
            .map(|midnight| midnight.timestamp())
            .filter(|at| *at > from && *at <= until)
            .map(|at| Event {
                utc: at,
                local: local(tz, at),
                kind: Kind::Holiday {
                    date: at.to_zoned_datetime(tz.clone()).date().to_string(),
                },
            }),
    );
    // A holiday's own change (if it makes one) sorts after the holiday's line.
    events.sort_by_key(|e| (e.utc, !matches!(e.kind, Kind::Holiday { .. })));
    events
}

/// The table `check` prints for a valid document.
pub fn table(week: &Week) -> String {
    let mut out = String::new();
    for schedule in &week.schedules {
        out.push_str(&format!(
            "{} ({}), {} to {}:\n",
            schedule.name,
            schedule.timezone,
            week.from.strftime("%Y-%m-%d %H:%M UTC"),
            week.until.strftime("%Y-%m-%d %H:%M UTC"),
        ));
        if schedule.events.is_empty() {
            out.push_str("  no change in this window\n");
        }
        for event in &schedule.events {
            let utc = event.utc.strftime("%Y-%m-%d %H:%M UTC");
            let what = match &event.kind {
                Kind::Transition {
                    state,
                    why,
                    holiday,
                } => {
                    let mark = if *holiday { "  [holiday]" } else { "" };
                    format!("{state:<14} {why}{mark}")
                }
                Kind::Dst { from, to } => format!("[DST] offset {from} -> {to}"),
                Kind::Holiday { date } => format!("[holiday] {date}: off-hours all day"),
            };
            out.push_str(&format!("  {:<27} {utc:<21} {what}\n", event.local));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: { min: 1, max: 1 }
    holidays: ["2027-03-29"]
"#;

    #[test]
    fn a_week_lists_each_change_in_local_time_and_utc_with_dst_and_holidays_marked() {
        // Friday 2027-03-26 00:00 UTC: Berlin goes to summer time on Sunday the 28th, and
        // Monday the 29th is a holiday.
        let week = week(
            &parse(DOC).unwrap(),
            "2027-03-26T00:00:00Z".parse().unwrap(),
            7,
        );
        let table = table(&week);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "office-hours (Europe/Berlin), 2027-03-26 00:00 UTC to 2027-04-02 00:00 UTC:",
                "  2027-03-26 Fri 08:00 CET    2027-03-26 07:00 UTC awake 2..10    period mon-fri 08:00-19:00",
                "  2027-03-26 Fri 19:00 CET    2027-03-26 18:00 UTC awake 1..1     off-hours",
                "  2027-03-28 Sun 03:00 CEST   2027-03-28 01:00 UTC [DST] offset +01 -> +02",
                "  2027-03-29 Mon 00:00 CEST   2027-03-28 22:00 UTC [holiday] 2027-03-29: off-hours all day",
                "  2027-03-30 Tue 08:00 CEST   2027-03-30 06:00 UTC awake 2..10    period mon-fri 08:00-19:00",
                "  2027-03-30 Tue 19:00 CEST   2027-03-30 17:00 UTC awake 1..1     off-hours",
                "  2027-03-31 Wed 08:00 CEST   2027-03-31 06:00 UTC awake 2..10    period mon-fri 08:00-19:00",
                "  2027-03-31 Wed 19:00 CEST   2027-03-31 17:00 UTC awake 1..1     off-hours",
                "  2027-04-01 Thu 08:00 CEST   2027-04-01 06:00 UTC awake 2..10    period mon-fri 08:00-19:00",
                "  2027-04-01 Thu 19:00 CEST   2027-04-01 17:00 UTC awake 1..1     off-hours",
            ]
        );
    }

    #[test]
    fn every_problem_is_named_by_place_and_field() {
        let bad = r#"
schedules:
  a:
    timezone: Mars/Olympus
    periods: [{ days: mon, start: "08:00", end: "09:00", capacity: { min: 3, max: 2 } }]
    off_hours: { min: 1, max: 1 }
"#;
        let problems = parse(bad).unwrap_err();
        assert!(problems.len() >= 2, "{problems:?}");
        assert!(
            problems.iter().all(|p| p.place.contains("\"a\"")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.field.contains("timezone")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.field.contains("capacity")),
            "{problems:?}"
        );
    }
}
