//! Trace context at this hop: extract the caller's context, decide to
//! continue, start or restart, mint this hop's span id, and write every
//! configured format with the same ids. The result is a list of header ops
//! plus a [`TraceContext`] record for span export.

pub mod b3;
pub mod config;
pub mod ids;
pub mod jaeger;
pub mod sampling;
pub mod traceparent;
pub mod traceresponse;
pub mod tracestate;
pub mod xray;

use crate::error::join;
use crate::error::ConfigError;
use crate::host::Entropy;
use crate::http::Direction;
use crate::http::{self, Header, HeaderOp};
use crate::metrics::{Metric, Metrics};
use crate::redact::pct;
use crate::redact::Redactor;
use crate::trace::config::{
    PropagationFormat, RequestIdMode, TraceConfig, TraceContextOwner, TraceResponseMode,
};
use crate::trace::ids::{SpanId, TraceId};
use crate::trace::sampling::Sampler;
use crate::trace::traceparent::{trim_ows, TraceParent, FLAG_RANDOM, FLAG_SAMPLED};
use crate::trace::tracestate::TraceState;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
pub const REQUEST_ID: &str = "x-request-id";

/// This hop's span, as span export needs it. Plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: TraceId,
    /// This hop's span id: the parent-id of every forwarded format.
    pub span_id: SpanId,
    /// The caller's span id when the trace was continued.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace-flags as forwarded: [`FLAG_SAMPLED`], [`FLAG_RANDOM`].
    pub flags: u8,
    /// The tracestate forwarded with this span, if any.
    pub trace_state: Option<String>,
    pub kind: SpanKind,
    pub origin: Origin,
    /// The discarded incoming context when the trace was restarted.
    pub link: Option<Link>,
}

impl TraceContext {
    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }
}

/// SERVER on the inbound side of a workload, CLIENT on the outbound side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
}

impl SpanKind {
    /// An unknown direction is treated as inbound: a sidecar that cannot
    /// tell is most often in front of its workload.
    pub fn for_direction(direction: Option<Direction>) -> Self {
        match direction {
            Some(Direction::Outbound) => SpanKind::Client,
            Some(Direction::Inbound) | None => SpanKind::Server,
        }
    }
}

/// How this hop obtained its trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// No usable incoming context: a new trace.
    Started,
    /// The caller's context, read from this format, was continued.
    Continued(PropagationFormat),
    /// A valid context from this format was replaced (`restart_trace`).
    Restarted(PropagationFormat),
}

/// A span link to the context a restart discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// W3C trace-flags as received (sampled when known, random).
    pub flags: u8,
}

/// The caller's context, from whichever format won.
#[derive(Debug, Clone, Copy)]
struct Incoming {
    format: PropagationFormat,
    trace_id: TraceId,
    span_id: SpanId,
    /// `None`: deferred to this hop.
    sampled: Option<bool>,
    /// Only a traceparent can vouch for a random trace-id.
    random: bool,
}

impl Incoming {
    fn flags(&self) -> u8 {
        w3c_flags(self.sampled == Some(true), self.random)
    }
}

/// W3C trace-flags from the two bits this implementation knows.
fn w3c_flags(sampled: bool, random: bool) -> u8 {
    let mut f = 0;
    if sampled {
        f |= FLAG_SAMPLED;
    }
    if random {
        f |= FLAG_RANDOM;
    }
    f
}

/// A compiled `trace` policy.
#[derive(Debug, Clone)]
pub struct TracePolicy {
    owner: TraceContextOwner,
    propagation: Vec<PropagationFormat>,
    restart: bool,
    sampler: Sampler,
    own_key: Option<String>,
    deny_keys: Vec<String>,
    request_id: RequestIdMode,
    /// `xray_keep_fields`, lowercase.
    xray_keep: Vec<String>,
    traceresponse: TraceResponseMode,
}

