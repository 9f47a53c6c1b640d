//! Restore: once a woken endpoint is InService, everything its deletion lost comes back from
//! the snapshot.

use super::decide::{self, RestoreDecision};
use super::{Actor, Lifecycle, Report, Step};
use crate::aws::scaling_state::Restored;
use crate::aws::{self, AwsError};
use crate::fleet::Endpoint;
use crate::names::{EndpointName, VariantRef};
use crate::snapshot::{Phase, Snapshot, Stored, VariantSettings, WakeAttempt};
use crate::tags::WakeSource;

impl Lifecycle {
    /// Brings back what the endpoint's deletion lost, once it is InService again: first the
    /// variants' weights and instance counts, one update per pass (each makes the endpoint
    /// `Updating`, and the next IN_SERVICE or tick goes on); then, with no update left, the
    /// scalable targets (with their tags, policies, the alarms that run their step policies,
    /// and scheduled actions) and the endpoint policy; then the snapshot is marked restored.
    /// The weights and counts come first because a registered target brings the instance
    /// count into its bounds by an update of its own, which would refuse the restore's.
    pub async fn restore(&self, name: &EndpointName, why: &str, actor: Actor<'_>) -> Report {
        self.leased(name, "restore", why, actor, async {
            let stored = self.table.snapshot(name).await?;
            let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
            match decide::restore(stored.as_ref(), endpoint.as_ref()) {
                RestoreDecision::Done(reason) => Ok(Step::AlreadyDone(reason)),
                RestoreDecision::Decline(reason) => Ok(Step::Declined(reason)),
                // Not an error: its next IN_SERVICE (or the tick) restores it.
                RestoreDecision::Wait(reason) => Ok(Step::Declined(reason)),
                RestoreDecision::Restore { .. } if self.dry_run => Ok(Step::DryRun),
                RestoreDecision::Restore { version } => {
                    let stored = stored.expect("a restore needs a snapshot");
                    let endpoint = endpoint.expect("only an existing endpoint is restored");
                    self.restore_in_service(name, stored, version, &endpoint, actor)
                        .await
                }
            }
        })
        .await
    }

    async fn restore_in_service(
        &self,
        name: &EndpointName,
        stored: Stored,
        mut version: u64,
        endpoint: &Endpoint,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        let snapshot = &stored.snapshot;
        let mut wake = stored.wake.clone().unwrap_or_else(|| {
            WakeAttempt::asked(None, WakeSource::Manual, None, snapshot.taken_at)
        });
        let mut restored = Restored::default();
        while let Some((key, update)) = settings_step(snapshot, endpoint, &wake.settings_tried) {
            // Recorded before it is sent: an update SageMaker takes but does not apply (say,
            // for want of capacity) is not sent again at every IN_SERVICE and tick.
            wake.settings_tried.push(key);
            if !self
                .table
                .set_wake(name, version, Phase::Asleep, &wake)
                .await?
            {
                return Ok(Step::Deferred(
                    "its snapshot changed meanwhile; the restore runs again".into(),
                ));
            }
            version += 1;
            let set =
                aws::sagemaker::set_weights_and_capacities(&self.sagemaker, name, &update).await;
            if restored.item(describe(&update), set) {
                return Ok(Step::Applied(format!(
                    "{} set; the rest follows once it is InService again",
                    describe(&update)
                )));
            }
            if let Some(error) = restored.failed {
                // Not refused, only not answered: the next pass may send it again.
                wake.settings_tried.pop();
                if let Err(e) = self
                    .table
                    .set_wake(name, version, Phase::Asleep, &wake)
                    .await
                {
                    tracing::warn!(endpoint = %name, error = %e, "the update stays recorded as sent");
                }
                return Err(error);
            }
        }
        for wanted in unapplied(snapshot, endpoint) {
            restored.left_out.push(format!(
                "{}: SageMaker did not apply it",
                describe(&[wanted])
            ));
        }
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
            let put = aws::definitions::put_endpoint_policy(&self.sagemaker, name, policy).await;
            restored.item("the endpoint policy".into(), put);
        }
        if let Some(error) = restored.failed {
            return Err(error);
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
        Ok(summary(version, &restored))
    }
}

