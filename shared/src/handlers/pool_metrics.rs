//! The `pool-metrics` function: every minute, `Sagetide/FleetUtilization` for each variant of
//! the endpoints tagged `sagetide:pool-capacity` (and `BacklogPerCapacity` for asynchronous
//! ones), for the buckets that landed since the last run, and the policies their tags ask for.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;

use aws_config::SdkConfig;
use jiff::Timestamp;
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
use crate::outcome::Outcome;
use crate::plan::Planned;
use crate::pool::{
    self, ConfigShape, ExistingPolicies, POOL_CAPACITY_TAG, PolicyKind, Problem,
    TARGET_UTILIZATION_TAG, VariantPools,
};

/// EndpointConfigs by name, which cannot change.
type Shapes = HashMap<String, ConfigShape>;

pub struct PoolMetrics {
    executor: Executor,
    /// How each EndpointConfig runs its variants: read once per container.
    shapes: Mutex<Shapes>,
}

#[derive(Debug, Serialize)]
pub struct MetricsReport {
    pub now: Timestamp,
    pub dry_run: bool,
    pub variants: usize,
    pub datapoints: usize,
    pub put_metric_data_calls: usize,
    /// Each policy put or deleted, with its outcome.
    pub policies: Vec<String>,
    pub problems: Vec<String>,
}

impl PoolMetrics {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Self {
        Self {
            executor: Executor::new(sdk, env),
            shapes: Mutex::new(HashMap::new()),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<MetricsReport, HandlerError> {
        let now = ScheduledEvent::parse(event.payload, &home(&event.context)?)
            .inspect_err(|e| tracing::error!(error = %e, "rejected event"))?
            .time;

        let found: Vec<Endpoint> =
            aws::sagemaker::endpoints_tagged(&self.executor.sagemaker, &[POOL_CAPACITY_TAG])
                .await?
                .into_iter()
                .filter(Endpoint::is_in_service)
                .collect();
        let shapes = self.shapes(&found).await?;
        let endpoints = self.counted(found, &shapes).await?;
        let mut problems = Vec::new();
        let mut variants: Vec<VariantPools> = Vec::new();
        let no_shape = ConfigShape::default();
        for endpoint in &endpoints {
            let shape = endpoint
                .config_name
                .as_ref()
                .and_then(|c| shapes.get(c))
                .unwrap_or(&no_shape);
            match pool::resolve(endpoint, shape) {
                Ok(v) => variants.extend(v),
                Err(p) => problems.push(p),
            }
        }
        drop(shapes);

        let series = pool::series(&variants);
        let values = aws::cloudwatch::read(
            &self.executor.cloudwatch,
            &series,
            pool::window_start(now),
            now,
        )
        .await?;
        let fetched: BTreeMap<_, _> = series.into_iter().zip(values).collect();
        let (points, more) = pool::datapoints(now, &variants, &fetched);
        problems.extend(more);

        let existing = self.existing_policies(&endpoints).await?;
        let (policies, more) = pool::plan_policies(&endpoints, &variants, &existing);
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
            policies: policies
                .iter()
                .zip(&reports[publications.len()..])
                .map(|(p, r)| format!("{}: {} ({})", p.endpoint, p.action, r.outcome.label()))
                .collect(),
            problems: problems.iter().map(describe).collect(),
        })
    }

    /// How the endpoints' EndpointConfigs run their variants. Configs not seen before in this
    /// container are described a few at a time; the rest come from the cache.
    async fn shapes(&self, endpoints: &[Endpoint]) -> Result<MutexGuard<'_, Shapes>, AwsError> {
        let mut cache = self.shapes.lock().await;
        let missing: BTreeSet<&str> = endpoints
            .iter()
            .filter_map(|e| e.config_name.as_deref())
            .filter(|c| !cache.contains_key(*c))
            .collect();
        let described: Vec<_> = futures::stream::iter(missing)
            .map(|config| async move {
                aws::sagemaker::config_shape(&self.executor.sagemaker, config)
                    .await
                    .map(|shape| (config.to_owned(), shape))
            })
            .buffer_unordered(aws::CONCURRENCY)
            .collect()
            .await;
        for result in described {
            let (config, shape) = result?;
            cache.insert(config, shape);
        }
        Ok(cache)
    }

    /// The endpoints with the instance counts of their pools from DescribeEndpoint, a few at a
    /// time, for those whose EndpointConfig has instance pools; the others keep Search's
    /// single-type counts.
    async fn counted(
        &self,
        endpoints: Vec<Endpoint>,
        shapes: &Shapes,
    ) -> Result<Vec<Endpoint>, AwsError> {
        let pooled = |e: &Endpoint| {
            e.config_name
                .as_ref()
                .and_then(|c| shapes.get(c))
                .is_some_and(ConfigShape::pooled)
        };
        futures::stream::iter(endpoints)
            .map(|mut endpoint| async move {
                if pooled(&endpoint) {
                    endpoint.variants = aws::sagemaker::described_variants(
                        &self.executor.sagemaker,
                        &endpoint.name,
                    )
                    .await?;
                }
                Ok(endpoint)
            })
            .buffered(aws::CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// sagetide's pool policies as they exist; the scale-out alarms only where one may exist.
    async fn existing_policies(
        &self,
        endpoints: &[Endpoint],
    ) -> Result<ExistingPolicies, AwsError> {
        if endpoints.is_empty() {
            return Ok(ExistingPolicies::default());
        }
        let mut existing = aws::policies::existing(&self.executor.autoscaling).await?;
        let alarms_may_exist = endpoints
            .iter()
            .any(|e| e.tag(TARGET_UTILIZATION_TAG).is_some())
            || existing
                .policies
                .keys()
                .any(|(_, kind)| *kind == PolicyKind::FastScaleOut);
        if alarms_may_exist {
            existing.alarms = aws::policies::scale_out_alarms(&self.executor.cloudwatch).await?;
        }
        Ok(existing)
    }
}

fn describe(p: &Problem) -> String {
    format!("{}: {}", p.endpoint, p.message)
}
