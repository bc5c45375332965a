//! The administrators' command line (`tracesafe check|explain|token|test|catalog|schema`):
//! the same code paths as the plugin, with JSON paths and hints for errors.

pub mod catalog;
pub mod check;
pub mod explain;
pub mod leak;
pub mod mint;
pub mod testing;
pub mod warnings;
