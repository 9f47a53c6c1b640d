//! The schedule engine: for a schedule and an instant, what capacity is in force and when that
//! changes. Pure time logic, no I/O.

mod days;
mod local_time;

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::capacity::Capacity;

pub use days::Days;

/// The instants schedules answer for: 1970 to the end of 8999, far enough inside jiff's range
/// (years ±9999) that the days around any of them, and the horizon of `next_transition`, exist
/// in every time zone. A tick's time or `SAGETIDE_NOW` outside it is rejected where it enters.
pub const SUPPORTED: (Timestamp, Timestamp) = (
    Timestamp::UNIX_EPOCH,
    Timestamp::constant(221_845_391_999, 0),
);

/// `now` if schedules can answer for it, else why not.
pub fn supported(now: Timestamp) -> Result<Timestamp, String> {
    let (earliest, latest) = SUPPORTED;
    if now < earliest || now > latest {
        return Err(format!(
            "{now} is outside the instants schedules answer for ({earliest} to {latest})"
        ));
    }
    Ok(now)
}

/// A window in which the endpoint is "on", in the schedule's local time.
#[derive(Debug, Clone)]
pub struct Period {
    pub days: Days,
    pub start: Time,
    pub end: Time,
    pub capacity: Capacity,
    /// How the period was written (`mon-fri 08:00-19:00`), for logs.
    pub label: String,
}

impl Period {
    /// A period whose end is not after its start runs past midnight into the next day.
    fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffHours {
    Capacity(Capacity),
    /// Delete the endpoint off-hours and recreate it for the next period.
    Sleep,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub timezone: TimeZone,
    pub periods: Vec<Period>,
    pub off_hours: OffHours,
    pub holidays: BTreeSet<Date>,
    /// With `OffHours::Sleep`: how long before a period starts the endpoint is recreated.
    pub prewarm: SignedDuration,
    /// With `OffHours::Sleep`: the shortest sleep worth deleting the endpoint for, from the end
    /// of a period to the next `start - prewarm`; through a shorter gap it stays awake.
    pub min_sleep: SignedDuration,
}

/// What the endpoint should look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired {
    Awake(Capacity),
    Asleep,
}

/// Why the schedule wants what it wants; shown in logs and the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Period(String),
    OffHours,
    Holiday(Date),
    Prewarm(String),
    /// Off-hours between two periods, but shorter than `min_sleep`: awake, at the capacity of
    /// the period that ended.
    ShortGap {
        after: String,
        gap: SignedDuration,
        min_sleep: SignedDuration,
    },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Period(label) => write!(f, "period {label}"),
            Why::OffHours => f.write_str("off-hours"),
            Why::Holiday(day) => write!(f, "holiday {day}"),
            Why::Prewarm(label) => write!(f, "prewarm for period {label}"),
            Why::ShortGap {
                after,
                gap,
                min_sleep,
            } => write!(
                f,
                "a gap of {gap:#} after period {after}, shorter than min_sleep {min_sleep:#}: kept awake"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub desired: Desired,
    pub why: Why,
}

/// One run of a period: from its start (inclusive) to its end (exclusive).
struct Occurrence<'a> {
    start: Timestamp,
    end: Timestamp,
    period: &'a Period,
}

/// How far ahead `next_transition` looks; a schedule whose state never changes has none.
const HORIZON_DAYS: i32 = 400;

impl Schedule {
    /// The state in force at `now`.
    pub fn state_at(&self, now: Timestamp) -> State {
        let today = self.timezone.to_datetime(now).date();
        if self.holidays.contains(&today) {
            return self.outside_periods(now, Why::Holiday(today));
        }
        let mut active = self
            .occurrences_on(yesterday(today))
            .chain(self.occurrences_on(today))
            .filter(|o| o.start <= now && now < o.end);
        match active.next() {
            Some(first) => {
                let capacity =
                    active.fold(first.period.capacity, |c, o| c.union(o.period.capacity));
                State {
                    desired: Desired::Awake(capacity),
                    why: Why::Period(first.period.label.clone()),
                }
            }
            None => self.outside_periods(now, Why::OffHours),
        }
    }

