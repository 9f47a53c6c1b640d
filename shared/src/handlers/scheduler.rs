//! The `scheduler` function: each tick makes every scheduled endpoint's capacity match its
//! schedule for *now*.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_config::SdkConfig;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use super::fan_out::FanOut;
use super::lifecycle::{home, rejected};

use crate::act::{self, Batch, Executor, Ran};
use crate::aws::{self, AwsError};
use crate::config::{Config, ConfigSource};
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::events::{PlaceTick, ScheduledEvent};
use crate::fleet::{Component, ConfigFacts, Endpoint};
use crate::lifecycle::{Actor, Lifecycle};
use crate::names::EndpointName;
use crate::outcome::{self, Outcome};
use crate::permissions::{Allowed, Function};
use crate::places::{Place, Spoke};
use crate::plan::scheduler::Observed;
use crate::plan::sleepable::policy_blocker;
use crate::plan::{self, Plan};
use crate::tags;
use tokio::sync::Mutex;

pub struct Scheduler {
    config: ConfigSource,
    /// The hub's own place.
    home: Site,
    /// The spokes' ticks.
    fan_out: FanOut,
    /// The facts of the EndpointConfigs seen so far, by place (`None`: the hub's), kept for
    /// the container's life.
    config_facts: Mutex<HashMap<Option<Place>, HashMap<String, ConfigFacts>>>,
    /// The most sleeps one tick may start.
    sleeps_per_tick: usize,
}

/// Where a tick acts: the hub's own place, or a spoke through the scheduler's role there.
struct Site {
    executor: Executor,
    /// Finds inference components by their tags.
    tagging: aws_sdk_resourcegroupstagging::Client,
    /// What the deployment may do to bring an endpoint back there.
    allowed: Allowed,
    /// The spoke's place; `None` for the hub's own.
    spoke: Option<Place>,
}

impl Site {
    /// This site's executor in `spoke`, through `config` (the scheduler's role there).
    fn in_spoke(&self, config: &SdkConfig, spoke: &Spoke) -> Self {
        Self {
            executor: self.executor.in_spoke(config, spoke),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            allowed: spoke.allowed.clone(),
            spoke: Some(spoke.place.clone()),
        }
    }

    fn lifecycle(&self) -> &Lifecycle {
        self.executor
            .lifecycle
            .as_ref()
            .expect("the scheduler always has a lifecycle")
    }
}

