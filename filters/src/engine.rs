//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out (plus counters).

use crate::config::{self, DirectionConfig, PluginConfig};
use crate::error::ConfigError;
use crate::host::{Entropy, Properties};
use crate::http::{Direction, Header, HeaderOp, RequestInput};
use crate::identity::{Identities, IdentityPolicy};
use crate::metrics::{Metric, Metrics};
use crate::policy::{PolicySet, ResponseRead, Selected};
use crate::redact::baggage::Baggage;
use crate::redact::token::{Keyring, TenantSource};
use crate::redact::url::SanitizedUrl;
use crate::redact::Clean;
use crate::redact::{Redactions, Redactor};
use crate::span::audit::{AuditMode, AuditRecord, Carrier, CarrierHits};
use crate::span::export::{ExportConfig, ExportHeaders};
use crate::span::otlp::ServiceConfig;
use crate::span::{self, SpanFacts, SpanRecord};
use crate::trace::TraceContext;

/// Everything compiled in `on_configure`, shared read-only by all requests.
#[derive(Debug, Clone)]
pub struct Engine {
    direction: DirectionConfig,
    service: ServiceConfig,
    export: Option<ExportConfig>,
    /// `export.headers`, read from the environment.
    export_headers: ExportHeaders,
    identity: IdentityPolicy,
    /// `None` when no `keys` are configured (then nothing may tokenize).
    keyring: Option<Keyring>,
    tenant: Option<TenantSource>,
    policies: PolicySet,
    /// Record a span for every request with a trace context, exported or
    /// not (`tracesafe explain`).
    every_span: bool,
    audit: AuditMode,
}

/// The first value of a header, or empty.
fn first<'a>(headers: &[Header<'a>], name: &str) -> &'a [u8] {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(&[][..], |(_, v)| *v)
}

/// The first of a non-empty error list.
fn first_error(errors: Vec<ConfigError>) -> ConfigError {
    errors
        .into_iter()
        .next()
        .unwrap_or_else(|| ConfigError::new("", "invalid configuration"))
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
    /// The sanitized URL for the span record (`None` without `:path`).
    pub url: Option<SanitizedUrl>,
    /// The tenant whose key minted this request's tokens; the adapter hands
    /// it back to [`Engine::on_response`]. Never put it on a span.
    pub tenant: Option<Vec<u8>>,
    /// The request side of its audit record (`audit.mode` not `off`); the
    /// adapter adds the response's counters and writes it.
    pub audit: Option<AuditRecord>,
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

    /// How much this request was redacted, for the span record.
    pub fn redactions(&self) -> Redactions {
        Redactions::from_metrics(&self.metrics)
    }
}

/// One response as the host sees it.
pub struct ResponseInput<'a> {
    pub headers: &'a [Header<'a>],
    /// [`RequestOutcome::tenant`] of the request.
    pub tenant: Option<&'a [u8]>,
    /// [`Selected::index`] of the request: the response gets the same policy.
    pub policy: usize,
    /// [`RequestOutcome::trace`] of the request (`traceresponse: emit`).
    pub trace: Option<&'a TraceContext>,
    /// Host properties: the upstream's certificate SAN for CLIENT spans.
    pub properties: &'a dyn Properties,
}

/// What the adapter must do to the response headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOutcome {
    pub ops: Vec<HeaderOp>,
    pub metrics: Metrics,
    /// The `:status` code, for [`SpanRecord::finish`] at the end of the stream.
    pub status: Option<u16>,
}

/// The response's `:status` code; `None` when absent or not a number.
fn response_status(headers: &[Header]) -> Option<u16> {
    std::str::from_utf8(first(headers, ":status"))
        .ok()?
        .parse()
        .ok()
}

/// An environment without variables: configurations naming keys fail.
fn no_env(_: &str) -> Option<String> {
    None
}

