//! What pool-metrics reads from CloudWatch and what it writes back, as plain values: the
//! adapter turns each [`Series`] into a query and each [`Point`] into a datum.

use jiff::{SignedDuration, Timestamp};

use crate::names::{EndpointName, VariantRef};

/// sagetide's own metrics (namespace `Sagetide`, dimensions `EndpointName` and `VariantName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolMetric {
    /// `Σ c_t·n_t / Σ k_t·n_t` per 10-second bucket (the contract's).
    FleetUtilization,
    /// An asynchronous endpoint's `ApproximateBacklogSize` over `Σ k_t·n_t`, per minute.
    BacklogPerCapacity,
}

impl PoolMetric {
    pub fn name(self) -> &'static str {
        match self {
            Self::FleetUtilization => "FleetUtilization",
            Self::BacklogPerCapacity => "BacklogPerCapacity",
        }
    }

    /// The bucket of the AWS metric it is computed from: `ConcurrentRequestsPerModel` is
    /// high-resolution (10 s), `ApproximateBacklogSize` is reported each minute.
    pub fn bucket(self) -> SignedDuration {
        match self {
            Self::FleetUtilization => SignedDuration::from_secs(10),
            Self::BacklogPerCapacity => SignedDuration::from_secs(60),
        }
    }

    /// The storage resolution its datapoints are put with, in seconds.
    pub fn storage_resolution(self) -> i32 {
        match self {
            Self::FleetUtilization => 1,
            Self::BacklogPerCapacity => 60,
        }
    }
}

/// One series pool-metrics reads, per bucket of its period.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Series {
    /// `AWS/SageMaker` `ConcurrentRequestsPerModel` (Average) of a variant's instance type, or
    /// the variant-level series (no `InstanceType` dimension).
    Concurrency {
        variant: VariantRef,
        instance_type: Option<String>,
    },
    /// `AWS/SageMaker` `ApproximateBacklogSize` (Average) of an asynchronous endpoint.
    Backlog { endpoint: EndpointName },
    /// How many datapoints of its own metric sagetide has already published (SampleCount):
    /// a bucket is published once.
    Published {
        metric: PoolMetric,
        variant: VariantRef,
    },
}

impl Series {
    /// The endpoint whose series it is.
    pub fn endpoint(&self) -> &EndpointName {
        match self {
            Self::Concurrency { variant, .. } | Self::Published { variant, .. } => {
                &variant.endpoint
            }
            Self::Backlog { endpoint } => endpoint,
        }
    }

    pub fn period(&self) -> SignedDuration {
        match self {
            Self::Concurrency { .. } => PoolMetric::FleetUtilization.bucket(),
            Self::Backlog { .. } => PoolMetric::BacklogPerCapacity.bucket(),
            Self::Published { metric, .. } => metric.bucket(),
        }
    }
}

/// One datapoint to publish, at the start of its bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub metric: PoolMetric,
    pub variant: VariantRef,
    pub at: Timestamp,
    pub value: f64,
}
