//! The instance-hours an endpoint did not run, counted from the history the functions keep:
//! `sagetide savings` reports them over a period, and every change the executor applies
//! publishes those of the interval it ends (`Sagetide/InstanceHoursBelowBaseline`).
//!
//! Each variant's *baseline* is the most instances it was seen held at: the highest minimum a
//! change gave its target, or its target's minimum when it was put to sleep. Without sagetide
//! it would have held that many around the clock. While asleep it holds none; otherwise the
//! minimum the latest change gave it. The savings are the hours below the baseline, times the
//! instances below it: an estimate at the minimums, since autoscaling may run more than the
//! minimum, with sagetide or without, and a remedy may hold the minimum up meanwhile.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

use crate::aws::table::{Held, Recorded};
use crate::names::VariantName;
use crate::snapshot::{Phase, Stored};

/// How much history is read before a period for the state each endpoint was in when it began.
pub const LEAD: SignedDuration = SignedDuration::from_hours(31 * 24);

/// What one endpoint's variants are, as far as their EndpointConfig and snapshot tell.
#[derive(Debug, Clone, Default)]
pub struct Sizes {
    /// The instance type of each single-type variant; a pooled variant has none.
    pub types: BTreeMap<VariantName, String>,
    /// The minimum each variant was held at when last put to sleep (its snapshot's scalable
    /// target; the instances it ran, for a variant without one).
    pub at_sleep: BTreeMap<VariantName, u32>,
    /// Since when it sleeps, if its snapshot says it does.
    pub asleep_since: Option<Timestamp>,
}

impl Sizes {
    /// What an endpoint's latest snapshot tells; the types come from its EndpointConfig.
    pub fn of_snapshot(stored: &Stored) -> Self {
        let snapshot = &stored.snapshot;
        let mut at_sleep: BTreeMap<VariantName, u32> = snapshot
            .variants
            .iter()
            .filter_map(|v| Some((v.variant.clone(), v.instances?)))
            .collect();
        // The minimum, as the floors are: what autoscaling ran above it is not the baseline.
        // Only variants with instances: a serverless variant's target is its concurrency.
        let minimums: Vec<(VariantName, u32)> = snapshot
            .targets
            .iter()
            .filter(|t| at_sleep.contains_key(&t.variant))
            .filter_map(|t| Some((t.variant.clone(), u32::try_from(t.min).ok()?)))
            .collect();
        at_sleep.extend(minimums);
        Self {
            at_sleep,
            // `Sleeping`: stored, not (yet) deleted; it may still run.
            asleep_since: (stored.phase == Phase::Asleep).then_some(snapshot.taken_at),
            types: BTreeMap::new(),
        }
    }
}

/// A variant's instance-hours below its baseline over a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Below {
    pub baseline: u32,
    /// Not run while asleep.
    pub asleep_hours: f64,
    /// Not run while held below the baseline.
    pub scaled_down_hours: f64,
}

impl Below {
    pub fn hours(&self) -> f64 {
        self.asleep_hours + self.scaled_down_hours
    }
}

/// The variants an endpoint's history and snapshot name.
pub fn variants_of(entries: &[Recorded], sizes: &Sizes) -> BTreeSet<VariantName> {
    entries
        .iter()
        .filter_map(|e| match &e.held {
            Some(Held::Floor { variant, .. }) => Some(variant.clone()),
            _ => None,
        })
        .chain(sizes.at_sleep.keys().cloned())
        .collect()
}

/// What a history entry changed for a variant's savings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Floor(u32),
    Asleep,
    Awake,
}

/// `variant`'s instance-hours below its baseline over `since..until`, from its endpoint's
/// history (oldest first, of one instant in the order written); `None` without a baseline.
pub fn below_baseline(
    entries: &[Recorded],
    sizes: &Sizes,
    variant: &VariantName,
    since: Timestamp,
    until: Timestamp,
) -> Option<Below> {
    let floor_of = |e: &Recorded| match &e.held {
        Some(Held::Floor { variant: v, min }) if v == variant => Some(*min),
        _ => None,
    };
    let baseline = entries
        .iter()
        .filter_map(floor_of)
        .chain(sizes.at_sleep.get(variant).copied())
        .max()
        .filter(|b| *b > 0)?;
    // What changed the variant, in time order: its floors, and the endpoint's sleeps and wakes.
    // Without a sleep or a wake in the history read, a snapshot that says the endpoint is
    // asleep stands for the sleep it records.
    let mut changes: Vec<(Timestamp, Change)> = entries
        .iter()
        .filter_map(|e| {
            let change = match &e.held {
                Some(Held::Asleep) => Change::Asleep,
                Some(Held::Awake) => Change::Awake,
                Some(Held::Floor { .. }) => Change::Floor(floor_of(e)?),
                None => return None,
            };
            Some((e.at, change))
        })
        .collect();
    let first_sleep_or_wake = |changes: &[(Timestamp, Change)]| {
        changes
            .iter()
            .find(|(_, c)| !matches!(c, Change::Floor(_)))
            .map(|(_, c)| *c)
    };
    if first_sleep_or_wake(&changes).is_none()
        && let Some(slept) = sizes.asleep_since
    {
        changes.push((slept, Change::Asleep));
        changes.sort_by_key(|(at, _)| *at);
    }
    // Before its first change the floor is unknown: the baseline, which saves nothing. Asleep
    // if the first sleep or wake is a wake.
    let (mut floor, mut asleep) = (
        baseline,
        first_sleep_or_wake(&changes) == Some(Change::Awake),
    );
    let mut below = Below {
        baseline,
        asleep_hours: 0.0,
        scaled_down_hours: 0.0,
    };
    let mut from = since;
    let mut add = |from: Timestamp, to: Timestamp, floor: u32, asleep: bool| {
        if to <= from {
            return;
        }
        let hours = (to - from).as_secs_f64() / 3600.0;
        if asleep {
            below.asleep_hours += f64::from(baseline) * hours;
        } else {
            below.scaled_down_hours += f64::from(baseline.saturating_sub(floor)) * hours;
        }
    };
    for (at, change) in changes.into_iter().filter(|(at, _)| *at < until) {
        if at > from {
            add(from, at, floor, asleep);
            from = at;
        }
        match change {
            Change::Asleep => asleep = true,
            Change::Awake => asleep = false,
            Change::Floor(min) => floor = min,
        }
    }
    add(from, until, floor, asleep);
    Some(below)
}

