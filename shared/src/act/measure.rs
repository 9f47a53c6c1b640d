//! sagetide's own metrics of what it did, in namespace `Sagetide`, for the template's dashboard:
//! published after each batch that applied or failed something, so an idle tick writes none
//! and the calls grow with the changes, not with the fleet. Like the events, at most once: a
//! datapoint that cannot be put is logged, and the actions stand. `sagetide savings` stays
//! the reference for the savings; the metric counts an interval once a change ends it.

use std::collections::BTreeMap;

use futures::StreamExt;

use super::{Done, Executor};
use crate::aws::cloudwatch::{self, Datum};
use crate::aws::table::{Held, Recorded};
use crate::aws::{self, AwsError};
use crate::lifecycle::{Actor, Lifecycle};
use crate::names::{EndpointName, VariantName};
use crate::outcome::{Outcome, Report};
use crate::permissions::Function;
use crate::places::{Place, PlaceStep};
use crate::savings::{self, Sizes};

/// Applied and failed actions, by `Action` and `Outcome`.
pub const ACTIONS: &str = "Actions";
/// The minimum a variant is held at from a change on (0 asleep), by `EndpointName` and
/// `VariantName`.
pub const MINIMUM_HELD: &str = "MinimumHeld";
/// The instance-hours below baseline of the interval a change ends, by `EndpointName`.
pub const INSTANCE_HOURS_BELOW_BASELINE: &str = "InstanceHoursBelowBaseline";

/// The datapoint of `function`'s tick at `place` that failed at `step`.
pub fn place_failure(function: Function, place: &Place, step: PlaceStep) -> Datum {
    Datum {
        metric: cloudwatch::PLACE_FAILURES,
        dimensions: vec![
            ("Account", place.account.as_str().to_owned()),
            ("Function", function.name().to_owned()),
            ("Region", place.region.as_str().to_owned()),
            ("Step", step.as_str().to_owned()),
        ],
        value: 1.0,
    }
}

