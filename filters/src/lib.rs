//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.

pub mod check;
pub mod config;
pub mod engine;
pub mod explain;
pub mod extends;
pub mod headers;
pub mod host;
pub mod metrics;
pub mod policy;
pub mod presets;
pub mod schema;

pub use config::{ConfigError, PluginConfig};
pub use engine::{Direction, Engine, RequestInput, RequestOutcome};
pub use headers::{Header, HeaderOp};
pub use host::{Entropy, Properties};
pub use metrics::{Metric, Metrics};
pub use policy::{Reason, Selected};
