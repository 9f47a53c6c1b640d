//! Whether an endpoint may be put to sleep at an instant, before any metric is read: the one
//! answer the sleeper acts on and the scheduler plans by (it re-arms an idle alarm only when the
//! sleeper would consider the sleep), so the two never disagree.

use jiff::{SignedDuration, Timestamp};

use super::wanted::{Wanted, wanted};
use crate::config::Config;
use crate::config::Remedy;
use crate::fleet::{Component, ConfigFacts, Endpoint, PolicyFacts, Status};
use crate::permissions::Allowed;
use crate::schedule::Desired;
use crate::tags::{self, Override, SleepMark, Tags, WakeSource};

/// What asked for a sleep. Every sleep looks the endpoint's schedule up again in the
/// configuration, against the tags just read: an idle endpoint inside a scheduled period stays
/// awake, and a scheduled sleep happens only while its schedule wants it asleep.
#[derive(Debug, Clone, Copy)]
pub enum SleepTrigger<'a> {
    /// The endpoint's idle alarm went to ALARM.
    IdleAlarm(&'a Config),
    /// `{"action":"sleep"}`; `force` skips the idle check, never the tag check.
    Manual { force: bool, config: &'a Config },
    /// Off-hours of an `off_hours: sleep` schedule.
    Schedule(&'a Config),
}

/// What asked for a sleep, as an action carries it: the executor pairs it with the
/// configuration it runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepBy {
    IdleAlarm,
    Manual { force: bool },
    Schedule,
}

impl SleepBy {
    pub fn under(self, config: &Config) -> SleepTrigger<'_> {
        match self {
            SleepBy::IdleAlarm => SleepTrigger::IdleAlarm(config),
            SleepBy::Manual { force } => SleepTrigger::Manual { force, config },
            SleepBy::Schedule => SleepTrigger::Schedule(config),
        }
    }
}

/// Whether an existing endpoint that is not asleep may be put to sleep for `trigger` at `now`,
/// before any metric is read: `Err` says why not; `Ok(Some(window))` asks for the idle check
/// over that window, `Ok(None)` for none (a scheduled or forced sleep). The scheduler asks the
/// same question before it re-arms an idle alarm, so the two never disagree.
pub fn eligibility(
    endpoint: &Endpoint,
    trigger: SleepTrigger<'_>,
    now: Timestamp,
) -> Result<Option<SignedDuration>, String> {
    let (opt_in, config, force) = match trigger {
        SleepTrigger::Schedule(config) => (tags::SCHEDULE, config, false),
        SleepTrigger::IdleAlarm(config) => (tags::IDLE_AFTER, config, false),
        SleepTrigger::Manual { force, config } => (tags::IDLE_AFTER, config, force),
    };
    let Some(opt_in_value) = endpoint.tag(opt_in) else {
        return Err(format!("it does not have the opt-in tag {opt_in}"));
    };
    if !endpoint.is_in_service() {
        return Err(format!("its status is {}, not InService", endpoint.status));
    }
    if let Some(why) = endpoint.why_not_sleepable() {
        return Err(why);
    }
    can_be_woken(
        endpoint,
        config,
        matches!(trigger, SleepTrigger::Schedule(_)),
    )?;
    let wanted = wanted_now(&endpoint.tags, config, now)?;
    if let SleepTrigger::Schedule(_) = trigger {
        return match wanted {
            Some(w) if w.desired == Desired::Asleep => Ok(None),
            Some(w) => Err(format!("{} wants it awake now", w.reason)),
            None => Err("its schedule is unknown".into()),
        };
    }
    kept_awake(wanted.as_ref(), &endpoint.tags, now)?;
    let window = tags::idle_after(opt_in_value).map_err(|e| e.to_string())?;
    if force {
        return Ok(None);
    }
    match endpoint.created {
        Some(created) if created + window <= now => Ok(Some(window)),
        Some(created) => Err(format!(
            "it was created at {created}, less than {window:#} ago"
        )),
        None => Err("its creation time is unknown".into()),
    }
}

