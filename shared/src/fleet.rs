//! What sagetide observed of the fleet: plain data, filled in by the adapters in `aws`.

use crate::capacity::Capacity;
use crate::names::{EndpointName, VariantName, VariantRef};
use crate::tags::Tags;

/// The API's status of an endpoint that can take traffic and be scaled.
pub const IN_SERVICE: &str = "InService";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: EndpointName,
    /// Not every API that lists endpoints returns their ARN.
    pub arn: Option<String>,
    pub status: String,
    pub variants: Vec<VariantName>,
    pub tags: Tags,
}

impl Endpoint {
    pub fn is_in_service(&self) -> bool {
        self.status == IN_SERVICE
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}

/// A variant's Application Auto Scaling target (`sagemaker:variant:DesiredInstanceCount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalableTarget {
    pub variant: VariantRef,
    pub capacity: Capacity,
}
