//! The capacity-weighted utilization of a variant that runs several instance types:
//! `FleetUtilization(b) = Σ c_t·n_t / Σ k_t·n_t` over the types with instances and a datapoint
//! in bucket `b` (see the contract). Pure: the adapters fetch `c_t` and `n_t`, this decides.

mod capacity_tag;
mod plan;
mod utilization;

pub use capacity_tag::{
    POOL_CAPACITY_TAG, PoolCapacity, TARGET_UTILIZATION_TAG, TargetUtilization,
};
pub use plan::{Problem, VariantPools, datapoints, policies_to_put, publications, resolve, series};
pub use utilization::{Pool, PoolError, fleet_utilization};
