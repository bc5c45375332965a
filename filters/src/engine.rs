//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out (plus counters).

use crate::config::{
    self, ConfigError, DirectionConfig, PluginConfig, PolicyConfig, ServiceConfig,
};
use crate::export::ExportConfig;
use crate::headers::{Header, HeaderOp, HeaderPolicy};
use crate::host::{Entropy, Properties};
use crate::identity::{Identities, IdentityPolicy};
use crate::metrics::{Metric, Metrics};
use crate::policy::{PolicySet, Selected};
use crate::span::{self, Clean, SpanFacts, SpanRecord};
use crate::trace::{TraceContext, TracePolicy};

/// Which side of the workload this hop is: it decides SERVER vs CLIENT spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    service: ServiceConfig,
    export: Option<ExportConfig>,
    identity: IdentityPolicy,
    policies: PolicySet,
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

/// The first value of a header, or empty.
fn first<'a>(headers: &'a [Header], name: &str) -> &'a [u8] {
    crate::headers::values(headers, name)
        .first()
        .copied()
        .unwrap_or_default()
}

/// `a.b` without a leading dot when `a` is the root.
pub fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// The first of a non-empty error list.
fn first_error(errors: Vec<ConfigError>) -> ConfigError {
    errors
        .into_iter()
        .next()
        .unwrap_or_else(|| ConfigError::new("", "invalid configuration"))
}

/// One request as the host sees it.
pub struct RequestInput<'a> {
    pub headers: &'a [Header],
    pub properties: &'a dyn Properties,
    /// Host time at request headers, in Unix nanoseconds: the span start.
    pub now_ns: u64,
}

/// What the adapter must do to the request, and what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOutcome {
    pub direction: Option<Direction>,
    pub identities: Identities,
    /// The policy that applied and why (rule, route metadata or default).
    pub policy: Selected,
    pub ops: Vec<HeaderOp>,
    /// The span this hop records, started at request headers; the adapter
    /// finishes it at the end of the stream and queues it for export.
    pub span: Option<SpanRecord>,
    pub metrics: Metrics,
    /// This hop's span; `None` when tracesafe does not own the trace
    /// context (`trace_context: envoy`) or could not generate ids.
    pub trace: Option<TraceContext>,
}

impl RequestOutcome {
    /// Filter-state entries for Envoy's own tracer: `set_property(["tracesafe.
    /// <key>"])` becomes `wasm.tracesafe.<key>`, which an HCM `custom_tags`
    /// entry reads with `%FILTER_STATE(wasm.tracesafe.<key>:PLAIN)%`.
    pub fn filter_state(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some((peer, _)) = &self.identities.peer {
            out.push(("tracesafe.peer_id", peer.to_string()));
        }
        if let Some((local, _)) = &self.identities.local {
            out.push(("tracesafe.local_id", local.to_string()));
        }
        out
    }
}

impl Engine {
    /// Parses and compiles the plugin configuration; any error refuses the
    /// plugin (fail closed).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::from_json_all(bytes).map_err(first_error)
    }

    /// Like [`Engine::from_json`], but reports every error it finds
    /// (`tracesafe check`).
    pub fn from_json_all(bytes: &[u8]) -> Result<Self, Vec<ConfigError>> {
        let (cfg, mut errors) = config::parse_all(bytes);
        let engine = Self::build(&cfg, &mut errors);
        match engine {
            Some(engine) if errors.is_empty() => Ok(engine),
            _ => Err(errors),
        }
    }

    pub fn compile(cfg: &PluginConfig) -> Result<Self, ConfigError> {
        let mut errors = Vec::new();
        match Self::build(cfg, &mut errors) {
            Some(engine) if errors.is_empty() => Ok(engine),
            _ => Err(first_error(errors)),
        }
    }

    fn build(cfg: &PluginConfig, errors: &mut Vec<ConfigError>) -> Option<Self> {
        if let Some(export) = &cfg.global.export {
            export.validate("export").map_err(|e| errors.push(e)).ok();
        }
        let identity = IdentityPolicy::compile(&cfg.global.identity, "identity")
            .map_err(|e| errors.push(e))
            .ok();
        let policies = PolicySet::compile(cfg, errors);
        Some(Self {
            direction: cfg.global.direction,
            service: cfg.global.service.clone(),
            export: cfg.global.export.clone(),
            identity: identity?,
            policies: policies?,
        })
    }

    /// Span export settings, when spans are exported.
    pub fn export(&self) -> Option<&ExportConfig> {
        self.export.as_ref()
    }

    pub fn service(&self) -> &ServiceConfig {
        &self.service
    }

    /// Policy names, `default` first; `RequestOutcome::policy.index` is a
    /// position in this list.
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.policies.names()
    }

    /// The compiled policies and rules.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
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
        let (policy, selected) = self.policies.select(input, direction, &mut metrics);
        let (identities, mut ops) =
            self.identity
                .resolve(input.headers, input.properties, &mut metrics);
        let (trace_ops, trace) =
            policy
                .trace
                .apply(input.headers, direction, entropy, &mut metrics);
        ops.extend(trace_ops);
        // Removals come last so an explicitly removed header stays removed.
        let (removals, removed) = policy.request_headers.decide(input.headers);
        ops.extend(removals);
        metrics.add(Metric::HeadersRemoved, removed);
        let span = match (&self.export, &trace) {
            (Some(_), Some(ctx)) if ctx.sampled() => {
                let facts = SpanFacts {
                    method: span::method(first(input.headers, ":method")),
                    scheme: span::scheme(first(input.headers, ":scheme")),
                    server_address: span::server_address(first(input.headers, ":authority")),
                    policy: Clean::new(selected.name.to_string()),
                    redacted_headers: removed,
                    ..SpanFacts::default()
                };
                Some(SpanRecord::start(ctx, input.now_ns, &facts, &identities))
            }
            _ => None,
        };
        RequestOutcome {
            direction,
            identities,
            policy: selected,
            ops,
            span,
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
                now_ns: 1_000,
            },
            &mut SeededEntropy(1),
        )
    }

    #[test]
    fn sampled_trace_with_export_starts_a_span() {
        let engine =
            Engine::from_json(br#"{"direction":"outbound","export":{"cluster":"c"}}"#).unwrap();
        let headers: Vec<Header> = vec![
            (":method".into(), b"GET".to_vec()),
            (":scheme".into(), b"http".to_vec()),
            (":authority".into(), b"shop:8080".to_vec()),
            (
                ":path".into(),
                b"/users/alice@example.com?token=secret".to_vec(),
            ),
            (
                "traceparent".into(),
                b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_vec(),
            ),
        ];
        let out = run(&engine, &headers, &StaticProperties::default());
        let span = out.span.unwrap();
        let ctx = out.trace.unwrap();
        assert_eq!(span.span_id, ctx.span_id);
        assert_eq!(
            span.parent_span_id,
            Some([0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31])
        );
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.name, "GET");
        assert_eq!(span.start_ns, 1_000);
        let dump = format!("{span:?}");
        assert!(
            !dump.contains("alice") && !dump.contains("secret"),
            "{dump}"
        );

        let unsampled = [(
            "traceparent".to_string(),
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00".to_vec(),
        )];
        assert!(run(&engine, &unsampled, &StaticProperties::default())
            .span
            .is_none());
        let no_export = Engine::from_json(b"{}").unwrap();
        assert!(run(&no_export, &headers, &StaticProperties::default())
            .span
            .is_none());
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
