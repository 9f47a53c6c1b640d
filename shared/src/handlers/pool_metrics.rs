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
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::fan_out::FanOut;
use super::lifecycle::{home, rejected};
use crate::act::{Batch, Executor};
use crate::aws::{self, AwsError};
use crate::config::{Config, ConfigSource};
use crate::env::Env;
use crate::error::HandlerError;
use crate::events::{PlaceTick, ScheduledEvent};
use crate::fleet::Endpoint;
use crate::lifecycle::Actor;
use crate::names::EndpointName;
use crate::outcome::Outcome;
use crate::permissions::Function;
use crate::places::Place;
use crate::plan::Planned;
use crate::pool::{
    self, ConfigShape, ExistingPolicies, POOL_CAPACITY_TAG, PolicyKind, Problem,
    TARGET_UTILIZATION_TAG, VariantPools,
};

/// EndpointConfigs by name, which cannot change.
type Shapes = HashMap<String, ConfigShape>;

pub struct PoolMetrics {
    /// The hub's own place.
    executor: Executor,
    /// The document, for the places it manages.
    config: ConfigSource,
    /// The spokes' runs.
    fan_out: FanOut,
    /// The clock a run's time must not be ahead of.
    clock: Env,
    /// How each EndpointConfig runs its variants, by place (`None`: the hub's): read once per
    /// container.
    shapes: Mutex<HashMap<Option<Place>, Shapes>>,
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
    /// `<account>/<region>` of a spoke's run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The hub's run: the places (`<account>/<region>`) whose runs it queued, each carried
    /// out on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spokes: Vec<String>,
}

