//! The `scheduler` function: each tick makes every scheduled endpoint's capacity match its
//! schedule for *now*.

use aws_config::SdkConfig;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::act::{self, Executor, Outcome};
use crate::aws;
use crate::config::ConfigSource;
use crate::env::Env;
use crate::error::HandlerError;
use crate::events::ScheduledEvent;
use crate::fleet::Endpoint;
use crate::names::VariantRef;
use crate::plan;
use crate::tags;

pub struct Scheduler {
    config: ConfigSource,
    executor: Executor,
}

/// What one tick did; the function's response, and the demo's timeline source.
#[derive(Debug, Serialize)]
pub struct TickReport {
    pub now: Timestamp,
    pub dry_run: bool,
    pub endpoints: usize,
    pub actions: Vec<ActionReport>,
    pub skipped: Vec<SkipReport>,
}

#[derive(Debug, Serialize)]
pub struct ActionReport {
    pub endpoint: String,
    pub action: &'static str,
    pub detail: String,
    pub reason: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Serialize)]
pub struct SkipReport {
    pub endpoint: String,
    pub why: String,
}

impl Scheduler {
    pub fn new(sdk: &SdkConfig, env: &Env) -> Self {
        Self {
            config: ConfigSource::new(aws_sdk_ssm::Client::new(sdk), &env.config_parameter),
            executor: Executor {
                sagemaker: aws_sdk_sagemaker::Client::new(sdk),
                autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
                dry_run: env.dry_run,
            },
        }
    }

    pub async fn handle(&self, payload: Value) -> Result<TickReport, HandlerError> {
        let now = ScheduledEvent::parse(payload)
            .inspect_err(|e| tracing::error!(error = %e, "rejected event"))?
            .time;
        let config = self.config.get().await.inspect_err(
            |e| tracing::error!(error = %e, "configuration rejected; nothing changed"),
        )?;

        let endpoints = self.observe_endpoints().await?;
        let variants: Vec<VariantRef> = endpoints.iter().flat_map(Endpoint::variant_refs).collect();
        let targets =
            aws::autoscaling::variant_targets(&self.executor.autoscaling, &variants).await?;

        let plan = plan::scheduler::plan(&endpoints, &targets, &config, now);
        for skipped in &plan.skipped {
            tracing::warn!(endpoint = %skipped.endpoint, why = %skipped.why, "endpoint skipped");
        }
        let outcomes = self.executor.run(&plan.actions).await;

        let failed = act::failures(&outcomes);
        let report = TickReport {
            now,
            dry_run: self.executor.dry_run,
            endpoints: endpoints.len(),
            actions: plan
                .actions
                .into_iter()
                .zip(outcomes)
                .map(|(p, outcome)| ActionReport {
                    endpoint: p.endpoint.to_string(),
                    action: p.action.kind(),
                    detail: p.action.to_string(),
                    reason: p.reason,
                    outcome,
                })
                .collect(),
            skipped: plan
                .skipped
                .into_iter()
                .map(|s| SkipReport {
                    endpoint: s.endpoint.to_string(),
                    why: s.why,
                })
                .collect(),
        };
        tracing::info!(
            now = %now,
            endpoints = report.endpoints,
            actions = report.actions.len(),
            failed,
            skipped = report.skipped.len(),
            "tick done"
        );
        if failed > 0 {
            return Err(HandlerError::ActionsFailed {
                failed,
                total: report.actions.len(),
            });
        }
        Ok(report)
    }

    async fn observe_endpoints(&self) -> Result<Vec<Endpoint>, aws::AwsError> {
        aws::sagemaker::endpoints_tagged(&self.executor.sagemaker, tags::SCHEDULE).await
    }
}
