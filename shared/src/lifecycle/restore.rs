//! Restore: once a woken endpoint is InService, everything its deletion lost comes back from
//! the snapshot.

use super::decide::{self, RestoreDecision};
use super::{Actor, Lifecycle, Report, Step};
use crate::aws;
use crate::aws::scaling_state::Restored;
use crate::fleet::Endpoint;
use crate::names::{EndpointName, VariantRef};
use crate::snapshot::{Phase, Snapshot, VariantSettings};

impl Lifecycle {
    /// Brings back the scalable targets (with their tags, policies, the alarms that run its
    /// step policies, and scheduled actions), the endpoint policy, and the variants' weights
    /// and instance counts of an endpoint that is InService again, then marks its snapshot
    /// restored. The weights come last: setting them makes the endpoint `Updating`, which
    /// Application Auto Scaling would refuse to register targets on.
    pub async fn restore(&self, name: &EndpointName, why: &str, actor: Actor<'_>) -> Report {
        self.leased(name, "restore", why, actor, async {
            let stored = self.table.snapshot(name).await?;
            let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
            match decide::restore(stored.as_ref(), endpoint.as_ref()) {
                RestoreDecision::Done(reason) => Ok(Step::AlreadyDone(reason)),
                RestoreDecision::Decline(reason) => Ok(Step::Declined(reason)),
                RestoreDecision::Wait(reason) => Ok(Step::Deferred(reason)),
                RestoreDecision::Restore { .. } if self.dry_run => Ok(Step::DryRun),
                RestoreDecision::Restore { version } => {
                    let snapshot = &stored.expect("a restore needs a snapshot").snapshot;
                    let endpoint = endpoint.expect("only an existing endpoint is restored");
                    let mut restored = Restored::default();
                    for target in &snapshot.targets {
                        let variant = VariantRef {
                            endpoint: name.clone(),
                            variant: target.variant.clone(),
                        };
                        aws::scaling_state::write(
                            &self.autoscaling,
                            &self.cloudwatch,
                            &variant,
                            target,
                            actor.now,
                            &mut restored,
                        )
                        .await;
                    }
                    if let Some(policy) = &snapshot.endpoint_policy {
                        let put =
                            aws::definitions::put_endpoint_policy(&self.sagemaker, name, policy)
                                .await;
                        restored.item("the endpoint policy".into(), put);
                    }
                    let (step, mut more) = weights_step(snapshot, &endpoint);
                    if let Some(step) = &step {
                        let set =
                            aws::sagemaker::set_weights_and_capacities(&self.sagemaker, name, step)
                                .await;
                        // Refused, the rest of the counts would be too.
                        more &=
                            restored.item("the variants' weights and instance counts".into(), set);
                    }
                    if let Some(error) = restored.failed {
                        return Err(error);
                    }
                    if more {
                        // SageMaker takes one variant's instance count per update, and the
                        // endpoint is Updating until it has applied it: the next IN_SERVICE
                        // (or tick) goes on from here.
                        return Ok(summary(version, &restored, true));
                    }
                    if !self
                        .table
                        .set_phase(name, version, Phase::Asleep, Phase::Restored)
                        .await?
                    {
                        return Ok(Step::Deferred(
                            "its snapshot changed meanwhile; the restore runs again".into(),
                        ));
                    }
                    Ok(summary(version, &restored, false))
                }
            }
        })
        .await
    }
}

/// The next UpdateEndpointWeightsAndCapacities that brings the new endpoint's variants to the
/// weights and instance counts they had at the sleep, and whether more will be needed after
/// it. SageMaker updates "variant weight of one or more variants … or capacity of one
/// variant" at a time, so the weights go first, in one call, then one variant's instance count
/// per call (within the restored target's bounds, which Application Auto Scaling would
/// otherwise correct at once).
fn weights_step(snapshot: &Snapshot, endpoint: &Endpoint) -> (Option<Vec<VariantSettings>>, bool) {
    let mut weights = Vec::new();
    let mut counts = Vec::new();
    for wanted in &snapshot.variants {
        let Some(now) = endpoint.variants.iter().find(|v| v.name == wanted.variant) else {
            continue;
        };
        if wanted.weight.is_some() && wanted.weight != now.desired_weight {
            weights.push(VariantSettings {
                variant: wanted.variant.clone(),
                weight: wanted.weight,
                instances: None,
            });
        }
        let bounds = snapshot
            .targets
            .iter()
            .find(|t| t.variant == wanted.variant);
        let instances = wanted.instances.map(|n| match bounds {
            Some(t) => n.clamp(
                u32::try_from(t.min).unwrap_or(0),
                u32::try_from(t.max).unwrap_or(u32::MAX),
            ),
            None => n,
        });
        if instances.is_some() && instances != now.desired_instances {
            counts.push(VariantSettings {
                variant: wanted.variant.clone(),
                weight: None,
                instances,
            });
        }
    }
    if !weights.is_empty() {
        let more = !counts.is_empty();
        return (Some(weights), more);
    }
    let more = counts.len() > 1;
    (counts.into_iter().next().map(|c| vec![c]), more)
}

fn summary(version: u64, restored: &Restored, more: bool) -> Step {
    let mut detail = format!(
        "{} scalable target(s), {} policies, {} scheduled actions restored from snapshot v{version}",
        restored.targets, restored.policies, restored.scheduled_actions
    );
    if !restored.left_out.is_empty() {
        detail.push_str(&format!("; left out: {}", restored.left_out.join("; ")));
    }
    if more {
        detail.push_str(
            "; the variants' instance counts follow one at a time, each once it is InService again",
        );
    }
    if restored.refused.is_empty() {
        return Step::Applied(detail);
    }
    detail.push_str(&format!(
        "; AWS refused, so not restored: {}",
        restored.refused.join("; ")
    ));
    Step::Failed(detail)
}
