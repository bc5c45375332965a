//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out (plus counters).

use crate::config::{self, ConfigError, DirectionConfig, PluginConfig, PolicyConfig};
use crate::headers::{Header, HeaderOp, HeaderPolicy};
use crate::host::{Entropy, Properties};
use crate::metrics::{Metric, Metrics};
use crate::policy::{PolicySet, Selected};

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
    policies: PolicySet,
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

/// The first of a non-empty error list.
fn first(errors: Vec<ConfigError>) -> ConfigError {
    errors
        .into_iter()
        .next()
        .unwrap_or_else(|| ConfigError::new("", "invalid configuration"))
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
    /// The policy that applied and why (rule, route metadata or default).
    pub policy: Selected,
    pub ops: Vec<HeaderOp>,
    pub metrics: Metrics,
}

impl Engine {
    /// Parses and compiles the plugin configuration; any error refuses the
    /// plugin (fail closed).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::from_json_all(bytes).map_err(first)
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
            _ => Err(first(errors)),
        }
    }

    fn build(cfg: &PluginConfig, errors: &mut Vec<ConfigError>) -> Option<Self> {
        Some(Self {
            direction: cfg.global.direction,
            policies: PolicySet::compile(cfg, errors)?,
        })
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
        _entropy: &mut dyn Entropy,
    ) -> RequestOutcome {
        let mut metrics = Metrics::default();
        metrics.add(Metric::Requests, 1);
        let direction = self.direction(input.properties);
        let (policy, selected) = self.policies.select(input, direction, &mut metrics);
        let (ops, removed) = policy.request_headers.decide(input.headers);
        metrics.add(Metric::HeadersRemoved, removed);
        RequestOutcome {
            direction,
            policy: selected,
            ops,
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