/// What the snapshot wants of each variant's weight and instance count that the new endpoint
/// does not have yet (the count within the restored target's bounds, which Application Auto
/// Scaling would otherwise correct at once).
fn unapplied(snapshot: &Snapshot, endpoint: &Endpoint) -> Vec<VariantSettings> {
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
            let weight = wanted.weight.filter(|w| Some(*w) != now.desired_weight);
            let instances = instances.filter(|n| Some(*n) != now.desired_instances);
            (weight.is_some() || instances.is_some()).then(|| VariantSettings {
                variant: wanted.variant.clone(),
                weight,
                instances,
            })
        })
        .collect()
}

/// The next UpdateEndpointWeightsAndCapacities the restore has not sent yet, with its key in
/// [`WakeAttempt::settings_tried`]. SageMaker updates "variant weight of one or more variants
/// … or capacity of one variant" at a time: the weights go in one update, then each variant's
/// instance count in one of its own.
fn settings_step(
    snapshot: &Snapshot,
    endpoint: &Endpoint,
    tried: &[String],
) -> Option<(String, Vec<VariantSettings>)> {
    let wanted = unapplied(snapshot, endpoint);
    let weights: Vec<VariantSettings> = wanted
        .iter()
        .filter(|v| v.weight.is_some())
        .map(|v| VariantSettings {
            instances: None,
            ..v.clone()
        })
        .collect();
    if !weights.is_empty() && !tried.iter().any(|t| t == "weights") {
        return Some(("weights".into(), weights));
    }
    wanted.into_iter().find_map(|v| {
        let key = format!("count:{}", v.variant);
        (v.instances.is_some() && !tried.contains(&key)).then(|| {
            let count = VariantSettings {
                weight: None,
                ..v.clone()
            };
            (key, vec![count])
        })
    })
}

/// An update's settings, for the report: `weights of blue, green` or `instance count of green`.
fn describe(update: &[VariantSettings]) -> String {
    let names: Vec<&str> = update.iter().map(|v| v.variant.as_str()).collect();
    match update {
        [one] if one.weight.is_none() => format!("the instance count of {}", names[0]),
        _ => format!("the weights of {}", names.join(", ")),
    }
}

fn summary(version: u64, restored: &Restored) -> Step {
    let mut detail = format!(
        "{} scalable target(s), {} policies, {} scheduled actions restored from snapshot v{version}",
        restored.targets, restored.policies, restored.scheduled_actions
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::fixtures;
    use crate::names::VariantName;
    use crate::snapshot::TargetSnapshot;

    fn settings(variant: &str, weight: Option<f32>, instances: Option<u32>) -> VariantSettings {
        VariantSettings {
            variant: VariantName::new(variant).unwrap(),
            weight,
            instances,
        }
    }

    fn ab_snapshot() -> Snapshot {
        let target = |variant: &str| TargetSnapshot {
            variant: VariantName::new(variant).unwrap(),
            min: 1,
            max: 3,
            suspended: Default::default(),
            tags: Default::default(),
            policies: Vec::new(),
            scheduled_actions: Vec::new(),
        };
        Snapshot {
            endpoint: crate::names::EndpointName::new("ab").unwrap(),
            endpoint_config: "ab-config".into(),
            tags: Default::default(),
            targets: vec![target("blue"), target("green")],
            taken_at: "2026-11-23T18:00:00Z".parse().unwrap(),
            definitions: None,
            variants: vec![
                settings("blue", Some(0.25), Some(1)),
                settings("green", Some(0.75), Some(5)),
            ],
            endpoint_policy: None,
        }
    }

    #[test]
    fn weights_first_then_one_count_per_update_each_once() {
        let snapshot = ab_snapshot();
        let fresh = fixtures::endpoint("ab", &["blue", "green"], &[]);
        let (key, update) = settings_step(&snapshot, &fresh, &[]).unwrap();
        assert_eq!(key, "weights");
        assert_eq!(
            update,
            [
                settings("blue", Some(0.25), None),
                settings("green", Some(0.75), None)
            ]
        );
        // Green's count, within its target's bounds (5 is more than its max of 3).
        let (key, update) = settings_step(&snapshot, &fresh, &[key]).unwrap();
        assert_eq!(
            (key.as_str(), update),
            ("count:green", vec![settings("green", None, Some(3))])
        );
        // Each sent once: not again, whether SageMaker applied it or not.
        let tried = ["weights".to_owned(), "count:green".to_owned()];
        assert_eq!(settings_step(&snapshot, &fresh, &tried), None);
        assert_eq!(
            describe(&[settings("green", None, Some(3))]),
            "the instance count of green"
        );
    }
}
