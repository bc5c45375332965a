//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.
//!
//! Where things live (imports only point down this list; a test enforces
//! that modules form no cycle):
//! - `error`, `http`, `host`, `metrics`: leaves: config errors and JSON
//!   paths; header I/O, grammar and direction; host access; counters.
//! - `trace`: trace context (traceparent, tracestate, b3, jaeger), ids, sampling.
//! - `redact`: the redactor, detectors, tokens, and the carriers it cleans
//!   (headers, baggage, url).
//! - `identity`: SPIFFE IDs and XFCC, the workload identities for spans.
//! - `span`: span records, OTLP encoding, export.
//! - `policy`: the compiled per-route bundle, rules and the route cache.
//! - `config`: parsing, `extends`, presets and the schema; composes every
//!   concern's config type.
//! - `engine`: orchestrates one request through the above.
//! - `cli`: `tracesafe check`, `explain`.

pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod host;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod policy;
pub mod redact;
pub mod span;
pub mod trace;

/// Paths the integration tests use.
pub use cli::{check, explain};
pub use config::PluginConfig;
pub use engine::{Engine, RequestOutcome, ResponseInput, ResponseOutcome};
pub use error::ConfigError;
pub use host::{Entropy, Properties};
pub use http::{Direction, Header, HeaderOp, RequestInput};
pub use metrics::{DetectorKind, Metric, Metrics};
pub use policy::{Reason, Selected};
pub use redact::url::SanitizedUrl;
pub use redact::{Redactions, Redactor, ScanOutcome};
pub use span::otlp;
pub use trace::{Link, Origin, SpanKind, TraceContext};
