//! What Application Auto Scaling scales for sagetide: the one place that spells a resource id
//! and a scalable dimension. A new kind of scalable thing is a new variant here, with its
//! adapter; planners, snapshots, restores and remedies work on this type.

use std::fmt;

use aws_sdk_applicationautoscaling::types::ScalableDimension;

use crate::names::{ComponentName, EndpointName, VariantName, VariantRef};

/// One scalable number of one SageMaker object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScalableResource {
    /// The instance count of a variant (`sagemaker:variant:DesiredInstanceCount`).
    Instances(VariantRef),
    /// The provisioned concurrency of a serverless variant
    /// (`sagemaker:variant:DesiredProvisionedConcurrency`).
    ProvisionedConcurrency(VariantRef),
    /// The copies of an inference component on the variant that hosts it
    /// (`sagemaker:inference-component:DesiredCopyCount`).
    Copies {
        variant: VariantRef,
        component: ComponentName,
    },
}

impl ScalableResource {
    /// The instance count of `variant` of `endpoint`.
    pub fn instances(endpoint: &EndpointName, variant: &VariantName) -> Self {
        Self::Instances(VariantRef {
            endpoint: endpoint.clone(),
            variant: variant.clone(),
        })
    }

    /// Its Application Auto Scaling resource id.
    pub fn resource_id(&self) -> String {
        match self {
            Self::Instances(v) | Self::ProvisionedConcurrency(v) => {
                format!("endpoint/{}/variant/{}", v.endpoint, v.variant)
            }
            Self::Copies { component, .. } => format!("inference-component/{component}"),
        }
    }

    pub fn dimension(&self) -> ScalableDimension {
        match self {
            Self::Instances(_) => ScalableDimension::SageMakerVariantDesiredInstanceCount,
            Self::ProvisionedConcurrency(_) => {
                ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency
            }
            Self::Copies { .. } => ScalableDimension::SageMakerInferenceComponentDesiredCopyCount,
        }
    }

    /// Reads a variant's Application Auto Scaling resource id and dimension back; `None` for
    /// anything else (an inference component's id does not name its endpoint).
    pub fn parse(resource_id: &str, dimension: &ScalableDimension) -> Option<Self> {
        let variant = || {
            let rest = resource_id.strip_prefix("endpoint/")?;
            let (endpoint, variant) = rest.split_once("/variant/")?;
            Some(VariantRef {
                endpoint: EndpointName::new(endpoint).ok()?,
                variant: VariantName::new(variant).ok()?,
            })
        };
        match dimension {
            ScalableDimension::SageMakerVariantDesiredInstanceCount => {
                variant().map(Self::Instances)
            }
            ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency => {
                variant().map(Self::ProvisionedConcurrency)
            }
            _ => None,
        }
    }

    /// The endpoint it belongs to.
    pub fn endpoint(&self) -> &EndpointName {
        &self.variant().endpoint
    }

    /// The variant it belongs to.
    pub fn variant(&self) -> &VariantRef {
        match self {
            Self::Instances(v)
            | Self::ProvisionedConcurrency(v)
            | Self::Copies { variant: v, .. } => v,
        }
    }

    /// The key a remediation record keeps it by, which must not change across versions: a
    /// variant's name for its instances (as records before other kinds said), `pc:<variant>`,
    /// `ic:<component>`.
    pub fn record_key(&self) -> String {
        match self {
            Self::Instances(v) => v.variant.to_string(),
            Self::ProvisionedConcurrency(v) => format!("pc:{}", v.variant),
            Self::Copies { component, .. } => format!("ic:{component}"),
        }
    }

    /// What it is within its endpoint, for plans and reports: a variant's name stands for its
    /// instances.
    pub fn within_endpoint(&self) -> String {
        match self {
            Self::Instances(v) => v.variant.to_string(),
            Self::ProvisionedConcurrency(v) => format!("{} provisioned concurrency", v.variant),
            Self::Copies { component, .. } => format!("component {component}"),
        }
    }
}

/// What brings a resource back from zero on demand, as AWS documents it: a step policy that
/// adds one, run by an alarm on this metric of `AWS/SageMaker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromZero {
    pub metric: &'static str,
    /// The metric's one dimension.
    pub dimension: (&'static str, String),
    pub statistic: &'static str,
    /// How the step policy aggregates the alarm's datapoints.
    pub aggregation: &'static str,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    /// The step policy's cooldown: new capacity takes minutes to serve.
    pub cooldown_seconds: i32,
}

impl FromZero {
    /// `namespace/metric`, as an alarm's metric is compared.
    pub fn metric_path(&self) -> String {
        format!("AWS/SageMaker/{}", self.metric)
    }
}

impl ScalableResource {
    /// What brings it back from zero: an asynchronous variant's instances when requests queue
    /// with none to take them (`HasBacklogWithoutCapacity`,
    /// https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html), a
    /// component's copies when a request finds none (`NoCapacityInvocationFailures`,
    /// https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html);
    /// provisioned concurrency never needs it (a serverless variant serves without).
    pub fn from_zero(&self) -> Option<FromZero> {
        match self {
            Self::Instances(v) => Some(FromZero {
                metric: "HasBacklogWithoutCapacity",
                dimension: ("EndpointName", v.endpoint.to_string()),
                statistic: "Average",
                aggregation: "Average",
                period_seconds: 60,
                evaluation_periods: 2,
                cooldown_seconds: 300,
            }),
            Self::Copies { component, .. } => Some(FromZero {
                metric: "NoCapacityInvocationFailures",
                dimension: ("InferenceComponentName", component.to_string()),
                statistic: "Sum",
                aggregation: "Maximum",
                period_seconds: 60,
                evaluation_periods: 1,
                cooldown_seconds: 60,
            }),
            Self::ProvisionedConcurrency(_) => None,
        }
    }
}

impl fmt::Display for ScalableResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.endpoint(), self.within_endpoint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_round_trip() {
        let endpoint = EndpointName::new("ep").unwrap();
        let r = ScalableResource::instances(&endpoint, &VariantName::new("AllTraffic").unwrap());
        assert_eq!(r.resource_id(), "endpoint/ep/variant/AllTraffic");
        assert_eq!(
            ScalableResource::parse(&r.resource_id(), &r.dimension()),
            Some(r.clone())
        );
        assert_eq!(
            ScalableResource::parse("service/cluster/svc", &r.dimension()),
            None
        );
        let concurrency = ScalableDimension::SageMakerVariantDesiredProvisionedConcurrency;
        let serverless = ScalableResource::parse(&r.resource_id(), &concurrency).unwrap();
        assert_eq!(serverless.dimension(), concurrency);
        assert_eq!(
            serverless.to_string(),
            "ep/AllTraffic provisioned concurrency"
        );
        let other = ScalableDimension::SageMakerInferenceComponentDesiredCopyCount;
        assert_eq!(ScalableResource::parse(&r.resource_id(), &other), None);
        let copies = ScalableResource::Copies {
            variant: r.variant().clone(),
            component: ComponentName::new("llama").unwrap(),
        };
        assert_eq!(copies.resource_id(), "inference-component/llama");
        assert_eq!(copies.dimension(), other);
        assert_eq!(copies.to_string(), "ep/component llama");
    }
}
