//! `sagetide savings`: the instance-hours each endpoint did not run (counted as
//! [`sagetide::savings`] counts them), and what they would have cost.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use sagetide::aws::table::{Recorded, Table};
use sagetide::aws::{self, AwsError};
use sagetide::env::Env;
use sagetide::names::{EndpointName, VariantName};
use sagetide::pool::Instances;
use sagetide::savings::{LEAD, Sizes, below_baseline, variants_of};
use sagetide::tags;

use crate::CliError;

/// The example prices shipped with the command line (not current prices).
pub const EXAMPLE_PRICES: &str = include_str!("../prices.example.yaml");

/// Prices per instance-hour by instance type (`--prices FILE`, YAML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Set in the shipped example, whose figures are not current prices.
    #[serde(default)]
    pub example: bool,
    pub currency: String,
    pub per_hour: BTreeMap<String, f64>,
}

impl Prices {
    pub fn parse(yaml: &str) -> Result<Self, String> {
        let prices: Self = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        if let Some((kind, price)) = prices
            .per_hour
            .iter()
            .find(|(_, p)| !p.is_finite() || **p < 0.0)
        {
            return Err(format!("per_hour.{kind}: {price} is not a price"));
        }
        Ok(prices)
    }
}

#[derive(Debug, Serialize)]
pub struct Savings {
    pub since: Timestamp,
    pub until: Timestamp,
    pub currency: String,
    /// Whether the prices are the shipped example's.
    pub example_prices: bool,
    pub endpoints: Vec<EndpointSavings>,
    pub instance_hours: f64,
    pub money: f64,
    /// Instance types without a price, whose hours are in `instance_hours` and not in `money`.
    pub unpriced: BTreeSet<String>,
}

#[derive(Debug, Serialize)]
pub struct EndpointSavings {
    pub endpoint: EndpointName,
    pub variants: Vec<VariantSavings>,
}

#[derive(Debug, Serialize)]
pub struct VariantSavings {
    pub variant: VariantName,
    pub instance_type: Option<String>,
    pub baseline: u32,
    /// Instance-hours not run while asleep.
    pub asleep_hours: f64,
    /// Instance-hours not run while held below the baseline.
    pub scaled_down_hours: f64,
    pub money: Option<f64>,
}

/// The savings over `since..until` of the endpoints whose `history` (oldest first, those of
/// one instant in the order written, as `Table::history_since` reads it; from [`LEAD`] before
/// `since`) is given.
pub fn savings(
    history: &BTreeMap<EndpointName, Vec<Recorded>>,
    sizes: &BTreeMap<EndpointName, Sizes>,
    prices: &Prices,
    since: Timestamp,
    until: Timestamp,
) -> Savings {
    let none = Sizes::default();
    let mut endpoints = Vec::new();
    let mut unpriced = BTreeSet::new();
    for (endpoint, entries) in history {
        let sizes = sizes.get(endpoint).unwrap_or(&none);
        let variants: Vec<VariantSavings> = variants_of(entries, sizes)
            .into_iter()
            .filter_map(|variant| {
                let below = below_baseline(entries, sizes, &variant, since, until)?;
                let instance_type = sizes.types.get(&variant).cloned();
                let price = instance_type
                    .as_ref()
                    .and_then(|t| prices.per_hour.get(t).copied());
                Some(VariantSavings {
                    money: price.map(|p| p * below.hours()),
                    variant,
                    instance_type,
                    baseline: below.baseline,
                    asleep_hours: below.asleep_hours,
                    scaled_down_hours: below.scaled_down_hours,
                })
            })
            .filter(|v| v.asleep_hours + v.scaled_down_hours > 0.0)
            .collect();
        unpriced.extend(variants.iter().filter(|v| v.money.is_none()).map(|v| {
            v.instance_type
                .clone()
                .unwrap_or_else(|| "type unknown".into())
        }));
        if !variants.is_empty() {
            endpoints.push(EndpointSavings {
                endpoint: endpoint.clone(),
                variants,
            });
        }
    }
    let all = || endpoints.iter().flat_map(|e| &e.variants);
    Savings {
        since,
        until,
        currency: prices.currency.clone(),
        example_prices: prices.example,
        instance_hours: all().map(|v| v.asleep_hours + v.scaled_down_hours).sum(),
        money: all().filter_map(|v| v.money).sum(),
        unpriced,
        endpoints,
    }
}

