//! The tags that turn on pool-metrics and its policies: `sagetide:pool-capacity`
//! (`ml.g6.2xlarge=8,ml.g6e.2xlarge=14`), and the targets of the policies it installs.

use std::collections::BTreeMap;

use crate::tags::TagError;

pub const POOL_CAPACITY_TAG: &str = "sagetide:pool-capacity";
pub const TARGET_UTILIZATION_TAG: &str = "sagetide:target-utilization";
pub const TARGET_BACKLOG_TAG: &str = "sagetide:target-backlog";
pub const INVOCATIONS_TAG: &str = "sagetide:invocations-per-instance";

/// Concurrent requests one instance of each type can carry.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCapacity(BTreeMap<String, f64>);

impl PoolCapacity {
    pub fn parse(value: &str) -> Result<Self, TagError> {
        let fail = |why: String| TagError {
            tag: POOL_CAPACITY_TAG,
            value: value.to_owned(),
            why,
        };
        let mut types = BTreeMap::new();
        for item in value.split(',') {
            let (instance_type, capacity) = item.split_once('=').ok_or_else(|| {
                fail(format!(
                    "{item:?} is not TYPE=CAPACITY (e.g. ml.g6.2xlarge=8)"
                ))
            })?;
            let instance_type = instance_type.trim();
            if !instance_type.starts_with("ml.") {
                return Err(fail(format!(
                    "{instance_type:?} is not a SageMaker instance type such as ml.g6.2xlarge"
                )));
            }
            let capacity: f64 = capacity.trim().parse().map_err(|_| {
                fail(format!(
                    "the capacity of {instance_type} ({capacity:?}) is not a number"
                ))
            })?;
            if !(capacity.is_finite() && capacity > 0.0) {
                return Err(fail(format!(
                    "the capacity of {instance_type} is {capacity}; it must be greater than 0"
                )));
            }
            if types.insert(instance_type.to_owned(), capacity).is_some() {
                return Err(fail(format!("{instance_type} is listed twice")));
            }
        }
        Ok(Self(types))
    }

    pub fn of(&self, instance_type: &str) -> Option<f64> {
        self.0.get(instance_type).copied()
    }

    /// The only type listed, if there is exactly one.
    pub fn single_type(&self) -> Option<&str> {
        match self.0.len() {
            1 => self.0.keys().next().map(String::as_str),
            _ => None,
        }
    }
}

/// The TargetValue of the target-tracking policy sagetide installs, in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetUtilization(f64);

impl TargetUtilization {
    pub fn parse(value: &str) -> Result<Self, TagError> {
        match value.trim().parse::<f64>() {
            Ok(v) if v > 0.0 && v <= 1.0 => Ok(Self(v)),
            _ => Err(TagError {
                tag: TARGET_UTILIZATION_TAG,
                value: value.to_owned(),
                why: "expected a number greater than 0 and at most 1, such as 0.75".into(),
            }),
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// The TargetValue of a policy whose metric has no upper bound (`sagetide:target-backlog`,
/// `sagetide:invocations-per-instance`): a number greater than 0.
pub fn positive_target(tag: &'static str, value: &str) -> Result<f64, TagError> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(TagError {
            tag,
            value: value.to_owned(),
            why: "expected a number greater than 0, such as 2 or 30".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_example_parses() {
        let c = PoolCapacity::parse("ml.g6.2xlarge=8,ml.g6e.2xlarge=14").unwrap();
        assert_eq!(c.of("ml.g6.2xlarge"), Some(8.0));
        assert_eq!(c.of("ml.g6e.2xlarge"), Some(14.0));
        assert_eq!(c.of("ml.g5.xlarge"), None);
        assert_eq!(c.single_type(), None);
        assert_eq!(
            PoolCapacity::parse("ml.g6.2xlarge=8")
                .unwrap()
                .single_type(),
            Some("ml.g6.2xlarge")
        );
    }

    #[test]
    fn malformed_tags_and_non_positive_capacities_name_the_type() {
        for (bad, names) in [
            ("ml.g6.2xlarge", "ml.g6.2xlarge"),
            ("ml.g6.2xlarge=0", "ml.g6.2xlarge"),
            ("ml.g6.2xlarge=-3", "ml.g6.2xlarge"),
            ("ml.g6.2xlarge=eight", "ml.g6.2xlarge"),
            ("g6=8", "g6"),
            ("ml.g6.2xlarge=8,ml.g6.2xlarge=9", "ml.g6.2xlarge"),
            ("", "\"\""),
        ] {
            let err = PoolCapacity::parse(bad).unwrap_err();
            assert!(err.why.contains(names), "{bad:?}: {err}");
            assert_eq!(err.tag, POOL_CAPACITY_TAG);
        }
    }

    #[test]
    fn target_utilization_is_in_zero_to_one() {
        assert_eq!(TargetUtilization::parse("0.75").unwrap().value(), 0.75);
        assert_eq!(TargetUtilization::parse("1").unwrap().value(), 1.0);
        for bad in ["0", "1.2", "-0.5", "high", ""] {
            assert!(TargetUtilization::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn other_targets_are_positive_numbers() {
        assert_eq!(positive_target(TARGET_BACKLOG_TAG, " 2.5 ").unwrap(), 2.5);
        for bad in ["0", "-1", "inf", "NaN", "many", ""] {
            let err = positive_target(INVOCATIONS_TAG, bad).unwrap_err();
            assert_eq!(err.tag, INVOCATIONS_TAG, "{bad:?}");
        }
    }
}
