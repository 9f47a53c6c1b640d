//! `sagetide plan`: the deployed scheduler's tick, run dry at an instant: what it would do to
//! each endpoint and why, and what it would leave alone. The same code as the function, with
//! its environment, so the plan is the tick's.

use aws_config::SdkConfig;
use jiff::Timestamp;

use sagetide::env::Env;
use sagetide::handlers::scheduler::{Scheduler, TickReport};
use sagetide::names::EndpointName;
use sagetide::outcome::Outcome;

use crate::CliError;

/// The tick of `at`, decided and not done, narrowed to `endpoint` if given.
pub async fn plan(
    sdk: &SdkConfig,
    env: &Env,
    at: Timestamp,
    endpoint: Option<&EndpointName>,
) -> Result<TickReport, CliError> {
    // The dry run is the executor's alone to decide: set here, it writes nothing.
    let env = Env {
        dry_run: true,
        now: Some(at),
        ..env.clone()
    };
    let scheduler = Scheduler::new(sdk, &env)?;
    let mut report = scheduler.tick(at, at).await?;
    if let Some(name) = endpoint {
        report.actions.retain(|a| a.endpoint == name.as_str());
        report.skipped.retain(|s| s.endpoint == name.as_str());
    }
    Ok(report)
}

/// One line per action with its reason (and, where deciding it found it would not be done,
/// how it would end), then what is skipped and why.
pub fn table(report: &TickReport, endpoint: Option<&EndpointName>) -> String {
    let over = match endpoint {
        Some(name) => format!("for {name}"),
        None => format!(
            "over the {} endpoint(s) that exist and those asleep",
            report.endpoints
        ),
    };
    let mut out = format!(
        "the tick of {} would, {over}:\n",
        report.now.strftime("%Y-%m-%d %H:%M UTC"),
    );
    if report.actions.is_empty() {
        out.push_str("  change nothing\n");
    }
    let width = report
        .actions
        .iter()
        .map(|a| a.endpoint.len())
        .chain(report.skipped.iter().map(|s| s.endpoint.len()))
        .max()
        .unwrap_or(0);
    for action in &report.actions {
        let ending = match &action.outcome {
            Outcome::DryRun => String::new(),
            Outcome::Deferred(why) => format!("  [deferred: {why}]"),
            other => format!("  [{}]", other.label()),
        };
        out.push_str(&format!(
            "  {:<width$}  {}  ({}){ending}\n",
            action.endpoint, action.detail, action.reason
        ));
    }
    if !report.skipped.is_empty() {
        out.push_str("and leave alone:\n");
    }
    for skipped in &report.skipped {
        out.push_str(&format!(
            "  {:<width$}  {}\n",
            skipped.endpoint, skipped.why
        ));
    }
    out
}
