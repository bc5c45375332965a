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
use crate::span::SpanRecord;

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
    service: ServiceConfig,
    export: Option<ExportConfig>,
    identity: IdentityPolicy,
    policy: Policy,
}

/// One policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    request_headers: HeaderPolicy,
}

impl Policy {
    /// `path` is the JSON path of the policy object, for error messages.
    pub fn compile(cfg: &PolicyConfig, path: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            request_headers: HeaderPolicy::compile(
                &cfg.request_headers,
                &join(path, "request_headers"),
            )?,
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
    pub identities: Identities,
    pub ops: Vec<HeaderOp>,
    /// The span this hop records, started at request headers; the adapter
    /// finishes it at the end of the stream and queues it for export.
    pub span: Option<SpanRecord>,
    pub metrics: Metrics,
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
        Self::compile(&config::parse(bytes)?)
    }

    pub fn compile(cfg: &PluginConfig) -> Result<Self, ConfigError> {
        if let Some(export) = &cfg.global.export {
            export.validate("export")?;
        }
        Ok(Self {
            direction: cfg.global.direction,
            service: cfg.global.service.clone(),
            export: cfg.global.export.clone(),
            identity: IdentityPolicy::compile(&cfg.global.identity, "identity")?,
            policy: Policy::compile(&cfg.policy, "")?,
        })
    }

    /// Span export settings, when spans are exported.
    pub fn export(&self) -> Option<&ExportConfig> {
        self.export.as_ref()
    }

    pub fn service(&self) -> &ServiceConfig {
        &self.service
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
        _entropy: &mut dyn Entropy,
    ) -> RequestOutcome {
        let mut metrics = Metrics::default();
        metrics.add(Metric::Requests, 1);
        let (identities, mut ops) =
            self.identity
                .resolve(input.headers, input.properties, &mut metrics);
        let (header_ops, removed) = self.policy.request_headers.decide(input.headers);
        metrics.add(Metric::HeadersRemoved, removed);
        ops.extend(header_ops);
        RequestOutcome {
            direction: self.direction(input.properties),
            identities,
            ops,
            span: None,
            metrics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{SeededEntropy, StaticProperties};
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
        assert_eq!(out.ops, vec![HeaderOp::Remove("authorization".into())]);
        assert_eq!(out.metrics.get(Metric::HeadersRemoved), 2);
        assert_eq!(out.metrics.get(Metric::Requests), 1);
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