impl PoolMetrics {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Self {
        Self {
            executor: Executor::new(sdk, env),
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), env),
            fan_out: FanOut::new(sdk, env, Function::PoolMetrics),
            clock: env.clone(),
            shapes: Mutex::new(HashMap::new()),
        }
    }

    /// EventBridge's minute: the hub's own place, while it queues a run for each other place
    /// the document manages; or one such place's run. The hub's own metrics never wait on the
    /// document: they are published beside the queueing, and if the document cannot be read,
    /// the run fails after publishing them (no other place was queued).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<MetricsReport, HandlerError> {
        let home = home(&event.context)?;
        let clock = self.clock.now();
        if let Some(tick) = PlaceTick::parse(&event.payload) {
            let tick = tick.and_then(|t| t.not_ahead_of(clock)).map_err(rejected)?;
            let config = self.config.get().await.inspect_err(
                |e| tracing::error!(error = %e, "configuration rejected; nothing published"),
            )?;
            let managed = config.managed(home);
            let (spoke, sdk) = self.fan_out.reach(&tick, &managed, &self.executor).await?;
            let executor = self.executor.in_spoke(&sdk, spoke);
            let now = tick.tick.time;
            let report = self.publish(&executor, Some(&spoke.place), now).await;
            return self
                .fan_out
                .observed(report, &spoke.place, now, &self.executor)
                .await;
        }
        let now = ScheduledEvent::parse(event.payload, &home)
            .and_then(|tick| tick.not_ahead_of(clock))
            .map_err(rejected)?
            .time;
        let queued = async {
            let config = self.config.get().await.inspect_err(
                |e| tracing::error!(error = %e, "configuration rejected; the hub's own metrics are published, no other place's"),
            )?;
            let managed = config.managed(home);
            let invoked = &event.context.invoked_function_arn;
            let queued = self
                .fan_out
                .queue(managed.spokes(), invoked, now, &self.executor);
            Ok::<_, HandlerError>(queued.await)
        };
        let (queued, report) = tokio::join!(queued, self.publish(&self.executor, None, now));
        let mut report = report?;
        let (spokes, queued) = queued?;
        report.spokes = spokes;
        queued?;
        Ok(report)
    }

    /// The minute of `now` at the place `executor` acts in (`place`: a spoke's).
    async fn publish(
        &self,
        executor: &Executor,
        place: Option<&Place>,
        now: Timestamp,
    ) -> Result<MetricsReport, HandlerError> {
        let found: Vec<Endpoint> =
            aws::sagemaker::endpoints_tagged(&executor.sagemaker, &[POOL_CAPACITY_TAG])
                .await?
                .into_iter()
                .filter(Endpoint::is_in_service)
                .collect();
        let (shapes, mut problems) = self.shapes(executor, place, &found).await;
        let (endpoints, more) = Self::counted(executor, found, &shapes).await;
        problems.extend(more);
        let mut variants: Vec<VariantPools> = Vec::new();
        for endpoint in &endpoints {
            // An EndpointConfig that could not be read is a problem reported already.
            let Some(shape) = endpoint.config_name.as_ref().and_then(|c| shapes.get(c)) else {
                continue;
            };
            match pool::resolve(endpoint, shape) {
                Ok(v) => variants.extend(v),
                Err(p) => problems.push(p),
            }
        }
        drop(shapes);

        let series = pool::series(&variants);
        let reads =
            aws::cloudwatch::read(&executor.cloudwatch, &series, pool::window_start(now), now)
                .await?;
        // A series CloudWatch did not answer in full could turn late data into a false zero:
        // its endpoint waits for the next run.
        let incomplete: BTreeSet<EndpointName> = series
            .iter()
            .zip(&reads)
            .filter(|(_, read)| !read.complete)
            .map(|(s, _)| s.endpoint().clone())
            .collect();
        problems.extend(incomplete.iter().map(|endpoint| Problem {
            endpoint: endpoint.clone(),
            message:
                "CloudWatch returned its metrics incompletely; the next run publishes them".into(),
        }));
        let fetched: BTreeMap<_, _> = series
            .into_iter()
            .zip(reads)
            .map(|(s, read)| (s, read.values))
            .collect();
        let complete: Vec<VariantPools> = variants
            .iter()
            .filter(|v| !incomplete.contains(&v.variant.endpoint))
            .cloned()
            .collect();
        let (points, more) = pool::datapoints(now, &complete, &fetched);
        problems.extend(more);

        // Policies that cannot be read are not changed this run; the metrics still go out, and
        // the run then fails, to be seen.
        let existing = Self::existing_policies(executor, &endpoints).await;
        let (policies, more) = match &existing {
            Ok(existing) => pool::plan_policies(&endpoints, &variants, existing),
            Err(_) => (Vec::new(), Vec::new()),
        };
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
        let reports = executor.run(&batch).await?.reports();
        for p in &problems {
            tracing::error!(endpoint = %p.endpoint, problem = %p.message, "endpoint not published");
        }
        tracing::info!(now = %now, variants = variants.len(), datapoints, "metrics published");
        HandlerError::check(reports.iter().map(|r| &r.outcome))?;
        existing?;
        let published = reports[..publications.len()]
            .iter()
            .any(|r| r.outcome == Outcome::Applied);
        Ok(MetricsReport {
            now,
            dry_run: executor.dry_run,
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
            place: place.map(Place::to_string),
            spokes: Vec::new(),
        })
    }

    /// How the endpoints' EndpointConfigs run their variants. Configs not seen before in this
    /// container are described a few at a time; the rest come from the cache. An endpoint
    /// whose config cannot be read is a problem (tried again next run); the others go on.
    async fn shapes(
        &self,
        executor: &Executor,
        place: Option<&Place>,
        endpoints: &[Endpoint],
    ) -> (MappedMutexGuard<'_, Shapes>, Vec<Problem>) {
        let mut cache = MutexGuard::map(self.shapes.lock().await, |by_place| {
            by_place.entry(place.cloned()).or_default()
        });
        let missing: BTreeSet<&str> = endpoints
            .iter()
            .filter_map(|e| e.config_name.as_deref())
            .filter(|c| !cache.contains_key(*c))
            .collect();
        let described: Vec<_> = futures::stream::iter(missing)
            .map(|config| async move {
                let shape = aws::sagemaker::config_shape(&executor.sagemaker, config).await;
                (config, shape)
            })
            .buffer_unordered(aws::CONCURRENCY)
            .collect()
            .await;
        let mut failed = BTreeMap::new();
        for (config, shape) in described {
            match shape {
                Ok(shape) => {
                    cache.insert(config.to_owned(), shape);
                }
                Err(e) => {
                    failed.insert(config, e);
                }
            }
        }
        let problems = endpoints
            .iter()
            .filter_map(|e| {
                let why = match e.config_name.as_deref() {
                    Some(config) => failed.get(config)?.to_string(),
                    None => "SageMaker names no EndpointConfig for it".to_owned(),
                };
                Some(Problem {
                    endpoint: e.name.clone(),
                    message: format!("its EndpointConfig could not be read ({why}); not published"),
                })
            })
            .collect();
        (cache, problems)
    }

    /// The endpoints with the instance counts of their pools from DescribeEndpoint, a few at a
    /// time, for those whose EndpointConfig has instance pools; the others keep Search's
    /// single-type counts. One that cannot be described (deleted meanwhile, throttled) is a
    /// problem, and the others go on.
    async fn counted(
        executor: &Executor,
        endpoints: Vec<Endpoint>,
        shapes: &Shapes,
    ) -> (Vec<Endpoint>, Vec<Problem>) {
        let pooled = |e: &Endpoint| {
            e.config_name
                .as_ref()
                .and_then(|c| shapes.get(c))
                .is_some_and(ConfigShape::pooled)
        };
        let described: Vec<Result<Endpoint, Problem>> = futures::stream::iter(endpoints)
            .map(|mut endpoint| async move {
                if pooled(&endpoint) {
                    let variants =
                        aws::sagemaker::described_variants(&executor.sagemaker, &endpoint.name)
                            .await
                            .map_err(|e| Problem {
                                endpoint: endpoint.name.clone(),
                                message: format!(
                                    "its instance pools could not be counted ({e}); not published"
                                ),
                            })?;
                    endpoint.variants = variants;
                }
                Ok(endpoint)
            })
            .buffered(aws::CONCURRENCY)
            .collect()
            .await;
        let mut counted = Vec::new();
        let mut problems = Vec::new();
        for result in described {
            match result {
                Ok(endpoint) => counted.push(endpoint),
                Err(problem) => problems.push(problem),
            }
        }
        (counted, problems)
    }

    /// sagetide's pool policies as they exist; the scale-out alarms only where one may exist.
    async fn existing_policies(
        executor: &Executor,
        endpoints: &[Endpoint],
    ) -> Result<ExistingPolicies, AwsError> {
        if endpoints.is_empty() {
            return Ok(ExistingPolicies::default());
        }
        let mut existing = aws::policies::existing(&executor.autoscaling).await?;
        let alarms_may_exist = endpoints
            .iter()
            .any(|e| e.tag(TARGET_UTILIZATION_TAG).is_some())
            || existing
                .policies
                .keys()
                .any(|(_, kind)| *kind == PolicyKind::FastScaleOut);
        if alarms_may_exist {
            existing.alarms = aws::policies::scale_out_alarms(&executor.cloudwatch).await?;
        }
        Ok(existing)
    }
}

fn describe(p: &Problem) -> String {
    format!("{}: {}", p.endpoint, p.message)
}
