//! Instance-count bounds of a variant's scalable target.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CapacityError {
    #[error("min ({min}) is greater than max ({max})")]
    MinAboveMax { min: u32, max: u32 },
}

/// MinCapacity and MaxCapacity of a scalable target; `min <= max` always holds, also for one
/// read back from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Bounds")]
pub struct Capacity {
    min: u32,
    max: u32,
}

impl Capacity {
    /// No instances, no copies, no concurrency, and none to scale to.
    pub const ZERO: Self = Self { min: 0, max: 0 };

    pub fn new(min: u32, max: u32) -> Result<Self, CapacityError> {
        if min > max {
            return Err(CapacityError::MinAboveMax { min, max });
        }
        Ok(Self { min, max })
    }

    pub fn min(self) -> u32 {
        self.min
    }

    pub fn max(self) -> u32 {
        self.max
    }

    /// Where capacities overlap, the larger min and the larger max win. The result is valid
    /// because each side's min is at most its own max.
    pub fn union(self, other: Self) -> Self {
        Self {
            min: self.min.max(other.min),
            max: self.max.max(other.max),
        }
    }
}

#[derive(Deserialize)]
struct Bounds {
    min: u32,
    max: u32,
}

impl TryFrom<Bounds> for Capacity {
    type Error = CapacityError;

    fn try_from(b: Bounds) -> Result<Self, Self::Error> {
        Self::new(b.min, b.max)
    }
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_above_max_is_rejected() {
        assert_eq!(
            Capacity::new(3, 2),
            Err(CapacityError::MinAboveMax { min: 3, max: 2 })
        );
        assert!(Capacity::new(2, 2).is_ok());
    }

    #[test]
    fn union_takes_the_larger_bounds() {
        let a = Capacity::new(1, 10).unwrap();
        let b = Capacity::new(3, 4).unwrap();
        assert_eq!(a.union(b), Capacity::new(3, 10).unwrap());
    }
}
