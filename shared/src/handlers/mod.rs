//! One handler per function: observe → plan → act, with the I/O kept at the edges.

pub mod scheduler;