impl TracePolicy {
    /// `path` is the JSON path of the `trace` object.
    pub fn compile(cfg: &TraceConfig, path: &str) -> Result<Self, ConfigError> {
        let at = |field: &str| join(path, field);
        if cfg.propagation.is_empty() {
            return Err(ConfigError::new(
                at("propagation"),
                "list at least one format (tracecontext, b3, b3multi, jaeger, xray)",
            ));
        }
        for (i, f) in cfg.propagation.iter().enumerate() {
            if cfg.propagation.iter().take(i).any(|g| g == f) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", at("propagation")),
                    "format listed twice",
                ));
            }
        }
        if let Some(key) = &cfg.tracestate_key {
            if !tracestate::is_valid_key(key.as_bytes()) {
                return Err(ConfigError::new(at("tracestate_key"), bad_key(key)));
            }
        }
        for (i, key) in cfg.tracestate_deny_keys.iter().enumerate() {
            if !tracestate::is_valid_key(key.as_bytes()) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", at("tracestate_deny_keys")),
                    bad_key(key),
                ));
            }
        }
        let writes_tracestate = cfg.propagation.contains(&PropagationFormat::TraceContext)
            && cfg.trace_context == TraceContextOwner::Tracesafe;
        if !writes_tracestate {
            // These would silently do nothing: fail closed instead.
            let why = match cfg.trace_context {
                TraceContextOwner::Envoy => {
                    "has no effect with trace_context \"envoy\": Envoy's tracer writes tracestate"
                }
                TraceContextOwner::Tracesafe => {
                    "has no effect unless trace.propagation lists \"tracecontext\""
                }
            };
            if cfg.tracestate_key.is_some() {
                return Err(ConfigError::new(at("tracestate_key"), why));
            }
            if !cfg.tracestate_deny_keys.is_empty() {
                return Err(ConfigError::new(at("tracestate_deny_keys"), why));
            }
        }
        if cfg.trace_context == TraceContextOwner::Envoy {
            let why =
                "has no effect with trace_context \"envoy\": Envoy's tracer owns the trace context";
            if cfg.restart_trace {
                return Err(ConfigError::new(at("restart_trace"), why));
            }
            if cfg.sampling.is_some() {
                return Err(ConfigError::new(at("sampling"), why));
            }
            if let Some(i) = cfg
                .propagation
                .iter()
                .position(|f| *f != PropagationFormat::TraceContext)
            {
                return Err(ConfigError::new(format!("{}[{i}]", at("propagation")), why));
            }
        }
        check_xray_keep_fields(cfg, &at("xray_keep_fields"))?;
        if cfg.trace_context == TraceContextOwner::Envoy
            && cfg.traceresponse == TraceResponseMode::Emit
        {
            return Err(ConfigError::new(
                at("traceresponse"),
                "\"emit\" has no effect with trace_context \"envoy\": this hop's span id is Envoy's",
            ));
        }
        Ok(Self {
            owner: cfg.trace_context,
            propagation: cfg.propagation.clone(),
            restart: cfg.restart_trace,
            sampler: Sampler::compile(cfg.sampling.as_ref(), &at("sampling"))?,
            own_key: cfg.tracestate_key.clone(),
            deny_keys: cfg.tracestate_deny_keys.clone(),
            request_id: cfg.request_id,
            xray_keep: cfg
                .xray_keep_fields
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            traceresponse: cfg.traceresponse,
        })
    }

    /// The `traceresponse` ops for the response to a request whose context
    /// at this hop was `trace`.
    pub fn on_response(
        &self,
        headers: &[Header],
        trace: Option<&TraceContext>,
        metrics: &mut Metrics,
    ) -> Vec<HeaderOp> {
        traceresponse::apply(self.traceresponse, headers, trace, metrics)
    }

    /// Decides the trace headers for one request. With `trace_context:
    /// envoy` only x-request-id is handled and no span is recorded: Envoy's
    /// tracer owns the span and its ids are not visible to a filter.
    /// `now_ns` (Unix time) dates new X-Ray trace ids.
    pub fn apply(
        &self,
        headers: &[Header],
        direction: Option<Direction>,
        now_ns: u64,
        entropy: &mut dyn Entropy,
        r: &mut Redactor<'_>,
    ) -> (Vec<HeaderOp>, Option<TraceContext>) {
        let mut ops = Vec::new();
        let trace = match self.owner {
            TraceContextOwner::Tracesafe => {
                self.propagate(headers, direction, now_ns, entropy, r, &mut ops)
            }
            TraceContextOwner::Envoy => None,
        };
        if let Some(op) = self.request_id(headers, entropy, r.metrics()) {
            ops.push(op);
        }
        (ops, trace)
    }

    fn propagate(
        &self,
        headers: &[Header],
        direction: Option<Direction>,
        now_ns: u64,
        entropy: &mut dyn Entropy,
        r: &mut Redactor<'_>,
        ops: &mut Vec<HeaderOp>,
    ) -> Option<TraceContext> {
        let metrics = r.metrics();
        let incoming = extract(headers, metrics);
        let avoid = incoming.map(|i| i.span_id);
        let continued = incoming.filter(|_| !self.restart);
        let ids =
            ids::random_id::<8>(entropy, avoid.as_slice()).and_then(|span_id| match continued {
                Some(inc) => Some((inc.trace_id, span_id)),
                // X-Ray rejects a Root whose first 8 hex digits are not a recent
                // epoch; the right-most 12 bytes stay random.
                None if self.propagation.contains(&PropagationFormat::Xray) => {
                    ids::random_id::<16>(entropy, &[])
                        .map(|t| (xray::with_epoch(t, now_ns), span_id))
                }
                None => ids::random_id::<16>(entropy, &[]).map(|t| (t, span_id)),
            });
        let Some((trace_id, span_id)) = ids else {
            // Leave the request as it came rather than send guessable ids.
            metrics.add(Metric::IdGenerationFailures, 1);
            return None;
        };

        let (origin, parent_sampled, random) = match (continued, incoming) {
            (Some(inc), _) => (Origin::Continued(inc.format), inc.sampled, inc.random),
            (None, Some(inc)) => (Origin::Restarted(inc.format), None, true),
            (None, None) => (Origin::Started, None, true),
        };
        metrics.add(
            match origin {
                Origin::Started => Metric::TracesStarted,
                Origin::Continued(_) => Metric::TracesContinued,
                Origin::Restarted(_) => Metric::TracesRestarted,
            },
            1,
        );
        let sampled = self.sampler.decide(parent_sampled, &trace_id);
        let flags = w3c_flags(sampled, random);

        let mut trace_state = None;
        for format in &self.propagation {
            match format {
                PropagationFormat::TraceContext => {
                    ops.push(HeaderOp::Set(
                        TRACEPARENT.into(),
                        TraceParent {
                            trace_id,
                            parent_id: span_id,
                            flags,
                        }
                        .to_header(),
                    ));
                    let continues_w3c =
                        origin == Origin::Continued(PropagationFormat::TraceContext);
                    let ts = self.trace_state(headers, continues_w3c, &span_id, r);
                    if !ts.is_empty() {
                        let value = ts.to_header();
                        trace_state = Some(http::lossy(&value).into_owned());
                        ops.extend(http::set_if_changed(headers, TRACESTATE, value));
                    } else if http::has(headers, TRACESTATE) {
                        // Never forward an empty tracestate.
                        ops.push(HeaderOp::Remove(TRACESTATE.into()));
                    }
                }
                PropagationFormat::B3 => ops.push(b3::inject_single(&trace_id, &span_id, sampled)),
                PropagationFormat::B3Multi => {
                    ops.extend(b3::inject_multi(headers, &trace_id, &span_id, sampled))
                }
                PropagationFormat::Jaeger => ops.push(jaeger::inject(&trace_id, &span_id, sampled)),
                PropagationFormat::Xray => {
                    // Extra fields belong to the caller's trace: only a
                    // continued one carries them on.
                    let kept = match continued {
                        Some(_) if !self.xray_keep.is_empty() => {
                            xray::kept_fields(headers, &self.xray_keep, |v| {
                                r.scan_raw(v, pct::is_tracestate_text)
                            })
                        }
                        _ => Vec::new(),
                    };
                    ops.push(xray::inject(&trace_id, &span_id, sampled, &kept))
                }
            }
        }

        Some(TraceContext {
            trace_id,
            span_id,
            parent_span_id: continued.map(|i| i.span_id),
            flags,
            trace_state,
            kind: SpanKind::for_direction(direction),
            origin,
            link: incoming.filter(|_| self.restart).map(|i| Link {
                trace_id: i.trace_id,
                span_id: i.span_id,
                flags: i.flags(),
            }),
        })
    }

    /// The tracestate to forward. Only a continued traceparent carries its
    /// tracestate over; a new, restarted or non-W3C context starts empty.
    /// An invalid list is dropped whole.
    fn trace_state(
        &self,
        headers: &[Header],
        continues_w3c: bool,
        span_id: &SpanId,
        r: &mut Redactor<'_>,
    ) -> TraceState {
        let mut ts = if continues_w3c {
            match TraceState::from_fields_counted(&http::values(headers, TRACESTATE)) {
                Ok((ts, dropped)) => {
                    r.count(Metric::TracestateDuplicatesDropped, dropped as u64);
                    ts
                }
                Err(_) => {
                    r.count(Metric::TracestateInvalid, 1);
                    TraceState::default()
                }
            }
        } else {
            TraceState::default()
        };
        ts.remove_keys(&self.deny_keys);
        // Vendor values are opaque but may still carry user data.
        ts.scan_values(|value| r.scan_raw(value, pct::is_tracestate_text));
        if let Some(key) = &self.own_key {
            ts.put_first(key, ids::to_hex(span_id));
        }
        ts
    }

    /// `generate`: a UUIDv4 when the request has no (non-empty) x-request-id.
    fn request_id(
        &self,
        headers: &[Header],
        entropy: &mut dyn Entropy,
        metrics: &mut Metrics,
    ) -> Option<HeaderOp> {
        if self.request_id == RequestIdMode::Keep
            || http::values(headers, REQUEST_ID)
                .iter()
                .any(|v| !trim_ows(v).is_empty())
        {
            return None;
        }
        match ids::random_id::<16>(entropy, &[]) {
            Some(bytes) => {
                metrics.add(Metric::RequestIdsGenerated, 1);
                Some(HeaderOp::Set(
                    REQUEST_ID.into(),
                    ids::uuid_v4(bytes).into_bytes(),
                ))
            }
            None => {
                metrics.add(Metric::IdGenerationFailures, 1);
                None
            }
        }
    }
}

