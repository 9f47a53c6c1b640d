//! Idleness: the CloudWatch alarm that notices an endpoint (or an inference component) had no
//! invocations for its `sagetide:idle-after` window, and the window the sleeper checks again
//! before it acts.

use jiff::{SignedDuration, Timestamp};

use crate::names::{ComponentName, EndpointName, VariantName};

/// Every idle alarm sagetide keeps is named this plus the endpoint name, and for an inference
/// component `.` and its name (a character neither name may hold).
pub const ALARM_PREFIX: &str = "sagetide-idle-";

/// The idle alarm an endpoint should have: the sum of `Invocations` over all its variants,
/// ALARM when it stayed at zero (or absent: SageMaker publishes nothing without traffic) for
/// every period of the window. An inference component's watches its own `Invocations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleAlarm {
    pub endpoint: EndpointName,
    /// The component it watches, hosted by `endpoint`; `None` for the endpoint's own alarm.
    pub component: Option<ComponentName>,
    /// Sorted, so that two specifications of one endpoint compare equal; empty for a
    /// component's alarm.
    pub variants: Vec<VariantName>,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
}

/// CloudWatch evaluates at most one day of periods shorter than an hour, and up to seven days
/// of hourly periods.
const SHORT_PERIOD: u64 = 300;
const LONG_PERIOD: u64 = 3600;
const DAY: u64 = 86_400;

impl IdleAlarm {
    pub fn new(
        endpoint: EndpointName,
        variants: impl IntoIterator<Item = VariantName>,
        window: SignedDuration,
    ) -> Self {
        let mut variants: Vec<VariantName> = variants.into_iter().collect();
        variants.sort();
        variants.dedup();
        let seconds = window.as_secs().max(1) as u64;
        let period = if seconds <= DAY {
            SHORT_PERIOD
        } else {
            LONG_PERIOD
        };
        Self {
            endpoint,
            component: None,
            variants,
            period_seconds: period as i32,
            evaluation_periods: seconds.div_ceil(period) as i32,
        }
    }

    /// The idle alarm of `component`, hosted by `endpoint`.
    pub fn of_component(
        endpoint: EndpointName,
        component: ComponentName,
        window: SignedDuration,
    ) -> Self {
        Self {
            component: Some(component),
            ..Self::new(endpoint, [], window)
        }
    }

    pub fn name(&self) -> String {
        alarm_name(&self.endpoint, self.component.as_ref())
    }
}

/// An idle alarm as CloudWatch holds it: what it watches, and whether it is in ALARM (an alarm
/// that a declined sleep left in ALARM sends no more events until it is re-armed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAlarm {
    pub alarm: IdleAlarm,
    pub firing: bool,
}

/// The idle alarm of `endpoint`, or of the `component` it hosts.
pub fn alarm_name(endpoint: &EndpointName, component: Option<&ComponentName>) -> String {
    match component {
        Some(component) => format!("{ALARM_PREFIX}{endpoint}.{component}"),
        None => format!("{ALARM_PREFIX}{endpoint}"),
    }
}

/// The endpoint an idle alarm watches, or hosts the component it watches, from its name.
pub fn watched_by_alarm(name: &str) -> Option<(EndpointName, Option<ComponentName>)> {
    let rest = name.strip_prefix(ALARM_PREFIX)?;
    Some(match rest.split_once('.') {
        Some((endpoint, component)) => (
            EndpointName::new(endpoint).ok()?,
            Some(ComponentName::new(component).ok()?),
        ),
        None => (EndpointName::new(rest).ok()?, None),
    })
}

/// The span whose `Invocations` must all be zero for the endpoint to count as idle at `now`,
/// and the period to sum them by (one-minute data is kept for 15 days, hourly for longer).
pub fn invocation_window(window: SignedDuration, now: Timestamp) -> (Timestamp, Timestamp, i32) {
    let period = if window.as_secs() as u64 <= DAY {
        60
    } else {
        LONG_PERIOD as i32
    };
    (now - window, now, period)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> EndpointName {
        EndpointName::new(s).unwrap()
    }

    fn variant(s: &str) -> VariantName {
        VariantName::new(s).unwrap()
    }

    #[test]
    fn short_windows_use_five_minute_periods_long_ones_hourly() {
        let alarm = IdleAlarm::new(
            name("ep"),
            [variant("b"), variant("a")],
            SignedDuration::from_mins(90),
        );
        assert_eq!((alarm.period_seconds, alarm.evaluation_periods), (300, 18));
        assert_eq!(alarm.variants, vec![variant("a"), variant("b")]);
        let alarm = IdleAlarm::new(name("ep"), [variant("a")], SignedDuration::from_mins(7));
        assert_eq!((alarm.period_seconds, alarm.evaluation_periods), (300, 2));
        let alarm = IdleAlarm::new(name("ep"), [variant("a")], SignedDuration::from_hours(72));
        assert_eq!((alarm.period_seconds, alarm.evaluation_periods), (3600, 72));
    }

    #[test]
    fn alarm_names_lead_back_to_their_endpoint() {
        let alarm = IdleAlarm::new(name("chat-llm"), [], SignedDuration::from_hours(1));
        assert_eq!(alarm.name(), "sagetide-idle-chat-llm");
        assert_eq!(
            watched_by_alarm(&alarm.name()),
            Some((name("chat-llm"), None))
        );
        assert_eq!(watched_by_alarm("someone-elses-alarm"), None);
        let llama = ComponentName::new("llama").unwrap();
        let alarm = IdleAlarm::of_component(
            name("llm-host"),
            llama.clone(),
            SignedDuration::from_hours(1),
        );
        assert_eq!(alarm.name(), "sagetide-idle-llm-host.llama");
        assert_eq!(
            watched_by_alarm(&alarm.name()),
            Some((name("llm-host"), Some(llama)))
        );
    }
}
