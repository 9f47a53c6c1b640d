//! `sagetide status`'s managed places besides the hub's own, as the hub sees them: the operator
//! has no role in a spoke, so each is shown by what the hub holds of it, the endpoints asleep
//! and the remedies in force there (one table `Query` each) and the ticks there that failed in
//! the last hour (`Sagetide/PlaceFailures`, one `GetMetricData` for up to 83 places).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use sagetide::aws::table::{Open, Table};
use sagetide::aws::{self, AwsError};
use sagetide::config::Config;
use sagetide::names::EndpointName;
use sagetide::permissions::Function;
use sagetide::places::{Place, PlaceStep};

/// How far back a place's failed ticks are counted.
const FAILURES_SINCE: SignedDuration = SignedDuration::from_hours(1);

/// A managed place as `status` shows it.
#[derive(Debug, Serialize)]
pub struct PlaceStatus {
    /// `<account>/<region>`.
    pub place: String,
    /// Endpoints sagetide put to sleep there, not yet restored.
    pub asleep: Vec<EndpointName>,
    /// Endpoints with a remedy in force there.
    pub remedies: Vec<EndpointName>,
    /// Its scheduler's and pool-metrics' ticks that failed in the last hour, by step
    /// (`assume-role`, `observe`, `invoke`).
    pub failed_last_hour: BTreeMap<&'static str, u32>,
}

/// The document's places other than `home` (the scheduler's own), each with what the hub's
/// `table` holds of it and its failed ticks up to `now`.
pub async fn observe(
    sdk: &SdkConfig,
    table: &Table,
    config: &Config,
    home: &Place,
    now: Timestamp,
) -> Result<Vec<PlaceStatus>, AwsError> {
    let managed = config.managed(home.clone());
    let places: Vec<Place> = managed.spokes().map(|s| s.place.clone()).collect();
    if places.is_empty() {
        return Ok(Vec::new());
    }
    let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
    let functions = [Function::Scheduler, Function::PoolMetrics];
    let (open, failures) = tokio::join!(
        futures::stream::iter(&places)
            .map(|place| async move { table.at(place).open().await })
            .buffered(aws::CONCURRENCY)
            .try_collect::<Vec<Open>>(),
        aws::cloudwatch::place_failures(
            &cloudwatch,
            &functions,
            &places,
            now - FAILURES_SINCE,
            now
        ),
    );
    Ok(statuses(&places, &open?, &failures?))
}

/// Each place's status from what was read of it (pure).
fn statuses(
    places: &[Place],
    open: &[Open],
    failures: &BTreeMap<(Place, PlaceStep), f64>,
) -> Vec<PlaceStatus> {
    places
        .iter()
        .zip(open)
        .map(|(place, open)| PlaceStatus {
            place: place.to_string(),
            asleep: open
                .sleeping
                .iter()
                .map(|s| s.snapshot.endpoint.clone())
                .collect(),
            remedies: open
                .remediations
                .iter()
                .map(|r| r.endpoint.clone())
                .collect(),
            failed_last_hour: PlaceStep::ALL
                .into_iter()
                .filter_map(|step| {
                    let failed = failures.get(&(place.clone(), step))?;
                    Some((step.as_str(), failed.round() as u32))
                })
                .collect(),
        })
        .collect()
}

/// The places' lines of `status`'s table.
pub fn table(places: &[PlaceStatus]) -> String {
    let mut out = String::new();
    if places.is_empty() {
        return out;
    }
    out.push_str("managed places besides this one:\n");
    for p in places {
        let names = |names: &[EndpointName]| {
            names
                .iter()
                .map(EndpointName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut line = format!("  {}: {} asleep", p.place, p.asleep.len());
        if !p.asleep.is_empty() {
            line += &format!(" ({})", names(&p.asleep));
        }
        if !p.remedies.is_empty() {
            line += &format!(", remedies on {}", names(&p.remedies));
        }
        if p.failed_last_hour.is_empty() {
            line += "; no failed tick in the last hour";
        } else {
            let steps: Vec<String> = p
                .failed_last_hour
                .iter()
                .map(|(step, n)| format!("{n} at {step}"))
                .collect();
            line += &format!(
                "; ticks failed in the last hour: {} (the failed action events and the failed-events queue say why)",
                steps.join(", ")
            );
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_shows_its_failed_steps_and_a_quiet_one_says_so() {
        let (quiet, failing) = (
            Place::new("222222222222", "eu-west-1").unwrap(),
            Place::new("555555555555", "us-east-1").unwrap(),
        );
        let failures = BTreeMap::from([
            ((failing.clone(), PlaceStep::AssumeRole), 12.0),
            ((failing.clone(), PlaceStep::Invoke), 1.0),
        ]);
        let open = [Open::default(), Open::default()];
        let places = statuses(&[quiet, failing], &open, &failures);
        let shown = table(&places);
        assert_eq!(
            shown,
            "managed places besides this one:\n  \
             222222222222/eu-west-1: 0 asleep; no failed tick in the last hour\n  \
             555555555555/us-east-1: 0 asleep; ticks failed in the last hour: 12 at assume-role, 1 at invoke (the failed action events and the failed-events queue say why)\n"
        );
        assert_eq!(table(&[]), "");
    }
}
