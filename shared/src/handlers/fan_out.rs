//! The ticks of the managed places other than the hub's own. EventBridge's tick of the hub
//! queues one on the same function for each place (Lambda's asynchronous invocation, within
//! the function's reserved concurrency), and each reaches its place through the function's role
//! there. A place that cannot be reached is told of; no other waits for it or fails with it.

use aws_config::SdkConfig;
use futures::StreamExt;
use jiff::Timestamp;

use super::lifecycle::rejected;
use crate::act::Executor;
use crate::aws;
use crate::env::Env;
use crate::error::HandlerError;
use crate::events::{EventError, PlaceTick, ScheduledEvent};
use crate::lifecycle::Actor;
use crate::permissions::Function;
use crate::places::{Managed, Place, PlaceStep, Spoke};
use crate::reach::Reach;

pub(super) struct FanOut {
    function: Function,
    lambda: aws_sdk_lambda::Client,
    reach: Reach,
}

/// Why a place's tick failed.
#[derive(Debug, Clone)]
pub struct PlaceFailure {
    pub place: Place,
    pub step: PlaceStep,
    pub error: String,
}

impl From<PlaceFailure> for HandlerError {
    fn from(failure: PlaceFailure) -> Self {
        HandlerError::PlaceFailed {
            place: failure.place.described(),
            step: failure.step.as_str(),
            error: failure.error,
        }
    }
}

impl FanOut {
    pub(super) fn new(sdk: &SdkConfig, env: &Env, function: Function) -> Self {
        Self {
            function,
            lambda: aws_sdk_lambda::Client::new(sdk),
            reach: Reach::new(sdk, function, env),
        }
    }

    /// Queues a tick of `now` for each of `spokes` on `invoked` (this function, as Lambda
    /// invoked it): the places queued, and the first failure among those that could not be
    /// (each told of through `hub`), for the hub's tick to end with after its own work.
    pub(super) async fn queue(
        &self,
        spokes: impl Iterator<Item = &Spoke>,
        invoked: &str,
        now: Timestamp,
        hub: &Executor,
    ) -> (Vec<String>, Result<(), HandlerError>) {
        let queued: Vec<Result<String, PlaceFailure>> = futures::stream::iter(spokes)
            .map(|spoke| async move {
                let tick = PlaceTick {
                    place: spoke.place.clone(),
                    tick: ScheduledEvent { time: now },
                };
                match aws::lambda::invoke_async(&self.lambda, invoked, &tick.payload()).await {
                    Ok(()) => Ok(spoke.place.to_string()),
                    Err(e) => Err(self
                        .failed(hub, &spoke.place, PlaceStep::Invoke, e.to_string(), now)
                        .await),
                }
            })
            .buffered(aws::CONCURRENCY)
            .collect()
            .await;
        let mut places = Vec::new();
        let mut first = Ok(());
        for result in queued {
            match result {
                Ok(place) => places.push(place),
                Err(failure) if first.is_ok() => first = Err(failure.into()),
                Err(_) => {}
            }
        }
        (places, first)
    }

    /// The spoke `tick` is for, among the `managed` places, and the SDK configuration of the
    /// function's role there; a role that cannot be assumed is told of through `hub`.
    pub(super) async fn reach<'m>(
        &self,
        tick: &PlaceTick,
        managed: &'m Managed,
        hub: &Executor,
    ) -> Result<(&'m Spoke, SdkConfig), HandlerError> {
        let Some(spoke) = managed.at("a tick", &tick.place).map_err(rejected)? else {
            return Err(rejected(EventError(
                "the hub's own place is ticked by EventBridge's Scheduled Event, not by {\"action\": \"tick\"}".into(),
            )));
        };
        match self.reach.config(&spoke.place, &spoke.external_id).await {
            Ok(config) => Ok((spoke, config)),
            Err(e) => Err(self
                .failed(
                    hub,
                    &spoke.place,
                    PlaceStep::AssumeRole,
                    e.to_string(),
                    tick.tick.time,
                )
                .await
                .into()),
        }
    }

    /// A spoke's tick's outcome, where a call made there that failed the tick (a region not
    /// enabled, throttling past the SDK's retries) is told of through `hub`; a failure of the
    /// hub's own (its table) stays the hub's.
    pub(super) async fn observed<T>(
        &self,
        outcome: Result<T, HandlerError>,
        place: &Place,
        now: Timestamp,
        hub: &Executor,
    ) -> Result<T, HandlerError> {
        match outcome {
            Err(HandlerError::Aws(e)) if self.function.acts_in_spoke(e.operation) => Err(self
                .failed(hub, place, PlaceStep::Observe, e.to_string(), now)
                .await
                .into()),
            outcome => outcome,
        }
    }

    /// Tells of a place's failure at `step` ([`Executor::place_failed`]).
    async fn failed(
        &self,
        hub: &Executor,
        place: &Place,
        step: PlaceStep,
        error: String,
        now: Timestamp,
    ) -> PlaceFailure {
        let who = format!("{}@{now}", self.function.name());
        let actor = Actor { who: &who, now };
        hub.place_failed(self.function, place, step, &error, actor)
            .await;
        PlaceFailure {
            place: place.clone(),
            step,
            error,
        }
    }
}
