//! Everything needed to bring a deleted endpoint back exactly as it was. Deleting an endpoint
//! makes Application Auto Scaling drop its scalable targets, their scaling policies and
//! scheduled actions, so all of it is recorded here, field by field, before anything is deleted.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::names::{EndpointName, VariantName};
use crate::tags::{self, Tags};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub endpoint: EndpointName,
    pub endpoint_config: String,
    /// Every tag of the endpoint, sagetide's own included.
    pub tags: Tags,
    /// One per variant that had a scalable target.
    pub targets: Vec<TargetSnapshot>,
    pub taken_at: Timestamp,
}

impl Snapshot {
    /// The alarm whose ALARM may wake this endpoint (`sagetide:wake-alarm` at sleep time).
    pub fn wake_alarm(&self) -> Option<&str> {
        self.tags.get(tags::WAKE_ALARM).map(String::as_str)
    }

    /// The tags CreateEndpoint accepts: keys starting with `aws:` belong to AWS (for example
    /// CloudFormation's stack tags) and cannot be set by anyone else.
    pub fn settable_tags(&self) -> impl Iterator<Item = (&String, &String)> {
        self.tags.iter().filter(|(k, _)| !k.starts_with("aws:"))
    }
}

/// A variant's scalable target with everything attached to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSnapshot {
    pub variant: VariantName,
    pub min: i32,
    pub max: i32,
    pub suspended: Suspended,
    pub policies: Vec<Policy>,
    pub scheduled_actions: Vec<ScheduledAction>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspended {
    pub dynamic_scaling_in: bool,
    pub dynamic_scaling_out: bool,
    pub scheduled_scaling: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub configuration: PolicyConfiguration,
    /// Alarms whose actions invoke this (step) policy. A re-created policy gets a new ARN, so
    /// on restore they are pointed at it, or the restored policy would never run.
    pub alarms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyConfiguration {
    TargetTracking(TargetTracking),
    StepScaling(StepScaling),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetTracking {
    pub target_value: f64,
    pub predefined: Option<PredefinedMetric>,
    pub customized: Option<CustomizedMetric>,
    pub scale_out_cooldown: Option<i32>,
    pub scale_in_cooldown: Option<i32>,
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredefinedMetric {
    pub metric_type: String,
    pub resource_label: Option<String>,
}

/// A customized metric: either one metric (name, namespace, dimensions, statistic) or a metric
/// math specification (`metrics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomizedMetric {
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub unit: Option<String>,
    pub metrics: Vec<MetricQuery>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    pub id: String,
    pub expression: Option<String>,
    pub label: Option<String>,
    pub return_data: Option<bool>,
    pub metric_stat: Option<MetricStat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricStat {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub stat: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepScaling {
    pub adjustment_type: Option<String>,
    pub steps: Vec<Step>,
    pub min_adjustment_magnitude: Option<i32>,
    pub cooldown: Option<i32>,
    pub metric_aggregation_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
    pub adjustment: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledAction {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// Where a stored snapshot is in the sleep → wake → restore cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Written and verified; the endpoint may or may not have been deleted yet.
    Sleeping,
    /// The endpoint was deleted; its autoscaling waits to be restored once it is back.
    Asleep,
    /// Brought back in full; kept as a record.
    Restored,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sleeping => "sleeping",
            Self::Asleep => "asleep",
            Self::Restored => "restored",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Sleeping, Self::Asleep, Self::Restored]
            .into_iter()
            .find(|p| p.as_str() == value)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot as the table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub snapshot: Snapshot,
    pub phase: Phase,
    /// Bumped by every write; writes are conditional on the version they read.
    pub version: u64,
}
