//! sagetide's shared crate: everything the Lambda functions have in common. Each function is
//! observe → plan → act: adapters in `aws` observe and act, planners in `plan` decide, purely.

pub mod act;
pub mod aws;
pub mod capacity;
pub mod component_sleep;
pub mod config;
pub mod env;
pub mod error;
pub mod events;
pub mod fleet;
pub mod handlers;
pub mod idle;
pub mod lifecycle;
pub mod names;
pub mod outcome;
pub mod permissions;
pub mod places;
pub mod plan;
pub mod pool;
pub mod reach;
pub mod remediation;
pub mod resource;
pub mod savings;
pub mod schedule;
pub mod snapshot;
pub mod tags;
pub mod telemetry;
