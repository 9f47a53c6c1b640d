//! Everything needed to bring a deleted endpoint back exactly as it was. Deleting an endpoint
//! makes Application Auto Scaling drop its scalable targets, their scaling policies and
//! scheduled actions, so all of it is recorded here, field by field, before anything is deleted.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::names::{EndpointName, VariantName};
use crate::tags::{self, Tags, WakeSource};

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
    /// The EndpointConfig and its models, for a wake that finds them deleted meanwhile
    /// (clean-up scripts and CloudFormation delete the ones no endpoint uses). Snapshots
    /// taken before this field existed have none.
    #[serde(default)]
    pub definitions: Option<Definitions>,
    /// Each variant's weight and instance count: a new endpoint starts from its config's, not
    /// from what UpdateEndpointWeightsAndCapacities had set.
    #[serde(default)]
    pub variants: Vec<VariantSettings>,
    /// The endpoint's resource policy (PutEndpointPolicy), which a delete deletes with it.
    #[serde(default)]
    pub endpoint_policy: Option<String>,
}

impl Snapshot {
    /// The alarm whose ALARM may wake this endpoint (`sagetide:wake-alarm` at sleep time).
    pub fn wake_alarm(&self) -> Option<&str> {
        self.tags.get(tags::WAKE_ALARM).map(String::as_str)
    }

    /// The tags CreateEndpoint accepts (see [`tags::settable`]).
    pub fn settable_tags(&self) -> impl Iterator<Item = (&String, &String)> {
        tags::settable(&self.tags)
    }
}

/// The EndpointConfig an endpoint runs on and the models its variants name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    pub endpoint_config: Definition,
    pub models: Vec<Definition>,
}

/// A SageMaker object as the request that creates it again: SageMaker's own JSON (see
/// `aws::raw`), and the object's tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    pub request: Value,
    pub tags: Tags,
}

/// What UpdateEndpointWeightsAndCapacities sets on a variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSettings {
    pub variant: VariantName,
    pub weight: Option<f32>,
    pub instances: Option<u32>,
}

/// A variant's scalable target with everything attached to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSnapshot {
    pub variant: VariantName,
    pub min: i32,
    pub max: i32,
    pub suspended: Suspended,
    /// The target's own tags (Application Auto Scaling's, not the endpoint's).
    #[serde(default)]
    pub tags: Tags,
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
    /// Alarms whose actions invoke this (step) policy. Deleting the policy takes its ARN out
    /// of their actions, and a re-created policy gets a new ARN, so on restore the new ARN is
    /// put back into the lists that held the old one, or the restored policy would never run.
    pub alarms: Vec<AlarmLink>,
}

/// An alarm that runs a step policy, and which of its action lists name the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmLink {
    pub alarm: String,
    pub lists: Vec<ActionList>,
}

/// One of a CloudWatch alarm's three action lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionList {
    /// `AlarmActions`: run on entering ALARM.
    Alarm,
    /// `OKActions`.
    Ok,
    /// `InsufficientDataActions`.
    InsufficientData,
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

impl ScheduledAction {
    /// Why the action could never run again after `now`, if it could not: its end time has
    /// passed, or it is a one-time `at()` whose time has (in its time zone, UTC by default).
    pub fn never_again(&self, now: Timestamp) -> Option<String> {
        if let Some(end) = self.end_time
            && end <= now
        {
            return Some(format!("its end time {end} has passed"));
        }
        let at = self.schedule.strip_prefix("at(")?.strip_suffix(')')?;
        let local: jiff::civil::DateTime = at.parse().ok()?;
        let zone = match &self.timezone {
            Some(name) => jiff::tz::TimeZone::get(name).ok()?,
            None => jiff::tz::TimeZone::UTC,
        };
        let when = local.to_zoned_datetime(zone).ok()?.timestamp();
        (when <= now).then(|| format!("it ran once, at {when}"))
    }
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
    /// The latest wake since the sleep, if there was one.
    pub wake: Option<WakeAttempt>,
}

