//! What sagetide observed of the fleet: plain data, filled in by the adapters in `aws`.

use jiff::Timestamp;

use crate::capacity::Capacity;
use crate::names::{EndpointName, VariantName, VariantRef};
use crate::snapshot::Suspended;
use crate::tags::Tags;

/// The API's status of an endpoint that can take traffic and be scaled.
pub const IN_SERVICE: &str = "InService";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: EndpointName,
    /// Not every API that lists endpoints returns their ARN.
    pub arn: Option<String>,
    pub status: String,
    pub config_name: Option<String>,
    /// When the endpoint was (re)created.
    pub created: Option<Timestamp>,
    pub variants: Vec<Variant>,
    pub tags: Tags,
}

/// A production variant as the endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: VariantName,
    pub instances: u32,
    /// Instances per type, for a variant with instance pools; empty for a single-type variant.
    pub pools: Vec<(String, u32)>,
}

impl Endpoint {
    pub fn is_in_service(&self) -> bool {
        self.status == IN_SERVICE
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
}

/// A variant's Application Auto Scaling target (`sagemaker:variant:DesiredInstanceCount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalableTarget {
    pub variant: VariantRef,
    pub capacity: Capacity,
    pub suspended: Suspended,
}

/// A CloudWatch alarm's state: whether it is in ALARM, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmStatus {
    pub firing: bool,
    pub since: Timestamp,
}
