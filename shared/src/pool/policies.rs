//! The policies pool-metrics keeps on a variant, one per tag, planned against what exists. Pure.
//!
//! - `sagetide:target-utilization`: target tracking on `FleetUtilization` (scale-in, and
//!   scale-out at the pace of its one-minute evaluation), and a step policy run by a
//!   high-resolution metric-math alarm that computes the same ratio from the raw 10-second
//!   series: scale-out within a minute with no Lambda in the loop.
//! - `sagetide:target-backlog` (asynchronous endpoints): target tracking on
//!   `BacklogPerCapacity`.
//! - `sagetide:invocations-per-instance`: target tracking on the predefined
//!   `SageMakerVariantInvocationsPerInstance`, the safeguard AWS pairs with concurrency.
//!
//! A tag removed removes its policy; a tag that does not parse is reported and changes
//! nothing.

use std::collections::BTreeMap;
use std::fmt;

use super::PoolMetric;
use super::plan::{Problem, VariantPools};
use super::{INVOCATIONS_TAG, TARGET_BACKLOG_TAG, TARGET_UTILIZATION_TAG};
use super::{TargetUtilization, positive_target};
use crate::fleet::Endpoint;
use crate::names::VariantRef;
use crate::plan::{Action, Planned};

/// The policies sagetide installs on a variant, by the name each has there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    FleetUtilization,
    FastScaleOut,
    BacklogPerCapacity,
    InvocationsPerInstance,
}

impl PolicyKind {
    pub const ALL: [Self; 4] = [
        Self::FleetUtilization,
        Self::FastScaleOut,
        Self::BacklogPerCapacity,
        Self::InvocationsPerInstance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::FleetUtilization => "sagetide-fleet-utilization",
            Self::FastScaleOut => "sagetide-fleet-scale-out",
            Self::BacklogPerCapacity => "sagetide-backlog-per-capacity",
            Self::InvocationsPerInstance => "sagetide-invocations-per-instance",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn tag(self) -> &'static str {
        match self {
            Self::FleetUtilization | Self::FastScaleOut => TARGET_UTILIZATION_TAG,
            Self::BacklogPerCapacity => TARGET_BACKLOG_TAG,
            Self::InvocationsPerInstance => INVOCATIONS_TAG,
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy as sagetide wants it on a variant.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolPolicy {
    /// Target tracking on `Sagetide/FleetUtilization`.
    FleetUtilization { target: f64 },
    /// A step policy, and the alarm that runs it.
    FastScaleOut(ScaleOutAlarm),
    /// Target tracking on `Sagetide/BacklogPerCapacity`.
    BacklogPerCapacity { target: f64 },
    /// Target tracking on `SageMakerVariantInvocationsPerInstance`.
    InvocationsPerInstance { target: f64 },
}

impl PoolPolicy {
    pub fn kind(&self) -> PolicyKind {
        match self {
            Self::FleetUtilization { .. } => PolicyKind::FleetUtilization,
            Self::FastScaleOut(_) => PolicyKind::FastScaleOut,
            Self::BacklogPerCapacity { .. } => PolicyKind::BacklogPerCapacity,
            Self::InvocationsPerInstance { .. } => PolicyKind::InvocationsPerInstance,
        }
    }

    /// The sagetide metric a target-tracking policy tracks (`InvocationsPerInstance` tracks
    /// AWS's predefined one).
    pub fn tracked_metric(&self) -> Option<PoolMetric> {
        match self {
            Self::FleetUtilization { .. } => Some(PoolMetric::FleetUtilization),
            Self::BacklogPerCapacity { .. } => Some(PoolMetric::BacklogPerCapacity),
            Self::InvocationsPerInstance { .. } | Self::FastScaleOut(_) => None,
        }
    }

    /// The TargetValue of a target-tracking policy.
    pub fn target(&self) -> Option<f64> {
        match self {
            Self::FleetUtilization { target }
            | Self::BacklogPerCapacity { target }
            | Self::InvocationsPerInstance { target } => Some(*target),
            Self::FastScaleOut(_) => None,
        }
    }
}

impl fmt::Display for PoolPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FastScaleOut(alarm) => write!(
                f,
                "{} above {} ({})",
                self.kind(),
                alarm.threshold,
                alarm.expression
            ),
            other => write!(
                f,
                "{} target {}",
                other.kind(),
                other.target().unwrap_or_default()
            ),
        }
    }
}

