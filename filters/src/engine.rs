//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out (plus counters).

use crate::config::{self, ConfigError, DirectionConfig, PluginConfig, PolicyConfig};
use crate::headers::{Header, HeaderOp, HeaderPolicy};
use crate::host::{Entropy, Properties};
use crate::metrics::{Metric, Metrics};
use crate::trace::{TraceContext, TracePolicy};

/// Which side of the workload this hop is: it decides SERVER vs CLIENT spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// Envoy's `listener_direction` property: an enum number
    /// (`core.v3.TrafficDirection`: 1 INBOUND, 2 OUTBOUND) as a little-endian
    /// integer, or its name.
    pub fn from_property(raw: &[u8]) -> Option<Self> {
        match raw {
            b"INBOUND" | b"inbound" => return Some(Direction::Inbound),
            b"OUTBOUND" | b"outbound" => return Some(Direction::Outbound),
            _ => {}
        }
        let mut le = [0u8; 8];
        for (dst, src) in le.iter_mut().zip(raw.iter().take(8)) {
            *dst = *src;
        }
        match u64::from_le_bytes(le) {
            1 => Some(Direction::Inbound),
            2 => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// Everything compiled in `on_configure`, shared read-only by all requests.
#[derive(Debug, Clone)]
pub struct Engine {
    direction: DirectionConfig,
    policy: Policy,
}

/// One policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    request_headers: HeaderPolicy,
    trace: TracePolicy,
}

impl Policy {
    /// `path` is the JSON path of the policy object, for error messages.
    pub fn compile(cfg: &PolicyConfig, path: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            request_headers: HeaderPolicy::compile(
                &cfg.request_headers,
                &join(path, "request_headers"),
            )?,
            trace: TracePolicy::compile(&cfg.trace, &join(path, "trace"))?,
        })
    }
}

/// `a.b` without a leading dot when `a` is the root.
pub fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// One request as the host sees it.
pub struct RequestInput<'a> {
    pub headers: &'a [Header],
    pub properties: &'a dyn Properties,
}

/// What the adapter must do to the request, and what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOutcome {
    pub direction: Option<Direction>,
    pub ops: Vec<HeaderOp>,
    pub metrics: Metrics,
    /// This hop's span; `None` when tracesafe does not own the trace
    /// context (`trace_context: envoy`) or could not generate ids.
    pub trace: Option<TraceContext>,
}

impl Engine {
    /// Parses and compiles the plugin configuration; any error refuses the
    /// plugin (fail closed).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::compile(&config::parse(bytes)?)
    }

    pub fn compile(cfg: &PluginConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            direction: cfg.global.direction,
            policy: Policy::compile(&cfg.policy, "")?,
        })
    }

    /// Config first, then the listener's `traffic_direction`.
    fn direction(&self, props: &dyn Properties) -> Option<Direction> {
        match self.direction {
            DirectionConfig::Inbound => Some(Direction::Inbound),
            DirectionConfig::Outbound => Some(Direction::Outbound),
            DirectionConfig::Auto => props
                .property(&["xds", "listener_direction"])
                .and_then(|raw| Direction::from_property(&raw)),
        }
    }

    /// Decides the mutations for one request.
    pub fn on_request(
        &self,
        input: &RequestInput<'_>,
        entropy: &mut dyn Entropy,
    ) -> RequestOutcome {
        let mut metrics = Metrics::default();
        metrics.add(Metric::Requests, 1);
        let direction = self.direction(input.properties);
        let (mut ops, trace) =
            self.policy
                .trace
                .apply(input.headers, direction, entropy, &mut metrics);
        // Removals come last so an explicitly removed header stays removed.
        let (removals, removed) = self.policy.request_headers.decide(input.headers);
        ops.extend(removals);
        metrics.add(Metric::HeadersRemoved, removed);
        RequestOutcome {
            direction,
            ops,
            metrics,
            trace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{SeededEntropy, StaticProperties};
    use crate::trace::SpanKind;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn run(engine: &Engine, headers: &[Header], props: &StaticProperties) -> RequestOutcome {
        engine.on_request(
            &RequestInput {
                headers,
                properties: props,
            },
            &mut SeededEntropy(1),
        )
    }

    #[test]
    fn config_to_ops_and_counts() {
        let engine =
            Engine::from_json(br#"{"request_headers":{"remove":["authorization"]}}"#).unwrap();
        let out = run(
            &engine,
            &[
                ("authorization".into(), b"Bearer s3cr3t".to_vec()),
                ("authorization".into(), b"Basic x".to_vec()),
                ("accept".into(), b"*/*".to_vec()),
            ],
            &StaticProperties::default(),
        );
        assert_eq!(
            out.ops.last(),
            Some(&HeaderOp::Remove("authorization".into()))
        );
        assert_eq!(out.metrics.get(Metric::HeadersRemoved), 2);
        assert_eq!(out.metrics.get(Metric::Requests), 1);
        assert_eq!(out.metrics.get(Metric::TracesStarted), 1);
    }

    #[test]
    fn explicit_removal_wins_over_trace_injection() {
        let engine = Engine::from_json(
            br#"{"request_headers":{"remove":["b3"]},"trace":{"propagation":["tracecontext","b3"]}}"#,
        )
        .unwrap();
        let out = run(
            &engine,
            &[("b3".into(), b"80f198ee56343ba8-e457b5a2e4d86bd1-1".to_vec())],
            &StaticProperties::default(),
        );
        let b3_ops: Vec<_> = out
            .ops
            .iter()
            .filter(|op| matches!(op, HeaderOp::Set(n, _) | HeaderOp::Remove(n) if n == "b3"))
            .collect();
        assert_eq!(b3_ops.len(), 2);
        assert_eq!(b3_ops.last(), Some(&&HeaderOp::Remove("b3".into())));
    }

    #[test]
    fn span_kind_comes_from_the_direction() {
        let props = StaticProperties::default()
            .with(&["xds", "listener_direction"], 2u64.to_le_bytes().to_vec());
        let auto = Engine::from_json(b"{}").unwrap();
        let kind = |out: RequestOutcome| out.trace.map(|t| t.kind);
        assert_eq!(kind(run(&auto, &[], &props)), Some(SpanKind::Client));
        assert_eq!(
            kind(run(&auto, &[], &StaticProperties::default())),
            Some(SpanKind::Server)
        );
        let inbound = Engine::from_json(br#"{"direction":"inbound"}"#).unwrap();
        assert_eq!(kind(run(&inbound, &[], &props)), Some(SpanKind::Server));
    }

    #[test]
    fn trace_config_errors_carry_the_path() {
        let err = Engine::from_json(br#"{"trace":{"sampling":1.5}}"#).unwrap_err();
        assert_eq!(err.path, "trace.sampling");
    }

    #[test]
    fn compile_errors_carry_the_path() {
        let err = Engine::from_json(br#"{"request_headers":{"remove":["a b"]}}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.remove[0]");
    }

    #[test]
    fn direction_from_config_then_listener() {
        let props = StaticProperties::default()
            .with(&["xds", "listener_direction"], 2u64.to_le_bytes().to_vec());
        let auto = Engine::from_json(b"{}").unwrap();
        assert_eq!(run(&auto, &[], &props).direction, Some(Direction::Outbound));
        assert_eq!(
            run(&auto, &[], &StaticProperties::default()).direction,
            None
        );
        let fixed = Engine::from_json(br#"{"direction":"inbound"}"#).unwrap();
        assert_eq!(run(&fixed, &[], &props).direction, Some(Direction::Inbound));
    }
}
