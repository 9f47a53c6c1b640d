//! What goes wrong in AWS that a kinder local AWS would hide, with the real binaries against the
//! local AWS that behaves like AWS (one test binary, to be linked once):
//! - `kept_across_sleep`: what a delete loses besides the autoscaling, and what must not come
//!   back;
//! - `wake_failures`: a wake that fails is seen, cleaned up and tried again;
//! - `declined`: what is not put to sleep, because it could not come back as it was, or could
//!   not be known idle;
//! - `kinds`: serverless and asynchronous variants on a schedule.

mod declined;
mod kept_across_sleep;
mod kinds;
mod wake_failures;
