//! How each action ended, as functions report it, log it and keep it in the history.

use serde::{Serialize, Serializer};

/// Serialized as its [label](Outcome::label) alone: beside it, a [`Report`]'s `detail` says
/// why a deferred or failed action was not done, and a tick's action report its `why`, so a
/// `detail` of its own would write that key twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Dry-run: decided and logged, not done.
    DryRun,
    /// Nothing to do after all (e.g. the tag was changed by someone else meanwhile).
    AlreadyDone,
    /// Not eligible: nothing changed (e.g. an endpoint without the opt-in tag).
    Declined,
    /// Not now: retried by the next event or tick.
    Deferred(String),
    Failed(String),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// The name used in logs and in the function's response.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::DryRun => "dry-run",
            Outcome::AlreadyDone => "already-done",
            Outcome::Declined => "declined",
            Outcome::Deferred(_) => "deferred",
            Outcome::Failed(_) => "failed",
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// How many of `outcomes` failed.
pub fn failures(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|o| o.is_failure()).count()
}

/// What one action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub endpoint: String,
    pub action: &'static str,
    pub reason: String,
    pub outcome: Outcome,
    /// What was done, or why nothing was.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_report_is_json_with_one_detail_and_its_outcome_by_label() {
        let report = Report {
            endpoint: "chat".into(),
            action: "sleep",
            reason: "idle for 2h".into(),
            outcome: Outcome::Failed("AWS DeleteEndpoint failed: throttled".into()),
            detail: "AWS DeleteEndpoint failed: throttled".into(),
        };
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(text.matches("\"detail\"").count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["outcome"], "failed");
        assert_eq!(value["detail"], "AWS DeleteEndpoint failed: throttled");
    }
}