/// Whether something could bring the endpoint back: `sagetide:wake-on` parses and names a
/// source that can act (an alarm needs `sagetide:wake-alarm` or a `wake` remediation rule naming
/// the endpoint; a schedule, the schedule tag). A scheduled sleep needs `schedule` itself, or
/// the scheduler would never wake it.
fn can_be_woken(endpoint: &Endpoint, config: &Config, scheduled: bool) -> Result<(), String> {
    let sources = tags::wake_on(endpoint.tag(tags::WAKE_ON)).map_err(|e| e.to_string())?;
    if scheduled && !sources.contains(&WakeSource::Schedule) {
        return Err(format!(
            "its {} does not include schedule, so the schedule could not wake it",
            tags::WAKE_ON
        ));
    }
    let usable = sources.iter().any(|s| match s {
        WakeSource::Manual => true,
        WakeSource::Schedule => endpoint.tag(tags::SCHEDULE).is_some(),
        // A deleted endpoint takes no requests.
        WakeSource::Request => false,
        WakeSource::Alarm => {
            endpoint.tag(tags::WAKE_ALARM).is_some()
                || config.rules().iter().any(|r| {
                    r.remedy == Remedy::Wake && r.endpoint.as_ref() == Some(&endpoint.name)
                })
        }
    });
    if usable {
        Ok(())
    } else {
        Err(format!(
            "nothing could wake it: {} allows {:?} but the tags (or `wake` rules) they need are missing",
            tags::WAKE_ON,
            sources.iter().map(ToString::to_string).collect::<Vec<_>>()
        ))
    }
}

/// What the endpoint's schedule (or an override of it) wants now; `None` without a schedule.
/// Why an idle sleep must wait, if it must: what its schedule `wanted` is inside a period
/// (or an `awake-until` override), or, without a schedule, an `awake-until` override holds.
fn kept_awake(wanted: Option<&Wanted>, tags: &Tags, now: Timestamp) -> Result<(), String> {
    if let Some(w) = wanted.filter(|w| w.in_period) {
        return Err(format!("{}: it stays awake", w.reason));
    }
    if let Some(Ok(o @ Override::AwakeUntil(until))) =
        tags.get(tags::OVERRIDE).map(|v| Override::parse(v))
        && now < until
    {
        return Err(format!("override {o} holds"));
    }
    Ok(())
}

fn wanted_now(tags: &Tags, config: &Config, now: Timestamp) -> Result<Option<Wanted>, String> {
    let Some(name) = tags.get(tags::SCHEDULE) else {
        return Ok(None);
    };
    let schedule = config.schedule(name).ok_or_else(|| {
        format!("its schedule {name:?} is not in the configuration, so its periods are unknown")
    })?;
    wanted(tags, schedule, now).map(Some)
}

/// Whether an inference component that is not asleep may be put to sleep (zero copies) for
/// `trigger` at `now`, as [`eligibility`] asks it of an endpoint: `sagetide:idle-after` opts it
/// in, it is InService, something could wake it, and neither its own schedule nor an override
/// wants it awake. `Ok(Some(window))` asks for the idle check over that window.
pub fn component_eligibility(
    component: &Component,
    trigger: SleepTrigger<'_>,
    now: Timestamp,
) -> Result<Option<SignedDuration>, String> {
    let (config, force) = match trigger {
        SleepTrigger::IdleAlarm(config) => (config, false),
        SleepTrigger::Manual { force, config } => (config, force),
        SleepTrigger::Schedule(_) => {
            return Err("a component's schedule takes it to zero copies as its capacity".into());
        }
    };
    let Some(value) = component.tag(tags::IDLE_AFTER) else {
        return Err(format!(
            "it does not have the opt-in tag {}",
            tags::IDLE_AFTER
        ));
    };
    if component.status != Status::InService {
        return Err(format!("its status is {}, not InService", component.status));
    }
    let sources = tags::wake_on(component.tag(tags::WAKE_ON)).map_err(|e| e.to_string())?;
    let wakeable = sources.iter().any(|s| match s {
        WakeSource::Manual => true,
        WakeSource::Schedule => component.tag(tags::SCHEDULE).is_some(),
        // No alarm wakes a component, and a request only brings copies back within the
        // bounds of its sleep (and only where it has a scalable target): neither ends it.
        WakeSource::Alarm | WakeSource::Request => false,
    });
    if !wakeable {
        return Err(format!(
            "nothing could wake it: {} allows {:?}, and a component is woken by manual, or by schedule with {}",
            tags::WAKE_ON,
            sources.iter().map(ToString::to_string).collect::<Vec<_>>(),
            tags::SCHEDULE
        ));
    }
    let wanted = wanted_now(&component.tags, config, now)?;
    kept_awake(wanted.as_ref(), &component.tags, now)?;
    let window = tags::idle_after(value).map_err(|e| e.to_string())?;
    if force {
        return Ok(None);
    }
    // Its idle alarm still counts a sleep's silence: a woken component gets its whole window.
    let woken = match component.sleep_mark() {
        Some(SleepMark::AwakeSince(at)) => Some(at),
        _ => None,
    };
    match (component.created, woken) {
        (_, Some(woken)) if woken + window > now => {
            Err(format!("it was woken at {woken}, less than {window:#} ago"))
        }
        (Some(created), _) if created + window > now => Err(format!(
            "it was created at {created}, less than {window:#} ago"
        )),
        _ => Ok(Some(window)),
    }
}

