//! Restore: once a woken endpoint is InService, everything its deletion lost comes back from
//! the snapshot.

use super::decide::{self, RestoreDecision};
use super::{Actor, Found, Lifecycle, Step};
use crate::aws::scaling_state::Restored;
use crate::aws::{self, AwsError};
use crate::fleet::Endpoint;
use crate::names::EndpointName;
use crate::resource::ScalableResource;
use crate::snapshot::{Phase, SettingsUpdate, Snapshot, Stored, VariantSettings, WakeAttempt};

/// A restore decided on: the snapshot and the endpoint it restores.
pub(super) struct Work {
    stored: Box<Stored>,
    version: u64,
    endpoint: Box<Endpoint>,
}

impl Lifecycle {
    /// Whether `decide::restore` finds the woken endpoint ready to get back what its deletion
    /// lost.
    pub(super) async fn prepare_restore(&self, name: &EndpointName) -> Result<Found, AwsError> {
        let stored = self.table.snapshot(name).await?;
        let endpoint = aws::sagemaker::endpoint(&self.sagemaker, name).await?;
        let step = match decide::restore(stored.as_ref(), endpoint.as_ref()) {
            RestoreDecision::Done(reason) => Step::AlreadyDone(reason),
            RestoreDecision::Decline(reason) => Step::Declined(reason),
            // Not an error: its next IN_SERVICE (or the tick) restores it.
            RestoreDecision::Wait(reason) => Step::Declined(reason),
            RestoreDecision::Restore { version } => {
                return Ok(Found::Work(super::Work::Restore(Work {
                    stored: Box::new(stored.expect("a restore needs a snapshot")),
                    version,
                    endpoint: Box::new(endpoint.expect("only an existing endpoint is restored")),
                })));
            }
        };
        Ok(Found::Nothing(step))
    }

    /// Brings back what the endpoint's deletion lost, once it is InService again: first the
    /// variants' weights and instance counts, one update per pass (each makes the endpoint
    /// `Updating`, and the next IN_SERVICE or tick goes on); then, with no update left, the
    /// scalable targets (with their tags, policies, the alarms that run their step policies,
    /// and scheduled actions) and the endpoint policy; then the snapshot is marked restored.
    /// The weights and counts come first because a registered target brings the instance
    /// count into its bounds by an update of its own, which would refuse the restore's.
    pub(super) async fn restore(
        &self,
        name: &EndpointName,
        work: Work,
        actor: Actor<'_>,
    ) -> Result<Step, AwsError> {
        self.restore_in_service(name, *work.stored, work.version, &work.endpoint, actor)
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
            WakeAttempt::presumed(snapshot, endpoint.created.unwrap_or(snapshot.taken_at))
        });
        let mut restored = Restored::default();
        while let Some((update, settings)) = updates(snapshot, endpoint)
            .into_iter()
            .find(|(update, _)| wake.may_send(update))
        {
            // Recorded before it is sent: see SETTINGS_SENDS.
            wake.sent(&update).times += 1;
            if !self.record_wake(name, &mut version, &wake).await? {
                return Ok(changed_meanwhile());
            }
            let what = describe(&settings);
            let sent =
                aws::sagemaker::set_weights_and_capacities(&self.sagemaker, name, &settings).await;
            let Err(error) = sent else {
                return Ok(Step::Applied(format!(
                    "{what} set; the rest follows once it is InService again"
                )));
            };
            if !error.refused {
                // Not refused, only not answered: this send does not count.
                wake.sent(&update).times -= 1;
                let recorded = self.record_wake(name, &mut version, &wake).await;
                if !matches!(recorded, Ok(true)) {
                    tracing::warn!(endpoint = %name, item = what, "the send stays counted");
                }
                return Err(error);
            }
            tracing::error!(endpoint = %name, item = what, error = %error, "AWS refused to restore it");
            wake.sent(&update).refused = Some(error.to_string());
            if !self.record_wake(name, &mut version, &wake).await? {
                return Ok(changed_meanwhile());
            }
        }
        report_unapplied(&updates(snapshot, endpoint), &wake, &mut restored);
        for target in &snapshot.targets {
            aws::scaling_state::write(
                &self.autoscaling,
                &self.cloudwatch,
                &ScalableResource::instances(name, &target.variant),
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
            return Ok(changed_meanwhile());
        }
        Ok(summary(version, &restored))
    }

    /// Writes the wake's record under the snapshot's `version`, and counts the write; `false`
    /// when a newer snapshot stands in the table.
    async fn record_wake(
        &self,
        name: &EndpointName,
        version: &mut u64,
        wake: &WakeAttempt,
    ) -> Result<bool, AwsError> {
        let written = self
            .table
            .set_wake(name, *version, Phase::Asleep, wake)
            .await?;
        *version += u64::from(written);
        Ok(written)
    }
}

