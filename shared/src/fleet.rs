//! What sagetide observed of the fleet: plain data, filled in by the adapters in `aws`.

use std::fmt;

use jiff::Timestamp;

use crate::capacity::Capacity;
use crate::names::{ComponentName, EndpointName, VariantName, VariantRef};
use crate::resource::ScalableResource;
use crate::snapshot::Suspended;
use crate::tags::Tags;

/// An endpoint's status as SageMaker reports it. Only `InService` endpoints take traffic and
/// can be scaled; `Failed` ones can only be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Creating,
    InService,
    Updating,
    SystemUpdating,
    RollingBack,
    Deleting,
    Failed,
    OutOfService,
    /// A status this build does not know, as the API spelled it.
    Other(String),
}

impl Status {
    pub fn parse(value: &str) -> Self {
        match value {
            "Creating" => Self::Creating,
            "InService" => Self::InService,
            "Updating" => Self::Updating,
            "SystemUpdating" => Self::SystemUpdating,
            "RollingBack" => Self::RollingBack,
            "Deleting" => Self::Deleting,
            "Failed" => Self::Failed,
            "OutOfService" => Self::OutOfService,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "Creating",
            Self::InService => "InService",
            Self::Updating => "Updating",
            Self::SystemUpdating => "SystemUpdating",
            Self::RollingBack => "RollingBack",
            Self::Deleting => "Deleting",
            Self::Failed => "Failed",
            Self::OutOfService => "OutOfService",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub name: EndpointName,
    /// Not every API that lists endpoints returns their ARN.
    pub arn: Option<String>,
    pub status: Status,
    /// Why a `Failed` endpoint failed.
    pub failure_reason: Option<String>,
    pub config_name: Option<String>,
    /// When the endpoint was (re)created.
    pub created: Option<Timestamp>,
    pub variants: Vec<Variant>,
    /// Shadow variants, which receive a copy of the traffic.
    pub shadow_variants: Vec<VariantName>,
    pub tags: Tags,
}

/// A production variant as the endpoint reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: VariantName,
    pub instances: u32,
    /// Instances per type, for a variant with instance pools; empty for a single-type variant.
    pub pools: Vec<(String, u32)>,
    /// A serverless variant's concurrency; `None` for a variant with instances.
    pub serverless: Option<Serverless>,
    /// With managed instance scaling on (inference components), the fewest instances it keeps
    /// however few copies it hosts.
    pub managed_min_instances: Option<u32>,
    /// The weight and instance count it was last asked to have (by its EndpointConfig, or
    /// later by UpdateEndpointWeightsAndCapacities); a new endpoint starts from its config's.
    pub desired_weight: Option<f32>,
    pub desired_instances: Option<u32>,
}

/// A serverless variant's concurrency, as SageMaker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Serverless {
    pub max_concurrency: u32,
    /// Its provisioned concurrency, which Application Auto Scaling scales; `None` without.
    pub provisioned: Option<u32>,
}

impl Endpoint {
    pub fn is_in_service(&self) -> bool {
        self.status == Status::InService
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    pub fn variant_refs(&self) -> impl Iterator<Item = VariantRef> + '_ {
        self.variants.iter().map(|v| VariantRef {
            endpoint: self.name.clone(),
            variant: v.name.clone(),
        })
    }

    /// What Application Auto Scaling may scale of it: each variant's instance count, or a
    /// serverless variant's provisioned concurrency (one without has nothing to scale).
    pub fn scalable_resources(&self) -> impl Iterator<Item = ScalableResource> + '_ {
        self.variants.iter().filter_map(|v| match v.serverless {
            None => Some(ScalableResource::instances(&self.name, &v.name)),
            Some(Serverless {
                provisioned: Some(_),
                ..
            }) => Some(ScalableResource::ProvisionedConcurrency(VariantRef {
                endpoint: self.name.clone(),
                variant: v.name.clone(),
            })),
            Some(_) => None,
        })
    }

    /// What each of its scalable resources runs now: instances, or provisioned concurrency.
    pub fn running(&self) -> impl Iterator<Item = (ScalableResource, u32)> + '_ {
        self.scalable_resources().map(|r| {
            let variant = self.variants.iter().find(|v| v.name == r.variant().variant);
            let running = variant.map_or(0, |v| match v.serverless {
                Some(s) => s.provisioned.unwrap_or(0),
                None => v.instances,
            });
            (r, running)
        })
    }

    /// Why sagetide cannot delete this endpoint and bring it back as it was, if it cannot.
    /// Deleting and re-creating a serverless variant, a shadow variant or an endpoint that
    /// hosts inference components loses state that a snapshot does not carry yet.
    pub fn why_not_sleepable(&self) -> Option<String> {
        if let Some(v) = self.variants.iter().find(|v| v.serverless.is_some()) {
            return Some(format!(
                "variant {} is serverless: it costs nothing idle beyond its provisioned concurrency, \
                 and sagetide does not delete serverless endpoints",
                v.name
            ));
        }
        if let Some(v) = self.shadow_variants.first() {
            return Some(format!(
                "it has the shadow variant {v}, which sagetide does not snapshot yet"
            ));
        }
        None
    }
}