/// Why an endpoint on an EndpointConfig with `facts` cannot be put to sleep by a deployment
/// that is `allowed` so much, if it cannot: a wake must be able to bring it back.
pub fn config_blocker(facts: &ConfigFacts, allowed: &Allowed) -> Option<String> {
    if let Some(why) = &facts.unreadable {
        return Some(format!(
            "its EndpointConfig or a model of it cannot be read, so a wake could not create it again: {why}"
        ));
    }
    if facts.hosts_inference_components {
        return Some(
            "its EndpointConfig has a variant without a model: it hosts inference components, \
             which a re-created endpoint would not have"
                .into(),
        );
    }
    if let Some(key) = facts
        .kms_key_id
        .as_ref()
        .filter(|k| !allowed.kms_keys.contains(k))
    {
        return Some(format!(
            "its EndpointConfig encrypts with the KMS key {key}, on which this deployment may not \
             create the grant a new endpoint needs: add the key's ARN to the template's \
             EndpointKmsKeyArns (and name the key by that ARN in the EndpointConfig)"
        ));
    }
    let role_name = |arn: &str| {
        arn.split_once(":role/")
            .map_or(arn, |(_, name)| name)
            .to_owned()
    };
    if let Some(role) = facts
        .model_roles
        .iter()
        .find(|arn| !glob_matches(&allowed.model_roles, &role_name(arn)))
    {
        return Some(format!(
            "a model runs as {role}, which this deployment may not pass to SageMaker to create the \
             model again should it be deleted: widen the template's ModelExecutionRoles ({})",
            allowed.model_roles
        ));
    }
    None
}