    /// The first instant after `now` at which the desired state changes, with that state.
    pub fn next_transition(&self, now: Timestamp) -> Option<(Timestamp, State)> {
        let current = self.state_at(now).desired;
        let today = self.timezone.to_datetime(now).date();
        let mut day = yesterday(today);
        for _ in 0..HORIZON_DAYS {
            let mut candidates: Vec<Timestamp> = self
                .boundaries_on(day)
                .into_iter()
                .filter(|t| *t > now)
                .collect();
            candidates.sort();
            for at in candidates {
                let state = self.state_at(at);
                if state.desired != current {
                    return Some((at, state));
                }
            }
            day = tomorrow(day);
        }
        None
    }

    /// Every change of the desired state after `from` and up to `until`, in order, each with
    /// the state it brings.
    pub fn transitions(&self, from: Timestamp, until: Timestamp) -> Vec<(Timestamp, State)> {
        let mut changes = Vec::new();
        let mut at = from;
        while let Some((next, state)) = self.next_transition(at).filter(|(t, _)| *t <= until) {
            changes.push((next, state));
            at = next;
        }
        changes
    }

    /// The capacity of an endpoint held awake by an override: the largest min and max among the
    /// schedule's periods (the off-hours capacity if it has none).
    pub fn awake_capacity(&self) -> Option<Capacity> {
        let from_periods = self
            .periods
            .iter()
            .map(|p| p.capacity)
            .reduce(Capacity::union);
        match (from_periods, self.off_hours) {
            (Some(c), _) | (None, OffHours::Capacity(c)) => Some(c),
            (None, OffHours::Sleep) => None,
        }
    }

    /// What off-hours means for this schedule.
    pub fn off_hours_desired(&self) -> Desired {
        match self.off_hours {
            OffHours::Capacity(c) => Desired::Awake(c),
            OffHours::Sleep => Desired::Asleep,
        }
    }

    fn outside_periods(&self, now: Timestamp, why: Why) -> State {
        if self.off_hours == OffHours::Sleep
            && let Some(next) = self.next_start_within(now, self.prewarm)
        {
            return State {
                desired: Desired::Awake(next.period.capacity),
                why: Why::Prewarm(next.period.label.clone()),
            };
        }
        if self.off_hours == OffHours::Sleep
            && why == Why::OffHours
            && let Some(state) = self.short_gap(now)
        {
            return state;
        }
        State {
            desired: self.off_hours_desired(),
            why,
        }
    }

    /// Off-hours at `now` between a period that ended and the next one's `start - prewarm`,
    /// if that gap is shorter than `min_sleep`: the endpoint stays awake through it, at the
    /// capacity of the period that ended.
    fn short_gap(&self, now: Timestamp) -> Option<State> {
        let before = self.last_end_within(now, self.min_sleep)?;
        let next = self.next_start_within(now, self.min_sleep + self.prewarm)?;
        let gap = next.start - self.prewarm - before.end;
        if gap >= self.min_sleep || self.holiday_between(before.end, next.start) {
            return None;
        }
        // Overlapping periods that end together: the larger min and the larger max, as in them.
        let capacity = self
            .runs_ending_at(before.end)
            .fold(before.period.capacity, |c, o| c.union(o.period.capacity));
        Some(State {
            desired: Desired::Awake(capacity),
            why: Why::ShortGap {
                after: before.period.label.clone(),
                gap,
                min_sleep: self.min_sleep,
            },
        })
    }