/// An inference component: copies of one model on the instances of an endpoint's variant, with
/// tags of its own (its schedule is its own, not its endpoint's).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: ComponentName,
    pub arn: String,
    /// The variant that hosts it.
    pub variant: VariantRef,
    pub status: Status,
    pub created: Option<Timestamp>,
    pub tags: Tags,
}

impl Component {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// Whether its `sagetide:wake-on` (valid, or absent) allows `source`.
    pub fn wakes_on(&self, source: crate::tags::WakeSource) -> bool {
        crate::tags::wake_on(self.tag(crate::tags::WAKE_ON)).is_ok_and(|s| s.contains(&source))
    }

    /// Where its sleep stands, as sagetide marked it; `None` for one it never put to sleep
    /// (or whose mark someone spoiled).
    pub fn sleep_mark(&self) -> Option<crate::tags::SleepMark> {
        self.tag(crate::tags::SLEEP)
            .and_then(|v| crate::tags::SleepMark::parse(v).ok())
    }

    /// Put to sleep by sagetide (zero copies) and not woken since.
    pub fn asleep(&self) -> bool {
        matches!(
            self.sleep_mark(),
            Some(crate::tags::SleepMark::AsleepSince(_))
        )
    }

    /// Its copy count, which Application Auto Scaling scales.
    pub fn copies(&self) -> ScalableResource {
        ScalableResource::Copies {
            variant: self.variant.clone(),
            component: self.name.clone(),
        }
    }
}

/// What an endpoint's EndpointConfig says about whether the endpoint can be deleted and come
/// back. EndpointConfigs and models cannot change, so these facts can be kept by config name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFacts {
    /// The key SageMaker encrypts the instances' storage with, as the config names it:
    /// re-creating the endpoint needs a grant on it.
    pub kms_key_id: Option<String>,
    /// A variant without a model serves inference components, which a re-created endpoint
    /// would not have.
    pub hosts_inference_components: bool,
    /// An asynchronous endpoint's (`AsyncInferenceConfig`): its variants may scale to 0
    /// instances, which a real-time variant cannot.
    pub asynchronous: bool,
    /// The execution roles of its models, which a wake passes to SageMaker if it must create a
    /// deleted model again.
    pub model_roles: Vec<String>,
    /// Why the EndpointConfig or one of its models could not be read (deleted while the
    /// endpoint runs on it, say): a snapshot could not hold them, nor a wake create them.
    pub unreadable: Option<String>,
}

impl ConfigFacts {
    /// The facts of an EndpointConfig that could not be read, for `why`.
    pub fn unreadable(why: String) -> Self {
        Self {
            kms_key_id: None,
            hosts_inference_components: false,
            asynchronous: false,
            model_roles: Vec::new(),
            unreadable: Some(why),
        }
    }
}

/// A variant's scaling policy, as far as bringing it back after a sleep goes: deleting the
/// endpoint deletes its policies, and a restore creates them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    pub variant: VariantName,
    pub name: String,
    /// The type as Application Auto Scaling names it: `TargetTrackingScaling`, `StepScaling`,
    /// `PredictiveScaling`.
    pub kind: String,
    /// The alarms that run it (a step policy's; target tracking keeps its own).
    pub alarms: Vec<RunningAlarm>,
}

/// An alarm that runs a step policy, and its `sagetide:repoint` tag: the policy re-created on
/// waking has a new ARN, and sagetide may write it only into alarms whose owner allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningAlarm {
    pub name: String,
    /// The tag's value; `None` without the tag, or where the alarm's tags could not be known.
    pub repoint: Option<String>,
}

/// An Application Auto Scaling target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalableTarget {
    pub resource: ScalableResource,
    pub capacity: Capacity,
    pub suspended: Suspended,
}

/// A CloudWatch alarm's state: whether it is in ALARM, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmStatus {
    pub firing: bool,
    pub since: Timestamp,
}

/// Endpoints for the unit tests of the planners and decisions.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An InService endpoint `name` with one instance per variant and `tags`.
    pub fn endpoint(name: &str, variants: &[&str], tags: &[(&str, &str)]) -> Endpoint {
        Endpoint {
            name: EndpointName::new(name).unwrap(),
            arn: Some(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
            )),
            status: Status::InService,
            failure_reason: None,
            config_name: Some(format!("{name}-config")),
            created: None,
            variants: variants.iter().map(|v| variant(v, 1)).collect(),
            shadow_variants: Vec::new(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The scalable target of the instances of `variant` of `endpoint`, nothing suspended.
    pub fn target(endpoint: &str, variant: &str, capacity: Capacity) -> ScalableTarget {
        ScalableTarget {
            resource: ScalableResource::instances(
                &EndpointName::new(endpoint).unwrap(),
                &VariantName::new(variant).unwrap(),
            ),
            capacity,
            suspended: Default::default(),
        }
    }

    /// A single-type, real-time variant with `instances` instances.
    pub fn variant(name: &str, instances: u32) -> Variant {
        Variant {
            name: VariantName::new(name).unwrap(),
            instances,
            pools: Vec::new(),
            serverless: None,
            managed_min_instances: None,
            desired_weight: Some(1.0),
            desired_instances: Some(instances),
        }
    }
}
