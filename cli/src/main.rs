//! `sagetide`: the operator's command line. `check` validates a configuration document offline
//! with the functions' own parser and shows what each schedule will do; `plan`, `status`,
//! `sleep` and `wake` work with the deployment in the account and region of the standard AWS
//! configuration (`AWS_PROFILE`, `AWS_REGION`, …).
//!
//! Exit codes: 0 done (the document is valid, the request was carried out); 1 the answer is no
//! (an invalid document, an unknown endpoint, a request the function did not carry out); 2 the
//! command could not run (an unreadable file, a bad argument, AWS unreachable or refusing).

mod check;
mod deployment;
mod places;
mod plan;
mod request;
mod savings;
mod status;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;
use serde::Serialize;
use thiserror::Error;

use sagetide::aws::table::Table;
use sagetide::aws::{self, AwsError};
use sagetide::config::ConfigError;
use sagetide::env::EnvError;
use sagetide::error::HandlerError;
use sagetide::events::Subject;
use sagetide::names::{ComponentName, EndpointName};
use sagetide::places::{AccountId, RegionName};

use deployment::{Deployment, DeploymentError};
use request::Request;

#[derive(Parser)]
#[command(
    name = "sagetide",
    version,
    about = "Operate sagetide: check a document, see what it will do, what it did, and ask it to act"
)]
struct Cli {
    /// How to print the result.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration document, exactly as the functions do, and show each
    /// schedule's transitions over the coming days (local time and UTC, DST and holidays
    /// marked). Offline for a file. Exit 0 if valid, 1 if not.
    Check(CheckArgs),
    /// What the deployed scheduler's tick would do now (or --at an instant), decided as the
    /// function decides it, without changing anything: each action with its reason, and what
    /// it would leave alone and why.
    Plan(PlanArgs),
    /// Every opted-in endpoint and inference component (or one): awake, asleep or on its way;
    /// capacity now and what the schedule wants; the next transition; remedies in force; the
    /// latest history in time order.
    Status(StatusArgs),
    /// Instance-hours and money each endpoint saved, from the history: the hours it held fewer
    /// instances than its baseline (the most it was seen held at), times the instances fewer.
    Savings(SavingsArgs),
    /// Ask the deployed sleeper to put an endpoint to sleep now (snapshot, then delete), or an
    /// inference component (zero copies).
    Sleep(SleepArgs),
    /// Ask the deployed waker to bring a sleeping endpoint or inference component back now.
    Wake(WakeArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct Document {
    /// The YAML document; `-` reads standard input.
    file: Option<PathBuf>,
    /// The SSM parameter holding it (read with the standard AWS configuration).
    #[arg(long)]
    parameter: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    document: Document,
    /// Start of the window of transitions (RFC 3339, e.g. 2026-12-24T00:00:00Z); now by default.
    #[arg(long)]
    from: Option<Timestamp>,
    /// Length of the window, in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=366))]
    days: u16,
    /// Also draw the window as a picture (SVG) into this file: a row per schedule.
    #[arg(long)]
    svg: Option<PathBuf>,
}

#[derive(Args)]
struct Stack {
    /// The sagetide stack; by default the one the account and region's deployment marker
    /// (/sagetide/deployment) names.
    #[arg(long)]
    stack: Option<String>,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    stack: Stack,
    /// The tick's instant (RFC 3339); now by default.
    #[arg(long)]
    at: Option<Timestamp>,
    /// Show only this endpoint's actions and skips (the tick is planned whole).
    #[arg(long)]
    endpoint: Option<EndpointName>,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    stack: Stack,
    /// One endpoint only, with the components it hosts; or one inference component.
    name: Option<EndpointName>,
    /// History entries per endpoint.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i32).range(1..=100))]
    history: i32,
}

#[derive(Args)]
struct SavingsArgs {
    #[command(flatten)]
    stack: Stack,
    /// Start of the period (RFC 3339); 30 days ago by default. It ends now.
    #[arg(long)]
    since: Option<Timestamp>,
    /// Prices per instance-hour (YAML: `currency`, `per_hour: {ml.m5.large: 0.115, …}`); the
    /// shipped example (not current prices) by default.
    #[arg(long)]
    prices: Option<PathBuf>,
}

#[derive(Args)]
struct SleepArgs {
    #[command(flatten)]
    stack: Stack,
    #[command(flatten)]
    subject: SubjectArgs,
    #[command(flatten)]
    spoke: SpokeArgs,
    /// Skip the idle check (never the opt-in tag check).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct WakeArgs {
    #[command(flatten)]
    stack: Stack,
    #[command(flatten)]
    subject: SubjectArgs,
    #[command(flatten)]
    spoke: SpokeArgs,
}

/// Where the endpoint is when it is a spoke's: the hub itself is the standard AWS account and
/// region the command runs with.
#[derive(Args)]
struct SpokeArgs {
    /// The account of the endpoint, one the document's `accounts` names (default: the hub's).
    #[arg(long, value_name = "ID", value_parser = |v: &str| AccountId::new(v))]
    spoke_account: Option<AccountId>,
    /// The region of the endpoint, if not the hub's.
    #[arg(long, value_name = "NAME", value_parser = |v: &str| RegionName::new(v))]
    spoke_region: Option<RegionName>,
}

impl SpokeArgs {
    fn spoke(self) -> request::Spoke {
        request::Spoke {
            account: self.spoke_account,
            region: self.spoke_region,
        }
    }
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct SubjectArgs {
    /// The endpoint.
    endpoint: Option<EndpointName>,
    /// An inference component instead of an endpoint.
    #[arg(long, value_name = "NAME")]
    component: Option<ComponentName>,
}

impl SubjectArgs {
    fn subject(self) -> Subject {
        match (self.endpoint, self.component) {
            (_, Some(component)) => Subject::Component(component),
            (Some(endpoint), None) => Subject::Endpoint(endpoint),
            (None, None) => unreachable!("clap requires one of the two"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Table,
    Json,
}

/// Why a command could not give its answer.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error("the scheduler's environment: {0}")]
    Env(#[from] EnvError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Handler(#[from] HandlerError),
    /// The answer is no.
    #[error("{0}")]
    No(String),
    /// The command cannot run: what it was to read or write, or an argument, is wrong.
    #[error("{0}")]
    CannotRun(String),
}

impl CliError {
    /// 1 where the answer is no (an invalid document, an unknown endpoint), 2 where the command
    /// could not run.
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(ConfigError::Invalid(_))
            | CliError::Handler(HandlerError::Config(ConfigError::Invalid(_)))
            | CliError::No(_) => 1,
            _ => 2,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = cli.output;
    let (name, result) = match cli.command {
        Command::Check(args) => ("check", check(args, output).await),
        Command::Plan(args) => ("plan", plan(args, output).await),
        Command::Status(args) => ("status", status(args, output).await),
        Command::Savings(args) => ("savings", savings(args, output).await),
        Command::Sleep(args) => (
            "sleep",
            send(
                &args.stack,
                Request::Sleep {
                    subject: args.subject.subject(),
                    force: args.force,
                },
                args.spoke.spoke(),
                output,
            )
            .await,
        ),
        Command::Wake(args) => (
            "wake",
            send(
                &args.stack,
                Request::Wake {
                    subject: args.subject.subject(),
                },
                args.spoke.spoke(),
                output,
            )
            .await,
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sagetide {name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// *Now*: `SAGETIDE_NOW` in a simulation (the demo's, the tests'), as the functions take it,
/// else the clock.
fn now() -> Result<Timestamp, CliError> {
    match std::env::var("SAGETIDE_NOW") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|e| CliError::CannotRun(format!("SAGETIDE_NOW = {v:?}: {e}"))),
        _ => Ok(Timestamp::now()),
    }
}

async fn sdk() -> aws_config::SdkConfig {
    aws::load_config_as("sagetide-cli").await
}

async fn deployment(stack: &Stack) -> Result<(aws_config::SdkConfig, Deployment), CliError> {
    let sdk = sdk().await;
    let deployment = Deployment::find(&sdk, stack.stack.clone()).await?;
    Ok((sdk, deployment))
}

fn print(output: Output, value: &impl Serialize, table: impl FnOnce() -> String) {
    match output {
        Output::Table => print!("{}", table()),
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).expect("JSON of plain data")
        ),
    }
}

async fn check(args: CheckArgs, output: Output) -> Result<ExitCode, CliError> {
    let (source, document) = match (&args.document.file, &args.document.parameter) {
        (Some(file), _) => (
            file.display().to_string(),
            read(file)
                .map_err(|e| CliError::CannotRun(format!("cannot read {}: {e}", file.display())))?,
        ),
        (None, Some(parameter)) => {
            let ssm = aws_sdk_ssm::Client::new(&sdk().await);
            let text = aws::ssm::parameters(&ssm, &[parameter.as_str()])
                .await?
                .remove(parameter.as_str())
                .ok_or_else(|| CliError::CannotRun(format!("no SSM parameter {parameter} here")))?;
            (parameter.clone(), text)
        }
        (None, None) => unreachable!("clap requires a file or --parameter"),
    };
    let from = match args.from {
        Some(from) => from,
        None => now()?,
    };
    match check::parse(&document) {
        Ok(config) => {
            let week = check::week(&config, from, i64::from(args.days));
            if let Some(file) = &args.svg {
                let picture = check::picture(&config, week.from, week.until);
                std::fs::write(file, picture).map_err(|e| {
                    CliError::CannotRun(format!("cannot write {}: {e}", file.display()))
                })?;
            }
            print(
                output,
                &serde_json::json!({"valid": true, "week": week}),
                || check::table(&week),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"valid": false, "problems": problems})
                    )
                    .expect("JSON of plain data")
                ),
                Output::Table => {
                    for p in &problems {
                        let field = if p.field.is_empty() {
                            String::new()
                        } else {
                            format!(", field {}", p.field)
                        };
                        eprintln!("error: {}{field}: {}", p.place, p.message);
                    }
                    eprintln!(
                        "{source}: {} problem(s); the functions would change nothing with this document",
                        problems.len()
                    );
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}

async fn plan(args: PlanArgs, output: Output) -> Result<ExitCode, CliError> {
    let (sdk, deployment) = deployment(&args.stack).await?;
    let at = match args.at {
        Some(at) => at,
        None => now()?,
    };
    let report = plan::plan(&sdk, &deployment.env, at, args.endpoint.as_ref()).await?;
    print(output, &report, || {
        plan::table(&report, args.endpoint.as_ref())
    });
    Ok(ExitCode::SUCCESS)
}

async fn status(args: StatusArgs, output: Output) -> Result<ExitCode, CliError> {
    let (sdk, deployment) = deployment(&args.stack).await?;
    let (observed, config) =
        status::observe(&sdk, &deployment.env, args.name.as_ref(), args.history).await?;
    let now = now()?;
    let mut statuses = status::statuses(&observed, &config, now);
    if let Some(name) = &args.name
        && statuses.is_empty()
    {
        return Err(CliError::No(format!(
            "{name} is not opted in (no sagetide:schedule or sagetide:idle-after tag), not asleep, under no remedy and hosts no opted-in component"
        )));
    }
    if args.name.is_none() {
        let table = Table::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            deployment.env.require_table()?.to_owned(),
        );
        // The fleet's status stands without them (an operator policy from before they were
        // shown, say).
        match places::observe(&sdk, &table, &config, &deployment.home, now).await {
            Ok(shown) => statuses.places = shown,
            Err(e) => eprintln!("sagetide status: the managed places were not read: {e}"),
        }
    }
    print(output, &statuses, || status::table(&statuses));
    Ok(ExitCode::SUCCESS)
}

async fn savings(args: SavingsArgs, output: Output) -> Result<ExitCode, CliError> {
    let prices = match &args.prices {
        None => savings::EXAMPLE_PRICES.to_owned(),
        Some(file) => read(file)
            .map_err(|e| CliError::CannotRun(format!("cannot read {}: {e}", file.display())))?,
    };
    let prices = savings::Prices::parse(&prices).map_err(|e| {
        let file = args.prices.as_ref().map_or_else(
            || "the example prices".to_owned(),
            |f| f.display().to_string(),
        );
        CliError::CannotRun(format!("{file}: {e}"))
    })?;
    let until = now()?;
    let since = match args.since {
        Some(since) => since,
        None => until - jiff::SignedDuration::from_hours(30 * 24),
    };
    if since.checked_sub(sagetide::savings::LEAD).is_err() {
        return Err(CliError::CannotRun(format!(
            "--since {since} is too early: the history is read from 31 days before it"
        )));
    }
    if since >= until {
        return Err(CliError::CannotRun(format!(
            "--since {since} is not before now ({until})"
        )));
    }
    let (sdk, deployment) = deployment(&args.stack).await?;
    let (history, sizes) = savings::observe(&sdk, &deployment.env, since).await?;
    let report = savings::savings(&history, &sizes, &prices, since, until);
    print(output, &report, || savings::table(&report));
    Ok(ExitCode::SUCCESS)
}

async fn send(
    stack: &Stack,
    request: Request,
    spoke: request::Spoke,
    output: Output,
) -> Result<ExitCode, CliError> {
    let (sdk, deployment) = deployment(stack).await?;
    let function = deployment.function(request.function());
    let answer = request::send(&sdk, &function, &request, &spoke).await?;
    let value = match &answer {
        Ok(v) | Err(v) => v,
    };
    print(output, value, || request::table(&function, &answer));
    Ok(match &answer {
        Ok(answer) if request::done(answer) => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

fn read(path: &PathBuf) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_subcommand_and_its_arguments_are_well_formed() {
        super::Cli::command().debug_assert();
    }
}
