//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.

pub mod b3;
pub mod baggage;
pub mod check;
pub mod config;
pub mod detectors;
pub mod engine;
pub mod explain;
pub mod export;
pub mod extends;
pub mod grpc;
pub mod headers;
pub mod host;
pub mod identity;
pub mod ids;
pub mod jaeger;
pub mod metrics;
pub mod otlp;
pub mod otlp_proto;
pub mod pct;
pub mod policy;
pub mod presets;
pub mod redact;
pub mod sampling;
pub mod schema;
pub mod span;
pub mod spiffe;
pub mod token;
pub mod trace;
pub mod traceparent;
pub mod tracestate;
pub mod url;
pub mod xfcc;

pub use config::{ConfigError, PluginConfig};
pub use detectors::DetectorKind;
pub use engine::{Direction, Engine, RequestInput, RequestOutcome, ResponseInput, ResponseOutcome};
pub use headers::{Header, HeaderOp};
pub use host::{Entropy, Properties};
pub use metrics::{Metric, Metrics};
pub use policy::{Reason, Selected};
pub use redact::{Redactions, Redactor, ScanOutcome};
pub use trace::{Link, Origin, SpanKind, TraceContext};
pub use url::SanitizedUrl;
