//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.

pub mod baggage;
pub mod config;
pub mod detectors;
pub mod engine;
pub mod headers;
pub mod host;
pub mod metrics;
pub mod pct;
pub mod redact;
pub mod token;
pub mod url;

pub use config::{ConfigError, PluginConfig};
pub use detectors::DetectorKind;
pub use engine::{Direction, Engine, RequestInput, RequestOutcome, ResponseInput, ResponseOutcome};
pub use headers::{Header, HeaderOp};
pub use host::{Entropy, Properties};
pub use metrics::{Metric, Metrics};
pub use redact::{Redactions, Redactor, ScanOutcome};
pub use url::SanitizedUrl;
