//! The `sleeper`, `waker` and `restorer` functions: each turns its events into sleeps, wakes or
//! restores of single endpoints, carried out by [`Lifecycle`].

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use jiff::Timestamp;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

use super::places::{Places, Reached};
use crate::act::{Batch, Executor};
use crate::aws;
use crate::config::{Config, ConfigSource, Ownership};
use crate::env::{Env, EnvError};
use crate::error::HandlerError;
use crate::events::{
    Admit, AlarmState, AlarmStateChange, AnyPlace, CLOCK_SKEW, EndpointStateChange, EventError,
    ManualAction, ManualRequest, Subject,
};
use crate::lifecycle::Actor;
use crate::names::{ComponentName, EndpointName};
use crate::outcome::Outcome;
use crate::outcome::Report;
use crate::permissions::Function;
use crate::places::Place;
use crate::plan::{self, Action, Planned, SleepBy};
use crate::tags::WakeSource;

/// What one invocation did: a report per endpoint acted on, or why the event asked nothing.
#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub reports: Vec<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// `<account>/<region>` of the endpoints acted on, when they are a spoke's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

impl Response {
    pub(super) fn ignored(why: String) -> Result<Self, HandlerError> {
        tracing::info!(why, "event ignored");
        Ok(Self {
            reports: Vec::new(),
            ignored: Some(why),
            place: None,
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
            place: None,
        })
    }
}

/// The lease holder and history signature of one invocation.
pub(super) fn who(function: &str, event: &LambdaEvent<Value>) -> String {
    format!("{function}/{}", event.context.request_id)
}

/// The account and region the invoked function is deployed in: the hub's.
pub(super) fn home(context: &lambda_runtime::Context) -> Result<Place, HandlerError> {
    Place::of_function(&context.invoked_function_arn).map_err(|why| rejected(EventError(why)))
}

pub(super) fn rejected(e: EventError) -> HandlerError {
    tracing::error!(error = %e, "rejected event");
    HandlerError::Event(e)
}

/// Runs one function's actions (never a tick's) where `at` acts and answers with their reports.
async fn act(
    at: &Reached,
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
    let mut response = Response::finish(at.executor.run(&batch).await?.reports())?;
    response.place = at.spoke.clone();
    Ok(response)
}

/// Why an event of `place` changed nothing: this deployment never put anything to sleep there.
fn nothing_kept(place: &Place) -> Result<Response, HandlerError> {
    Response::ignored(format!(
        "this deployment has put nothing to sleep in {}: nothing to wake or restore there",
        place.described()
    ))
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
    places: Places,
    env: Env,
}

impl Sleeper {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            places: Places::new(sdk, env, Function::Sleeper)?,
            env: env.clone(),
        })
    }

    /// An idle alarm's ALARM, or `{"action":"sleep","endpoint":…}` (`"component"` for an
    /// inference component; `"account"` and `"region"` for a spoke's).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("sleeper", &event);
        let home = home(&event.context)?;
        let (subject, place, force, why) = match ManualRequest::parse(&event.payload) {
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
                let place = request.place(&home);
                (request.subject, place, Some(request.force), why.to_owned())
            }
            None => {
                // Admitted below, against the places the document names.
                let change = AlarmStateChange::parse(event.payload, &AnyPlace).map_err(rejected)?;
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
                (
                    subject,
                    change.place,
                    None,
                    format!("idle alarm {}", change.alarm),
                )
            }
        };
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;
        let managed = config.managed(home);
        let spoke = managed.at("a sleep", &place).map_err(rejected)?;
        let reached = self.places.at(spoke).await?;
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
                let Some(endpoint) = host(&reached.executor, &component).await? else {
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
        act(&reached, &[sleep], actor, &config).await
    }
}

pub struct Waker {
    places: Places,
    config: ConfigSource,
    ownership: Ownership,
    env: Env,
}