/// A wake of a sleeping endpoint: what asked for it, and its failures so far. A wake that
/// fails (SageMaker could not provision the instances, say) is tried again later while what
/// asked still wants the endpoint awake, later each time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WakeAttempt {
    pub source: WakeSource,
    /// The alarm that asked, for a wake by alarm.
    pub alarm: Option<String>,
    /// When the latest CreateEndpoint was sent.
    pub asked_at: Timestamp,
    pub failures: u32,
    pub last_failure: Option<String>,
    /// No new attempt by the scheduler before this (a person's wake is not held back).
    pub retry_after: Option<Timestamp>,
    /// Whether the latest attempt was reported as taking too long.
    pub reported_slow: bool,
    /// The creation time of the endpoint whose failure is recorded, so that a recovery cut
    /// short after recording it does not count it twice.
    #[serde(default)]
    pub failed_endpoint: Option<Timestamp>,
    /// The weight and instance-count updates the restore of this wake has sent, each recorded
    /// before it is sent.
    #[serde(default)]
    pub settings_sent: Vec<SettingsSent>,
}

/// One UpdateEndpointWeightsAndCapacities of a restore: SageMaker takes the weights of several
/// variants, or the instance count of one, at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsUpdate {
    Weights,
    Count(VariantName),
}

/// How often a restore sent one update, and whether AWS refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSent {
    pub update: SettingsUpdate,
    pub times: u32,
    pub refused: Option<String>,
}

/// How often one update is sent at most, not counting sends that failed without being refused:
/// twice, so that one recorded but never sent (a crash or a lost answer between the record and
/// the call) is sent after all, while one that SageMaker takes but does not apply (for want of
/// capacity, say) is reported rather than sent at every IN_SERVICE and tick.
pub const SETTINGS_SENDS: u32 = 2;

/// The wait before the first retry of a failed wake; it doubles with each failure up to
/// [`MAX_RETRY_WAIT`]. Capacity that SageMaker could not provision rarely comes back within
/// minutes, and each attempt takes the 5–15 minutes of a CreateEndpoint.
pub const FIRST_RETRY_WAIT: SignedDuration = SignedDuration::from_mins(10);
pub const MAX_RETRY_WAIT: SignedDuration = SignedDuration::from_hours(1);
/// How long a CreateEndpoint may stay `Creating` before the wake is reported as slow.
pub const SLOW_WAKE: SignedDuration = SignedDuration::from_mins(45);
/// How many times a person's wake is tried again before it is left to them: with the waits
/// above, about ten hours.
pub const MANUAL_RETRIES: u32 = 12;

impl WakeAttempt {
    /// A new attempt asked for by `source` at `now`; failures so far are kept.
    pub fn asked(
        previous: Option<&Self>,
        source: WakeSource,
        alarm: Option<&str>,
        now: Timestamp,
    ) -> Self {
        Self {
            source,
            alarm: alarm.map(str::to_owned),
            asked_at: now,
            failures: previous.map_or(0, |p| p.failures),
            last_failure: previous.and_then(|p| p.last_failure.clone()),
            retry_after: None,
            reported_slow: false,
            failed_endpoint: None,
            settings_sent: Vec::new(),
        }
    }

    /// The attempt of a snapshot that has no record of its wake (woken by an older build, or
    /// by hand with CreateEndpoint), asked at `at`: the schedule is taken to have asked if the
    /// endpoint has one, since a wake retried by a person's rules would be retried for hours.
    pub fn presumed(snapshot: &Snapshot, at: Timestamp) -> Self {
        let source = match snapshot.tags.contains_key(tags::SCHEDULE) {
            true => WakeSource::Schedule,
            false => WakeSource::Manual,
        };
        Self::asked(None, source, None, at)
    }

    /// This attempt failed at `now` for `reason` (the endpoint it made, created at `endpoint`,
    /// if it made one): the next one waits.
    pub fn failed(&self, reason: &str, now: Timestamp, endpoint: Option<Timestamp>) -> Self {
        let failures = self.failures + 1;
        let doublings = failures.saturating_sub(1).min(16);
        let wait = FIRST_RETRY_WAIT
            .checked_mul(1 << doublings)
            .map_or(MAX_RETRY_WAIT, |w| w.min(MAX_RETRY_WAIT));
        Self {
            failures,
            last_failure: Some(reason.to_owned()),
            retry_after: Some(now + wait),
            failed_endpoint: endpoint,
            ..self.clone()
        }
    }