/// A conditional write met a newer snapshot: another run moved on, and this one starts over.
fn changed_meanwhile() -> Step {
    Step::Deferred("its snapshot changed meanwhile; the restore runs again".into())
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

/// The UpdateEndpointWeightsAndCapacities calls the snapshot still needs, in the order they
/// are sent. SageMaker updates "variant weight of one or more variants … or capacity of one
/// variant" at a time: the weights go in one update, then each variant's instance count in one
/// of its own.
fn updates(
    snapshot: &Snapshot,
    endpoint: &Endpoint,
) -> Vec<(SettingsUpdate, Vec<VariantSettings>)> {
    let wanted = unapplied(snapshot, endpoint);
    let weights: Vec<VariantSettings> = wanted
        .iter()
        .filter(|v| v.weight.is_some())
        .map(|v| VariantSettings {
            instances: None,
            ..v.clone()
        })
        .collect();
    let counts = wanted
        .into_iter()
        .filter(|v| v.instances.is_some())
        .map(|v| {
            (
                SettingsUpdate::Count(v.variant.clone()),
                vec![VariantSettings { weight: None, ..v }],
            )
        });
    (!weights.is_empty())
        .then_some((SettingsUpdate::Weights, weights))
        .into_iter()
        .chain(counts)
        .collect()
}

/// The updates still needed once none may be sent again: refused by AWS, or sent and not
/// applied by SageMaker.
fn report_unapplied(
    updates: &[(SettingsUpdate, Vec<VariantSettings>)],
    wake: &WakeAttempt,
    restored: &mut Restored,
) {
    for (update, settings) in updates {
        let what = describe(settings);
        match wake.refusal(update) {
            Some(refusal) => restored.refused.push(format!("{what}: {refusal}")),
            None => restored
                .left_out
                .push(format!("{what}: SageMaker did not apply it")),
        }
    }
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
    fn weights_first_then_one_count_per_update() {
        let snapshot = ab_snapshot();
        let fresh = fixtures::endpoint("ab", &["blue", "green"], &[]);
        let green = VariantName::new("green").unwrap();
        // Green's count within its target's bounds (5 is more than its max of 3); blue's count
        // is the new endpoint's already.
        assert_eq!(
            updates(&snapshot, &fresh),
            [
                (
                    SettingsUpdate::Weights,
                    vec![
                        settings("blue", Some(0.25), None),
                        settings("green", Some(0.75), None)
                    ]
                ),
                (
                    SettingsUpdate::Count(green),
                    vec![settings("green", None, Some(3))]
                ),
            ]
        );
        assert_eq!(
            describe(&[settings("green", None, Some(3))]),
            "the instance count of green"
        );
        assert_eq!(
            describe(&updates(&snapshot, &fresh)[0].1),
            "the weights of blue, green"
        );
    }

    #[test]
    fn an_update_is_sent_twice_at_most_and_never_again_once_refused() {
        let snapshot = ab_snapshot();
        let mut wake = WakeAttempt::presumed(&snapshot, snapshot.taken_at);
        let weights = SettingsUpdate::Weights;
        assert!(wake.may_send(&weights));
        wake.sent(&weights).times += 1;
        assert!(wake.may_send(&weights), "once more, in case it never went");
        wake.sent(&weights).times += 1;
        assert!(!wake.may_send(&weights));
        let count = SettingsUpdate::Count(VariantName::new("green").unwrap());
        wake.sent(&count).times += 1;
        wake.sent(&count).refused = Some("ResourceLimitExceeded".into());
        assert!(!wake.may_send(&count));
        assert_eq!(wake.refusal(&count), Some("ResourceLimitExceeded"));
        assert_eq!(wake.refusal(&weights), None);
        assert_eq!(wake.settings_sent.len(), 2);

        // Neither may be sent again: the refused one is reported as refused, and fails the
        // restore; the other as not applied.
        let fresh = fixtures::endpoint("ab", &["blue", "green"], &[]);
        let mut restored = Restored::default();
        report_unapplied(&updates(&snapshot, &fresh), &wake, &mut restored);
        assert_eq!(
            restored.left_out,
            ["the weights of blue, green: SageMaker did not apply it"]
        );
        assert_eq!(
            restored.refused,
            ["the instance count of green: ResourceLimitExceeded"]
        );
        assert!(matches!(summary(7, &restored), Step::Failed(_)));
    }
}
