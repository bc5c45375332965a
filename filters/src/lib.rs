//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.

pub mod config;
pub mod engine;
pub mod headers;

pub use config::{ConfigError, PluginConfig};
pub use engine::{Engine, RequestOutcome};
pub use headers::{Header, HeaderOp};