/// What one tick did; the function's response, and the demo's timeline source.
#[derive(Debug, Serialize)]
pub struct TickReport {
    pub now: Timestamp,
    pub dry_run: bool,
    pub endpoints: usize,
    pub actions: Vec<ActionReport>,
    pub skipped: Vec<SkipReport>,
    /// Why the tick changed nothing although its plan had actions: a later tick already acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late: Option<String>,
    /// `<account>/<region>` of a spoke's tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The hub's tick: the places (`<account>/<region>`) whose ticks it queued, each carried
    /// out on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spokes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ActionReport {
    pub endpoint: String,
    pub action: &'static str,
    /// The planned action in full.
    pub detail: String,
    pub reason: String,
    pub outcome: Outcome,
    /// Why a deferred or failed action was not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl ActionReport {
    fn new(planned: plan::Planned, outcome: Outcome) -> Self {
        Self {
            endpoint: planned.endpoint.to_string(),
            action: planned.action.kind(),
            detail: planned.action.to_string(),
            reason: planned.reason,
            why: match &outcome {
                Outcome::Deferred(why) | Outcome::Failed(why) => Some(why.clone()),
                _ => None,
            },
            outcome,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SkipReport {
    pub endpoint: String,
    pub why: String,
}

impl Scheduler {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        let executor = Executor {
            waker: env.waker.clone().map(|name| act::WakerFunction {
                client: aws_sdk_lambda::Client::new(sdk),
                name,
                place: None,
            }),
            ..Executor::with_lifecycle(sdk, env)?
        };
        Ok(Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            home: Site {
                executor,
                tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
                allowed: env.allowed.clone(),
                spoke: None,
            },
            fan_out: FanOut::new(sdk, env, Function::Scheduler),
            config_facts: Mutex::new(HashMap::new()),
            sleeps_per_tick: env.sleep_limits.per_tick,
        })
    }

    /// `plan` without what its endpoints' facts refuse: zero minimums of real-time variants
    /// ([`plan::scheduler::vet_zero_minimums`]) and sleeps that could not come back
    /// ([`plan::scheduler::vet`]). EndpointConfigs' facts are kept for the container's life,
    /// as EndpointConfigs cannot change.
    async fn vetted(&self, site: &Site, plan: Plan, endpoints: &[Endpoint]) -> Plan {
        let (plan, blocked) = {
            let mut by_place = self.config_facts.lock().await;
            let facts = by_place.entry(site.spoke.clone()).or_default();
            let configs = plan::scheduler::configs_to_vet(&plan, endpoints);
            if let Err(e) =
                aws::definitions::learn_facts(&site.executor.sagemaker, configs, facts).await
            {
                tracing::warn!(error = %e, "EndpointConfigs not read; the sleeps and zero minimums of their endpoints wait for them");
            }
            let plan = plan::scheduler::vet_zero_minimums(plan, endpoints, facts);
            let blocked = plan::scheduler::config_blocked(endpoints, facts, &site.allowed);
            (plan, blocked)
        };
        let blocked = Self::blocked(site, &plan, endpoints, blocked).await;
        let plan = plan::scheduler::vet(plan, &blocked);
        let plan = Self::instances_kept(site, plan).await;
        let zeroed = plan::scheduler::zeroed(&plan);
        if zeroed.is_empty() {
            return plan;
        }
        let cloudwatch = &site.executor.cloudwatch;
        let autoscaling = &site.executor.autoscaling;
        match aws::scaling_state::describe_policies(autoscaling, cloudwatch, &zeroed).await {
            Ok(described) => {
                let coming_back = aws::scaling_state::scaling_from_zero(&described);
                plan::scheduler::note_no_way_back(plan, &coming_back)
            }
            Err(e) => {
                tracing::warn!(error = %e, "scaling policies of resources going to a minimum of 0 not read");
                plan::scheduler::defer_from_zero(plan)
            }
        }
    }

    /// `plan` with a note on each inference component it takes to zero copies whose instances
    /// stay (one DescribeEndpoint per endpoint hosting one).
    async fn instances_kept(site: &Site, plan: Plan) -> Plan {
        let hosts = plan::scheduler::hosts_zeroed(&plan);
        let described: Result<Vec<Option<Endpoint>>, AwsError> = futures::stream::iter(hosts)
            .map(|name| aws::sagemaker::endpoint(&site.executor.sagemaker, name))
            .buffer_unordered(aws::CONCURRENCY)
            .try_collect()
            .await;
        match described {
            Ok(hosts) => {
                let hosts: Vec<Endpoint> = hosts.into_iter().flatten().collect();
                plan::scheduler::note_instances_kept(plan, &hosts)
            }
            Err(e) => {
                tracing::warn!(error = %e, "endpoints of components going to zero copies not read");
                plan
            }
        }
    }

    /// The endpoints `plan` would put to sleep (or re-arm the idle alarm of) that could not
    /// come back, and why: those `blocked` by their EndpointConfig, and those blocked by their
    /// scaling policies (read at each tick that plans such a sleep, as policies and alarm tags
    /// change). What cannot be read is left to the sleep's own check, which reads them again
    /// before it deletes anything.
    async fn blocked(
        site: &Site,
        plan: &Plan,
        endpoints: &[Endpoint],
        mut blocked: BTreeMap<EndpointName, String>,
    ) -> BTreeMap<EndpointName, String> {
        let (autoscaling, cloudwatch) = (&site.executor.autoscaling, &site.lifecycle().cloudwatch);
        let unknown: Vec<&Endpoint> = plan::scheduler::to_vet(plan, endpoints)
            .into_iter()
            .filter(|e| !blocked.contains_key(&e.name))
            .collect();
        let read: Vec<(EndpointName, Result<_, _>)> = futures::stream::iter(unknown)
            .map(|e| async move {
                let resources: Vec<_> = e.scalable_resources().collect();
                let facts = async {
                    let described =
                        aws::scaling_state::describe_policies(autoscaling, cloudwatch, &resources)
                            .await?;
                    aws::scaling_state::policy_facts(cloudwatch, &described).await
                };
                (e.name.clone(), facts.await)
            })
            .buffer_unordered(aws::CONCURRENCY)
            .collect()
            .await;
        for (name, facts) in read {
            match facts {
                Ok(facts) => {
                    if let Some(why) = policy_blocker(&facts) {
                        blocked.insert(name, why);
                    }
                }
                Err(e) => {
                    tracing::warn!(endpoint = %name, error = %e, "scaling policies not read; the sleep is left to its own check")
                }
            }
        }
        blocked
    }

    /// EventBridge's tick: the hub's own place, after queueing a tick for each other place the
    /// document manages; or one such place's tick.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<TickReport, HandlerError> {
        let clock = self.home.lifecycle().clock();
        let home = home(&event.context)?;
        if let Some(tick) = PlaceTick::parse(&event.payload) {
            let tick = tick.and_then(|t| t.sent_by(clock)).map_err(rejected)?;
            return self.place_tick(tick, home, clock).await;
        }
        let now = ScheduledEvent::parse(event.payload, &home)
            .and_then(|tick| tick.sent_by(clock))
            .map_err(rejected)?
            .time;
        let config = self.config().await?;
        let managed = config.managed(home);
        let invoked = &event.context.invoked_function_arn;
        let (spokes, queued) = self
            .fan_out
            .queue(managed.spokes(), invoked, now, &self.home.executor)
            .await;
        let mut report = self.tick_at(&self.home, &config, now, clock).await?;
        report.spokes = spokes;
        HandlerError::check(report.actions.iter().map(|a| &a.outcome))?;
        queued?;
        Ok(report)
    }

