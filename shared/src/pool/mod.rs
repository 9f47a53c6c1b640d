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

pub use landing::{LOOKBACK, SETTLE, bucket_start, window_start};
pub use plan::{
    ConfigShape, Instances, Problem, VariantPools, datapoints, publications, resolve, series,
};
pub use policies::{ExistingPolicies, PolicyKind, PoolPolicy, ScaleOutAlarm, plan_policies};
pub use series::{Point, PoolMetric, Series};
pub use tags::{
    INVOCATIONS_TAG, POOL_CAPACITY_TAG, PoolCapacity, TARGET_BACKLOG_TAG, TARGET_UTILIZATION_TAG,
    TargetUtilization, positive_target,
};
pub use utilization::{Pool, PoolError, backlog_per_capacity, fleet_utilization, room};