/// The high-resolution metric-math alarm of [`PoolPolicy::FastScaleOut`]: `FleetUtilization`
/// computed by CloudWatch every 10 seconds from `ConcurrentRequestsPerModel`, with the
/// instance counts and capacities as constants (pool-metrics puts it again when they change).
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleOutAlarm {
    /// ALARM above this utilization: the target of `sagetide:target-utilization`.
    pub threshold: f64,
    /// The `ConcurrentRequestsPerModel` series by query id (`m0`, `m1`…): of an instance
    /// type, or the variant-level one.
    pub queries: Vec<(String, Option<String>)>,
    /// The ratio over them, e.g. `(FILL(m0,0)*3+FILL(m1,0)*1)/38`. A type that reports
    /// nothing in a period counts as idle, its capacity still in the denominator (metric math
    /// has no cheap way to drop it, as `FleetUtilization` does): late data under-reads.
    pub expression: String,
}

impl ScaleOutAlarm {
    /// The alarm for variant `v`, or `None` while it runs no instance of a type in its tag.
    pub fn of(v: &VariantPools, threshold: f64) -> Option<Self> {
        if v.single_type {
            // Its instances are all of one type, whatever their number: c / k.
            let (instance_type, _) = v.pools.first()?;
            let k = v.capacity.of(instance_type)?;
            return Some(Self {
                threshold,
                queries: vec![
                    ("m0".into(), Some(instance_type.clone())),
                    ("m1".into(), None),
                ],
                expression: format!("MAX([FILL(m0,0),FILL(m1,0)])/{k}"),
            });
        }
        let mut queries = Vec::new();
        let mut load = Vec::new();
        let mut room = 0.0;
        // By type, so the query ids do not depend on the order DescribeEndpoint lists pools in.
        let mut running: Vec<&(String, u32)> = v.pools.iter().filter(|(_, n)| *n > 0).collect();
        running.sort();
        for (instance_type, n) in running {
            let k = v.capacity.of(instance_type)?;
            let id = format!("m{}", queries.len());
            load.push(format!("FILL({id},0)*{n}"));
            queries.push((id, Some(instance_type.clone())));
            room += k * f64::from(*n);
        }
        (!queries.is_empty()).then(|| Self {
            threshold,
            queries,
            expression: format!("({})/{room}", load.join("+")),
        })
    }

    /// Its name: one alarm per variant.
    pub fn name(variant: &VariantRef) -> String {
        format!(
            "{}-{}.{}",
            PolicyKind::FastScaleOut.name(),
            variant.endpoint,
            variant.variant
        )
    }
}

