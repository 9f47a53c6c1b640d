//! An inference component's sleep: zero copies, nothing deleted. What it ran is kept in the
//! table, so that a wake gives its copies and its scalable target's bounds back.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::capacity::Capacity;
use crate::names::{ComponentName, EndpointName};

/// What a component ran when it went to sleep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSleep {
    pub component: ComponentName,
    /// The endpoint that hosts it.
    pub endpoint: EndpointName,
    pub copies: u32,
    /// Its scalable target's bounds; `None` for a component without one.
    pub bounds: Option<Capacity>,
    pub since: Timestamp,
    /// When it was woken; `None` while it sleeps.
    pub woken: Option<Timestamp>,
}

/// A record as the table holds it: each write is the version after the one it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSleep {
    pub record: ComponentSleep,
    pub version: u64,
}

/// The bounds of a sleeping component's scalable target: none at all, or, where a request may
/// wake it (`sagetide:wake-on` has `request`), a minimum of 0 under its awake maximum, so that
/// the scale-from-zero policy can add copies.
pub fn asleep_bounds(request: bool, awake_max: u32) -> Capacity {
    let max = if request { awake_max.max(1) } else { 0 };
    Capacity::new(0, max).expect("0 <= max")
}

/// The bounds to register, in turn, to give a woken component its copies back: first its
/// copies as the minimum (Application Auto Scaling raises the copies to a new minimum, and
/// never lowers them within the bounds), then the bounds it had.
pub fn waking_bounds(record: &ComponentSleep) -> Vec<Capacity> {
    let Some(bounds) = record.bounds else {
        return Vec::new();
    };
    let copies = record.copies.clamp(bounds.min(), bounds.max());
    let raised = Capacity::new(copies, bounds.max()).expect("clamped under max");
    if raised == bounds {
        vec![bounds]
    } else {
        vec![raised, bounds]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(copies: u32, bounds: Option<(u32, u32)>) -> ComponentSleep {
        ComponentSleep {
            component: ComponentName::new("llama").unwrap(),
            endpoint: EndpointName::new("llm-host").unwrap(),
            copies,
            bounds: bounds.map(|(min, max)| Capacity::new(min, max).unwrap()),
            since: "2026-12-07T20:00:00Z".parse().unwrap(),
            woken: None,
        }
    }

    #[test]
    fn a_wake_raises_the_copies_first_then_gives_the_bounds_back() {
        let cap = |min, max| Capacity::new(min, max).unwrap();
        assert_eq!(
            waking_bounds(&record(3, Some((1, 4)))),
            vec![cap(3, 4), cap(1, 4)]
        );
        assert_eq!(waking_bounds(&record(1, Some((1, 4)))), vec![cap(1, 4)]);
        // Copies the bounds no longer allow are brought within them.
        assert_eq!(waking_bounds(&record(9, Some((1, 4)))), vec![cap(4, 4), cap(1, 4)]);
        assert_eq!(waking_bounds(&record(2, None)), Vec::new());
    }

    #[test]
    fn asleep_means_no_copies_unless_a_request_may_wake_it() {
        assert_eq!(asleep_bounds(false, 4), Capacity::new(0, 0).unwrap());
        assert_eq!(asleep_bounds(true, 4), Capacity::new(0, 4).unwrap());
        assert_eq!(asleep_bounds(true, 0), Capacity::new(0, 1).unwrap());
    }

    #[test]
    fn records_read_back_equal_and_bad_bounds_are_refused() {
        let r = record(3, Some((1, 4)));
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ComponentSleep>(&text).unwrap(), r);
        let bad = text.replace(r#""min":1"#, r#""min":7"#);
        assert!(serde_json::from_str::<ComponentSleep>(&bad).is_err());
    }
}
