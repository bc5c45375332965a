//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out (plus counters).

use crate::baggage::{Baggage, BaggagePolicy};
use crate::config::{self, ConfigError, DirectionConfig, PluginConfig, PolicyConfig};
use crate::detectors::Detectors;
use crate::headers::{Header, HeaderOp, HeaderPolicy};
use crate::host::{Entropy, Properties};
use crate::metrics::{Metric, Metrics};
use crate::redact::{Redactions, Redactor};
use crate::token::{Keyring, TenantSource};
use crate::url::{SanitizedUrl, UrlPolicy};

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
    /// `None` when no `keys` are configured (then nothing may tokenize).
    keyring: Option<Keyring>,
    tenant: Option<TenantSource>,
    policy: Policy,
}

/// One policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    request_headers: HeaderPolicy,
    response_headers: HeaderPolicy,
    detectors: Detectors,
    baggage: BaggagePolicy,
    url: UrlPolicy,
}

impl Policy {
    /// `path` is the JSON path of the policy object, for error messages;
    /// `has_keys` says whether `tokenize` actions are possible.
    pub fn compile(cfg: &PolicyConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            request_headers: HeaderPolicy::compile(
                &cfg.request_headers,
                &join(path, "request_headers"),
                has_keys,
            )?,
            response_headers: HeaderPolicy::compile(
                &cfg.response_headers,
                &join(path, "response_headers"),
                has_keys,
            )?,
            detectors: Detectors::compile(&cfg.detectors, &join(path, "detectors"), has_keys)?,
            baggage: BaggagePolicy::compile(&cfg.baggage, &join(path, "baggage"), has_keys)?,
            url: UrlPolicy::compile(&cfg.url, &join(path, "url"), has_keys)?,
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
    /// The sanitized URL for the span record (`None` without `:path`).
    pub url: Option<SanitizedUrl>,
    /// The tenant whose key minted this request's tokens; the adapter hands
    /// it back to [`Engine::on_response`]. Never put it on a span.
    pub tenant: Option<Vec<u8>>,
}

impl RequestOutcome {
    /// How much this request was redacted, for the span record.
    pub fn redactions(&self) -> Redactions {
        Redactions::from_metrics(&self.metrics)
    }
}

/// One response as the host sees it.
pub struct ResponseInput<'a> {
    pub headers: &'a [Header],
    /// [`RequestOutcome::tenant`] of the request.
    pub tenant: Option<&'a [u8]>,
}

/// What the adapter must do to the response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOutcome {
    pub ops: Vec<HeaderOp>,
    pub metrics: Metrics,
}

/// An environment without variables: configurations naming keys fail.
fn no_env(_: &str) -> Option<String> {
    None
}

