//! How each action ended, as functions report it, log it and keep it in the history.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
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
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What was done, or why nothing was.
    pub detail: String,
}