    /// The period runs that end at `end`.
    fn runs_ending_at(&self, end: Timestamp) -> impl Iterator<Item = Occurrence<'_>> {
        let day = self.timezone.to_datetime(end).date();
        self.occurrences_on(yesterday(day))
            .chain(self.occurrences_on(day))
            .filter(move |o| o.end == end)
    }

    /// Whether a holiday falls between `from` and `to`: a gap across one is a day long, or
    /// nearly (a DST day), and is slept as holidays are. `from`'s own day counts: a period
    /// that ends at midnight (`24:00`, or an overnight one cut by the holiday) ends on it.
    fn holiday_between(&self, from: Timestamp, to: Timestamp) -> bool {
        let mut day = self.timezone.to_datetime(from).date();
        let last = self.timezone.to_datetime(to).date();
        while day <= last {
            if self.holidays.contains(&day) {
                return true;
            }
            day = tomorrow(day);
        }
        false
    }

    /// The latest period run that ended at or before `now` and no earlier than `now - lag`.
    fn last_end_within(&self, now: Timestamp, lag: SignedDuration) -> Option<Occurrence<'_>> {
        if lag.is_zero() {
            return None;
        }
        let earliest = now - lag;
        // A run that ends in the window may have started the day before it.
        let mut day = yesterday(self.timezone.to_datetime(earliest).date());
        let last = self.timezone.to_datetime(now).date();
        let mut found: Option<Occurrence<'_>> = None;
        while day <= last {
            for o in self.occurrences_on(day) {
                if o.end <= now && o.end >= earliest && found.as_ref().is_none_or(|f| o.end > f.end)
                {
                    found = Some(o);
                }
            }
            day = tomorrow(day);
        }
        found
    }

    /// The earliest period that starts after `now` and no later than `now + lead`.
    fn next_start_within(&self, now: Timestamp, lead: SignedDuration) -> Option<Occurrence<'_>> {
        if lead.is_zero() {
            return None;
        }
        let latest = now + lead;
        let first = self.timezone.to_datetime(now).date();
        let last = self.timezone.to_datetime(latest).date();
        let mut day = first;
        let mut found: Option<Occurrence<'_>> = None;
        while day <= last {
            for o in self.occurrences_on(day) {
                if o.start > now
                    && o.start <= latest
                    && found.as_ref().is_none_or(|f| o.start < f.start)
                {
                    found = Some(o);
                }
            }
            day = tomorrow(day);
        }
        found
    }

    /// The runs of periods that start on local day `day` (none on a holiday).
    fn occurrences_on(&self, day: Date) -> impl Iterator<Item = Occurrence<'_>> {
        let holiday = self.holidays.contains(&day);
        self.periods
            .iter()
            .filter(move |p| !holiday && p.days.contains(day.weekday()))
            .map(move |period| {
                let end_day = if period.crosses_midnight() {
                    tomorrow(day)
                } else {
                    day
                };
                Occurrence {
                    start: local_time::resolve(&self.timezone, day.to_datetime(period.start)),
                    end: local_time::resolve(&self.timezone, end_day.to_datetime(period.end)),
                    period,
                }
            })
    }

    /// Every instant on or after local day `day` at which the state may change: period starts
    /// and ends, prewarm starts, and the midnights around holidays.
    fn boundaries_on(&self, day: Date) -> Vec<Timestamp> {
        let mut out = Vec::new();
        for o in self.occurrences_on(day) {
            out.extend([o.start, o.end]);
            if self.off_hours == OffHours::Sleep && !self.prewarm.is_zero() {
                out.push(o.start - self.prewarm);
            }
        }
        if self.holidays.contains(&day) || self.holidays.contains(&yesterday(day)) {
            out.push(local_time::resolve(
                &self.timezone,
                day.to_datetime(Time::midnight()),
            ));
        }
        out
    }
}

fn tomorrow(day: Date) -> Date {
    day.checked_add(1.day())
        .expect("schedule dates are far inside jiff's range")
}

fn yesterday(day: Date) -> Date {
    day.checked_sub(1.day())
        .expect("schedule dates are far inside jiff's range")
}

#[cfg(test)]
pub(crate) mod tests;
