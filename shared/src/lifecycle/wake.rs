//! Wake: the endpoint is created again from its snapshot (its EndpointConfig and models first,
//! where they were deleted meanwhile); a wake that fails is made visible, cleaned up and tried
//! again later.

use super::decide::{self, RecoverDecision, WakeDecision};
use super::{Actor, Found, Lifecycle, Step};
use crate::aws::{self, AwsError};
use crate::names::EndpointName;
use crate::snapshot::{Phase, Snapshot, Stored, WakeAttempt};
use crate::tags::WakeSource;

/// A wake decided on: the snapshot to create the endpoint from, and the attempt to record.
pub(super) struct Work {
    stored: Box<Stored>,
    version: u64,
    phase: Phase,
    attempt: WakeAttempt,
}

impl Lifecycle {
    /// Whether `decide::wake` allows `source` to create the endpoint again.
    pub(super) async fn prepare_wake(
        &self,
        name: &EndpointName,
        source: WakeSource,
        alarm: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        let stored = self.table.snapshot(name).await?;
        let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
        let step = match decide::wake(stored.as_ref(), endpoint.as_ref(), source, alarm, actor.now)
        {
            WakeDecision::Decline(reason) => Step::Declined(reason),
            WakeDecision::Done(reason) => Step::AlreadyDone(reason),
            WakeDecision::Retry(reason) => Step::Deferred(reason),
            WakeDecision::Create { version, phase } => {
                let stored = stored.expect("a wake needs a snapshot");
                let attempt = WakeAttempt::asked(stored.wake.as_ref(), source, alarm, actor.now);
                return Ok(Found::Work(super::Work::Wake(Work {
                    stored: Box::new(stored),
                    version,
                    phase,
                    attempt,
                })));
            }
        };
        Ok(Found::Nothing(step))
    }

    /// Records the attempt, then creates the endpoint again from its snapshot.
    pub(super) async fn wake(
        &self,
        name: &EndpointName,
        work: Work,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        let Work {
            stored,
            version,
            phase,
            attempt,
        } = work;
        if !self.table.set_wake(name, version, phase, &attempt).await? {
            return Ok(Step::Deferred(
                "its snapshot changed meanwhile; the wake is tried again".into(),
            ));
        }
        match self.create(name, &stored.snapshot).await {
            Ok(detail) => Ok(Step::Applied(detail)),
            // Refused (a quota, a permission, a definition AWS no longer takes): a wake that
            // failed, seen and tried again later like one that failed in SageMaker.
            Err(e) if e.refused => {
                let failed = attempt.failed(&e.to_string(), actor.now, None);
                self.record_failure(name, version + 1, &failed).await?;
                Ok(Step::Failed(retried(&failed)))
            }
            Err(e) => Err(e),
        }
    }

    /// The models and the EndpointConfig the snapshot needs, created again where they were
    /// deleted, then the endpoint. What it did.
    async fn create(&self, name: &EndpointName, snapshot: &Snapshot) -> Result<String, AwsError> {
        let config = &snapshot.endpoint_config;
        let recreated = match &snapshot.definitions {
            Some(definitions) => {
                aws::definitions::recreate_missing(&self.sagemaker, name, definitions).await?
            }
            None => {
                missing_config_is_an_error(&self.sagemaker, name, config).await?;
                Vec::new()
            }
        };
        aws::sagemaker::create_endpoint(&self.sagemaker, name, config, snapshot.settable_tags())
            .await?;
        let recreated = if recreated.is_empty() {
            String::new()
        } else {
            format!(", after creating again {}", recreated.join(" and "))
        };
        Ok(format!(
            "created from EndpointConfig {config} with {} tags{recreated}",
            snapshot.settable_tags().count()
        ))
    }