/// The instance-hours below baseline, all variants together, of the interval that `who`'s
/// change at `now` ends: from the endpoint's previous change to `now`. Nothing before its first
/// change, whose start is not known; nothing if another invocation's change of the same
/// instant, written first, ended it already; nothing for a change made for an instant that
/// later changes precede (a tick delivered late), since they have counted across it.
pub fn ended_at(entries: &[Recorded], sizes: &Sizes, now: Timestamp, who: &str) -> f64 {
    if entries.iter().any(|e| e.held.is_some() && e.at > now) {
        return 0.0;
    }
    let first_now = entries
        .iter()
        .filter(|e| e.held.is_some() && e.at == now)
        .min_by(|a, b| (a.written, &a.who).cmp(&(b.written, &b.who)));
    if first_now.is_some_and(|e| e.who != who) {
        return 0.0;
    }
    let Some(previous) = entries
        .iter()
        .filter(|e| e.held.is_some() && e.at < now)
        .map(|e| e.at)
        .max()
    else {
        return 0.0;
    };
    variants_of(entries, sizes)
        .iter()
        .filter_map(|variant| below_baseline(entries, sizes, variant, previous, now))
        .map(|below| below.hours())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::EndpointName;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn entry(time: &str, held: Held) -> Recorded {
        Recorded {
            endpoint: EndpointName::new("office").unwrap(),
            at: at(time),
            who: "scheduler".into(),
            action: "set-capacity".into(),
            outcome: "applied".into(),
            reason: String::new(),
            held: Some(held),
            written: None,
        }
    }

    fn floor(min: u32) -> Held {
        Held::Floor {
            variant: VariantName::new("AllTraffic").unwrap(),
            min,
        }
    }

    #[test]
    fn a_change_ends_the_interval_since_the_previous_one_and_the_first_ends_none() {
        let mut entries = vec![entry("2026-11-23T07:00:00Z", floor(2))];
        let sizes = Sizes::default();
        assert_eq!(
            ended_at(&entries, &sizes, at("2026-11-23T07:00:00Z"), "scheduler"),
            0.0
        );
        entries.push(entry("2026-11-23T18:00:00Z", floor(1)));
        // 07:00-18:00 at the baseline of 2: nothing below it.
        assert_eq!(
            ended_at(&entries, &sizes, at("2026-11-23T18:00:00Z"), "scheduler"),
            0.0
        );
        entries.push(entry("2026-11-24T07:00:00Z", floor(2)));
        // 18:00-07:00 one below: 13 instance-hours, the ones before not counted again.
        assert_eq!(
            ended_at(&entries, &sizes, at("2026-11-24T07:00:00Z"), "scheduler"),
            13.0
        );
        // A tick of 06:00 delivered after the 07:00 change: that change counted across 06:00.
        entries.push(entry("2026-11-24T06:00:00Z", floor(1)));
        assert_eq!(
            ended_at(&entries, &sizes, at("2026-11-24T06:00:00Z"), "scheduler"),
            0.0
        );
    }

    #[test]
    fn a_wake_ends_the_sleep_at_the_minimum_its_snapshot_kept() {
        let entries = vec![
            entry("2026-11-23T20:00:00Z", Held::Asleep),
            entry("2026-11-24T06:30:00Z", Held::Awake),
        ];
        let sizes = Sizes {
            at_sleep: BTreeMap::from([(VariantName::new("AllTraffic").unwrap(), 3)]),
            ..Sizes::default()
        };
        let woke = at("2026-11-24T06:30:00Z");
        assert_eq!(ended_at(&entries, &sizes, woke, "scheduler"), 3.0 * 10.5);
        // The restore of the same instant, written after the wake: nothing more.
        let mut restored = entries.clone();
        restored[1].written = Some(woke);
        restored.push(Recorded {
            who: "restorer".into(),
            written: Some(woke + SignedDuration::from_millis(5)),
            ..restored[1].clone()
        });
        assert_eq!(ended_at(&restored, &sizes, woke, "restorer"), 0.0);
        assert_eq!(ended_at(&restored, &sizes, woke, "scheduler"), 3.0 * 10.5);
    }
}
