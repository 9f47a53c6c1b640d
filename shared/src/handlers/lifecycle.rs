//! The `sleeper`, `waker` and `restorer` functions: each turns its events into sleeps, wakes or
//! restores of single endpoints, carried out by [`Lifecycle`].

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use crate::act::{Batch, Executor};
use crate::aws;
use crate::config::{Config, ConfigSource, Ownership};
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::events::{
    AlarmState, AlarmStateChange, CLOCK_SKEW, EndpointStateChange, EventError, Home, ManualAction,
    ManualRequest, Subject,
};
use crate::lifecycle::{Actor, Lifecycle};
use crate::names::{ComponentName, EndpointName};
use crate::outcome::Outcome;
use crate::outcome::Report;
use crate::plan::{self, Action, Planned, SleepBy};
use crate::tags::WakeSource;

/// What one invocation did: a report per endpoint acted on, or why the event asked nothing.
#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub reports: Vec<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

impl Response {
    pub(super) fn ignored(why: String) -> Result<Self, HandlerError> {
        tracing::info!(why, "event ignored");
        Ok(Self {
            reports: Vec::new(),
            ignored: Some(why),
        })
    }

    /// Failed actions make the invocation fail, and so do deferred ones (busy lease, endpoint
    /// still being deleted): Lambda's retries of asynchronous events then try again later.
    pub(super) fn finish(reports: Vec<Report>) -> Result<Self, HandlerError> {
        HandlerError::check(reports.iter().map(|r| &r.outcome))?;
        let deferred: Vec<&str> = reports
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Deferred(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if let Some(first) = deferred.first() {
            return Err(HandlerError::Deferred {
                deferred: deferred.len(),
                first: (*first).to_owned(),
            });
        }
        Ok(Self {
            reports,
            ignored: None,
        })
    }
}

/// The lease holder and history signature of one invocation.
pub(super) fn who(function: &str, event: &LambdaEvent<Value>) -> String {
    format!("{function}/{}", event.context.request_id)
}

/// The account and region the invoked function acts in.
pub(super) fn home(context: &lambda_runtime::Context) -> Result<Home, HandlerError> {
    Home::of_function(&context.invoked_function_arn).map_err(rejected)
}

pub(super) fn rejected(e: EventError) -> HandlerError {
    tracing::error!(error = %e, "rejected event");
    HandlerError::Event(e)
}

/// Runs one function's actions (never a tick's) and answers with their reports.
pub(super) async fn act(
    executor: &Executor,
    actions: &[Planned],
    actor: Actor<'_>,
    config: &Config,
) -> Result<Response, HandlerError> {
    let batch = Batch {
        actions,
        actor,
        config,
        tick_clock: None,
    };
    Response::finish(executor.run(&batch).await?.reports())
}

/// The endpoint that hosts `component`, whose lease its sleep and wake hold; `None` once it
/// is gone.
async fn host(
    executor: &Executor,
    component: &ComponentName,
) -> Result<Option<EndpointName>, HandlerError> {
    let found = aws::components::described(&executor.sagemaker, component).await?;
    Ok(found.map(|(c, _)| c.variant.endpoint))
}

pub struct Sleeper {
    config: ConfigSource,
    executor: Executor,
    env: Env,
}

impl Sleeper {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            executor: Executor::with_lifecycle(sdk, env)?,
            env: env.clone(),
        })
    }

    /// An idle alarm's ALARM, or `{"action":"sleep","endpoint":…}` (`"component"` for an
    /// inference component).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("sleeper", &event);
        let (subject, force, why) = match ManualRequest::parse(&event.payload) {
            Some(request) => {
                let request = request.map_err(rejected)?;
                if request.action != ManualAction::Sleep {
                    return Err(rejected(EventError(
                        "the sleeper only puts endpoints and components to sleep; send {\"action\":\"wake\"} to the waker".into(),
                    )));
                }
                let why = if request.force {
                    "manual sleep (force: idle check skipped)"
                } else {
                    "manual sleep"
                };
                (request.subject, Some(request.force), why.to_owned())
            }
            None => {
                let change = AlarmStateChange::parse(event.payload, &home(&event.context)?)
                    .map_err(rejected)?;
                if change.state != AlarmState::Alarm {
                    return Response::ignored(format!(
                        "alarm {} changed to {:?}, not ALARM",
                        change.alarm, change.state
                    ));
                }
                let subject = match (change.component, change.endpoint) {
                    (Some(component), _) => Subject::Component(component),
                    (None, Some(endpoint)) => Subject::Endpoint(endpoint),
                    (None, None) => {
                        return Err(rejected(EventError(format!(
                            "alarm {} has no metric with an EndpointName or InferenceComponentName dimension, so it names nothing to put to sleep",
                            change.alarm
                        ))));
                    }
                };
                (subject, None, format!("idle alarm {}", change.alarm))
            }
        };
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;
        let by = match force {
            Some(force) => SleepBy::Manual { force },
            None => SleepBy::IdleAlarm,
        };
        let actor = Actor {
            who: &who,
            now: self.env.now(),
        };
        let sleep = match subject {
            Subject::Endpoint(endpoint) => Planned {
                endpoint,
                action: Action::Sleep(by),
                reason: why,
            },
            Subject::Component(component) => {
                let Some(endpoint) = host(&self.executor, &component).await? else {
                    return Response::ignored(format!(
                        "inference component {component} does not exist"
                    ));
                };
                Planned {
                    endpoint,
                    action: Action::SleepComponent { component, by },
                    reason: why,
                }
            }
        };
        act(&self.executor, &[sleep], actor, &config).await
    }
}

