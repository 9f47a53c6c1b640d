//! What the `sagetide` command line shares with the demo: its pictures, and its wording.

pub mod picture;
pub mod wording;
