//! The `pool-metrics` function: every minute, `Sagetide/FleetUtilization` for each variant of
//! the endpoints tagged `sagetide:pool-capacity`, and (with `sagetide:target-utilization`) the
//! target-tracking policy that scales on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;

use aws_config::SdkConfig;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

use super::lifecycle::home;
use crate::act::{Batch, Executor};
use crate::aws::{self, AwsError};
use crate::config::Config;
use crate::env::Env;
use crate::error::HandlerError;
use crate::events::ScheduledEvent;
use crate::fleet::Endpoint;
use crate::lifecycle::Actor;
use crate::names::VariantName;
use crate::outcome::Outcome;
use crate::plan::Planned;
use crate::pool::{self, POOL_CAPACITY_TAG, Problem, VariantPools};

/// `ConcurrentRequestsPerModel` is a high-resolution metric: 10-second buckets.
const BUCKET_SECONDS: i64 = 10;
/// Each run publishes the buckets of the last minute.
const WINDOW: SignedDuration = SignedDuration::from_secs(60);

/// Instance type of each single-type variant, by EndpointConfig name.
type ConfigTypes = HashMap<String, Vec<(VariantName, String)>>;

pub struct PoolMetrics {
    executor: Executor,
    /// Instance types of single-type variants by EndpointConfig, which cannot change: read
    /// once per container.
    config_types: Mutex<ConfigTypes>,
}

#[derive(Debug, Serialize)]
pub struct MetricsReport {
    pub now: Timestamp,
    pub dry_run: bool,
    pub variants: usize,
    pub datapoints: usize,
    pub put_metric_data_calls: usize,
    pub policies_put: Vec<String>,
    pub problems: Vec<String>,
}

impl PoolMetrics {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Self {
        Self {
            executor: Executor::new(sdk, env),
            config_types: Mutex::new(HashMap::new()),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<MetricsReport, HandlerError> {
        let now = ScheduledEvent::parse(event.payload, &home(&event.context)?)
            .inspect_err(|e| tracing::error!(error = %e, "rejected event"))?
            .time;
        let end = bucket_start(now);
        let start = end - WINDOW;

        let endpoints: Vec<Endpoint> =
            aws::sagemaker::endpoints_tagged(&self.executor.sagemaker, &[POOL_CAPACITY_TAG])
                .await?
                .into_iter()
                .filter(Endpoint::is_in_service)
                .collect();
        let types = self.single_types(&endpoints).await?;
        let mut problems = Vec::new();
        let mut variants: Vec<VariantPools> = Vec::new();
        for endpoint in &endpoints {
            let config_types = endpoint
                .config_name
                .as_ref()
                .and_then(|c| types.get(c))
                .map(Vec::as_slice)
                .unwrap_or_default();
            match pool::resolve(endpoint, config_types) {
                Ok(v) => variants.extend(v),
                Err(p) => problems.push(p),
            }
        }
        drop(types);

        let series = pool::series(&variants);
        let values = aws::cloudwatch::concurrency(
            &self.executor.cloudwatch,
            &series,
            start,
            end,
            BUCKET_SECONDS as i32,
        )
        .await?;
        let fetched: BTreeMap<_, _> = series.into_iter().zip(values).collect();
        let (points, more) = pool::datapoints(&variants, &fetched);
        problems.extend(more);

        let existing = if endpoints
            .iter()
            .any(|e| e.tag(pool::TARGET_UTILIZATION_TAG).is_some())
        {
            aws::policies::fleet_utilization_targets(&self.executor.autoscaling).await?
        } else {
            Vec::new()
        };
        let (policies, more) = pool::policies_to_put(&endpoints, &variants, &existing);
        problems.extend(more);

        let datapoints = points.len();
        let publications = pool::publications(points);
        let actions: Vec<Planned> = publications.iter().chain(&policies).cloned().collect();
        let who = format!("pool-metrics@{now}");
        // pool-metrics plans no sleep, so no schedule is ever looked up.
        let no_schedules = Config::default();
        let batch = Batch {
            actions: &actions,
            actor: Actor { who: &who, now },
            config: &no_schedules,
            tick_clock: None,
        };
        let reports = self.executor.run(&batch).await?.reports();
        for p in &problems {
            tracing::error!(endpoint = %p.endpoint, problem = %p.message, "endpoint not published");
        }
        tracing::info!(now = %now, variants = variants.len(), datapoints, "metrics published");
        HandlerError::check(reports.iter().map(|r| &r.outcome))?;
        let published = reports[..publications.len()]
            .iter()
            .any(|r| r.outcome == Outcome::Applied);
        Ok(MetricsReport {
            now,
            dry_run: self.executor.dry_run,
            variants: variants.len(),
            datapoints,
            put_metric_data_calls: if published {
                aws::cloudwatch::put_calls(datapoints)
            } else {
                0
            },
            policies_put: policies
                .iter()
                .zip(&reports[publications.len()..])
                .map(|(p, r)| format!("{}: {} ({})", p.endpoint, p.action, r.outcome.label()))
                .collect(),
            problems: problems.iter().map(describe).collect(),
        })
    }

    /// Instance types of the single-type variants, by EndpointConfig. Configs not seen before
    /// in this container are described a few at a time; the rest come from the cache.
    async fn single_types(
        &self,
        endpoints: &[Endpoint],
    ) -> Result<MutexGuard<'_, ConfigTypes>, AwsError> {
        let mut cache = self.config_types.lock().await;
        let missing: BTreeSet<&str> = endpoints
            .iter()
            .filter(|e| e.variants.iter().any(|v| v.pools.is_empty()))
            .filter_map(|e| e.config_name.as_deref())
            .filter(|c| !cache.contains_key(*c))
            .collect();
        let described: Vec<_> = futures::stream::iter(missing)
            .map(|config| async move {
                aws::sagemaker::variant_instance_types(&self.executor.sagemaker, config)
                    .await
                    .map(|types| (config.to_owned(), types))
            })
            .buffer_unordered(aws::CONCURRENCY)
            .collect()
            .await;
        for result in described {
            let (config, types) = result?;
            cache.insert(config, types);
        }
        Ok(cache)
    }
}

fn describe(p: &Problem) -> String {
    format!("{}: {}", p.endpoint, p.message)
}

/// The start of the 10-second bucket that contains `t`.
fn bucket_start(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(BUCKET_SECONDS)).expect("within range")
}
