//! What the `sagetide` command line shares with the demo: its pictures.

pub mod picture;