pub struct Waker {
    executor: Executor,
    config: ConfigSource,
    ownership: Ownership,
    env: Env,
}

impl Waker {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            executor: Executor::with_lifecycle(sdk, env)?,
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            ownership: Ownership::new(aws_sdk_ssm::Client::new(sdk), env),
            env: env.clone(),
        })
    }

    /// `{"action":"wake","endpoint":…}`, the scheduler's `wake-if-due`, or the ALARM of an
    /// alarm that sleeping endpoints named as their wake alarm (every one of them wakes).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("waker", &event);
        let actor = Actor {
            who: &who,
            now: self.env.now(),
        };
        if let Some(request) = ManualRequest::parse(&event.payload) {
            let request = request.map_err(rejected)?;
            match request.action {
                ManualAction::Wake => {}
                ManualAction::WakeIfDue { at } => {
                    let Subject::Endpoint(endpoint) = &request.subject else {
                        unreachable!("a wake-if-due request names an endpoint")
                    };
                    return self.wake_if_due(endpoint, at, actor).await;
                }
                ManualAction::Sleep => {
                    return Err(rejected(EventError(
                        "the waker only wakes endpoints and components; send {\"action\":\"sleep\"} to the sleeper"
                            .into(),
                    )));
                }
            }
            self.ownership.check().await?;
            let wake = match request.subject {
                Subject::Endpoint(endpoint) => Planned {
                    endpoint,
                    action: Action::Wake {
                        source: WakeSource::Manual,
                        alarm: None,
                    },
                    reason: "manual wake".into(),
                },
                Subject::Component(component) => {
                    let Some(endpoint) = host(&self.executor, &component).await? else {
                        return Response::ignored(format!(
                            "inference component {component} does not exist"
                        ));
                    };
                    Planned {
                        endpoint,
                        action: Action::WakeComponent {
                            component,
                            source: WakeSource::Manual,
                        },
                        reason: "manual wake".into(),
                    }
                }
            };
            return act(&self.executor, &[wake], actor, &Config::default()).await;
        }
        let change =
            AlarmStateChange::parse(event.payload, &home(&event.context)?).map_err(rejected)?;
        if change.state != AlarmState::Alarm {
            return Response::ignored(format!(
                "alarm {} changed to {:?}, not ALARM",
                change.alarm, change.state
            ));
        }
        let sleeping = self.lifecycle().table.unrestored().await?;
        let woken: Vec<_> = sleeping
            .iter()
            .filter(|s| s.snapshot.wake_alarm() == Some(change.alarm.as_str()))
            .collect();
        if woken.is_empty() {
            return Response::ignored(format!(
                "no sleeping endpoint has {} as its wake alarm",
                change.alarm
            ));
        }
        self.ownership.check().await?;
        let wakes: Vec<Planned> = woken
            .into_iter()
            .map(|stored| Planned {
                endpoint: stored.snapshot.endpoint.clone(),
                action: Action::Wake {
                    source: WakeSource::Alarm,
                    alarm: Some(change.alarm.clone()),
                },
                reason: format!("wake alarm {}", change.alarm),
            })
            .collect();
        act(&self.executor, &wakes, actor, &Config::default()).await
    }

    fn lifecycle(&self) -> &Lifecycle {
        self.executor
            .lifecycle
            .as_ref()
            .expect("the waker always has a lifecycle")
    }

    /// Wakes `endpoint` if the waker, by its own reading of the snapshot, the configuration, the
    /// wake alarm and its clock, finds it due as a tick would: whoever asks, nothing is woken
    /// that the schedule, the wake alarm or a failed manual wake does not want awake now.
    async fn wake_if_due(
        &self,
        endpoint: &EndpointName,
        at: Timestamp,
        actor: Actor<'_>,
    ) -> Result<Response, HandlerError> {
        // The scheduler asks synchronously, at once: a request dated further from the clock
        // is a replay or a forgery, refused so that it shows rather than acts.
        let clock = actor.now;
        if at > clock + CLOCK_SKEW || at < clock - CLOCK_SKEW {
            return Err(rejected(EventError(format!(
                "a wake-if-due request asked at {at} is more than {CLOCK_SKEW:#} from the clock ({clock}); the next tick asks again"
            ))));
        }
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;
        let lifecycle = self.lifecycle();
        let Some(stored) = lifecycle.table.snapshot(endpoint).await? else {
            return Response::ignored(format!("{endpoint} has no snapshot: nothing to wake"));
        };
        let alarms = match stored.snapshot.wake_alarm() {
            Some(alarm) => {
                aws::cloudwatch::states(&lifecycle.cloudwatch, &[alarm.to_owned()]).await?
            }
            None => BTreeMap::new(),
        };
        let due = plan::scheduler::plan_wake(&stored, &alarms, &config, actor.now);
        let wake = match due.as_deref() {
            Err(why) => return Response::ignored(format!("{endpoint} is not woken: {why}")),
            Ok([]) => {
                return Response::ignored(format!(
                    "nothing wants {endpoint} awake at {}: not its schedule, not its wake alarm, not a failed manual wake",
                    actor.now
                ));
            }
            Ok(
                [
                    wake @ Planned {
                        action: Action::Wake { .. },
                        ..
                    },
                    ..,
                ],
            ) => wake,
            Ok(_) => return Response::ignored(format!("{endpoint} is not due a wake")),
        };
        act(&self.executor, std::slice::from_ref(wake), actor, &config).await
    }
}

pub struct Restorer {
    executor: Executor,
    ownership: Ownership,
    env: Env,
}

impl Restorer {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            executor: Executor::with_lifecycle(sdk, env)?,
            ownership: Ownership::new(aws_sdk_ssm::Client::new(sdk), env),
            env: env.clone(),
        })
    }

    /// "SageMaker Endpoint State Change" to `IN_SERVICE`.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("restorer", &event);
        let change =
            EndpointStateChange::parse(event.payload, &home(&event.context)?).map_err(rejected)?;
        if !change.is_in_service() {
            return Response::ignored(format!(
                "{} changed to {}, not IN_SERVICE",
                change.endpoint, change.status
            ));
        }
        self.ownership.check().await?;
        let actor = Actor {
            who: &who,
            now: self.env.now(),
        };
        let restore = Planned {
            endpoint: change.endpoint,
            action: Action::Restore,
            reason: "endpoint IN_SERVICE".into(),
        };
        act(&self.executor, &[restore], actor, &Config::default()).await
    }
}
