//! Pure planners: (observed state, configuration, now) → the actions that make reality match.
//! A plan is data: it can be printed, diffed, dry-run and tested without AWS.

pub mod remediation;
pub mod scheduler;
pub mod sleepable;
pub mod wanted;

use std::fmt;

use jiff::Timestamp;

use crate::capacity::Capacity;
use crate::events::AlarmState;
use crate::idle::IdleAlarm;
use crate::names::{ComponentName, EndpointName, VariantName};
use crate::pool::{Point, PolicyKind, PoolPolicy};
use crate::resource::ScalableResource;
use crate::tags::WakeSource;

pub use sleepable::SleepBy;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Give a scalable target this min/max; `from: None` registers a new target.
    /// `from_zero`: first install the step policy and alarm that bring it back from zero on a
    /// request (`sagetide:wake-on: request`); the bounds change only once they are in place.
    SetCapacity {
        resource: ScalableResource,
        from: Option<Capacity>,
        to: Capacity,
        from_zero: bool,
    },
    /// Remove an expired `sagetide:override` tag that still has this value.
    RemoveOverride { arn: Option<String>, value: String },
    /// Snapshot the endpoint, then delete it: off-hours of an `off_hours: sleep` schedule, its
    /// idle alarm, or a person.
    Sleep(SleepBy),
    /// Create a sleeping endpoint again from its snapshot: its period (or prewarm) begins, its
    /// wake alarm (`alarm`) is in ALARM, or a wake that failed is tried again.
    Wake {
        source: WakeSource,
        alarm: Option<String>,
    },
    /// A woken endpoint is InService: bring its autoscaling back from the snapshot.
    Restore,
    /// Take an inference component the endpoint hosts to zero copies, its copies and bounds
    /// kept in the table: its idle alarm, or a person.
    SleepComponent {
        component: ComponentName,
        by: SleepBy,
    },
    /// Give a sleeping inference component its copies back: its period begins, or a person.
    WakeComponent {
        component: ComponentName,
        source: WakeSource,
    },
    /// A woken endpoint failed (delete it and try the wake again later), or has been creating
    /// for too long (report it).
    RecoverWake,
    /// Put an idle alarm that a declined sleep left in ALARM back to OK, now that the endpoint
    /// may sleep: it fires again at its next evaluation if the endpoint is still idle.
    RearmIdleAlarm { component: Option<ComponentName> },
    /// Create or replace the idle alarm of the endpoint (or of a component it hosts);
    /// `mark_first`: the table does not yet say that idle alarms are made here, so say it
    /// before making one (ticks look after idle alarms only where that mark is, or where an
    /// endpoint or component wants one).
    PutIdleAlarm { alarm: IdleAlarm, mark_first: bool },
    /// Delete the idle alarm of an endpoint (or of a component it hosts, `component`) that is
    /// gone or lost `sagetide:idle-after`.
    DeleteIdleAlarm { component: Option<ComponentName> },
    /// A remediation rule's alarm changed to `state` at `at`: the remediator's event, or the
    /// OK of an alarm that the remediator did not act on, delivered by the tick.
    Remedy {
        rule: String,
        alarm: String,
        state: AlarmState,
        at: Timestamp,
    },
    /// Publish sagetide's metrics of the endpoint's variants (one PutMetricData call carries
    /// those of many endpoints).
    Publish { points: Vec<Point> },
    /// Create or update one of the policies pool-metrics keeps on the variant (with the alarm
    /// that runs it, for a step policy).
    PutPolicy {
        variant: VariantName,
        policy: PoolPolicy,
    },
    /// Delete such a policy (and its alarm) when the tag that asked for it is gone.
    DeletePolicy {
        variant: VariantName,
        kind: PolicyKind,
    },
}

impl Action {
    /// A short stable name for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::SetCapacity { from: None, .. } => "register-target",
            Action::SetCapacity { .. } => "set-capacity",
            Action::RemoveOverride { .. } => "remove-override",
            Action::Sleep(_) => "sleep",
            Action::Wake { .. } => "wake",
            Action::SleepComponent { .. } => "sleep-component",
            Action::WakeComponent { .. } => "wake-component",
            Action::Restore => "restore",
            Action::RecoverWake => "failed-wake",
            Action::RearmIdleAlarm { .. } => "rearm-idle-alarm",
            Action::PutIdleAlarm { .. } => "put-idle-alarm",
            Action::DeleteIdleAlarm { .. } => "delete-idle-alarm",
            Action::Remedy {
                state: AlarmState::Alarm,
                ..
            } => "remediate",
            Action::Remedy { .. } => "end-remedy",
            Action::Publish { .. } => "publish",
            Action::PutPolicy { .. } => "put-policy",
            Action::DeletePolicy { .. } => "delete-policy",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SetCapacity {
                resource,
                from,
                to,
                from_zero,
            } => {
                match from {
                    Some(from) => write!(
                        f,
                        "set-capacity {} {from} -> {to}",
                        resource.within_endpoint()
                    )?,
                    None => write!(f, "register-target {} {to}", resource.within_endpoint())?,
                }
                if *from_zero {
                    f.write_str(" (with its scale-from-zero policy)")?;
                }
                Ok(())
            }
            Action::SleepComponent { component, .. } | Action::WakeComponent { component, .. } => {
                write!(f, "{} {component}", self.kind())
            }
            Action::RemoveOverride { value, .. } => write!(f, "remove-override {value}"),
            Action::Sleep(_)
            | Action::Wake { .. }
            | Action::Restore
            | Action::RecoverWake
            | Action::RearmIdleAlarm { component: None }
            | Action::DeleteIdleAlarm { component: None } => f.write_str(self.kind()),
            Action::RearmIdleAlarm {
                component: Some(component),
            }
            | Action::DeleteIdleAlarm {
                component: Some(component),
            } => write!(f, "{} of component {component}", self.kind()),
            Action::Remedy {
                rule, alarm, state, ..
            } => write!(f, "{} {rule} (alarm {alarm} is {state})", self.kind()),
            Action::Publish { points } => write!(f, "publish {} datapoints", points.len()),
            Action::PutIdleAlarm { alarm, .. } => write!(
                f,
                "put-idle-alarm {} ({} x {} s)",
                alarm.name(),
                alarm.evaluation_periods,
                alarm.period_seconds
            ),
            Action::PutPolicy { variant, policy } => write!(f, "put-policy {variant}: {policy}"),
            Action::DeletePolicy { variant, kind } => write!(f, "delete-policy {variant}: {kind}"),
        }
    }
}

/// One action on one endpoint, with the reason the planner chose it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub endpoint: EndpointName,
    pub action: Action,
    pub reason: String,
}

/// An endpoint the planner leaves alone this time, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub endpoint: EndpointName,
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Planned>,
    pub skipped: Vec<Skipped>,
}