/// Why an endpoint whose variants have the scaling `policies` cannot be put to sleep, if it
/// cannot: a restore re-creates target-tracking and step policies only, and a step policy,
/// re-created under a new ARN, runs again only if sagetide may write that ARN into the alarms
/// that ran it, those tagged `sagetide:repoint=true`.
pub fn policy_blocker(policies: &[PolicyFacts]) -> Option<String> {
    const RESTORABLE: [&str; 2] = ["TargetTrackingScaling", "StepScaling"];
    if let Some(p) = policies
        .iter()
        .find(|p| !RESTORABLE.contains(&p.kind.as_str()))
    {
        return Some(format!(
            "policy {:?} of {} is {}, which sagetide cannot re-create after a wake: remove the \
             policy or the endpoint's opt-in tag",
            p.name, p.variant, p.kind
        ));
    }
    policies.iter().find_map(|p| {
        let alarm = p
            .alarms
            .iter()
            .find(|a| a.repoint.as_deref() != Some("true"))?;
        Some(format!(
            "alarm {} runs step policy {:?} of {}, which gets a new ARN when it is re-created on \
             waking, and sagetide may write that ARN only into alarms tagged {}=true: tag the \
             alarm, or remove the policy or the endpoint's opt-in tag",
            alarm.name,
            p.name,
            p.variant,
            tags::REPOINT
        ))
    })
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match, backtracking to the last `*`.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kms: Option<&str>, components: bool, roles: &[&str]) -> ConfigFacts {
        ConfigFacts {
            kms_key_id: kms.map(str::to_owned),
            hosts_inference_components: components,
            asynchronous: false,
            model_roles: roles.iter().map(|r| r.to_string()).collect(),
            unreadable: None,
        }
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn an_endpoint_sleeps_only_if_the_deployment_could_bring_it_back() {
        let open = Allowed {
            kms_keys: vec![KEY.into()],
            model_roles: "*".into(),
        };
        let role = "arn:aws:iam::123456789012:role/service/SageMaker-ranker";
        assert_eq!(config_blocker(&facts(None, false, &[role]), &open), None);
        assert_eq!(
            config_blocker(&facts(Some(KEY), false, &[role]), &open),
            None
        );
        let alias = facts(Some("alias/models"), false, &[]);
        assert!(
            config_blocker(&alias, &open)
                .unwrap()
                .contains("alias/models")
        );
        let components = facts(None, true, &[]);
        assert!(
            config_blocker(&components, &open)
                .unwrap()
                .contains("inference components")
        );
        let narrow = Allowed {
            kms_keys: Vec::new(),
            model_roles: "service/SageMaker-*".into(),
        };
        assert_eq!(config_blocker(&facts(None, false, &[role]), &narrow), None);
        let gone = ConfigFacts {
            unreadable: Some("Could not find model".into()),
            ..facts(None, false, &[])
        };
        assert!(
            config_blocker(&gone, &open)
                .unwrap()
                .contains("Could not find model")
        );
        let other = "arn:aws:iam::123456789012:role/admin";
        assert!(
            config_blocker(&facts(None, false, &[role, other]), &narrow)
                .unwrap()
                .contains("role/admin")
        );
    }

    #[test]
    fn an_endpoint_sleeps_only_if_its_policies_can_come_back_and_run_again() {
        use crate::fleet::RunningAlarm;
        let policy = |name: &str, kind: &str, alarms: &[(&str, Option<&str>)]| PolicyFacts {
            variant: crate::names::VariantName::new("AllTraffic").unwrap(),
            name: name.into(),
            kind: kind.into(),
            alarms: alarms
                .iter()
                .map(|(a, tag)| RunningAlarm {
                    name: (*a).into(),
                    repoint: tag.map(str::to_owned),
                })
                .collect(),
        };
        let tracking = policy("cpu", "TargetTrackingScaling", &[]);
        let step = |tag| policy("step-out", "StepScaling", &[("latency", tag)]);
        assert_eq!(policy_blocker(&[]), None);
        assert_eq!(
            policy_blocker(&[tracking.clone(), step(Some("true"))]),
            None
        );
        for tag in [None, Some("false"), Some("TRUE")] {
            let why = policy_blocker(&[tracking.clone(), step(tag)]).expect("blocked");
            assert!(
                why.contains("alarm latency") && why.contains("sagetide:repoint=true"),
                "{why}"
            );
        }
        let predictive = policy("forecast", "PredictiveScaling", &[]);
        let why = policy_blocker(&[tracking, predictive]).expect("blocked");
        assert!(
            why.contains("\"forecast\"") && why.contains("PredictiveScaling"),
            "{why}"
        );
    }

    #[test]
    fn role_patterns_match_as_iam_matches_them() {
        assert!(glob_matches("*", "anything/at/all"));
        assert!(glob_matches("SageMaker-*-exec", "SageMaker-ranker-exec"));
        assert!(glob_matches("team-?", "team-a"));
        assert!(!glob_matches("team-?", "team-ab"));
        assert!(!glob_matches("SageMaker-*", "sagemaker-ranker"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn a_component_sleeps_only_opted_in_wakeable_and_idle_its_whole_window_since_a_wake() {
        let config = Config::default();
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let component = |tags: &[(&str, &str)]| Component {
            name: crate::names::ComponentName::new("llama").unwrap(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llama".into(),
            variant: crate::names::VariantRef {
                endpoint: crate::names::EndpointName::new("llm").unwrap(),
                variant: crate::names::VariantName::new("AllTraffic").unwrap(),
            },
            status: Status::InService,
            created: Some(at("2026-12-01T00:00:00Z")),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let idle = (tags::IDLE_AFTER, "2h");
        let trigger = SleepTrigger::IdleAlarm(&config);
        let now = at("2026-12-07T21:00:00Z");
        let window = Some(SignedDuration::from_hours(2));
        assert_eq!(
            component_eligibility(&component(&[idle]), trigger, now),
            Ok(window)
        );
        let untagged = component_eligibility(&component(&[]), trigger, now).unwrap_err();
        assert!(untagged.contains(tags::IDLE_AFTER), "{untagged}");
        // A request brings copies back within the sleep's bounds, but ends no sleep.
        let on_request = component(&[idle, (tags::WAKE_ON, "request")]);
        let why = component_eligibility(&on_request, trigger, now).unwrap_err();
        assert!(why.contains("nothing could wake it"), "{why}");
        // Woken an hour ago: its alarm still counts the sleep's silence.
        let woken = component(&[idle, (tags::SLEEP, "awake-since=2026-12-07T20:00:00Z")]);
        let why = component_eligibility(&woken, trigger, now).unwrap_err();
        assert!(why.contains("woken at 2026-12-07T20:00:00Z"), "{why}");
        let later = at("2026-12-07T22:00:00Z");
        assert_eq!(component_eligibility(&woken, trigger, later), Ok(window));
        let forced = SleepTrigger::Manual {
            force: true,
            config: &config,
        };
        assert_eq!(component_eligibility(&woken, forced, now), Ok(None));
    }
}
