//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.

pub mod b3;
pub mod check;
pub mod config;
pub mod engine;
pub mod explain;
pub mod export;
pub mod extends;
pub mod headers;
pub mod host;
pub mod identity;
pub mod ids;
pub mod jaeger;
pub mod metrics;
pub mod otlp;
pub mod policy;
pub mod presets;
pub mod sampling;
pub mod schema;
pub mod span;
pub mod spiffe;
pub mod trace;
pub mod traceparent;
pub mod tracestate;
pub mod xfcc;

pub use config::{ConfigError, PluginConfig};
pub use engine::{Direction, Engine, RequestInput, RequestOutcome};
pub use headers::{Header, HeaderOp};
pub use host::{Entropy, Properties};
pub use metrics::{Metric, Metrics};
pub use policy::{Reason, Selected};
pub use trace::{Link, Origin, SpanKind, TraceContext};