/// Reads the history since [`LEAD`] before `since` of every endpoint sagetide knows (opted in
/// now, or with a snapshot), and what their EndpointConfigs and snapshots say of their sizes.
pub async fn observe(
    sdk: &SdkConfig,
    env: &Env,
    since: Timestamp,
) -> Result<
    (
        BTreeMap<EndpointName, Vec<Recorded>>,
        BTreeMap<EndpointName, Sizes>,
    ),
    CliError,
> {
    let table = Table::new(
        aws_sdk_dynamodb::Client::new(sdk),
        env.require_table()?.to_owned(),
    );
    let sagemaker = aws_sdk_sagemaker::Client::new(sdk);
    let (endpoints, snapshots) = tokio::try_join!(
        aws::sagemaker::endpoints_tagged(&sagemaker, &[tags::SCHEDULE, tags::IDLE_AFTER]),
        table.snapshots(),
    )?;
    // Each endpoint's EndpointConfig: the one it runs on, or the one it sleeps on.
    let mut configs: BTreeMap<EndpointName, String> = snapshots
        .iter()
        .map(|s| {
            (
                s.snapshot.endpoint.clone(),
                s.snapshot.endpoint_config.clone(),
            )
        })
        .collect();
    configs.extend(
        endpoints
            .iter()
            .filter_map(|e| Some((e.name.clone(), e.config_name.clone()?))),
    );
    let mut sizes: BTreeMap<EndpointName, Sizes> = snapshots
        .iter()
        .map(|s| (s.snapshot.endpoint.clone(), Sizes::of_snapshot(s)))
        .collect();
    let names: Vec<EndpointName> = configs.keys().cloned().collect();
    let from = since - LEAD;
    let history: Vec<(EndpointName, Vec<Recorded>)> = futures::stream::iter(names)
        .map(|name| {
            let table = &table;
            async move {
                let entries = table.history_since(&name, from).await?;
                Ok::<_, AwsError>((name, entries))
            }
        })
        .buffer_unordered(aws::CONCURRENCY)
        .try_collect()
        .await?;
    let distinct: BTreeSet<&String> = configs.values().collect();
    let shapes: BTreeMap<String, sagetide::pool::ConfigShape> = futures::stream::iter(distinct)
        .map(|config| {
            let sagemaker = &sagemaker;
            async move {
                // A config deleted since leaves its endpoint's types unknown, not the report.
                let shape = aws::sagemaker::config_shape(sagemaker, config).await.ok();
                (config.clone(), shape)
            }
        })
        .buffer_unordered(aws::CONCURRENCY)
        .filter_map(|(config, shape)| async move { shape.map(|s| (config, s)) })
        .collect()
        .await;
    for (endpoint, config) in &configs {
        let Some(shape) = shapes.get(config) else {
            continue;
        };
        sizes.entry(endpoint.clone()).or_default().types = shape
            .variants
            .iter()
            .filter_map(|(variant, instances)| match instances {
                Instances::Single(kind) => Some((variant.clone(), kind.clone())),
                Instances::Pooled => None,
            })
            .collect();
    }
    Ok((history.into_iter().collect(), sizes))
}

