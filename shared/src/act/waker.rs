//! The scheduler's wakes, asked of the waker function. The scheduler's role then creates no
//! endpoint, so no role can both put an opt-in tag on an existing endpoint and delete one; and
//! the waker wakes only what it finds due itself (`wake-if-due`), so this request lets an
//! invoker wake no more than the schedule would.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Outcome;
use crate::aws;
use crate::names::EndpointName;
use crate::outcome::Report;

/// The deployed waker: `SAGETIDE_WAKER`.
#[derive(Debug, Clone)]
pub struct WakerFunction {
    pub client: aws_sdk_lambda::Client,
    pub name: String,
}

impl WakerFunction {
    /// Asks the waker, at `at` by the scheduler's clock, to wake `endpoint` if it is due, as the
    /// tick found it; the waker's answer as this action's report (the waker keeps the history
    /// of what it did).
    pub async fn wake_if_due(&self, endpoint: &EndpointName, why: &str, at: Timestamp) -> Report {
        let request = json!({"action": "wake-if-due", "endpoint": endpoint.as_str(), "at": at});
        let (outcome, detail) = match aws::lambda::invoke(&self.client, &self.name, &request).await
        {
            Ok(Ok(answer)) => answered(&answer),
            Ok(Err(error)) => {
                let said = error["errorMessage"].as_str().unwrap_or("no message");
                if error["errorType"] == "Deferred" {
                    let message = format!("the waker {} deferred it: {said}", self.name);
                    (Outcome::Deferred(message.clone()), message)
                } else {
                    let message = format!("the waker {} failed: {said}", self.name);
                    (Outcome::Failed(message.clone()), message)
                }
            }
            Err(e) => (Outcome::Failed(e.to_string()), e.to_string()),
        };
        let label = outcome.label();
        if matches!(outcome, Outcome::Failed(_)) {
            tracing::error!(endpoint = %endpoint, action = "wake", reason = why, detail, outcome = label, "action failed");
        } else {
            tracing::info!(endpoint = %endpoint, action = "wake", reason = why, detail, outcome = label, "action");
        }
        Report {
            endpoint: endpoint.to_string(),
            action: "wake",
            reason: why.to_owned(),
            outcome,
            detail,
        }
    }
}

/// The outcome and detail of the waker's answer (a `Response` of `handlers::lifecycle`).
fn answered(answer: &Value) -> (Outcome, String) {
    if let Some(ignored) = answer["ignored"].as_str() {
        return (Outcome::Declined, format!("the waker: {ignored}"));
    }
    let report = &answer["reports"][0];
    let detail = format!(
        "the waker: {}",
        report["detail"].as_str().unwrap_or_default()
    );
    let outcome = match report["outcome"].as_str() {
        Some("applied") => Outcome::Applied,
        Some("already-done") => Outcome::AlreadyDone,
        Some("declined") => Outcome::Declined,
        Some("dry-run") => Outcome::DryRun,
        other => Outcome::Failed(format!("the waker answered an unknown outcome {other:?}")),
    };
    (outcome, detail)
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
            (
                Outcome::Applied,
                "the waker: created from EndpointConfig chat-1 with 3 tags".into()
            )
        );
        let ignored = json!({"reports": [], "ignored": "nothing wants it awake"});
        assert_eq!(answered(&ignored).0, Outcome::Declined);
        let odd = json!({"reports": [{"outcome": "exploded"}]});
        assert!(matches!(answered(&odd).0, Outcome::Failed(_)));
    }
}