/// The caller's context. Precedence: a valid traceparent, then `b3`, then
/// `x-b3-*`, then `uber-trace-id`, then `X-Amzn-Trace-Id`. Every format is read whatever
/// `propagation` says, so callers speaking another format stay in the trace.
fn extract(headers: &[Header], metrics: &mut Metrics) -> Option<Incoming> {
    match TraceParent::from_fields(&http::values(headers, TRACEPARENT)) {
        Ok(Some(tp)) => {
            return Some(Incoming {
                format: PropagationFormat::TraceContext,
                trace_id: tp.trace_id,
                span_id: tp.parent_id,
                sampled: Some(tp.flags & FLAG_SAMPLED != 0),
                random: tp.flags & FLAG_RANDOM != 0,
            })
        }
        Ok(None) => {}
        Err(_) => metrics.add(Metric::TraceparentInvalid, 1),
    }
    let remote = |format, span: ids::RemoteSpan| Incoming {
        format,
        trace_id: span.trace_id,
        span_id: span.span_id,
        sampled: span.sampled,
        random: false,
    };
    b3::extract_single(headers)
        .map(|s| remote(PropagationFormat::B3, s))
        .or_else(|| b3::extract_multi(headers).map(|s| remote(PropagationFormat::B3Multi, s)))
        .or_else(|| jaeger::extract(headers).map(|s| remote(PropagationFormat::Jaeger, s)))
        .or_else(|| xray::extract(headers).map(|h| remote(PropagationFormat::Xray, h.span)))
}

/// `trace.xray_keep_fields`: field names, not Root/Parent/Sampled (always
/// written), no repeats, and only with `xray` in `propagation`.
fn check_xray_keep_fields(cfg: &TraceConfig, path: &str) -> Result<(), ConfigError> {
    let list = &cfg.xray_keep_fields;
    if !list.is_empty() && !cfg.propagation.contains(&PropagationFormat::Xray) {
        return Err(ConfigError::new(
            path,
            "has no effect unless trace.propagation lists \"xray\"",
        ));
    }
    for (i, key) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if !xray::is_valid_key(key.as_bytes()) {
            return Err(ConfigError::new(
                at,
                format!(
                    "{key:?} is not an X-Amzn-Trace-Id field name (1 to 64 of A-Z a-z 0-9 - _)"
                ),
            ));
        }
        if xray::is_core_key(key) {
            return Err(ConfigError::new(
                at,
                format!("{key:?} is always written by tracesafe; list only other fields"),
            ));
        }
        if list.iter().take(i).any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(ConfigError::new(at, "field listed twice"));
        }
    }
    Ok(())
}