impl Waker {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            places: Places::new(sdk, env, Function::Waker)?,
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            ownership: Ownership::new(aws_sdk_ssm::Client::new(sdk), env),
            env: env.clone(),
        })
    }

    /// `{"action":"wake","endpoint":…}`, the scheduler's `wake-if-due`, or the ALARM of an
    /// alarm that sleeping endpoints named as their wake alarm (every one of them wakes). A
    /// spoke's endpoint is woken through what its sleep kept, never through the document.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("waker", &event);
        let home = home(&event.context)?;
        let actor = Actor {
            who: &who,
            now: self.env.now(),
        };
        if let Some(request) = ManualRequest::parse(&event.payload) {
            let request = request.map_err(rejected)?;
            let place = request.place(&home);
            match request.action {
                ManualAction::Wake => {}
                ManualAction::WakeIfDue { at } => {
                    let Subject::Endpoint(endpoint) = &request.subject else {
                        unreachable!("a wake-if-due request names an endpoint")
                    };
                    return self.wake_if_due(endpoint, &place, home, at, actor).await;
                }
                ManualAction::Sleep => {
                    return Err(rejected(EventError(
                        "the waker only wakes endpoints and components; send {\"action\":\"sleep\"} to the sleeper"
                            .into(),
                    )));
                }
            }
            let Some(kept) = self.places.kept(&place, &home).await? else {
                return nothing_kept(&place);
            };
            self.ownership.check().await?;
            let reached = self.places.at(kept.spoke.as_ref()).await?;
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
                    let Some(endpoint) = host(&reached.executor, &component).await? else {
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
            return act(&reached, &[wake], actor, &Config::default()).await;
        }
        let change = AlarmStateChange::parse(event.payload, &AnyPlace).map_err(rejected)?;
        if change.state != AlarmState::Alarm {
            return Response::ignored(format!(
                "alarm {} changed to {:?}, not ALARM",
                change.alarm, change.state
            ));
        }
        let Some(kept) = self.places.kept(&change.place, &home).await? else {
            return nothing_kept(&change.place);
        };
        // Read with the hub's own credentials: most alarms wake nothing, and assume nothing.
        let sleeping = kept.table.unrestored().await?;
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
        let reached = self.places.at(kept.spoke.as_ref()).await?;
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
        act(&reached, &wakes, actor, &Config::default()).await
    }

    /// Wakes `endpoint` if the waker, by its own reading of the snapshot, the configuration, the
    /// wake alarm and its clock, finds it due as a tick would: whoever asks, nothing is woken
    /// that the schedule, the wake alarm or a failed manual wake does not want awake now.
    /// The scheduler asks it for the places its document manages, as its tick there found them.
    async fn wake_if_due(
        &self,
        endpoint: &EndpointName,
        place: &Place,
        home: Place,
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
        // The document says whether the place is managed; what its sleep kept, how to reach it,
        // as for every wake.
        let managed = config.managed(home.clone());
        managed.admit("a wake-if-due", place).map_err(rejected)?;
        let Some(kept) = self.places.kept(place, &home).await? else {
            return nothing_kept(place);
        };
        let reached = self.places.at(kept.spoke.as_ref()).await?;
        let lifecycle = reached.lifecycle();
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
        act(&reached, std::slice::from_ref(wake), actor, &config).await
    }
}

pub struct Restorer {
    places: Places,
    ownership: Ownership,
    env: Env,
}

impl Restorer {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Result<Self, EnvError> {
        Ok(Self {
            places: Places::new(sdk, env, Function::Restorer)?,
            ownership: Ownership::new(aws_sdk_ssm::Client::new(sdk), env),
            env: env.clone(),
        })
    }

    /// "SageMaker Endpoint State Change" to `IN_SERVICE`, of the hub's own place or of a spoke
    /// where the sleeper put something to sleep.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let who = who("restorer", &event);
        let home = home(&event.context)?;
        let change = EndpointStateChange::parse(event.payload, &AnyPlace).map_err(rejected)?;
        if !change.is_in_service() {
            return Response::ignored(format!(
                "{} changed to {}, not IN_SERVICE",
                change.endpoint, change.status
            ));
        }
        let Some(kept) = self.places.kept(&change.place, &home).await? else {
            return nothing_kept(&change.place);
        };
        self.ownership.check().await?;
        let reached = self.places.at(kept.spoke.as_ref()).await?;
        let actor = Actor {
            who: &who,
            now: self.env.now(),
        };
        let restore = Planned {
            endpoint: change.endpoint,
            action: Action::Restore,
            reason: "endpoint IN_SERVICE".into(),
        };
        act(&reached, &[restore], actor, &Config::default()).await
    }
}