    /// Whether the endpoint this attempt made has been creating for too long, and was not
    /// reported yet.
    pub fn is_slow(&self, now: Timestamp) -> bool {
        !self.reported_slow && self.asked_at + SLOW_WAKE <= now
    }

    /// Whether the scheduler may try again at `now`.
    pub fn may_retry(&self, now: Timestamp) -> bool {
        self.retry_after.is_none_or(|after| now >= after)
    }

    /// Why a wake waits: `its wake failed 2 time(s) (last: …); it is tried again from …`.
    pub fn held_back(&self) -> String {
        format!(
            "its wake failed {} time(s) (last: {}); it is tried again from {}",
            self.failures,
            self.last_failure.as_deref().unwrap_or("no reason given"),
            self.retry_after.map_or_else(String::new, |t| t.to_string()),
        )
    }

    /// The record of `update`, made if it has none yet.
    pub fn sent(&mut self, update: &SettingsUpdate) -> &mut SettingsSent {
        let at = match self.settings_sent.iter().position(|s| &s.update == update) {
            Some(at) => at,
            None => {
                self.settings_sent.push(SettingsSent {
                    update: update.clone(),
                    times: 0,
                    refused: None,
                });
                self.settings_sent.len() - 1
            }
        };
        &mut self.settings_sent[at]
    }

    /// Whether `update` may be sent (again): not refused, and sent fewer than
    /// [`SETTINGS_SENDS`] times.
    pub fn may_send(&self, update: &SettingsUpdate) -> bool {
        self.settings_sent
            .iter()
            .find(|s| &s.update == update)
            .is_none_or(|s| s.refused.is_none() && s.times < SETTINGS_SENDS)
    }

    /// AWS's refusal of `update`, if it refused it.
    pub fn refusal(&self, update: &SettingsUpdate) -> Option<&str> {
        self.settings_sent
            .iter()
            .find(|s| &s.update == update)?
            .refused
            .as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn action(schedule: &str, timezone: Option<&str>, end: Option<&str>) -> ScheduledAction {
        ScheduledAction {
            name: "a".into(),
            schedule: schedule.into(),
            timezone: timezone.map(str::to_owned),
            start_time: None,
            end_time: end.map(at),
            min: Some(1),
            max: None,
        }
    }

    #[test]
    fn a_one_time_action_in_the_past_or_an_ended_one_never_runs_again() {
        let now = at("2027-06-01T05:30:00Z");
        assert!(
            action("at(2027-06-01T06:00:00)", None, None)
                .never_again(now)
                .is_none()
        );
        // 06:00 in Berlin (summer time) is 04:00 UTC.
        let berlin = action("at(2027-06-01T06:00:00)", Some("Europe/Berlin"), None);
        assert!(
            berlin
                .never_again(now)
                .unwrap()
                .contains("2027-06-01T04:00:00Z")
        );
        let cron = action(
            "cron(0 7 ? * MON-FRI *)",
            None,
            Some("2027-06-01T05:00:00Z"),
        );
        assert!(cron.never_again(now).unwrap().contains("end time"));
        assert!(
            action("cron(0 7 ? * MON-FRI *)", None, None)
                .never_again(now)
                .is_none()
        );
    }

    #[test]
    fn a_failed_wake_waits_longer_each_time_up_to_an_hour() {
        let asked =
            WakeAttempt::asked(None, WakeSource::Schedule, None, at("2026-11-23T06:30:00Z"));
        let now = at("2026-11-23T06:45:00Z");
        let waits: Vec<i64> =
            std::iter::successors(Some(asked.failed("no capacity", now, None)), |a| {
                Some(a.failed("no capacity", now, None))
            })
            .take(5)
            .map(|a| (a.retry_after.unwrap() - now).as_mins())
            .collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        let failed = asked.failed("no capacity", now, None);
        assert!(!failed.may_retry(at("2026-11-23T06:54:00Z")));
        assert!(failed.may_retry(at("2026-11-23T06:55:00Z")));
        let again = WakeAttempt::asked(Some(&failed), WakeSource::Schedule, None, now);
        assert_eq!((again.failures, again.retry_after), (1, None));
    }
}
