//! pool-metrics' pure side: the capacity-weighted utilization of a variant that runs several
//! instance types, `FleetUtilization(b) = Σ c_t·n_t / Σ k_t·n_t` (see the contract), an
//! asynchronous endpoint's backlog over the same capacity, which buckets a run publishes, and
//! the policies that scale on them. The adapters fetch and act; this decides.

mod landing;
mod plan;
mod policies;
mod series;
mod tags;
mod utilization;

pub use landing::window_start;
pub use plan::{
    ConfigShape, Instances, Problem, VariantPools, datapoints, publications, resolve, series,
};
pub use policies::{
    ExistingPolicies, ExistingPolicy, ExistingScaleOutAlarm, PolicyKind, PoolPolicy, ScaleOutAlarm,
    plan_policies,
};
pub use series::{Point, PoolMetric, Series};
pub use tags::{POOL_CAPACITY_TAG, PoolCapacity, TARGET_UTILIZATION_TAG};
pub use utilization::{Pool, fleet_utilization};

use tags::{INVOCATIONS_TAG, TARGET_BACKLOG_TAG, TargetUtilization, positive_target};
use utilization::{PoolError, backlog_per_capacity, room};