/// Attributes the detector hits so far to `carrier` (audit records only).
fn mark(hits: &mut Option<CarrierHits>, carrier: Carrier, r: &mut Redactor<'_>) {
    if let Some(h) = hits {
        h.mark(carrier, r.metrics());
    }
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
        Self::from_json_all(bytes, env).map_err(first_error)
    }

    /// Like [`Engine::from_json_with_env`], but reports every error it
    /// finds (`tracesafe check`).
    pub fn from_json_all(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigError>> {
        let (cfg, mut errors) = config::parse_all(bytes);
        let engine = Self::build(&cfg, env, &mut errors);
        match engine {
            Some(engine) if errors.is_empty() => Ok(engine),
            _ => Err(errors),
        }
    }

    fn build(
        cfg: &PluginConfig,
        env: &dyn Fn(&str) -> Option<String>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let mut check = |r: Result<(), ConfigError>| r.map_err(|e| errors.push(e)).is_ok();
        let mut export_headers = ExportHeaders::default();
        if let Some(export) = &cfg.global.export {
            if check(export.validate("export")) {
                match ExportHeaders::from_env(export, env, "export.headers") {
                    Ok(h) => export_headers = h,
                    Err(e) => errors.push(e),
                }
            }
        }
        let identity = IdentityPolicy::compile(&cfg.global.identity, "identity")
            .map_err(|e| errors.push(e))
            .ok();
        let keyring = match &cfg.global.keys {
            Some(keys) => match Keyring::from_env(keys, env, "keys") {
                Ok(k) => Some(k),
                Err(e) => {
                    errors.push(e);
                    return None;
                }
            },
            None => None,
        };
        let tenant = match &cfg.global.tenant {
            Some(t) => crate::redact::token::require_keys(keyring.is_some(), "tenant")
                .and_then(|()| TenantSource::compile(t, "tenant"))
                .map_err(|e| errors.push(e))
                .ok(),
            None => None,
        };
        let policies = PolicySet::compile(cfg, keyring.is_some(), errors);
        Some(Self {
            direction: cfg.global.direction,
            service: cfg.global.service.clone(),
            export: cfg.global.export.clone(),
            export_headers,
            identity: identity?,
            tenant: match (&cfg.global.tenant, tenant) {
                (Some(_), None) => return None,
                (_, t) => t,
            },
            keyring,
            policies: policies?,
            every_span: false,
            audit: cfg.global.audit.mode,
        })
    }

    /// This engine, recording [`RequestOutcome::span`] for every request
    /// with a trace context, whether or not it would be exported.
    pub fn recording_every_span(mut self) -> Self {
        self.every_span = true;
        self
    }

    /// Whether the span of a request with this context is exported:
    /// `export` is configured and the trace is sampled.
    pub fn exports(&self, ctx: &TraceContext) -> bool {
        self.export.is_some() && ctx.sampled()
    }

    /// Span export settings, when spans are exported.
    pub fn export(&self) -> Option<&ExportConfig> {
        self.export.as_ref()
    }

    /// `export.headers` with their values (secrets: send, never print).
    pub fn export_headers(&self) -> &ExportHeaders {
        &self.export_headers
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

    /// The request's tenant, from the configured header or baggage key.
    fn tenant_in_baggage(&self) -> bool {
        matches!(self.tenant, Some(TenantSource::Baggage(_)))
    }

    fn tenant(&self, headers: &[Header], bag: &Baggage) -> Option<Vec<u8>> {
        let raw = match self.tenant.as_ref()? {
            TenantSource::Header(name) => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim_ascii().to_vec())?,
            TenantSource::Baggage(key) => bag.value(key)?.into_owned().into_bytes(),
        };
        (!raw.is_empty()).then_some(raw)
    }

    /// Decides the mutations for one request.
    pub fn on_request(
        &self,
        input: &RequestInput<'_>,
        entropy: &mut dyn Entropy,
    ) -> RequestOutcome {
        let mut metrics = Metrics::with_capacity(16);
        metrics.add(Metric::Requests, 1);
        let direction = self.direction(input.properties);
        let (policy, selected) = self.policies.select(input, direction, &mut metrics);
        let (identities, mut ops) =
            self.identity
                .resolve(input.headers, input.properties, &mut metrics);
        // Baggage is parsed only when someone reads it.
        let bag = if policy.baggage.is_noop() && !self.tenant_in_baggage() {
            Baggage::default()
        } else {
            Baggage::parse(input.headers)
        };
        let tenant = self.tenant(input.headers, &bag);
        let minter = self.keyring.as_ref().map(|k| k.minter(tenant.as_deref()));
        let mut r = Redactor::new(&policy.detectors, minter, metrics);
        let mut hits = (self.audit != AuditMode::Off).then(CarrierHits::default);
        let (trace_ops, trace) =
            policy
                .trace
                .apply(input.headers, direction, input.now_ns, entropy, &mut r);
        ops.reserve(trace_ops.len() + 16);
        ops.extend(trace_ops);
        mark(&mut hits, Carrier::TraceContext, &mut r);
        // The sanitized URL and user agent only feed the span record.
        let for_span = trace
            .as_ref()
            .is_some_and(|ctx| self.every_span || self.exports(ctx));
        let user_agent = first(input.headers, "user-agent");
        if let Some(ua) = std::str::from_utf8(user_agent).ok().filter(|_| for_span) {
            r.also_for_span(ua);
        }
        let header_ops =
            policy
                .request_headers
                .apply(input.headers, &mut r, Metric::HeadersRemoved);
        mark(&mut hits, Carrier::RequestHeaders, &mut r);
        let removed = |name: &str| {
            header_ops
                .iter()
                .any(|op| matches!(op, HeaderOp::Remove(n) if n == name))
        };
        let baggage_ops = policy.baggage.apply(&bag, &removed, &mut r);
        mark(&mut hits, Carrier::Baggage, &mut r);
        // Header policy after trace ops, so an explicit removal wins.
        ops.extend(header_ops);
        ops.extend(baggage_ops);
        let (url, path_op) = policy.url.sanitize(input.headers, &mut r, for_span);
        ops.extend(path_op);
        mark(&mut hits, Carrier::Url, &mut r);
        let user_agent = match user_agent {
            raw if raw.is_empty() || !for_span => None,
            raw => r.clean(&crate::http::lossy(raw)),
        };
        let grpc = for_span
            .then(|| span::rpc::recognize(input.headers, input.properties, &mut r))
            .flatten();
        mark(&mut hits, Carrier::RequestHeaders, &mut r);
        let metrics = r.into_metrics();
        let audit = hits.map(|hits| {
            AuditRecord::new(
                self.audit,
                trace
                    .as_ref()
                    .map(|t| crate::trace::ids::to_hex(&t.trace_id)),
                &selected.name,
                direction.map(Direction::name),
                url.as_ref().and_then(|u| u.route.clone()),
                &identities,
                hits,
                &metrics,
            )
        });
        let span = match &trace {
            Some(ctx) if for_span => {
                let redactions = Redactions::from_metrics(&metrics);
                let facts = SpanFacts {
                    method: span::method(first(input.headers, ":method")),
                    route: url.as_ref().and_then(|u| u.route.clone()).map(Clean::new),
                    path: url.as_ref().map(|u| Clean::new(u.path.clone())),
                    query: url.as_ref().and_then(|u| u.query.clone()).map(Clean::new),
                    scheme: span::scheme(first(input.headers, ":scheme")),
                    server_address: span::server_address(first(input.headers, ":authority")),
                    user_agent,
                    policy: Clean::new(selected.name.to_string()),
                    redacted_headers: redactions.headers,
                    redacted_baggage: redactions.baggage,
                    tokens: redactions.tokens,
                };
                let mut span = SpanRecord::start(ctx, input.now_ns, facts, &identities);
                if let Some(call) = &grpc {
                    span.set_grpc(call);
                }
                Some(span)
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
            url,
            tenant,
            audit,
        }
    }

    /// What [`Engine::on_response`] needs of this request's response
    /// headers (`policy`: [`Selected::index`]): what its policy reads; the
    /// whole map for a span (see below); for an audit record, which takes
    /// only the response's counters, no more than the policy's probe.
    pub fn response_read(&self, policy: usize, span: Option<&SpanRecord>) -> ResponseRead {
        let own = self.policies.get(policy).response_read;
        match (own, span) {
            // A span reads `:status` (and a gRPC span `grpc-status`). In
            // Envoy a lookup that finds a value costs as much as the whole
            // map of a small response: both call back into the VM to
            // allocate the answer, about 8k of the 10k instructions.
            (_, Some(_)) => ResponseRead::All,
            (ResponseRead::IfPresent(probe), None) if self.audit != AuditMode::Off => {
                ResponseRead::Probe(probe)
            }
            (own, None) => own,
        }
    }

    /// Whether [`Engine::on_response_trailers`] can do anything: a
    /// response header rule, or a span that may take `grpc-status` there.
    pub fn reads_trailers(&self, policy: usize, span: Option<&SpanRecord>) -> bool {
        span.is_some() || self.policies.get(policy).response_rules
    }

    /// Decides the mutations for one response's headers, under the policy
    /// the request got.
    /// `span`: the request's span, if any; CLIENT spans get the upstream's
    /// SPIFFE ID here, since only the response knows which upstream answered,
    /// and gRPC spans a trailers-only `grpc-status`.
    pub fn on_response(
        &self,
        input: &ResponseInput<'_>,
        span: Option<&mut SpanRecord>,
    ) -> ResponseOutcome {
        let mut metrics = Metrics::default();
        let trace_ops = self.policies.get(input.policy).trace.on_response(
            input.headers,
            input.trace,
            &mut metrics,
        );
        let mut out = self.response_header_policy(input, metrics);
        // Header policy after the traceresponse ops, so an explicit removal wins.
        out.ops.splice(0..0, trace_ops);
        if let Some(span) = span {
            span.observe_grpc_status(input.headers);
            if span.kind == span::SpanKind::Client {
                let upstream = input
                    .properties
                    .property(&["upstream", "uri_san_peer_certificate"]);
                span.set_upstream_peer(&upstream.unwrap_or_default(), &mut out.metrics);
            }
        }
        out
    }

    /// Decides the mutations for response trailers (`input.headers`), where
    /// gRPC puts its status and can put `grpc-message` and custom metadata:
    /// the response header policy, nothing of trace context.
    pub fn on_response_trailers(
        &self,
        input: &ResponseInput<'_>,
        span: Option<&mut SpanRecord>,
    ) -> ResponseOutcome {
        if let Some(span) = span {
            span.observe_grpc_status(input.headers);
        }
        self.response_header_policy(input, Metrics::default())
    }

    fn response_header_policy(
        &self,
        input: &ResponseInput<'_>,
        metrics: Metrics,
    ) -> ResponseOutcome {
        let policy = self.policies.get(input.policy);
        let minter = self.keyring.as_ref().map(|k| k.minter(input.tenant));
        let mut r = Redactor::new(&policy.detectors, minter, metrics);
        let ops =
            policy
                .response_headers
                .apply(input.headers, &mut r, Metric::ResponseHeadersRemoved);
        ResponseOutcome {
            ops,
            metrics: r.into_metrics(),
            status: response_status(input.headers),
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
        let mut out = engine.on_request(
            &RequestInput {
                headers,
                properties: props,
                now_ns: 1_000,
            },
            &mut SeededEntropy(1),
        );
        // Trace context has its own tests (trace.rs); these look at the rest.
        out.ops
            .retain(|op| !matches!(op, HeaderOp::Set(n, _) if n == "traceparent"));
        out
    }

    #[test]
    fn sampled_trace_with_export_starts_a_span() {
        let engine =
            Engine::from_json(br#"{"direction":"outbound","export":{"cluster":"c"}}"#).unwrap();
        let headers: Vec<Header> = vec![
            (":method", &b"GET"[..]),
            (":scheme", &b"http"[..]),
            (":authority", &b"shop:8080"[..]),
            (":path", &b"/users/alice@example.com?sig=secret"[..]),
            (
                "traceparent",
                &b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"[..],
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

        let unsampled: [Header; 1] = [(
            "traceparent",
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
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
                ("authorization", &b"Bearer s3cr3t"[..]),
                ("authorization", &b"Basic x"[..]),
                ("accept", &b"*/*"[..]),
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
            &[("b3", &b"80f198ee56343ba8-e457b5a2e4d86bd1-1"[..])],
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

    fn keyed(config: serde_json::Value) -> Engine {
        let mut cfg = config;
        cfg["keys"] = serde_json::json!({"active": "k2", "env": {"k1": "K1", "k2": "K2"}});
        // Every span recorded, so the sanitized URL is computed too.
        Engine::from_json_with_env(
            cfg.to_string().as_bytes(),
            &crate::redact::token::test_keys::env,
        )
        .unwrap()
        .recording_every_span()
    }

    fn hs<'a>(list: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        list.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
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
                ("cookie", "sid=1"),
            ]),
            &StaticProperties::default(),
        );
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Set("x-user-id".into(), USER_42.into()),
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
                headers: 1,
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
            "response_headers": {"defaults": "credentials", "remove": ["x-debug"], "tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}}
        }));
        let out = engine.on_response(
            &ResponseInput {
                headers: &hs(&[
                    (":status", "200"),
                    ("set-cookie", "s=1"),
                    ("x-debug", "1"),
                    ("x-user-id", "42"),
                    ("content-type", "text/plain"),
                ]),
                tenant: Some(b"globex"),
                policy: 0,
                trace: None,
                properties: &StaticProperties::default(),
            },
            None,
        );
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
    fn the_response_gives_the_status_and_a_client_span_its_upstream() {
        let engine = Engine::from_json(br#"{"direction":"outbound"}"#)
            .unwrap()
            .recording_every_span();
        let hs_in = hs(&[(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )]);
        let respond = |status: &str, san: &str, span: Option<&mut SpanRecord>| {
            let props = StaticProperties::default()
                .with(&["upstream", "uri_san_peer_certificate"], san.as_bytes());
            engine.on_response(
                &ResponseInput {
                    headers: &hs(&[(":status", status)]),
                    tenant: None,
                    policy: 0,
                    trace: None,
                    properties: &props,
                },
                span,
            )
        };
        let mut span = run(&engine, &hs_in, &StaticProperties::default())
            .span
            .unwrap();
        assert_eq!(span.kind, SpanKind::Client);
        let out = respond(
            "503",
            "spiffe://cluster.local/ns/shop/sa/cart",
            Some(&mut span),
        );
        assert_eq!(out.status, Some(503));
        let peer: Vec<_> = span
            .attributes
            .iter()
            .filter(|(k, _)| k.starts_with("mesh.peer."))
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        assert_eq!(
            peer,
            [
                r#"mesh.peer.spiffe_id=Str("spiffe://cluster.local/ns/shop/sa/cart")"#,
                r#"mesh.peer.namespace=Str("shop")"#,
                r#"mesh.peer.service_account=Str("cart")"#,
            ]
        );
        assert_eq!(out.metrics.get(Metric::SpiffeInvalid), 0);
        let mut fresh = run(&engine, &hs_in, &StaticProperties::default())
            .span
            .unwrap();
        let out = respond("oops", "not a spiffe id", Some(&mut fresh));
        assert_eq!(out.status, None);
        assert_eq!(out.metrics.get(Metric::SpiffeInvalid), 1);
        assert_eq!(respond("200", "x", None).status, Some(200));
    }

    #[test]
    fn traceresponse_is_decided_with_the_requests_context() {
        let hs_in = hs(&[(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )]);
        let resp = hs(&[(":status", "200"), ("traceresponse", "junk")]);
        let respond = |json: &[u8]| {
            let engine = Engine::from_json(json).unwrap();
            let out = run(&engine, &hs_in, &StaticProperties::default());
            let ctx = out.trace.unwrap();
            let r = engine.on_response(
                &ResponseInput {
                    headers: &resp,
                    tenant: None,
                    policy: 0,
                    trace: Some(&ctx),
                    properties: &StaticProperties::default(),
                },
                None,
            );
            (r, crate::trace::ids::to_hex(&ctx.span_id))
        };
        let (out, span) = respond(br#"{"direction":"inbound","trace":{"traceresponse":"emit"}}"#);
        assert_eq!(
            out.ops,
            vec![HeaderOp::Set(
                "traceresponse".into(),
                format!("00-0af7651916cd43dd8448eb211c80319c-{span}-01").into_bytes()
            )]
        );
        let (out, _) = respond(br#"{"direction":"inbound"}"#);
        assert_eq!(out.ops, vec![HeaderOp::Remove("traceresponse".into())]);
        assert_eq!(out.metrics.get(Metric::TraceresponseInvalid), 1);
        // An explicit response header removal wins over emit.
        let (out, _) = respond(
            br#"{"direction":"inbound","trace":{"traceresponse":"emit"},"response_headers":{"remove":["traceresponse"]}}"#,
        );
        assert_eq!(
            out.ops.last(),
            Some(&HeaderOp::Remove("traceresponse".into()))
        );
    }

    /// The bench policies (`envoy/bench/`), keyed like the bench.
    fn bench_engine(file: &str) -> Engine {
        let env = |name: &str| {
            (name == "TRACESAFE_BENCH_KEY").then(|| crate::redact::token::test_keys::K1.to_string())
        };
        Engine::from_json_with_env(file.as_bytes(), &env).unwrap()
    }

    #[test]
    fn the_response_is_read_only_when_something_looks_at_it() {
        let min = bench_engine(include_str!("../../envoy/bench/tracesafe-min.json"));
        let full = bench_engine(include_str!("../../envoy/bench/tracesafe-full.json"));
        let probe = ResponseRead::IfPresent("traceresponse");
        // traceresponse `pass` only acts on one that is there.
        assert_eq!(min.response_read(0, None), probe);
        assert!(!min.reads_trailers(0, None));
        assert_eq!(full.response_read(0, None), probe);
        assert!(!full.reads_trailers(0, None));
        // full samples and exports every request: its span needs the status.
        let hs_in = hs(&[(":method", "GET"), (":path", "/")]);
        let span = run(&full, &hs_in, &StaticProperties::default()).span;
        assert!(span.is_some());
        assert_eq!(full.response_read(0, span.as_ref()), ResponseRead::All);
        assert!(full.reads_trailers(0, span.as_ref()));
        // Skipping is exact: without traceresponse neither policy does
        // anything to a response (no op, no counter).
        let resp = hs(&[(":status", "200"), ("set-cookie", "a=1"), ("x-debug", "1")]);
        for engine in [&min, &full] {
            let input = ResponseInput {
                headers: &resp,
                tenant: None,
                policy: 0,
                trace: None,
                properties: &StaticProperties::default(),
            };
            let out = engine.on_response(&input, None);
            assert_eq!((out.ops, out.metrics), (vec![], Metrics::default()));
            let out = engine.on_response_trailers(&input, None);
            assert_eq!((out.ops, out.metrics), (vec![], Metrics::default()));
        }
    }

    /// `ResponseRead::Probe`: without the probed header the audit record's
    /// response counters come from no headers, exactly as from the map.
    #[test]
    fn an_audit_record_counts_the_same_without_the_map() {
        let e = Engine::from_json(br#"{"audit":{"mode":"always"}}"#).unwrap();
        let resp = hs(&[(":status", "200"), ("set-cookie", "a=1"), ("x-debug", "1")]);
        let out = |headers: &[Header]| {
            let o = e.on_response(
                &ResponseInput {
                    headers,
                    tenant: None,
                    policy: 0,
                    trace: None,
                    properties: &StaticProperties::default(),
                },
                None,
            );
            (o.ops, o.metrics)
        };
        assert_eq!(out(&resp), out(&[]));
        assert_eq!(out(&[]), (vec![], Metrics::default()));
    }

    #[test]
    fn response_rules_and_emit_read_every_response() {
        let read = |json: &str| {
            let e = Engine::from_json(json.as_bytes()).unwrap();
            (e.response_read(0, None), e.reads_trailers(0, None))
        };
        let all = (ResponseRead::All, true);
        assert_eq!(read(r#"{"response_headers":{"remove":["x-debug"]}}"#), all);
        assert_eq!(
            read(r#"{"response_headers":{"defaults":"credentials"}}"#),
            all
        );
        assert_eq!(read(r#"{"response_headers":{"scan":["*"]}}"#), all);
        assert_eq!(read(r#"{"response_headers":{"allow_only":["a"]}}"#), all);
        assert_eq!(
            read(r#"{"trace":{"traceresponse":"emit"}}"#),
            (ResponseRead::All, false)
        );
        assert_eq!(
            read(r#"{"trace":{"traceresponse":"strip"}}"#),
            (ResponseRead::IfPresent("traceresponse"), false)
        );
        // An audit record needs only the probe's counters.
        assert_eq!(
            read(r#"{"audit":{"mode":"always"}}"#),
            (ResponseRead::Probe("traceresponse"), false)
        );
        assert_eq!(
            read(r#"{"audit":{"mode":"always"},"response_headers":{"remove":["x"]}}"#),
            (ResponseRead::All, true)
        );
        // A named policy is answered for itself.
        let e = Engine::from_json(
            br#"{"policies":{"edge":{"response_headers":{"remove":["server"]}}},"rules":[{"match":{"path_prefix":"/e"},"policy":"edge"}]}"#,
        )
        .unwrap();
        assert_eq!(
            e.response_read(0, None),
            ResponseRead::IfPresent("traceresponse")
        );
        assert_eq!(e.response_read(1, None), ResponseRead::All);
        assert!(e.reads_trailers(1, None));
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
        let env = crate::redact::token::test_keys::env;
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
        assert_eq!(e.path, "tenant.cookie");
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
        for k in [
            crate::redact::token::test_keys::K1,
            crate::redact::token::test_keys::K2,
        ] {
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
