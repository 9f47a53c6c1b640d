//! `sagetide`: the operator's command line. `sagetide check FILE` validates a configuration
//! document offline with the functions' own parser and shows what each schedule will do.
//!
//! Exit codes: 0 the document is valid; 1 it is not (every problem is printed); 2 the command
//! could not run (an unreadable file, a bad argument).

mod check;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

#[derive(Parser)]
#[command(
    name = "sagetide",
    version,
    about = "Operate sagetide: check what it will do"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration document offline, exactly as the functions do, and show each
    /// schedule's transitions over the coming days (local time and UTC, DST and holidays
    /// marked). Exit 0 if valid, 1 if not.
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The YAML document; `-` reads standard input.
    file: PathBuf,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Start of the window of transitions (RFC 3339, e.g. 2026-12-24T00:00:00Z); now by default.
    #[arg(long)]
    from: Option<Timestamp>,
    /// Length of the window, in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=366))]
    days: u16,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

fn main() -> ExitCode {
    let Command::Check(args) = Cli::parse().command;
    let document = match read(&args.file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("sagetide check: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let from = args.from.unwrap_or_else(Timestamp::now);
    let result = check::check(&document, from, i64::from(args.days));
    match (&result, args.output) {
        (Ok(week), Output::Table) => print!("{}", check::table(week)),
        (Err(problems), Output::Table) => {
            for p in problems {
                let field = if p.field.is_empty() {
                    String::new()
                } else {
                    format!(", field {}", p.field)
                };
                eprintln!("error: {}{field}: {}", p.place, p.message);
            }
            eprintln!(
                "{}: {} problem(s); the functions would change nothing with this document",
                args.file.display(),
                problems.len()
            );
        }
        (Ok(week), Output::Json) => println!(
            "{}",
            json(&serde_json::json!({"valid": true, "week": week}))
        ),
        (Err(problems), Output::Json) => {
            println!(
                "{}",
                json(&serde_json::json!({"valid": false, "problems": problems}))
            );
        }
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON of plain data")
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
