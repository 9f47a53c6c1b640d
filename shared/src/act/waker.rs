//! The scheduler's wakes, asked of the waker function. The scheduler's role then creates no
//! endpoint, so no role can both put an opt-in tag on an existing endpoint and delete one; and
//! the waker wakes only what it finds due itself (`wake-if-due`), so this request lets an
//! invoker wake no more than the schedule would.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::aws;
use crate::lifecycle::Step;
use crate::names::EndpointName;
use crate::places::Place;

/// The deployed waker: `SAGETIDE_WAKER`.
#[derive(Debug, Clone)]
pub struct WakerFunction {
    pub client: aws_sdk_lambda::Client,
    pub name: String,
    /// The spoke whose endpoints it is asked to wake; `None` for the hub's own.
    pub place: Option<Place>,
}

impl WakerFunction {
    /// This waker, asked for the endpoints of `place`.
    pub fn at(&self, place: &Place) -> Self {
        Self {
            place: Some(place.clone()),
            ..self.clone()
        }
    }

    /// Asks the waker, at `at` by the scheduler's clock, to wake `endpoint` if it is due, as the
    /// tick found it; the waker's answer as this action's step, and whether the waker carried
    /// the wake out (and so keeps its history and announces it) or never got to it (the
    /// invocation failed, the request was refused).
    pub async fn wake_if_due(&self, endpoint: &EndpointName, at: Timestamp) -> (Step, Told) {
        let mut request = json!({"action": "wake-if-due", "endpoint": endpoint.as_str(), "at": at});
        if let Some(place) = &self.place {
            request["account"] = place.account.as_str().into();
            request["region"] = place.region.as_str().into();
        }
        match aws::lambda::invoke(&self.client, &self.name, &request).await {
            Ok(Ok(answer)) => (answered(&answer), Told::ByWaker),
            Ok(Err(error)) => {
                let said = error["errorMessage"].as_str().unwrap_or("no message");
                match error["errorType"].as_str() {
                    Some("Deferred") => (
                        Step::Deferred(format!("the waker {} deferred it: {said}", self.name)),
                        Told::ByWaker,
                    ),
                    Some("ActionsFailed") => (
                        Step::Failed(format!("the waker {} failed: {said}", self.name)),
                        Told::ByWaker,
                    ),
                    _ => (
                        Step::Failed(format!("the waker {} failed: {said}", self.name)),
                        Told::Here,
                    ),
                }
            }
            Err(e) => (Step::Failed(e.to_string()), Told::Here),
        }
    }
}

/// Who keeps a wake's history entry and puts its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// The waker, which carried the wake out (or failed at it).
    ByWaker,
    /// The asking function: the waker never carried it out.
    Here,
}

/// The step of the waker's answer (a `Response` of `handlers::lifecycle`).
fn answered(answer: &Value) -> Step {
    if let Some(ignored) = answer["ignored"].as_str() {
        return Step::Declined(format!("the waker: {ignored}"));
    }
    let report = &answer["reports"][0];
    let detail = format!(
        "the waker: {}",
        report["detail"].as_str().unwrap_or_default()
    );
    match report["outcome"].as_str() {
        Some("applied") => Step::Applied(detail),
        Some("already-done") => Step::AlreadyDone(detail),
        Some("declined") => Step::Declined(detail),
        Some("dry-run") => Step::DryRun(detail),
        other => Step::Failed(format!("the waker answered an unknown outcome {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wakers_answer_is_the_actions_outcome() {
        let applied = json!({"reports": [{"endpoint": "chat", "action": "wake", "reason": "r",
            "outcome": "applied", "detail": "created from EndpointConfig chat-1 with 3 tags"}]});
        assert_eq!(
            answered(&applied),
            Step::Applied("the waker: created from EndpointConfig chat-1 with 3 tags".into())
        );
        let ignored = json!({"reports": [], "ignored": "nothing wants it awake"});
        assert_eq!(
            answered(&ignored),
            Step::Declined("the waker: nothing wants it awake".into())
        );
        let odd = json!({"reports": [{"outcome": "exploded"}]});
        assert!(matches!(answered(&odd), Step::Failed(_)));
    }
}