impl Engine {
    /// Parses and compiles the plugin configuration without an environment
    /// (tests, tools); any error refuses the plugin (fail closed).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::from_json_with_env(bytes, &no_env)
    }

    /// Like [`Engine::from_json`], reading the key variables through `env`
    /// (`std::env::var` in the plugin: Envoy's `host_env_keys`).
    pub fn from_json_with_env(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::compile(&config::parse(bytes)?, env)
    }

    pub fn compile(
        cfg: &PluginConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let keyring = match &cfg.global.keys {
            Some(keys) => Some(Keyring::from_env(keys, env, "keys")?),
            None => None,
        };
        let tenant = match &cfg.global.tenant {
            Some(t) => {
                crate::token::require_keys(keyring.is_some(), "tenant")?;
                Some(TenantSource::compile(t, "tenant")?)
            }
            None => None,
        };
        Ok(Self {
            direction: cfg.global.direction,
            policy: Policy::compile(&cfg.policy, "", keyring.is_some())?,
            keyring,
            tenant,
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

    /// The request's tenant, from the configured header or baggage key.
    fn tenant(&self, headers: &[Header], bag: &Baggage) -> Option<Vec<u8>> {
        let raw = match self.tenant.as_ref()? {
            TenantSource::Header(name) => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim_ascii().to_vec())?,
            TenantSource::Baggage(key) => bag.value(key)?.into_bytes(),
        };
        (!raw.is_empty()).then_some(raw)
    }

    /// Decides the mutations for one request.
    pub fn on_request(
        &self,
        input: &RequestInput<'_>,
        _entropy: &mut dyn Entropy,
    ) -> RequestOutcome {
        let mut metrics = Metrics::default();
        metrics.add(Metric::Requests, 1);
        let bag = Baggage::parse(input.headers);
        let tenant = self.tenant(input.headers, &bag);
        let minter = self.keyring.as_ref().map(|k| k.minter(tenant.as_deref()));
        let mut r = Redactor::new(&self.policy.detectors, minter, metrics);
        let mut ops =
            self.policy
                .request_headers
                .apply(input.headers, &mut r, Metric::HeadersRemoved);
        let removed = |name: &str| ops.contains(&HeaderOp::Remove(name.to_string()));
        let baggage_ops = self.policy.baggage.apply(&bag, &removed, &mut r);
        ops.extend(baggage_ops);
        let (url, path_op) = self.policy.url.sanitize(input.headers, &mut r);
        ops.extend(path_op);
        let metrics = r.into_metrics();
        RequestOutcome {
            direction: self.direction(input.properties),
            ops,
            metrics,
            url,
            tenant,
        }
    }

    /// Decides the mutations for one response's headers.
    pub fn on_response(&self, input: &ResponseInput<'_>) -> ResponseOutcome {
        let minter = self.keyring.as_ref().map(|k| k.minter(input.tenant));
        let mut r = Redactor::new(&self.policy.detectors, minter, Metrics::default());
        let ops = self.policy.response_headers.apply(
            input.headers,
            &mut r,
            Metric::ResponseHeadersRemoved,
        );
        ResponseOutcome {
            ops,
            metrics: r.into_metrics(),
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

    fn keyed(config: serde_json::Value) -> Engine {
        let mut cfg = config;
        cfg["keys"] = serde_json::json!({"active": "k2", "env": {"k1": "K1", "k2": "K2"}});
        Engine::from_json_with_env(cfg.to_string().as_bytes(), &crate::token::test_keys::env)
            .unwrap()
    }

    fn hs(list: &[(&str, &str)]) -> Vec<Header> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    const USER_42: &str = "tk.k2.p84PCaUIFbo_9PJ0HNRkcw";

    #[test]
    fn one_namespace_gives_one_token_in_every_carrier() {
        let engine = keyed(serde_json::json!({
            "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}},
            "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
            "url": {"templates": [{"template": "/users/{u}", "params": {"u": "tokenize"}, "namespaces": {"u": "user"}}]}
        }));
        let out = run(
            &engine,
            &hs(&[
                (":path", "/users/42"),
                ("x-user-id", "42"),
                ("baggage", "user.id=42,plan=pro"),
                ("uberctx-user.id", "42"),
                ("authorization", "Bearer x"),
            ]),
            &StaticProperties::default(),
        );
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Set("x-user-id".into(), USER_42.into()),
                HeaderOp::Remove("authorization".into()),
                HeaderOp::Set(
                    "baggage".into(),
                    format!("user.id={USER_42},plan=pro").into()
                ),
                HeaderOp::Set("uberctx-user.id".into(), USER_42.into()),
            ]
        );
        let url = out.url.clone().unwrap();
        assert_eq!(url.route.as_deref(), Some("/users/{u}"));
        assert_eq!(url.path, format!("/users/{USER_42}"));
        assert_eq!(
            out.redactions(),
            Redactions {
                headers: 2,
                baggage: 2,
                tokens: 4,
                detector_hits: 0
            }
        );
        assert_eq!(out.tenant, None);
    }

    #[test]
    fn tenant_keys_from_header_or_baggage() {
        for (tenant, headers) in [
            (
                serde_json::json!({"header": "x-tenant-id"}),
                hs(&[("x-tenant-id", " acme "), ("x-user-id", "42")]),
            ),
            (
                serde_json::json!({"baggage": "tenant.id"}),
                hs(&[("baggage", "tenant.id=acme"), ("x-user-id", "42")]),
            ),
        ] {
            let engine = keyed(serde_json::json!({
                "tenant": tenant,
                "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}}
            }));
            let out = run(&engine, &headers, &StaticProperties::default());
            assert_eq!(out.tenant.as_deref(), Some(&b"acme"[..]));
            assert_eq!(
                out.ops,
                vec![HeaderOp::Set(
                    "x-user-id".into(),
                    b"tk.k2.Gr6HcGBzoscrhfbwVHksbg".to_vec()
                )]
            );
        }
    }

    #[test]
    fn response_headers_have_their_own_policy() {
        let engine = keyed(serde_json::json!({
            "tenant": {"header": "x-tenant-id"},
            "response_headers": {"remove": ["x-debug"], "tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}}
        }));
        let out = engine.on_response(&ResponseInput {
            headers: &hs(&[
                (":status", "200"),
                ("set-cookie", "s=1"),
                ("x-debug", "1"),
                ("x-user-id", "42"),
                ("content-type", "text/plain"),
            ]),
            tenant: Some(b"globex"),
        });
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Remove("set-cookie".into()),
                HeaderOp::Remove("x-debug".into()),
                HeaderOp::Set("x-user-id".into(), b"tk.k2.D8ggPvxkns3Zvcqkj8WB1A".to_vec()),
            ]
        );
        assert_eq!(out.metrics.get(Metric::ResponseHeadersRemoved), 2);
        assert_eq!(out.metrics.get(Metric::HeadersRemoved), 0);
    }

    #[test]
    fn baggage_removed_as_a_header_is_not_rewritten() {
        let engine = Engine::from_json(br#"{"request_headers":{"remove":["baggage"]}}"#).unwrap();
        let out = run(
            &engine,
            &hs(&[("baggage", "bad member,a=x%40example.com")]),
            &StaticProperties::default(),
        );
        assert_eq!(out.ops, vec![HeaderOp::Remove("baggage".into())]);
        assert_eq!(out.metrics.get(Metric::BaggageInvalid), 0);
    }

    #[test]
    fn keys_and_tenant_config_errors() {
        let env = crate::token::test_keys::env;
        let err = |json: &str| Engine::from_json_with_env(json.as_bytes(), &env).unwrap_err();
        let e = err(r#"{"keys":{"active":"k1","env":{"k1":"MISSING"}}}"#);
        assert_eq!(e.path, "keys.env.k1");
        let e = err(r#"{"tenant":{"header":"x-tenant-id"}}"#);
        assert_eq!(e.path, "tenant");
        let e = err(r#"{"request_headers":{"tokenize":["x-user-id"]}}"#);
        assert_eq!(e.path, "request_headers.tokenize");
        let e = err(r#"{"response_headers":{"tokenize":["x-user-id"]}}"#);
        assert_eq!(e.path, "response_headers.tokenize");
        let e = err(r#"{"keys":{"active":"k1","env":{"k1":"K1"}},"tenant":{"cookie":"t"}}"#);
        assert_eq!(e.path, "tenant");
        // Without an environment, keys cannot load.
        let e = Engine::from_json(br#"{"keys":{"active":"k1","env":{"k1":"K1"}}}"#).unwrap_err();
        assert_eq!(e.path, "keys.env.k1");
    }

    #[test]
    fn debug_output_of_the_engine_has_no_key_material() {
        let engine = keyed(serde_json::json!({}));
        let text = format!("{engine:?}");
        assert!(
            text.contains(r#"Keyring { ids: ["k1", "k2"], active: "k2", .. }"#),
            "{text}"
        );
        for k in [crate::token::test_keys::K1, crate::token::test_keys::K2] {
            assert!(!text.contains(k));
        }
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
