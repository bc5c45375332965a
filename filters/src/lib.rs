//! tracesafe-filters: all of tracesafe's request logic, free of any proxy
//! host so it runs natively, in tests, in the CLI and inside the wasm plugin.
//!
//! Where things live, lowest first: a module imports only modules above it
//! in this list (`tests/modules.rs` fails on any import cycle).
//! - `error`, `host`, `metrics`: leaves: config errors and JSON paths; host
//!   access; counters and detector kinds.
//! - `http`: header I/O and lookup, RFC 9110 names, direction, request input.
//! - `redact`: the redactor, detectors, tokens, and the carriers it cleans
//!   (headers, baggage, url), each with its config type.
//! - `trace`: trace context (traceparent, tracestate, b3, jaeger, xray), ids,
//!   sampling and their config.
//! - `identity`: SPIFFE IDs and XFCC, the workload identities for spans.
//! - `span`: span records, OTLP encoding, export, the service resource,
//!   audit records.
//! - `config`: parsing, `extends`, presets and the schema; only composes the
//!   concerns' config types.
//! - `policy`: the compiled per-route bundle, rules and the route cache.
//! - `engine`: orchestrates one request through the above.
//! - `cli`: `tracesafe check`, `explain`, `token`, `test`, `catalog`.

pub mod alloc;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod header_map;
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
pub use host::{Entropy, EntropyPool, Properties};
pub use http::{Direction, Header, HeaderOp, OwnedHeader, RequestInput};
pub use metrics::{DetectorKind, Metric, Metrics};
pub use policy::{Reason, ResponseRead, Selected};
pub use redact::url::SanitizedUrl;
pub use redact::{Redactions, Redactor, ScanOutcome};
pub use span::otlp;
pub use trace::{Link, Origin, SpanKind, TraceContext};
