//! An inference component's sleep: zero copies, nothing deleted. What it ran is kept in the
//! table, so that a wake gives its scalable target's bounds back (or, without one, its copies).

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

/// The bounds of a sleeping component's scalable target: Application Auto Scaling takes its
/// copies to none, and nothing scales it back (a request may not: waking is its period's, or a
/// person's).
pub const NO_COPIES: Capacity = Capacity::ZERO;

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
    fn records_read_back_equal_and_bad_bounds_are_refused() {
        let r = record(3, Some((1, 4)));
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ComponentSleep>(&text).unwrap(), r);
        let bad = text.replace(r#""min":1"#, r#""min":7"#);
        assert!(serde_json::from_str::<ComponentSleep>(&bad).is_err());
    }
}