    async fn config(&self) -> Result<Arc<Config>, HandlerError> {
        Ok(self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?)
    }

    /// One spoke's tick, through the scheduler's role there.
    async fn place_tick(
        &self,
        tick: PlaceTick,
        home: Place,
        clock: Timestamp,
    ) -> Result<TickReport, HandlerError> {
        let config = self.config().await?;
        let managed = config.managed(home);
        let hub = &self.home.executor;
        let (spoke, sdk) = self.fan_out.reach(&tick, &managed, hub).await?;
        let site = self.home.in_spoke(&sdk, spoke);
        let now = tick.tick.time;
        let report = self.tick_at(&site, &config, now, clock).await;
        let report = self
            .fan_out
            .observed(report, &spoke.place, now, hub)
            .await?;
        HandlerError::check(report.actions.iter().map(|a| &a.outcome))?;
        Ok(report)
    }

    /// The tick of `now` at the hub's own place, on the function's `clock`: observe, plan, and
    /// act (or, in a dry run, decide). `sagetide plan` runs it dry.
    pub async fn tick(&self, now: Timestamp, clock: Timestamp) -> Result<TickReport, HandlerError> {
        let config = self.config().await?;
        self.tick_at(&self.home, &config, now, clock).await
    }

    async fn tick_at(
        &self,
        site: &Site,
        config: &Config,
        now: Timestamp,
        clock: Timestamp,
    ) -> Result<TickReport, HandlerError> {
        let sagemaker = &site.executor.sagemaker;
        let (endpoints, components) = tokio::join!(
            aws::sagemaker::endpoints_tagged(sagemaker, &[tags::SCHEDULE, tags::IDLE_AFTER]),
            aws::components::tagged(
                &site.tagging,
                sagemaker,
                &[tags::SCHEDULE, tags::IDLE_AFTER, tags::SLEEP]
            ),
        );
        let endpoints = endpoints?;
        // Components left out for a tick are left as they are (their idle alarms too): the
        // next tick looks again.
        let components = components
            .inspect_err(|e| tracing::error!(error = %e, "inference components not found; they are looked at again at the next tick"))
            .ok();
        let resources: Vec<_> = endpoints
            .iter()
            .filter(|e| e.tag(tags::SCHEDULE).is_some())
            .flat_map(Endpoint::scalable_resources)
            .chain(
                components
                    .iter()
                    .flatten()
                    .filter(|c| c.tag(tags::SCHEDULE).is_some() || c.asleep())
                    .map(Component::copies),
            )
            .collect();
        // Idle alarms are listed where an endpoint wants one, or where the table marks that
        // some were made (so that those of endpoints that lost the tag are deleted); a fleet
        // that never used them is spared the call.
        let wants_idle_alarm = endpoints.iter().any(|e| e.tag(tags::IDLE_AFTER).is_some())
            || components
                .iter()
                .flatten()
                .any(|c| c.tag(tags::IDLE_AFTER).is_some());
        let cloudwatch = &site.lifecycle().cloudwatch;
        let (targets, open, listed) = tokio::try_join!(
            aws::autoscaling::targets(&site.executor.autoscaling, &resources),
            site.lifecycle().table.open(),
            async {
                if wants_idle_alarm {
                    aws::cloudwatch::idle_alarms(cloudwatch).await.map(Some)
                } else {
                    Ok(None)
                }
            },
        )?;
        let idle_alarms = match listed {
            Some(alarms) => alarms,
            None if open.idle_alarms_made => aws::cloudwatch::idle_alarms(cloudwatch).await?,
            None => Vec::new(),
        };
        let (sleeping, remediations) = (open.sleeping, open.remediations);

        let watched = plan::scheduler::watched_alarms(&sleeping, &remediations);
        let alarms = if watched.is_empty() {
            BTreeMap::new()
        } else {
            aws::cloudwatch::states(&site.executor.cloudwatch, &watched).await?
        };
        let observed = Observed {
            endpoints: &endpoints,
            targets: &targets,
            sleeping: &sleeping,
            idle_alarms: &idle_alarms,
            idle_alarms_made: open.idle_alarms_made,
            alarms: &alarms,
            remediations: &remediations,
            components: components.as_deref(),
        };
        let plan = plan::scheduler::plan(&observed, config, now);
        let plan = self.vetted(site, plan, &endpoints).await;
        let planned = plan.skipped.len();
        let mut plan = plan::scheduler::limit_sleeps(plan, self.sleeps_per_tick);
        if plan.skipped.len() > planned {
            tracing::error!(
                limit = self.sleeps_per_tick,
                left_awake = plan.skipped.len() - planned,
                "blast-radius limit: this tick would put more endpoints to sleep than SAGETIDE_MAX_SLEEPS_PER_TICK allows; the others are left awake for a person to decide"
            );
        }
        for skipped in &plan.skipped {
            tracing::warn!(endpoint = %skipped.endpoint, why = %skipped.why, "endpoint skipped");
        }
        let who = format!("scheduler@{now}");
        let batch = Batch {
            actions: &plan.actions,
            actor: Actor { who: &who, now },
            config,
            tick_clock: Some(clock),
        };
        let (reports, late) = match site.executor.run(&batch).await? {
            Ran::Done(reports) => (reports, None),
            Ran::Late => {
                let why = format!(
                    "a tick after {now} already changed the fleet, so this late tick changes nothing"
                );
                tracing::warn!(now = %now, planned = plan.actions.len(), "{why}");
                plan.actions.clear();
                (Vec::new(), Some(why))
            }
        };
        let outcomes: Vec<Outcome> = reports.into_iter().map(|r| r.outcome).collect();
        let failed = outcome::failures(&outcomes);
        let report = TickReport {
            now,
            dry_run: site.executor.dry_run,
            endpoints: endpoints.len(),
            actions: plan
                .actions
                .into_iter()
                .zip(outcomes)
                .map(|(p, outcome)| ActionReport::new(p, outcome))
                .collect(),
            skipped: plan
                .skipped
                .into_iter()
                .map(|s| SkipReport {
                    endpoint: s.endpoint.to_string(),
                    why: s.why,
                })
                .collect(),
            late,
            place: site.spoke.as_ref().map(Place::to_string),
            spokes: Vec::new(),
        };
        tracing::info!(
            now = %now,
            endpoints = report.endpoints,
            actions = report.actions.len(),
            failed,
            skipped = report.skipped.len(),
            "tick done"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Planned};

    #[test]
    fn a_tick_reports_the_planned_action_and_why_one_was_not_done() {
        let planned = || Planned {
            endpoint: EndpointName::new("chat").unwrap(),
            action: Action::DeleteIdleAlarm { component: None },
            reason: "asleep".into(),
        };
        let deferred = ActionReport::new(planned(), Outcome::Deferred("lease held".into()));
        let json = serde_json::to_value(&deferred).unwrap();
        assert_eq!(json["detail"], "delete-idle-alarm");
        assert_eq!(json["outcome"], "deferred");
        assert_eq!(json["why"], "lease held");
        let applied = serde_json::to_value(ActionReport::new(planned(), Outcome::Applied)).unwrap();
        assert!(applied.get("why").is_none(), "{applied}");
    }
}