/// sagetide's policies and scale-out alarms as they exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExistingPolicies {
    pub policies: BTreeMap<(VariantRef, PolicyKind), ExistingPolicy>,
    /// The scale-out alarms, by name.
    pub alarms: BTreeMap<String, ExistingScaleOutAlarm>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExistingPolicy {
    /// A target-tracking policy's TargetValue.
    pub target: Option<f64>,
    pub arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExistingScaleOutAlarm {
    pub alarm: ScaleOutAlarm,
    /// Its alarm actions: the step policy's ARN, as long as nobody changed it.
    pub actions: Vec<String>,
}

/// The policy puts and deletes that make each variant's policies what its endpoint's tags say.
pub fn plan_policies(
    endpoints: &[Endpoint],
    variants: &[VariantPools],
    existing: &ExistingPolicies,
) -> (Vec<Planned>, Vec<Problem>) {
    let mut actions = Vec::new();
    let mut problems = Vec::new();
    for endpoint in endpoints {
        let problem = |message: String| Problem {
            endpoint: endpoint.name.clone(),
            message,
        };
        let mut wanted: BTreeMap<PolicyKind, Option<f64>> = BTreeMap::new();
        for kind in PolicyKind::ALL {
            let Some(value) = endpoint.tag(kind.tag()) else {
                wanted.insert(kind, None);
                continue;
            };
            let parsed = match kind {
                PolicyKind::FleetUtilization | PolicyKind::FastScaleOut => {
                    TargetUtilization::parse(value).map(|t| t.value())
                }
                PolicyKind::BacklogPerCapacity | PolicyKind::InvocationsPerInstance => {
                    positive_target(kind.tag(), value)
                }
            };
            match parsed {
                Ok(target) => {
                    wanted.insert(kind, Some(target));
                }
                // Reported once per tag, not per kind it turns on.
                Err(e) if kind != PolicyKind::FastScaleOut => problems.push(problem(e.to_string())),
                Err(_) => {}
            }
        }
        let ours: Vec<&VariantPools> = variants
            .iter()
            .filter(|v| v.variant.endpoint == endpoint.name)
            .collect();
        let backlog_wanted = wanted
            .get(&PolicyKind::BacklogPerCapacity)
            .is_some_and(Option::is_some);
        if backlog_wanted && !ours.iter().all(|v| v.asynchronous) {
            problems.push(problem(format!(
                "tag {TARGET_BACKLOG_TAG}: only an asynchronous endpoint has a backlog; remove \
                 the tag"
            )));
            wanted.remove(&PolicyKind::BacklogPerCapacity);
        }
        for v in ours {
            for (kind, target) in &wanted {
                let exists = existing.policies.get(&(v.variant.clone(), *kind));
                let alarm_name = ScaleOutAlarm::name(&v.variant);
                let alarm = existing.alarms.get(&alarm_name);
                let Some(target) = target else {
                    let leftover = match kind {
                        PolicyKind::FastScaleOut => exists.is_some() || alarm.is_some(),
                        _ => exists.is_some(),
                    };
                    if leftover {
                        actions.push(Planned {
                            endpoint: endpoint.name.clone(),
                            action: Action::DeletePolicy {
                                variant: v.variant.variant.clone(),
                                kind: *kind,
                            },
                            reason: format!("tag {} removed", kind.tag()),
                        });
                    }
                    continue;
                };
                let policy = match kind {
                    PolicyKind::FleetUtilization => {
                        PoolPolicy::FleetUtilization { target: *target }
                    }
                    PolicyKind::BacklogPerCapacity => {
                        PoolPolicy::BacklogPerCapacity { target: *target }
                    }
                    PolicyKind::InvocationsPerInstance => {
                        PoolPolicy::InvocationsPerInstance { target: *target }
                    }
                    // No instance of a known type runs: the alarm it has stays until one does.
                    PolicyKind::FastScaleOut => match ScaleOutAlarm::of(v, *target) {
                        Some(alarm) => PoolPolicy::FastScaleOut(alarm),
                        None => continue,
                    },
                };
                let current = match &policy {
                    PoolPolicy::FastScaleOut(wanted) => exists.is_some_and(|p| {
                        alarm.is_some_and(|a| {
                            same_alarm(&a.alarm, wanted) && p.arn.iter().eq(a.actions.iter())
                        })
                    }),
                    other => exists
                        .and_then(|p| p.target)
                        .zip(other.target())
                        .is_some_and(|(has, wants)| (has - wants).abs() <= 1e-9),
                };
                if !current {
                    actions.push(Planned {
                        endpoint: endpoint.name.clone(),
                        action: Action::PutPolicy {
                            variant: v.variant.variant.clone(),
                            policy,
                        },
                        reason: format!(
                            "tag {}={}",
                            kind.tag(),
                            endpoint.tag(kind.tag()).unwrap_or_default()
                        ),
                    });
                }
            }
        }
    }
    (actions, problems)
}

fn same_alarm(a: &ScaleOutAlarm, b: &ScaleOutAlarm) -> bool {
    (a.threshold - b.threshold).abs() <= 1e-9
        && a.queries == b.queries
        && a.expression == b.expression
}

#[cfg(test)]
mod tests;