    /// Whether a wake went wrong: a woken endpoint that `Failed` is deleted (a failed
    /// endpoint can only be deleted) and its wake is tried again after a while, as
    /// [`WakeAttempt::failed`] says; one `Creating` for too long is reported. Either way the
    /// failure is counted in `Sagetide/WakeFailures`, logged as an error and kept in the
    /// history.
    pub(super) async fn prepare_recovery(
        &self,
        name: &EndpointName,
        actor: Actor<'_>,
    ) -> Result<Found, AwsError> {
        let stored = self.table.snapshot(name).await?;
        let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
        let recovery = decide::recover(stored.as_ref(), endpoint.as_ref(), actor.now);
        if let RecoverDecision::Done(reason) = recovery {
            return Ok(Found::Nothing(Step::AlreadyDone(reason)));
        }
        Ok(Found::Work(super::Work::Recover(recovery)))
    }

    pub(super) async fn recover(
        &self,
        name: &EndpointName,
        recovery: RecoverDecision,
    ) -> Result<Step, AwsError> {
        match recovery {
            RecoverDecision::Done(reason) => Ok(Step::AlreadyDone(reason)),
            RecoverDecision::DeleteRecorded => {
                aws::sagemaker::delete_endpoint(&self.sagemaker, name).await?;
                Ok(Step::AlreadyDone(
                    "its failure was recorded before; the failed endpoint is deleted".into(),
                ))
            }
            // Recorded first, deleted after: a recovery cut short in between is finished by
            // the next tick without counting the failure twice.
            RecoverDecision::DeleteFailed { version, attempt } => {
                self.record_failure(name, version, &attempt).await?;
                aws::sagemaker::delete_endpoint(&self.sagemaker, name).await?;
                Ok(Step::Failed(format!(
                    "{}; the failed endpoint is deleted",
                    retried(&attempt)
                )))
            }
            RecoverDecision::ReportSlow { version, attempt } => {
                self.record_failure(name, version, &attempt).await?;
                Ok(Step::Failed(format!(
                    "still Creating since {}; SageMaker is waited for (a Creating endpoint \
                     cannot be deleted), and it is deleted and woken again if it fails",
                    attempt.asked_at
                )))
            }
        }
    }

    /// Counts the failure in `Sagetide/WakeFailures`, then records it in the snapshot. Counted
    /// first: a crash in between counts it again rather than not at all.
    async fn record_failure(
        &self,
        name: &EndpointName,
        version: u64,
        attempt: &WakeAttempt,
    ) -> Result<(), AwsError> {
        aws::cloudwatch::count_wake_failure(&self.metrics, name).await?;
        if self
            .table
            .set_wake(name, version, Phase::Asleep, attempt)
            .await?
        {
            Ok(())
        } else {
            Err(AwsError {
                operation: "dynamodb:UpdateItem",
                message: format!(
                    "the snapshot of {name} changed while its failed wake was being recorded; \
                     the next tick records it"
                ),
                refused: false,
            })
        }
    }
}

/// What a failed attempt means for the next one.
fn retried(attempt: &WakeAttempt) -> String {
    format!(
        "wake {} by {} failed: {}; it is tried again from {}",
        attempt.failures,
        attempt.source,
        attempt.last_failure.as_deref().unwrap_or("no reason given"),
        attempt
            .retry_after
            .map_or_else(String::new, |t| t.to_string()),
    )
}

/// A snapshot from before definitions were kept cannot create the EndpointConfig again.
async fn missing_config_is_an_error(
    client: &aws_sdk_sagemaker::Client,
    name: &EndpointName,
    config: &str,
) -> Result<(), AwsError> {
    let found = client
        .describe_endpoint_config()
        .endpoint_config_name(config)
        .send()
        .await;
    match found {
        Ok(_) => Ok(()),
        Err(e) if aws::sagemaker::is_not_found(&e) => Err(AwsError {
            operation: "sagemaker:DescribeEndpointConfig",
            message: format!(
                "cannot wake {name}: its EndpointConfig {config} no longer exists and its \
                 snapshot is older than the definitions sagetide keeps. The snapshot is kept: \
                 recreate the EndpointConfig under that name and wake it again"
            ),
            refused: true,
        }),
        Err(e) => Err(AwsError::new("sagemaker:DescribeEndpointConfig", e)),
    }
}