/// A line per variant that saved something, and the total.
pub fn table(savings: &Savings) -> String {
    let mut out = format!(
        "saved from {} to {}:\n",
        savings.since.strftime("%Y-%m-%d %H:%M UTC"),
        savings.until.strftime("%Y-%m-%d %H:%M UTC")
    );
    if savings.endpoints.is_empty() {
        out.push_str("  nothing: no endpoint held fewer instances than its baseline\n");
    }
    for endpoint in &savings.endpoints {
        for v in &endpoint.variants {
            let money = v.money.map_or_else(
                || "no price".to_owned(),
                |m| format!("{m:.2} {}", savings.currency),
            );
            out.push_str(&format!(
                "  {}/{} ({}, baseline {}): {:.1} instance-hours asleep, {:.1} scaled down: {money}\n",
                endpoint.endpoint,
                v.variant,
                v.instance_type.as_deref().unwrap_or("type unknown"),
                v.baseline,
                v.asleep_hours,
                v.scaled_down_hours,
            ));
        }
    }
    out.push_str(&format!(
        "total: {:.1} instance-hours, {:.2} {}\n",
        savings.instance_hours, savings.money, savings.currency
    ));
    if !savings.unpriced.is_empty() {
        let unpriced: Vec<&str> = savings.unpriced.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "no price for {}: their hours are in the total, not their money\n",
            unpriced.join(", ")
        ));
    }
    if savings.example_prices {
        out.push_str(
            "prices: the shipped EXAMPLE, not current prices; give yours with --prices FILE\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagetide::aws::table::Held;
    use sagetide::savings::Sizes;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn entry(endpoint: &str, time: &str, held: Held) -> Recorded {
        Recorded {
            endpoint: EndpointName::new(endpoint).unwrap(),
            at: at(time),
            who: "scheduler".into(),
            action: "set-capacity".into(),
            outcome: "applied".into(),
            reason: String::new(),
            held: Some(held),
            written: None,
        }
    }

    fn floor(variant: &str, min: u32) -> Held {
        Held::Floor {
            variant: VariantName::new(variant).unwrap(),
            min,
        }
    }

    fn prices() -> Prices {
        Prices::parse("currency: USD\nper_hour: {ml.m5.large: 0.115}").unwrap()
    }

    fn name(text: &str) -> EndpointName {
        EndpointName::new(text).unwrap()
    }

    fn variant(text: &str) -> VariantName {
        VariantName::new(text).unwrap()
    }

    #[test]
    fn hours_held_below_the_highest_floor_count_from_each_change_to_the_next() {
        // Monday 2026-11-23 and Tuesday: 2 instances 07:00-18:00, 1 otherwise; the shadow
        // variant's changes count for it alone.
        let history = BTreeMap::from([(
            name("office"),
            vec![
                entry("office", "2026-11-23T07:00:00Z", floor("AllTraffic", 2)),
                entry("office", "2026-11-23T18:00:00Z", floor("AllTraffic", 1)),
                entry("office", "2026-11-23T18:00:00Z", floor("shadow", 1)),
                entry("office", "2026-11-24T07:00:00Z", floor("AllTraffic", 2)),
                entry("office", "2026-11-24T18:00:00Z", floor("AllTraffic", 1)),
            ],
        )]);
        let sizes = BTreeMap::from([(
            name("office"),
            Sizes {
                types: BTreeMap::from([(variant("AllTraffic"), "ml.m5.large".to_owned())]),
                ..Sizes::default()
            },
        )]);
        let report = savings(
            &history,
            &sizes,
            &prices(),
            at("2026-11-23T00:00:00Z"),
            at("2026-11-25T00:00:00Z"),
        );
        // Before the first change nothing is known, and nothing counted: 13 h from Monday
        // 18:00 to Tuesday 07:00, 6 h from Tuesday 18:00, one instance below 2.
        let office = &report.endpoints[0].variants;
        assert_eq!(office.len(), 1, "the shadow variant never held more than 1");
        assert_eq!(office[0].baseline, 2);
        assert_eq!(office[0].scaled_down_hours, 19.0);
        assert_eq!(office[0].asleep_hours, 0.0);
        assert!((report.money - 19.0 * 0.115).abs() < 1e-9, "{report:?}");
        assert!(report.unpriced.is_empty());
    }

    #[test]
    fn a_sleep_saves_its_baseline_from_the_sleep_to_the_wake_across_the_start() {
        let history = BTreeMap::from([(
            name("nightly"),
            vec![
                entry("nightly", "2026-11-22T20:00:00Z", Held::Asleep),
                entry("nightly", "2026-11-23T08:00:00Z", Held::Awake),
                entry("nightly", "2026-11-23T20:00:00Z", Held::Asleep),
            ],
        )]);
        let sizes = BTreeMap::from([(
            name("nightly"),
            Sizes {
                at_sleep: BTreeMap::from([(variant("AllTraffic"), 3)]),
                ..Sizes::default()
            },
        )]);
        let report = savings(
            &history,
            &sizes,
            &prices(),
            at("2026-11-23T00:00:00Z"),
            at("2026-11-24T00:00:00Z"),
        );
        // Asleep 00:00-08:00 and 20:00-24:00: 12 h of 3 instances. Its type is unknown.
        let v = &report.endpoints[0].variants[0];
        assert_eq!(
            (v.baseline, v.asleep_hours, v.scaled_down_hours),
            (3, 36.0, 0.0)
        );
        assert_eq!(v.money, None);
        assert_eq!(report.instance_hours, 36.0);
        assert_eq!(report.money, 0.0);
        assert!(report.unpriced.contains("type unknown"));
    }

    #[test]
    fn an_endpoint_asleep_since_before_the_history_read_saves_the_whole_period() {
        let history = BTreeMap::from([(name("archive"), Vec::new())]);
        let sizes = BTreeMap::from([(
            name("archive"),
            Sizes {
                at_sleep: BTreeMap::from([(variant("AllTraffic"), 2)]),
                asleep_since: Some(at("2026-09-01T00:00:00Z")),
                ..Sizes::default()
            },
        )]);
        let report = savings(
            &history,
            &sizes,
            &prices(),
            at("2026-11-23T00:00:00Z"),
            at("2026-11-24T00:00:00Z"),
        );
        assert_eq!(report.endpoints[0].variants[0].asleep_hours, 48.0);
        // Woken since: nothing.
        let woken = BTreeMap::from([(
            name("archive"),
            Sizes {
                asleep_since: None,
                ..sizes[&name("archive")].clone()
            },
        )]);
        let report = savings(
            &history,
            &woken,
            &prices(),
            at("2026-11-23T00:00:00Z"),
            at("2026-11-24T00:00:00Z"),
        );
        assert!(report.endpoints.is_empty(), "{report:?}");
    }

    #[test]
    fn a_sleep_the_snapshot_records_counts_from_its_time_and_a_first_wake_ends_an_earlier_sleep() {
        let sizes = BTreeMap::from([(
            name("nightly"),
            Sizes {
                at_sleep: BTreeMap::from([(variant("AllTraffic"), 1)]),
                asleep_since: Some(at("2026-11-23T20:00:00Z")),
                ..Sizes::default()
            },
        )]);
        let day = (at("2026-11-23T00:00:00Z"), at("2026-11-24T00:00:00Z"));
        // No sleep in the history (its entry lost, or older): from the snapshot's time on.
        let quiet = BTreeMap::from([(name("nightly"), Vec::new())]);
        let report = savings(&quiet, &sizes, &prices(), day.0, day.1);
        assert_eq!(report.endpoints[0].variants[0].asleep_hours, 4.0);
        // A wake first: asleep before it, whatever the snapshot says since.
        let woke = BTreeMap::from([(
            name("nightly"),
            vec![entry("nightly", "2026-11-23T06:00:00Z", Held::Awake)],
        )]);
        let report = savings(&woke, &sizes, &prices(), day.0, day.1);
        assert_eq!(report.endpoints[0].variants[0].asleep_hours, 6.0);
    }

    #[test]
    fn a_price_file_is_checked() {
        assert!(Prices::parse(EXAMPLE_PRICES).unwrap().example);
        assert!(Prices::parse("currency: USD\nper_hour: {ml.m5.large: -1}").is_err());
        assert!(Prices::parse("currency: USD\nprice: {}").is_err());
    }
}
