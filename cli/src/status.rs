//! `sagetide status`: each opted-in endpoint as it stands: awake, asleep or on its way; its
//! capacity now and what its schedule wants; its next transition; the remedies in force; its
//! latest history, in time order. Each opted-in inference component likewise, by its copies.
//! Observed by [`observe`], put together by [`statuses`] (pure).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde::Serialize;

use sagetide::aws;
use sagetide::aws::table::{Recorded, Table};
use sagetide::config::{Config, ConfigSource};
use sagetide::env::Env;
use sagetide::fleet::{Component, Endpoint, ScalableTarget, Status};
use sagetide::names::{ComponentName, EndpointName, VariantName};
use sagetide::plan::wanted::wanted;
use sagetide::remediation::StoredRecord;
use sagetide::resource::ScalableResource;
use sagetide::schedule::{Desired, Schedule};
use sagetide::snapshot::{Phase, Stored, WakeAttempt};
use sagetide::tags::{self, Override, SleepMark, Tags};
use sagetide_cli::wording::{local, wants};

use crate::CliError;
use crate::places::{self, PlaceStatus};

/// What `status` reads.
pub struct Observed {
    pub endpoints: Vec<Endpoint>,
    pub targets: Vec<ScalableTarget>,
    /// Snapshots not yet restored.
    pub sleeping: Vec<Stored>,
    pub remediations: Vec<StoredRecord>,
    pub history: Vec<Recorded>,
    /// Opted-in inference components, with their copies now.
    pub components: Vec<(Component, u32)>,
}

/// What `status` shows.
#[derive(Debug, Serialize)]
pub struct Statuses {
    pub endpoints: Vec<EndpointStatus>,
    pub components: Vec<ComponentStatus>,
    /// The managed places besides this one (`status` without an endpoint's name only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<PlaceStatus>,
}

impl Statuses {
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty() && self.components.is_empty()
    }
}

#[derive(Debug, Serialize)]
pub struct ComponentStatus {
    pub component: ComponentName,
    /// The endpoint and variant that host it; its actions are in the endpoint's history.
    pub endpoint: EndpointName,
    pub variant: VariantName,
    /// `awake`, `asleep` (its copies at 0, as sagetide put it to sleep), or SageMaker's status
    /// in lower case.
    pub state: String,
    pub copies: u32,
    /// Its scalable target's `min..max` of copies, if it has one.
    pub target: Option<String>,
    pub schedule: Option<String>,
    pub wants: Option<String>,
    pub why: Option<String>,
    pub next: Option<Next>,
    /// The entries that name it among its host's latest, oldest first.
    pub history: Vec<Recorded>,
}

#[derive(Debug, Serialize)]
pub struct EndpointStatus {
    pub endpoint: EndpointName,
    /// `awake`, `asleep`, `waking`, `falling asleep`, `restoring autoscaling`, or SageMaker's
    /// status in lower case for anything else.
    pub state: String,
    pub variants: Vec<VariantStatus>,
    pub schedule: Option<String>,
    /// What the schedule (or an override in force) wants now: `awake 2..10` or `asleep`, or
    /// why that cannot be said.
    pub wants: Option<String>,
    pub why: Option<String>,
    pub next: Option<Next>,
    pub remedies: Vec<String>,
    /// The latest entries, oldest first.
    pub history: Vec<Recorded>,
}