/// A datapoint per action and outcome, counting the batch's applied and failed actions.
pub fn counted<'a>(reports: impl IntoIterator<Item = &'a Report>) -> Vec<Datum> {
    let mut counts: BTreeMap<(&'static str, &'static str), u32> = BTreeMap::new();
    for report in reports {
        if matches!(report.outcome, Outcome::Applied | Outcome::Failed(_)) {
            *counts
                .entry((report.action, report.outcome.label()))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((action, outcome), count)| Datum {
            metric: ACTIONS,
            dimensions: vec![
                ("Action", action.to_owned()),
                ("Outcome", outcome.to_owned()),
            ],
            value: f64::from(count),
        })
        .collect()
}

/// The datapoints of an endpoint's changes applied by `actor` (in the order applied), with its
/// history up to them and what its snapshot tells.
pub fn of_changes(
    endpoint: &EndpointName,
    changes: &[Held],
    entries: &[Recorded],
    sizes: &Sizes,
    actor: Actor<'_>,
) -> Vec<Datum> {
    let mut minimums: BTreeMap<VariantName, u32> = BTreeMap::new();
    for change in changes {
        match change {
            Held::Floor { variant, min } => {
                minimums.insert(variant.clone(), *min);
            }
            Held::Asleep => {
                for variant in savings::variants_of(entries, sizes) {
                    minimums.insert(variant, 0);
                }
            }
            Held::Awake => minimums.extend(sizes.at_sleep.clone()),
        }
    }
    let mut data: Vec<Datum> = minimums
        .into_iter()
        .map(|(variant, min)| Datum {
            metric: MINIMUM_HELD,
            dimensions: vec![
                ("EndpointName", endpoint.to_string()),
                ("VariantName", variant.to_string()),
            ],
            value: f64::from(min),
        })
        .collect();
    let hours = savings::ended_at(entries, sizes, actor.now, actor.who);
    if hours > 0.0 {
        data.push(Datum {
            metric: INSTANCE_HOURS_BELOW_BASELINE,
            dimensions: vec![("EndpointName", endpoint.to_string())],
            value: hours,
        });
    }
    data
}

impl Executor {
    /// Publishes the metrics of a batch carried out (not a dry run's).
    pub(super) async fn measure(&self, done: &[Done], actor: Actor<'_>) {
        let mut data = counted(done.iter().filter(|d| d.tell).map(|d| &d.report));
        if let Some(lifecycle) = &self.lifecycle {
            let mut changes: BTreeMap<EndpointName, Vec<Held>> = BTreeMap::new();
            for d in done {
                if let Some(held) = &d.held {
                    changes
                        .entry(d.endpoint.clone())
                        .or_default()
                        .push(held.clone());
                }
            }
            let measured: Vec<Vec<Datum>> = futures::stream::iter(changes)
                .map(|(name, held)| async move {
                    match of_endpoint(lifecycle, &name, &held, actor).await {
                        Ok(data) => data,
                        Err(e) => {
                            tracing::warn!(endpoint = %name, error = %e, "its savings not measured");
                            Vec::new()
                        }
                    }
                })
                .buffer_unordered(aws::CONCURRENCY)
                .collect()
                .await;
            data.extend(measured.into_iter().flatten());
        }
        if data.is_empty() {
            return;
        }
        if let Err(e) = cloudwatch::put_data(&self.metrics, actor.now, &data).await {
            tracing::error!(error = %e, "sagetide's metrics of the batch not all published; the actions stand");
        }
    }
}

/// Reads what an endpoint's changes are measured against: its history since [`savings::LEAD`]
/// before `now` and its snapshot.
async fn of_endpoint(
    lifecycle: &Lifecycle,
    name: &EndpointName,
    changes: &[Held],
    actor: Actor<'_>,
) -> Result<Vec<Datum>, AwsError> {
    let (entries, stored) = tokio::try_join!(
        lifecycle
            .table
            .history_since(name, actor.now - savings::LEAD),
        lifecycle.table.snapshot(name),
    )?;
    let sizes = stored.as_ref().map(Sizes::of_snapshot).unwrap_or_default();
    let mut data = of_changes(name, changes, &entries, &sizes, actor);
    // A spoke's endpoint is its own series, apart from the hub's of the same name.
    if let Some(place) = lifecycle.place() {
        for datum in &mut data {
            datum.dimensions.push(("Place", place.to_string()));
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(name: &str) -> VariantName {
        VariantName::new(name).unwrap()
    }

    fn applied(time: &str, who: &str, held: Held) -> Recorded {
        Recorded {
            endpoint: EndpointName::new("nightly").unwrap(),
            at: time.parse().unwrap(),
            who: who.into(),
            action: "sleep".into(),
            outcome: "applied".into(),
            reason: String::new(),
            held: Some(held),
            written: None,
        }
    }

    fn values(data: &[Datum]) -> Vec<(&str, String, f64)> {
        data.iter()
            .map(|d| {
                let dims: Vec<String> = d.dimensions.iter().map(|(_, v)| v.clone()).collect();
                (d.metric, dims.join("/"), d.value)
            })
            .collect()
    }

    #[test]
    fn a_sleep_holds_every_variant_at_zero_and_its_wake_ends_the_hours_asleep() {
        let name = EndpointName::new("nightly").unwrap();
        let sizes = Sizes {
            at_sleep: BTreeMap::from([(variant("AllTraffic"), 2), (variant("shadow"), 1)]),
            ..Sizes::default()
        };
        let slept = vec![applied("2026-11-23T20:00:00Z", "sleeper", Held::Asleep)];
        let now = "2026-11-23T20:00:00Z".parse().unwrap();
        let sleeper = Actor {
            who: "sleeper",
            now,
        };
        assert_eq!(
            values(&of_changes(&name, &[Held::Asleep], &slept, &sizes, sleeper)),
            [
                ("MinimumHeld", "nightly/AllTraffic".into(), 0.0),
                ("MinimumHeld", "nightly/shadow".into(), 0.0),
            ]
        );
        let mut woke = slept;
        woke.push(applied("2026-11-24T06:00:00Z", "waker", Held::Awake));
        let now = "2026-11-24T06:00:00Z".parse().unwrap();
        let waker = Actor { who: "waker", now };
        assert_eq!(
            values(&of_changes(&name, &[Held::Awake], &woke, &sizes, waker)),
            [
                ("MinimumHeld", "nightly/AllTraffic".into(), 2.0),
                ("MinimumHeld", "nightly/shadow".into(), 1.0),
                ("InstanceHoursBelowBaseline", "nightly".into(), 30.0),
            ]
        );
    }

    #[test]
    fn only_applied_and_failed_actions_are_counted() {
        let report = |action, outcome| Report {
            endpoint: "e".into(),
            action,
            reason: String::new(),
            outcome,
            detail: String::new(),
        };
        let reports = [
            report("sleep", Outcome::Applied),
            report("sleep", Outcome::Applied),
            report("wake", Outcome::Failed("no capacity".into())),
            report("wake", Outcome::DryRun),
        ];
        assert_eq!(
            values(&counted(&reports)),
            [
                ("Actions", "sleep/applied".into(), 2.0),
                ("Actions", "wake/failed".into(), 1.0),
            ]
        );
    }
}
