//! `trace`: how this hop takes part in the trace, as configured. Compiled
//! by [`TracePolicy::compile`](crate::trace::TracePolicy::compile).

use crate::trace::sampling::SamplingConfig;
use schemars::JsonSchema;
use serde::Deserialize;

/// How this hop takes part in the trace (docs/trace-context.md).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// Formats written to the forwarded request, all with the same ids.
    /// Extraction always reads every format (traceparent, then b3, then
    /// x-b3-*, then uber-trace-id).
    #[serde(default = "default_propagation")]
    pub propagation: Vec<PropagationFormat>,
    /// Start a new trace even when the incoming context is valid (front
    /// gates); the incoming ids are kept only as a span link.
    #[serde(default)]
    pub restart_trace: bool,
    /// A ratio in 0..1 (parent-based), or "always" / "never" (ignoring the
    /// parent). Default: parent-based, ratio 1.
    #[serde(default)]
    pub sampling: Option<SamplingConfig>,
    /// This hop's own tracestate key (value: its span id), added on the left.
    #[serde(default)]
    pub tracestate_key: Option<String>,
    /// tracestate keys deleted before forwarding, for privacy.
    #[serde(default)]
    pub tracestate_deny_keys: Vec<String>,
    /// `keep` x-request-id as it is, or `generate` one when it is missing.
    #[serde(default)]
    pub request_id: RequestIdMode,
    /// Who writes traceparent/tracestate: tracesafe, or Envoy's own tracer.
    #[serde(default)]
    pub trace_context: TraceContextOwner,
    /// `X-Amzn-Trace-Id` fields besides Root, Parent and Sampled (such as
    /// `Lineage`) forwarded when the trace continues. They can carry data,
    /// so none by default. Needs `xray` in `propagation`.
    #[serde(default)]
    pub xray_keep_fields: Vec<String>,
    /// The W3C Level 2 `traceresponse` response header: `pass` (only a
    /// valid value), `strip`, or `emit` (set it on SERVER hops).
    #[serde(default)]
    pub traceresponse: TraceResponseMode,
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            propagation: default_propagation(),
            restart_trace: false,
            sampling: None,
            tracestate_key: None,
            tracestate_deny_keys: Vec::new(),
            request_id: RequestIdMode::default(),
            trace_context: TraceContextOwner::default(),
            xray_keep_fields: Vec::new(),
            traceresponse: TraceResponseMode::default(),
        }
    }
}

fn default_propagation() -> Vec<PropagationFormat> {
    vec![PropagationFormat::TraceContext]
}

/// A trace context wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PropagationFormat {
    /// W3C `traceparent` / `tracestate`.
    TraceContext,
    /// Zipkin single header `b3`.
    B3,
    /// Zipkin `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`.
    B3Multi,
    /// Jaeger `uber-trace-id`.
    Jaeger,
    /// AWS X-Ray `X-Amzn-Trace-Id`.
    Xray,
}

/// `trace.traceresponse`: what reaches the downstream in `traceresponse`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceResponseMode {
    /// Forward a valid Level 2 value; remove (and count) anything else.
    #[default]
    Pass,
    /// Remove it: internal trace ids stay inside (edge routes).
    Strip,
    /// On SERVER hops, set it to this hop's span.
    Emit,
}

/// `trace.request_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestIdMode {
    #[default]
    Keep,
    Generate,
}

/// `trace.trace_context`: who owns traceparent/tracestate on this hop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceContextOwner {
    /// tracesafe continues or starts the trace and writes the headers.
    #[default]
    Tracesafe,
    /// Envoy's HCM tracer does (it overwrites them in the router).
    Envoy,
}
