//! One handler per function: observe → plan → act, with the I/O kept at the edges.

mod fan_out;
pub mod lifecycle;
mod places;
pub mod pool_metrics;
pub mod remediator;
pub mod scheduler;
