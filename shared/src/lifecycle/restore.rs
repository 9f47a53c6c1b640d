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
                        .await?;
                    }
                    if let Some(policy) = &snapshot.endpoint_policy {
                        let put =
                            aws::definitions::put_endpoint_policy(&self.sagemaker, name, policy)
                                .await;
                        restored.item("the endpoint policy".into(), put);
                    }
                    let changed = weights_to_set(snapshot, &endpoint);
                    if !changed.is_empty() {
                        let set = aws::sagemaker::set_weights_and_capacities(
                            &self.sagemaker,
                            name,
                            &changed,
                        )
                        .await;
                        restored.item("the variants' weights and instance counts".into(), set);
                    }
                    if let Some(error) = restored.failed {
                        return Err(error);
                    }
                    self.table
                        .set_phase(name, version, Phase::Asleep, Phase::Restored)
                        .await?;
                    Ok(summary(snapshot, version, &restored))
                }
            }
        })
        .await
    }
}

/// The variants whose weight or instance count the new endpoint does not have yet, as they
/// were at the sleep (the instance count within the restored target's bounds, which
/// Application Auto Scaling would otherwise correct at once).
fn weights_to_set(snapshot: &Snapshot, endpoint: &Endpoint) -> Vec<VariantSettings> {
    snapshot
        .variants
        .iter()
        .filter_map(|wanted| {
            let now = endpoint
                .variants
                .iter()
                .find(|v| v.name == wanted.variant)?;
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
            let differs = wanted.weight.is_some() && wanted.weight != now.desired_weight
                || instances.is_some() && instances != now.desired_instances;
            differs.then(|| VariantSettings {
                variant: wanted.variant.clone(),
                weight: wanted.weight.or(now.desired_weight),
                instances: instances.or(now.desired_instances),
            })
        })
        .collect()
}

fn summary(snapshot: &Snapshot, version: u64, restored: &Restored) -> Step {
    let policies: usize = snapshot.targets.iter().map(|t| t.policies.len()).sum();
    let actions: usize = snapshot
        .targets
        .iter()
        .map(|t| t.scheduled_actions.len())
        .sum();
    let mut detail = format!(
        "{} scalable target(s), {policies} policies, {actions} scheduled actions restored from snapshot v{version}",
        snapshot.targets.len()
    );
    if !restored.left_out.is_empty() {
        detail.push_str(&format!("; left out: {}", restored.left_out.join("; ")));
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