fn bad_key(key: &str) -> String {
    format!(
        "{key:?} is not a tracestate key (lowercase letter or digit, then up to 255 of a-z 0-9 _ - * / @)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, PluginConfig};
    use crate::host::SeededEntropy;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const P: &str = "00f067aa0ba902b7";
    /// 2023-11-14T22:13:20Z: epoch seconds 6553f100.
    const NOW_NS: u64 = 1_700_000_000_000_000_000;

    struct Out {
        ops: Vec<HeaderOp>,
        trace: Option<TraceContext>,
        metrics: Metrics,
    }

    impl Out {
        /// The value the op list sets for `name`; `None` if untouched,
        /// `Some(None)` if removed.
        fn set(&self, name: &str) -> Option<Option<String>> {
            self.ops.iter().rev().find_map(|op| match op {
                HeaderOp::Set(n, v) if n == name => {
                    Some(Some(String::from_utf8(v.clone()).unwrap()))
                }
                HeaderOp::Remove(n) if n == name => Some(None),
                _ => None,
            })
        }

        fn value(&self, name: &str) -> String {
            self.set(name)
                .flatten()
                .unwrap_or_else(|| panic!("{name} not set: {:?}", self.ops))
        }

        fn ctx(&self) -> &TraceContext {
            self.trace.as_ref().unwrap()
        }

        fn span(&self) -> String {
            ids::to_hex(&self.ctx().span_id)
        }

        fn trace_id(&self) -> String {
            ids::to_hex(&self.ctx().trace_id)
        }
    }

    fn policy(json: &str) -> TracePolicy {
        let cfg: PluginConfig = config::parse(json.as_bytes()).unwrap();
        TracePolicy::compile(&cfg.policy.trace, "trace").unwrap()
    }

    fn compile_err(json: &str) -> ConfigError {
        let cfg: PluginConfig = config::parse(json.as_bytes()).unwrap();
        TracePolicy::compile(&cfg.policy.trace, "trace").unwrap_err()
    }

    fn run_with(p: &TracePolicy, headers: &[(&str, &str)], entropy: &mut dyn Entropy) -> Out {
        let hs: Vec<Header> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let detectors = crate::redact::detectors::Detectors::default();
        let mut r = Redactor::new(&detectors, None, Metrics::default());
        let (ops, trace) = p.apply(&hs, Some(Direction::Inbound), NOW_NS, entropy, &mut r);
        let metrics = r.into_metrics();
        Out {
            ops,
            trace,
            metrics,
        }
    }

    fn run(json: &str, headers: &[(&str, &str)]) -> Out {
        run_with(&policy(json), headers, &mut SeededEntropy(9))
    }

    /// Hands out scripted buffers first, then seeded randomness.
    struct Script(Vec<Vec<u8>>, SeededEntropy);
    impl Entropy for Script {
        fn fill(&mut self, buf: &mut [u8]) {
            if self.0.is_empty() {
                self.1.fill(buf);
            } else {
                buf.copy_from_slice(&self.0.remove(0));
            }
        }
    }

    struct Broken;
    impl Entropy for Broken {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }

    fn tp(trace: &str, parent: &str, flags: &str) -> String {
        format!("00-{trace}-{parent}-{flags}")
    }

    #[test]
    fn continues_a_valid_traceparent_with_a_new_span_id() {
        let out = run(
            "{}",
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", "congo=t61rcWkgMzE"),
            ],
        );
        let span = out.span();
        assert_ne!(span, P);
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Set("traceparent".into(), tp(T, &span, "01").into_bytes()),
                // tracestate is forwarded as received: no set.
            ]
        );
        let ctx = out.ctx();
        assert_eq!(ctx.trace_id, ids::from_hex::<16>(T.as_bytes()).unwrap());
        assert_eq!(ctx.parent_span_id, ids::from_hex(P.as_bytes()));
        assert_eq!(ctx.flags, FLAG_SAMPLED);
        assert_eq!(
            ctx.origin,
            Origin::Continued(PropagationFormat::TraceContext)
        );
        assert_eq!(ctx.kind, SpanKind::Server);
        assert_eq!(ctx.link, None);
        assert_eq!(ctx.trace_state.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(out.metrics.get(Metric::TracesContinued), 1);
        assert_eq!(out.metrics.iter().count(), 1);
    }

    #[test]
    fn keeps_flags_as_received_minus_unknown_bits() {
        for (incoming, forwarded) in [
            ("00", "00"),
            ("01", "01"),
            ("02", "02"),
            ("03", "03"),
            ("ff", "03"),
            ("fc", "00"),
        ] {
            let out = run("{}", &[("traceparent", &tp(T, P, incoming))]);
            assert_eq!(
                out.value("traceparent"),
                tp(T, &out.span(), forwarded),
                "{incoming}"
            );
        }
    }

    #[test]
    fn future_version_is_downgraded_to_00() {
        let out = run("{}", &[("traceparent", &format!("cc-{T}-{P}-01-future"))]);
        assert_eq!(out.value("traceparent"), tp(T, &out.span(), "01"));
        assert_eq!(
            out.ctx().origin,
            Origin::Continued(PropagationFormat::TraceContext)
        );
    }

    #[test]
    fn starts_a_random_sampled_trace_when_absent() {
        let out = run("{}", &[]);
        let ctx = out.ctx();
        assert!(!ids::is_zero(&ctx.trace_id));
        assert_eq!(ctx.flags, FLAG_SAMPLED | FLAG_RANDOM);
        assert_eq!(ctx.origin, Origin::Started);
        assert_eq!(ctx.parent_span_id, None);
        assert_eq!(
            out.ops,
            vec![HeaderOp::Set(
                "traceparent".into(),
                tp(&out.trace_id(), &out.span(), "03").into_bytes()
            )]
        );
        assert_eq!(out.metrics.get(Metric::TracesStarted), 1);
        // Another request, another trace.
        let again = run_with(&policy("{}"), &[], &mut SeededEntropy(10));
        assert_ne!(again.trace_id(), out.trace_id());
    }

    #[test]
    fn invalid_traceparent_starts_a_trace_and_drops_tracestate_unparsed() {
        for bad in [
            format!("00-{T}-{P}-01."),
            format!("ff-{T}-{P}-01"),
            format!("00-{}-{P}-01", T.to_uppercase()),
            format!("00-00000000000000000000000000000000-{P}-01"),
            format!("00-{T}-0000000000000000-01"),
            format!("00-{T}-{P}-01-what-the-future-will-be-like"),
        ] {
            let out = run("{}", &[("traceparent", &bad), ("tracestate", "@invalid=1")]);
            assert_ne!(out.trace_id(), T, "{bad}");
            assert_eq!(out.ctx().origin, Origin::Started);
            assert_eq!(out.set("tracestate"), Some(None), "{bad}");
            assert_eq!(out.metrics.get(Metric::TraceparentInvalid), 1);
            assert_eq!(out.metrics.get(Metric::TracesStarted), 1);
            assert_eq!(out.metrics.get(Metric::TracestateInvalid), 0);
        }
    }

    #[test]
    fn two_traceparent_fields_are_invalid() {
        let out = run(
            "{}",
            &[
                ("traceparent", &tp(T, P, "01")),
                ("traceparent", &tp(T, P, "01")),
            ],
        );
        assert_ne!(out.trace_id(), T);
        assert_eq!(out.metrics.get(Metric::TraceparentInvalid), 1);
    }

    #[test]
    fn tracestate_fields_are_joined_and_invalid_ones_dropped() {
        let out = run(
            "{}",
            &[
                ("traceparent", &tp(T, P, "00")),
                ("tracestate", "foo=1 , bar=2"),
                ("tracestate", ""),
                ("tracestate", "baz=3"),
            ],
        );
        assert_eq!(out.value("tracestate"), "foo=1,bar=2,baz=3");
        for bad in ["@foo=1", "foo=", "foo=1,foo=2,@x=1", &"z".repeat(257)] {
            let out = run(
                "{}",
                &[("traceparent", &tp(T, P, "00")), ("tracestate", bad)],
            );
            assert_eq!(out.set("tracestate"), Some(None), "{bad}");
            assert_eq!(out.ctx().trace_state, None);
            assert_eq!(out.metrics.get(Metric::TracestateInvalid), 1);
            assert_eq!(out.trace_id(), T, "tracestate never affects traceparent");
        }
        // Empty tracestate is not forwarded.
        let out = run(
            "{}",
            &[("traceparent", &tp(T, P, "00")), ("tracestate", " ")],
        );
        assert_eq!(out.set("tracestate"), Some(None));
        assert_eq!(out.metrics.get(Metric::TracestateInvalid), 0);
    }

    #[test]
    fn tracestate_duplicates_keep_the_first_member() {
        let out = run(
            r#"{"trace":{"tracestate_key":"me","tracestate_deny_keys":["secret"]}}"#,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", "foo=1,secret=s,bar=2,foo=2"),
                ("tracestate", "bar=3,baz=4,me=old,me=older"),
            ],
        );
        assert_eq!(
            out.value("tracestate"),
            format!("me={},foo=1,bar=2,baz=4", out.span())
        );
        assert_eq!(out.metrics.get(Metric::TracestateDuplicatesDropped), 3);
        assert_eq!(out.metrics.get(Metric::TracestateInvalid), 0);
    }

    #[test]
    fn xray_input_continues_the_trace() {
        const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
        const XT: &str = "5759e988bd862e3fe1be46a994272793";
        let json = r#"{"trace":{"propagation":["tracecontext","xray"]}}"#;
        let out = run(
            json,
            &[(
                "X-Amzn-Trace-Id",
                &format!("Root={ROOT};Parent={P};Sampled=1;Lineage=a87bd80c:1"),
            )],
        );
        let s = out.span();
        assert_eq!(out.ctx().origin, Origin::Continued(PropagationFormat::Xray));
        assert_eq!(out.ctx().parent_span_id, ids::from_hex(P.as_bytes()));
        // Never random: the Root starts with a timestamp.
        assert_eq!(out.value("traceparent"), tp(XT, &s, "01"));
        // Unknown fields are dropped by default.
        assert_eq!(
            out.value("x-amzn-trace-id"),
            format!("Root={ROOT};Parent={s};Sampled=1")
        );
        // Sampled=? leaves the decision to this hop's sampler.
        let deferred = [(
            "x-amzn-trace-id",
            format!("Root={ROOT};Parent={P};Sampled=?"),
        )];
        let hs: Vec<(&str, &str)> = deferred.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let never = run(r#"{"trace":{"propagation":["xray"],"sampling":0}}"#, &hs);
        assert_eq!(
            never.value("x-amzn-trace-id"),
            format!("Root={ROOT};Parent={};Sampled=0", never.span())
        );
        let always = run(r#"{"trace":{"propagation":["xray"],"sampling":1}}"#, &hs);
        assert_eq!(
            always.value("x-amzn-trace-id"),
            format!("Root={ROOT};Parent={};Sampled=1", always.span())
        );
        // Listed fields are kept in their order, any key case; the others
        // dropped (the detector scan is tested in xray.rs).
        let out = run(
            r#"{"trace":{"propagation":["xray"],"xray_keep_fields":["lineage","Note"]}}"#,
            &[(
                "x-amzn-trace-id",
                &format!("Root={ROOT};Parent={P};Self=x;note=n;Lineage=a87bd80c:1"),
            )],
        );
        assert_eq!(
            out.value("x-amzn-trace-id"),
            format!(
                "Root={ROOT};Parent={};Sampled=1;note=n;Lineage=a87bd80c:1",
                out.span()
            )
        );
    }

    #[test]
    fn xray_is_read_after_b3_and_jaeger() {
        let xray = (
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        );
        let uber = format!("{T}:{P}:0:1");
        let out = run("{}", &[xray, ("uber-trace-id", &uber)]);
        assert_eq!(
            out.ctx().origin,
            Origin::Continued(PropagationFormat::Jaeger)
        );
        let out = run("{}", &[xray, ("traceparent", &tp(T, P, "0x"))]);
        assert_eq!(out.ctx().origin, Origin::Continued(PropagationFormat::Xray));
        assert_eq!(out.trace_id(), "5759e988bd862e3fe1be46a994272793");
    }

    #[test]
    fn new_traces_with_xray_start_with_the_epoch() {
        let out = run(r#"{"trace":{"propagation":["xray","tracecontext"]}}"#, &[]);
        let t = out.trace_id();
        assert_eq!(&t[..8], "6553f100");
        assert_eq!(
            out.value("x-amzn-trace-id"),
            format!(
                "Root=1-6553f100-{};Parent={};Sampled=1",
                &t[8..],
                out.span()
            )
        );
        // The right-most 12 bytes are random: W3C's random flag holds.
        assert_eq!(out.value("traceparent"), tp(&t, &out.span(), "03"));
        // Without xray the id is fully random.
        assert_ne!(&run("{}", &[]).trace_id()[..8], "6553f100");
        // A restart under xray gets a dated id too.
        let out = run(
            r#"{"trace":{"propagation":["xray"],"restart_trace":true,"xray_keep_fields":["lineage"]}}"#,
            &[(
                "x-amzn-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Lineage=a:1",
            )],
        );
        assert_eq!(&out.trace_id()[..8], "6553f100");
        assert!(!out.value("x-amzn-trace-id").contains("Lineage"));
    }

    #[test]
    fn own_tracestate_entry_goes_left() {
        let json = r#"{"trace":{"tracestate_key":"tracesafe"}}"#;
        let out = run(
            json,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", "tracesafe=old,congo=t61rcWkgMzE"),
            ],
        );
        assert_eq!(
            out.value("tracestate"),
            format!("tracesafe={},congo=t61rcWkgMzE", out.span())
        );
        let out = run(json, &[]);
        assert_eq!(out.value("tracestate"), format!("tracesafe={}", out.span()));
        let full: Vec<String> = (1..=32).map(|i| format!("k{i}=v")).collect();
        let out = run(
            json,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", &full.join(",")),
            ],
        );
        let ts = out.value("tracestate");
        assert!(ts.starts_with(&format!("tracesafe={},k1=v,", out.span())));
        assert!(ts.ends_with(",k31=v"), "{ts}");
    }

    #[test]
    fn deny_listed_tracestate_keys_are_deleted() {
        let out = run(
            r#"{"trace":{"tracestate_deny_keys":["user@acme","secret"]}}"#,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", "user@acme=alice,congo=1,secret=x"),
            ],
        );
        assert_eq!(out.value("tracestate"), "congo=1");
        let out = run(
            r#"{"trace":{"tracestate_deny_keys":["secret"]}}"#,
            &[("traceparent", &tp(T, P, "01")), ("tracestate", "secret=x")],
        );
        assert_eq!(out.set("tracestate"), Some(None));
    }

    #[test]
    fn restart_keeps_the_incoming_ids_only_as_a_link() {
        let json = r#"{"trace":{"restart_trace":true}}"#;
        let out = run(
            json,
            &[("traceparent", &tp(T, P, "01")), ("tracestate", "congo=1")],
        );
        let ctx = out.ctx();
        assert_ne!(out.trace_id(), T);
        assert_eq!(ctx.parent_span_id, None);
        assert_eq!(ctx.flags, FLAG_SAMPLED | FLAG_RANDOM);
        assert_eq!(
            ctx.origin,
            Origin::Restarted(PropagationFormat::TraceContext)
        );
        assert_eq!(
            ctx.link,
            Some(Link {
                trace_id: ids::from_hex(T.as_bytes()).unwrap(),
                span_id: ids::from_hex(P.as_bytes()).unwrap(),
                flags: FLAG_SAMPLED,
            })
        );
        assert_eq!(out.set("tracestate"), Some(None));
        assert_eq!(out.metrics.get(Metric::TracesRestarted), 1);
        // Nothing to restart: a plain start.
        let out = run(json, &[]);
        assert_eq!(out.ctx().origin, Origin::Started);
        assert_eq!(out.ctx().link, None);
        // The caller's sampled=0 does not bind a restarted trace.
        let out = run(json, &[("traceparent", &tp(T, P, "00"))]);
        assert!(out.ctx().sampled());
        // A restarted B3 context is linked too.
        let out = run(json, &[("b3", &format!("{T}-{P}-0"))]);
        assert_eq!(out.ctx().origin, Origin::Restarted(PropagationFormat::B3));
        assert_eq!(out.ctx().link.map(|l| l.flags), Some(0));
    }

    #[test]
    fn b3_only_input_becomes_traceparent_with_padded_id() {
        let out = run("{}", &[("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1")]);
        assert_eq!(
            out.value("traceparent"),
            tp("000000000000000080f198ee56343ba8", &out.span(), "01")
        );
        assert_eq!(out.ctx().origin, Origin::Continued(PropagationFormat::B3));
        assert_eq!(out.ctx().parent_span_id, ids::from_hex(b"e457b5a2e4d86bd1"));
        // b3 was not configured: left as it came.
        assert_eq!(out.set("b3"), None);
        // A 128-bit B3 id is not vouched random either.
        let out = run(
            "{}",
            &[
                ("x-b3-traceid", T),
                ("x-b3-spanid", P),
                ("x-b3-sampled", "0"),
            ],
        );
        assert_eq!(out.value("traceparent"), tp(T, &out.span(), "00"));
        assert_eq!(
            out.ctx().origin,
            Origin::Continued(PropagationFormat::B3Multi)
        );
        let out = run("{}", &[("uber-trace-id", &format!("{T}:{P}:0:3"))]);
        assert_eq!(out.value("traceparent"), tp(T, &out.span(), "01"));
        assert_eq!(
            out.ctx().origin,
            Origin::Continued(PropagationFormat::Jaeger)
        );
    }

    #[test]
    fn tracestate_is_dropped_when_the_context_is_not_w3c() {
        let out = run(
            "{}",
            &[("b3", &format!("{T}-{P}-1")), ("tracestate", "congo=1")],
        );
        assert_eq!(out.set("tracestate"), Some(None));
    }

    #[test]
    fn extraction_precedence() {
        const OTHER: &str = "11111111111111111111111111111111";
        let b3 = format!("{OTHER}-{P}-1");
        let multi = [
            ("x-b3-traceid", "22222222222222222222222222222222"),
            ("x-b3-spanid", P),
        ];
        let uber = format!("33333333333333333333333333333333:{P}:0:1");
        let origin = |hs: &[(&str, &str)]| {
            let out = run("{}", hs);
            (out.ctx().origin, out.trace_id())
        };
        let all = [
            ("uber-trace-id", uber.as_str()),
            multi[0],
            multi[1],
            ("b3", b3.as_str()),
            ("traceparent", &tp(T, P, "01")),
        ];
        assert_eq!(
            origin(&all),
            (
                Origin::Continued(PropagationFormat::TraceContext),
                T.to_string()
            )
        );
        let invalid_tp = tp(T, P, "0x");
        let no_tp = [
            all[0],
            all[1],
            all[2],
            all[3],
            ("traceparent", invalid_tp.as_str()),
        ];
        assert_eq!(
            origin(&no_tp),
            (Origin::Continued(PropagationFormat::B3), OTHER.to_string())
        );
        let bad_b3 = [all[0], all[1], all[2], ("b3", "0")];
        assert_eq!(
            origin(&bad_b3).0,
            Origin::Continued(PropagationFormat::B3Multi)
        );
        assert_eq!(
            origin(&[all[0], multi[0]]).0,
            Origin::Continued(PropagationFormat::Jaeger)
        );
    }

    #[test]
    fn injects_every_configured_format_with_the_same_ids() {
        let out = run(
            r#"{"trace":{"propagation":["tracecontext","b3","b3multi","jaeger"]}}"#,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("x-b3-parentspanid", "1111111111111111"),
                ("x-b3-flags", "1"),
            ],
        );
        let s = out.span();
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Set("traceparent".into(), tp(T, &s, "01").into_bytes()),
                HeaderOp::Set("b3".into(), format!("{T}-{s}-1").into_bytes()),
                HeaderOp::Set("x-b3-traceid".into(), T.into()),
                HeaderOp::Set("x-b3-spanid".into(), s.clone().into_bytes()),
                HeaderOp::Set("x-b3-sampled".into(), b"1".to_vec()),
                HeaderOp::Remove("x-b3-parentspanid".into()),
                HeaderOp::Remove("x-b3-flags".into()),
                HeaderOp::Set("uber-trace-id".into(), format!("{T}:{s}:0:01").into_bytes()),
            ]
        );
    }

    #[test]
    fn without_tracecontext_traceparent_and_tracestate_are_untouched() {
        let out = run(
            r#"{"trace":{"propagation":["b3"]}}"#,
            &[("traceparent", &tp(T, P, "01")), ("tracestate", "congo=1")],
        );
        assert_eq!(out.set("traceparent"), None);
        assert_eq!(out.set("tracestate"), None);
        assert_eq!(out.value("b3"), format!("{T}-{}-1", out.span()));
    }

    #[test]
    fn deferred_decisions_use_the_ratio() {
        let deferred = [("b3", "80f198ee56343ba8-e457b5a2e4d86bd1")];
        assert!(run(r#"{"trace":{"sampling":1}}"#, &deferred)
            .ctx()
            .sampled());
        assert!(!run(r#"{"trace":{"sampling":0}}"#, &deferred)
            .ctx()
            .sampled());
    }

    #[test]
    fn sampling_honours_the_parent_unless_overridden() {
        let unsampled = [("traceparent", tp(T, P, "02"))];
        let hs: Vec<(&str, &str)> = unsampled.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(
            run(r#"{"trace":{"sampling":1}}"#, &hs).ctx().flags,
            FLAG_RANDOM
        );
        assert_eq!(
            run(r#"{"trace":{"sampling":"always"}}"#, &hs).ctx().flags,
            FLAG_RANDOM | FLAG_SAMPLED
        );
        let sampled = tp(T, P, "01");
        assert_eq!(
            run(r#"{"trace":{"sampling":0}}"#, &[("traceparent", &sampled)])
                .ctx()
                .flags,
            FLAG_SAMPLED
        );
        assert_eq!(
            run(
                r#"{"trace":{"sampling":"never"}}"#,
                &[("traceparent", &sampled)]
            )
            .ctx()
            .flags,
            0
        );
        assert_eq!(
            run(r#"{"trace":{"sampling":"never"}}"#, &[]).ctx().flags,
            FLAG_RANDOM
        );
    }

    #[test]
    fn new_traces_are_sampled_deterministically_by_ratio() {
        let p = policy(r#"{"trace":{"sampling":0.5}}"#);
        let mut seed = SeededEntropy(1);
        for _ in 0..50 {
            let out = run_with(&p, &[], &mut seed);
            let expected = crate::trace::sampling::randomness(&out.ctx().trace_id) >= 1 << 55;
            assert_eq!(out.ctx().sampled(), expected);
        }
    }

    #[test]
    fn span_id_is_never_zero_nor_the_incoming_one() {
        let incoming = ids::from_hex::<8>(P.as_bytes()).unwrap().to_vec();
        let mut e = Script(vec![vec![0; 8], incoming, vec![7; 8]], SeededEntropy(1));
        let out = run_with(&policy("{}"), &[("traceparent", &tp(T, P, "01"))], &mut e);
        assert_eq!(out.ctx().span_id, [7; 8]);
        let mut e = Script(vec![vec![5; 8], vec![0; 16], vec![6; 16]], SeededEntropy(1));
        let out = run_with(&policy("{}"), &[], &mut e);
        assert_eq!(out.ctx().trace_id, [6; 16]);
    }

    #[test]
    fn broken_entropy_leaves_the_request_alone() {
        let out = run_with(
            &policy(r#"{"trace":{"request_id":"generate"}}"#),
            &[("traceparent", &tp(T, P, "01")), ("tracestate", "a=1")],
            &mut Broken,
        );
        assert_eq!(out.ops, vec![]);
        assert_eq!(out.trace, None);
        assert_eq!(out.metrics.get(Metric::IdGenerationFailures), 2);
    }

    #[test]
    fn envoy_mode_leaves_trace_headers_alone() {
        let out = run(
            r#"{"trace":{"trace_context":"envoy","request_id":"generate"}}"#,
            &[
                ("traceparent", &tp(T, P, "01")),
                ("tracestate", "a=1"),
                ("b3", "x"),
            ],
        );
        assert_eq!(out.trace, None);
        assert_eq!(out.ops.len(), 1);
        assert!(out.set("x-request-id").is_some());
        assert_eq!(out.metrics.get(Metric::TracesContinued), 0);
    }

    #[test]
    fn request_id_generated_only_when_missing() {
        let json = r#"{"trace":{"request_id":"generate"}}"#;
        let out = run(json, &[]);
        let id = out.value("x-request-id");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(out.metrics.get(Metric::RequestIdsGenerated), 1);
        assert_eq!(
            run(json, &[("x-request-id", " ")])
                .value("x-request-id")
                .len(),
            36
        );
        assert_eq!(
            run(json, &[("x-request-id", "abc")]).set("x-request-id"),
            None
        );
        assert_eq!(run("{}", &[]).set("x-request-id"), None);
    }

    #[test]
    fn span_kind_follows_direction() {
        assert_eq!(
            SpanKind::for_direction(Some(Direction::Inbound)),
            SpanKind::Server
        );
        assert_eq!(
            SpanKind::for_direction(Some(Direction::Outbound)),
            SpanKind::Client
        );
        assert_eq!(SpanKind::for_direction(None), SpanKind::Server);
    }

    #[test]
    fn config_errors_name_the_field() {
        let cases = [
            (r#"{"trace":{"propagation":[]}}"#, "trace.propagation"),
            (
                r#"{"trace":{"propagation":["b3","tracecontext","b3"]}}"#,
                "trace.propagation[2]",
            ),
            (
                r#"{"trace":{"tracestate_key":"Bad"}}"#,
                "trace.tracestate_key",
            ),
            (
                r#"{"trace":{"tracestate_deny_keys":["ok","@no"]}}"#,
                "trace.tracestate_deny_keys[1]",
            ),
            (
                r#"{"trace":{"propagation":["b3"],"tracestate_key":"me"}}"#,
                "trace.tracestate_key",
            ),
            (
                r#"{"trace":{"propagation":["jaeger"],"tracestate_deny_keys":["x"]}}"#,
                "trace.tracestate_deny_keys",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","restart_trace":true}}"#,
                "trace.restart_trace",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","sampling":0.5}}"#,
                "trace.sampling",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","tracestate_key":"me"}}"#,
                "trace.tracestate_key",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","propagation":["tracecontext","b3"]}}"#,
                "trace.propagation[1]",
            ),
            (r#"{"trace":{"sampling":2}}"#, "trace.sampling"),
            (
                r#"{"trace":{"xray_keep_fields":["lineage"]}}"#,
                "trace.xray_keep_fields",
            ),
            (
                r#"{"trace":{"propagation":["xray"],"xray_keep_fields":["Lineage","a b"]}}"#,
                "trace.xray_keep_fields[1]",
            ),
            (
                r#"{"trace":{"propagation":["xray"],"xray_keep_fields":["Root"]}}"#,
                "trace.xray_keep_fields[0]",
            ),
            (
                r#"{"trace":{"propagation":["xray"],"xray_keep_fields":["Self","self"]}}"#,
                "trace.xray_keep_fields[1]",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","traceresponse":"emit"}}"#,
                "trace.traceresponse",
            ),
            (
                r#"{"trace":{"trace_context":"envoy","propagation":["xray"]}}"#,
                "trace.propagation[0]",
            ),
        ];
        for (json, path) in cases {
            assert_eq!(compile_err(json).path, path, "{json}");
        }
        let err =
            compile_err(r#"{"trace":{"trace_context":"envoy","tracestate_deny_keys":["x"]}}"#);
        assert_eq!(err.path, "trace.tracestate_deny_keys");
        assert!(err.message.contains("Envoy's tracer"), "{}", err.message);
    }
}