#[derive(Debug, Serialize)]
pub struct VariantStatus {
    pub variant: String,
    pub instances: u32,
    /// Its scalable target's `min..max`, if it has one.
    pub target: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Next {
    pub utc: Timestamp,
    /// In the schedule's time zone.
    pub local: String,
    pub wants: String,
    pub why: String,
}

/// Reads what the deployment's functions see: the opted-in endpoints, their targets, the
/// table's sleeping endpoints and remedies, and the latest `history` entries of each (one
/// Query per endpoint, a few at a time), or of `only` that endpoint.
pub async fn observe(
    sdk: &SdkConfig,
    env: &Env,
    only: Option<&EndpointName>,
    history: i32,
) -> Result<(Observed, std::sync::Arc<Config>), CliError> {
    let table = Table::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.require_table()?.to_owned(),
    );
    let sagemaker = aws_sdk_sagemaker::Client::new(sdk);
    let config = ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env);
    let tagging = aws_sdk_resourcegroupstagging::Client::new(sdk);
    let opted_in = [tags::SCHEDULE, tags::IDLE_AFTER];
    let (endpoints, components, open, config) = tokio::join!(
        aws::sagemaker::endpoints_tagged(&sagemaker, &opted_in),
        aws::components::tagged(&tagging, &sagemaker, &opted_in),
        table.open(),
        config.get(),
    );
    let (mut endpoints, mut components, open, config) = (endpoints?, components?, open?, config?);
    let (mut sleeping, mut remediations) = (open.sleeping, open.remediations);
    if let Some(name) = only {
        endpoints.retain(|e| &e.name == name);
        sleeping.retain(|s| &s.snapshot.endpoint == name);
        remediations.retain(|r| &r.endpoint == name);
        components.retain(|c| c.name.as_str() == name.as_str() || &c.variant.endpoint == name);
    }
    let mut components: Vec<(Component, u32)> = futures::stream::iter(&components)
        .map(|c| aws::components::described(&sagemaker, &c.name))
        .buffer_unordered(aws::CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    components.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
    let resources: Vec<ScalableResource> = endpoints
        .iter()
        .flat_map(Endpoint::scalable_resources)
        .chain(components.iter().map(|(c, _)| copies_of(c)))
        .collect();
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(sdk);
    let targets = aws::autoscaling::targets(&autoscaling, &resources).await?;
    let names: Vec<EndpointName> = endpoints
        .iter()
        .map(|e| e.name.clone())
        .chain(sleeping.iter().map(|s| s.snapshot.endpoint.clone()))
        .chain(remediations.iter().map(|r| r.endpoint.clone()))
        // A component's actions are kept in its host's history.
        .chain(components.iter().map(|(c, _)| c.variant.endpoint.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let history: Vec<Vec<Recorded>> = futures::stream::iter(&names)
        .map(|name| table.history(name, history))
        .buffer_unordered(aws::CONCURRENCY)
        .try_collect()
        .await?;
    Ok((
        Observed {
            endpoints,
            targets,
            sleeping,
            remediations,
            history: history.into_iter().flatten().collect(),
            components,
        },
        config,
    ))
}

/// Every endpoint that is opted in, asleep or under a remedy, and every opted-in component,
/// by name.
pub fn statuses(observed: &Observed, config: &Config, now: Timestamp) -> Statuses {
    Statuses {
        endpoints: endpoints(observed, config, now),
        components: observed
            .components
            .iter()
            .map(|(c, copies)| component(c, *copies, observed, config, now))
            .collect(),
        places: Vec::new(),
    }
}

fn copies_of(component: &Component) -> ScalableResource {
    ScalableResource::Copies {
        variant: component.variant.clone(),
        component: component.name.clone(),
    }
}

fn component(
    component: &Component,
    copies: u32,
    observed: &Observed,
    config: &Config,
    now: Timestamp,
) -> ComponentStatus {
    let schedule = component.tag(tags::SCHEDULE).map(str::to_owned);
    let (wants, why, next) = match &schedule {
        Some(schedule) => plan_of(&component.tags, schedule, config, now),
        None => (None, None, None),
    };
    let resource = copies_of(component);
    ComponentStatus {
        component: component.name.clone(),
        endpoint: component.variant.endpoint.clone(),
        variant: component.variant.variant.clone(),
        state: match (&component.status, component.sleep_mark()) {
            (Status::InService, Some(SleepMark::AsleepSince(_))) => "asleep".into(),
            (Status::InService, _) => "awake".into(),
            (status, _) => status.as_str().to_lowercase(),
        },
        copies,
        target: observed
            .targets
            .iter()
            .find(|t| t.resource == resource)
            .map(|t| t.capacity.to_string()),
        schedule,
        wants,
        why,
        next,
        history: in_time_order(
            observed
                .history
                .iter()
                .filter(|h| h.endpoint == component.variant.endpoint)
                .filter(|h| names(&h.reason, component.name.as_str())),
        ),
    }
}

/// Whether `text` names `name` as a whole word (a component's name in its host's history).
fn names(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .any(|word| word == name)
}

/// Entries of one instant (a tick's, a simulation's) in the order they were written.
fn in_time_order<'a>(entries: impl Iterator<Item = &'a Recorded>) -> Vec<Recorded> {
    let mut entries: Vec<Recorded> = entries.cloned().collect();
    entries.sort_by_key(|h| (h.at, h.written));
    entries
}

fn endpoints(observed: &Observed, config: &Config, now: Timestamp) -> Vec<EndpointStatus> {
    let mut names: BTreeMap<&EndpointName, (Option<&Endpoint>, Option<&Stored>)> = BTreeMap::new();
    for e in &observed.endpoints {
        names.entry(&e.name).or_default().0 = Some(e);
    }
    for s in &observed.sleeping {
        names.entry(&s.snapshot.endpoint).or_default().1 = Some(s);
    }
    for r in &observed.remediations {
        names.entry(&r.endpoint).or_default();
    }
    names
        .into_iter()
        .map(|(name, (endpoint, snapshot))| {
            let tags = endpoint
                .map(|e| &e.tags)
                .or(snapshot.map(|s| &s.snapshot.tags));
            let schedule = tags.and_then(|t| t.get(tags::SCHEDULE)).cloned();
            let (wants, why, next) = match (&schedule, tags) {
                (Some(schedule), Some(tags)) => plan_of(tags, schedule, config, now),
                _ => (None, None, None),
            };
            let history = in_time_order(observed.history.iter().filter(|h| &h.endpoint == name));
            EndpointStatus {
                endpoint: name.clone(),
                state: state(
                    endpoint.map(|e| &e.status),
                    snapshot.map(|s| (s.phase, s.wake.as_ref())),
                ),
                variants: endpoint
                    .map(|e| variants(e, &observed.targets))
                    .unwrap_or_default(),
                schedule,
                wants,
                why,
                next,
                remedies: remedies(name, &observed.remediations),
                history,
            }
        })
        .collect()
}

/// The endpoint's state from its status in SageMaker (`None`: it does not exist) and its open
/// snapshot's phase and latest wake.
fn state(status: Option<&Status>, snapshot: Option<(Phase, Option<&WakeAttempt>)>) -> String {
    match (status, snapshot) {
        (Some(Status::InService), None) => "awake".into(),
        // Stored and verified, the delete not yet done (or cut short): the next sleep finishes it.
        (Some(_), Some((Phase::Sleeping, _))) | (None, Some((Phase::Sleeping, _))) => {
            "falling asleep".into()
        }
        // Deleted after its snapshot was stored: the delete is under way.
        (Some(Status::Deleting), Some(_)) => "falling asleep".into(),
        (Some(Status::InService), Some(_)) => "restoring autoscaling".into(),
        (Some(Status::Creating), Some(_)) => "waking".into(),
        (Some(status), _) => status.as_str().to_lowercase(),
        (None, Some((_, Some(wake)))) if wake.failures > 0 => format!(
            "asleep; its wake failed {} time(s), last: {}",
            wake.failures,
            wake.last_failure.as_deref().unwrap_or("no reason given")
        ),
        (None, Some(_)) => "asleep".into(),
        (None, None) => "not found (a remedy's record only)".into(),
    }
}

fn variants(endpoint: &Endpoint, targets: &[ScalableTarget]) -> Vec<VariantStatus> {
    endpoint
        .variants
        .iter()
        .map(|v| {
            let resource = ScalableResource::instances(&endpoint.name, &v.name);
            VariantStatus {
                variant: v.name.to_string(),
                instances: v.instances,
                target: targets
                    .iter()
                    .find(|t| t.resource == resource)
                    .map(|t| t.capacity.to_string()),
            }
        })
        .collect()
}

/// What the schedule wants now, why, and its next change: at an override's end while one is in
/// force, else at the schedule's next transition.
fn plan_of(
    tags: &Tags,
    name: &str,
    config: &Config,
    now: Timestamp,
) -> (Option<String>, Option<String>, Option<Next>) {
    let Some(schedule) = config.schedule(name) else {
        return (
            Some(format!("nothing: schedule {name} is not in the document")),
            None,
            None,
        );
    };
    let (wants, why) = match wanted(tags, schedule, now) {
        Ok(w) => (wants(&w.desired), Some(w.reason)),
        Err(problem) => (format!("nothing: {problem}"), None),
    };
    let override_ends = tags
        .get(tags::OVERRIDE)
        .and_then(|v| Override::parse(v).ok())
        .map(Override::until)
        .filter(|until| *until > now);
    let next = match override_ends {
        Some(until) => Some(next(
            schedule,
            until,
            &schedule.state_at(until).desired,
            "the override ends".into(),
        )),
        None => schedule
            .next_transition(now)
            .map(|(at, state)| next(schedule, at, &state.desired, state.why.to_string())),
    };
    (Some(wants), why, next)
}

fn next(schedule: &Schedule, at: Timestamp, desired: &Desired, why: String) -> Next {
    Next {
        utc: at,
        local: local(&schedule.timezone, at),
        wants: wants(desired),
        why,
    }
}

fn remedies(name: &EndpointName, records: &[StoredRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|r| &r.endpoint == name)
        .flat_map(|r| r.record.triggers.values())
        .filter(|t| t.firing)
        .map(|t| {
            let mut remedy = Vec::new();
            if t.suspends {
                remedy.push("scale-in suspended".to_owned());
            }
            remedy.extend(
                t.raise
                    .iter()
                    .map(|(target, min)| format!("{target} held at min {min}")),
            );
            format!(
                "rule {}: alarm {} firing since {}: {}",
                t.rule,
                t.alarm,
                t.at.strftime("%Y-%m-%d %H:%M UTC"),
                remedy.join(", ")
            )
        })
        .collect()
}

/// A block per endpoint, then per component, then the managed places besides this one.
pub fn table(statuses: &Statuses) -> String {
    let mut out = String::new();
    if statuses.is_empty() {
        out.push_str("no endpoint or component is opted in, asleep or under a remedy\n");
    }
    for s in &statuses.endpoints {
        out.push_str(&format!("{}: {}\n", s.endpoint, s.state));
        for v in &s.variants {
            let target = v.target.as_ref().map_or_else(
                || ", no scalable target".to_owned(),
                |t| format!(", target {t}"),
            );
            out.push_str(&format!(
                "  capacity  {}: {} instance(s){target}\n",
                v.variant, v.instances
            ));
        }
        wants_and_next(
            &mut out,
            s.wants.as_deref(),
            s.why.as_deref(),
            s.next.as_ref(),
        );
        for remedy in &s.remedies {
            out.push_str(&format!("  remedy    {remedy}\n"));
        }
        history_lines(&mut out, &s.history);
    }
    for c in &statuses.components {
        out.push_str(&format!(
            "{} (component on {}/{}): {}\n",
            c.component, c.endpoint, c.variant, c.state
        ));
        let target = c.target.as_ref().map_or_else(
            || ", no scalable target".to_owned(),
            |t| format!(", target {t}"),
        );
        out.push_str(&format!("  capacity  {} copies{target}\n", c.copies));
        wants_and_next(
            &mut out,
            c.wants.as_deref(),
            c.why.as_deref(),
            c.next.as_ref(),
        );
    }
    out.push_str(&places::table(&statuses.places));
    out
}

fn history_lines(out: &mut String, history: &[Recorded]) {
    for h in history {
        out.push_str(&format!(
            "  history   {}  {} {} by {} ({})\n",
            h.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            h.action,
            h.outcome,
            h.who,
            h.reason
        ));
    }
}

fn wants_and_next(out: &mut String, wants: Option<&str>, why: Option<&str>, next: Option<&Next>) {
    if let Some(wants) = wants {
        let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
        out.push_str(&format!("  wants     {wants}{why}\n"));
    }
    if let Some(next) = next {
        out.push_str(&format!(
            "  next      {} ({}): {} ({})\n",
            next.local,
            next.utc.strftime("%Y-%m-%d %H:%M UTC"),
            next.wants,
            next.why
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
schedules:
  office-hours:
    timezone: Europe/Berlin
    periods:
      - { days: mon-fri, start: "08:00", end: "19:00", capacity: { min: 2, max: 10 } }
    off_hours: sleep
"#;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Monday 2026-11-23, 06:00 in Berlin.
    fn dawn() -> Timestamp {
        "2026-11-23T05:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_next_change_is_the_schedules_own_without_an_override() {
        let config = Config::parse(DOC).unwrap();
        let (wants, why, next) = plan_of(&tags(&[]), "office-hours", &config, dawn());
        assert_eq!(wants.as_deref(), Some("asleep"));
        assert_eq!(why.as_deref(), Some("schedule office-hours: off-hours"));
        let next = next.unwrap();
        assert_eq!(
            next.utc,
            "2026-11-23T07:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(next.local, "2026-11-23 Mon 08:00 CET");
        assert_eq!(next.wants, "awake 2..10");
    }

    #[test]
    fn an_override_in_force_wants_its_state_until_it_ends() {
        let config = Config::parse(DOC).unwrap();
        let tags = tags(&[(tags::OVERRIDE, "awake-until=2026-11-23T06:00:00Z")]);
        let (wants, why, next) = plan_of(&tags, "office-hours", &config, dawn());
        assert_eq!(wants.as_deref(), Some("awake 2..10"));
        assert!(why.unwrap().starts_with("override"));
        let next = next.unwrap();
        assert_eq!(
            next.utc,
            "2026-11-23T06:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            (next.wants.as_str(), next.why.as_str()),
            ("asleep", "the override ends")
        );
    }

    #[test]
    fn the_state_follows_the_endpoint_and_its_snapshots_phase() {
        let cases = [
            (Some(Status::InService), None, "awake"),
            (
                Some(Status::InService),
                Some(Phase::Asleep),
                "restoring autoscaling",
            ),
            (
                Some(Status::InService),
                Some(Phase::Sleeping),
                "falling asleep",
            ),
            (
                Some(Status::Deleting),
                Some(Phase::Sleeping),
                "falling asleep",
            ),
            (None, Some(Phase::Sleeping), "falling asleep"),
            (Some(Status::Creating), Some(Phase::Asleep), "waking"),
            (Some(Status::Creating), None, "creating"),
            (Some(Status::Failed), Some(Phase::Asleep), "failed"),
            (None, Some(Phase::Asleep), "asleep"),
            (None, None, "not found (a remedy's record only)"),
        ];
        for (status, phase, expected) in cases {
            assert_eq!(
                state(status.as_ref(), phase.map(|p| (p, None))),
                expected,
                "{status:?} {phase:?}"
            );
        }
        let wake = WakeAttempt {
            source: sagetide::tags::WakeSource::Schedule,
            alarm: None,
            asked_at: dawn(),
            failures: 2,
            last_failure: Some("InsufficientInstanceCapacity".into()),
            retry_after: None,
            reported_slow: false,
            failed_endpoint: None,
            settings_sent: Vec::new(),
        };
        assert_eq!(
            state(None, Some((Phase::Asleep, Some(&wake)))),
            "asleep; its wake failed 2 time(s), last: InsufficientInstanceCapacity"
        );
    }

    #[test]
    fn a_schedule_missing_from_the_document_or_a_bad_override_is_said() {
        let config = Config::parse(DOC).unwrap();
        let (wants, _, next) = plan_of(&tags(&[]), "weekends", &config, dawn());
        assert_eq!(
            wants.as_deref(),
            Some("nothing: schedule weekends is not in the document")
        );
        assert!(next.is_none());
        let bad = tags(&[(tags::OVERRIDE, "awake-for=2h")]);
        let (wants, _, _) = plan_of(&bad, "office-hours", &config, dawn());
        assert!(wants.unwrap().starts_with("nothing: "));
    }
}
