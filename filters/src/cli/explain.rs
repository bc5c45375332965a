//! `tracesafe explain`: runs one described request through the engine, as
//! the plugin would, and reports which rule and policy applied, what was
//! removed, replaced or added, what the upstream would receive, and the
//! span record. Values the filter removed or replaced are never printed:
//! they show as `[REDACTED:removed]`, or as what they held, found with the
//! policy's own detectors and token settings (`[REDACTED:email]`,
//! `[TOKEN:user]`, `[TRACE:continued]`).

use crate::config::MatchDirection;
use crate::engine::{Engine, RequestOutcome};
use crate::error::{from_value, ConfigError};
use crate::host::{SeededEntropy, StaticProperties};
use crate::http::RequestInput;
use crate::http::{borrowed, Header, HeaderOp, OwnedHeader};
use crate::policy::Policy;
use crate::policy::Reason;
use crate::redact::baggage::Baggage;
use crate::redact::detectors::{Act, Detectors};
use crate::span::otlp::{self, Resource};
use crate::span::{AttrValue, SpanKind};
use crate::trace::ids::to_hex;
use crate::trace::Origin;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `request.json`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// `:method`; default `GET`.
    #[serde(default = "get")]
    pub method: String,
    /// `:path`, with the query if any; default `/`.
    #[serde(default = "root")]
    pub path: String,
    /// `:authority`.
    #[serde(default)]
    pub authority: Option<String>,
    /// Header name → value, or a list of values for repeated fields.
    #[serde(default)]
    pub headers: BTreeMap<String, Values>,
    /// The Envoy route name the plugin sees (`["xds","route_name"]`).
    #[serde(default)]
    pub route: Option<String>,
    /// The listener's direction (`["xds","listener_direction"]`).
    #[serde(default)]
    pub direction: Option<MatchDirection>,
    /// Host properties as nested objects: every string leaf is the property
    /// at its key path, e.g. `{"xds": {"route_name": "api"}}`.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl Default for ExplainRequest {
    fn default() -> Self {
        Self {
            method: get(),
            path: root(),
            authority: None,
            headers: BTreeMap::new(),
            route: None,
            direction: None,
            properties: Map::new(),
        }
    }
}

fn get() -> String {
    "GET".into()
}

fn root() -> String {
    "/".into()
}

/// One header value or several.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Values {
    One(String),
    Many(Vec<String>),
}

/// The result of running one request.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub request: Vec<OwnedHeader>,
    pub outcome: RequestOutcome,
    /// The headers after the filter's operations: what the upstream gets.
    pub forwarded: Vec<OwnedHeader>,
    /// What each operation did, in order.
    pub changes: Vec<Change>,
    /// Whether [`RequestOutcome::span`] would be exported, and why (not).
    pub span_export: SpanExport,
    /// The resource exported spans carry (service, namespace, pod).
    pub resource: Resource,
}

/// One header operation as `explain` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Every field of `name` removed (`fields` of them were sent).
    Removed { name: String, fields: usize },
    /// A header the request had, now `value`; `was` describes the old
    /// value without showing it: `[TOKEN:user]`, `[REDACTED:email]`, ...
    Replaced {
        name: String,
        was: String,
        value: Vec<u8>,
    },
    /// A header the request did not have (e.g. traceparent on a new trace).
    Added { name: String, value: Vec<u8> },
}

/// The fate of this request's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanExport {
    /// Exported when the response ends (end time and status added then).
    Exported,
    /// Recorded, but the configuration has no `export`.
    NoExport,
    /// Recorded, but the trace is not sampled.
    NotSampled,
    /// No span: Envoy's tracer owns the trace context (`trace_context:
    /// envoy`), or no ids could be generated.
    NoTraceContext,
}

impl SpanExport {
    fn note(self) -> &'static str {
        match self {
            SpanExport::Exported => {
                "exported when the response ends, with its end time and status code"
            }
            SpanExport::NoExport => "not exported: the configuration has no `export`",
            SpanExport::NotSampled => "not exported: the trace is not sampled",
            SpanExport::NoTraceContext => {
                "none: tracesafe does not own the trace context (`trace.trace_context: envoy`)"
            }
        }
    }
}

/// Parses `request.json` and runs it through `engine`.
pub fn explain(engine: &Engine, request_json: &[u8]) -> Result<Explanation, ConfigError> {
    let value: Value = serde_json::from_slice(request_json)
        .map_err(|e| ConfigError::new("", format!("request: {e}")))?;
    run(engine, from_value(value, "")?)
}

/// Runs one parsed request through `engine` (`explain`, `tracesafe test`).
pub fn run(engine: &Engine, req: ExplainRequest) -> Result<Explanation, ConfigError> {
    let mut headers: Vec<OwnedHeader> = vec![
        (":method".into(), req.method.into_bytes()),
        (":path".into(), req.path.into_bytes()),
    ];
    if let Some(authority) = req.authority {
        headers.push((":authority".into(), authority.into_bytes()));
    }
    for (name, values) in req.headers {
        let name = name.to_ascii_lowercase();
        match values {
            Values::One(v) => headers.push((name, v.into_bytes())),
            Values::Many(vs) => {
                headers.extend(vs.into_iter().map(|v| (name.clone(), v.into_bytes())))
            }
        }
    }
    let mut props = StaticProperties::default();
    let mut path = Vec::new();
    leaves(&req.properties, &mut path, &mut props)?;
    if let Some(direction) = req.direction {
        let raw = match direction {
            MatchDirection::Inbound => "INBOUND",
            MatchDirection::Outbound => "OUTBOUND",
        };
        props = props.with(&["xds", "listener_direction"], raw);
    }
    if let Some(route) = req.route {
        props = props.with(crate::policy::ROUTE_NAME, route.into_bytes());
    }
    let view = borrowed(&headers);
    // The span record is shown whether or not it would be exported.
    let outcome = engine.clone().recording_every_span().on_request(
        &RequestInput {
            headers: &view,
            properties: &props,
            // Fixed, like the ids, so explanations are reproducible.
            now_ns: 0,
        },
        // Fixed, so explanations are reproducible.
        &mut SeededEntropy(0),
    );
    let forwarded = apply(&view, &outcome.ops);
    let policy = engine.policies().get(outcome.policy.index);
    let forwarded_view = borrowed(&forwarded);
    let changes = outcome
        .ops
        .iter()
        .map(|op| change(op, policy, &outcome, &view, &forwarded_view))
        .collect();
    let span_export = match &outcome.trace {
        None => SpanExport::NoTraceContext,
        Some(ctx) if engine.exports(ctx) => SpanExport::Exported,
        Some(_) if engine.export().is_none() => SpanExport::NoExport,
        Some(_) => SpanExport::NotSampled,
    };
    Ok(Explanation {
        request: headers,
        outcome,
        forwarded,
        changes,
        span_export,
        resource: Resource::for_workload(engine.service(), &props),
    })
}

/// Describes one operation; old values only ever appear as labels.
fn change(
    op: &HeaderOp,
    policy: &Policy,
    outcome: &RequestOutcome,
    request: &[Header],
    forwarded: &[Header],
) -> Change {
    let old = crate::http::values(request, op_name(op));
    match op {
        HeaderOp::Remove(name) => Change::Removed {
            name: name.clone(),
            fields: old.len(),
        },
        HeaderOp::Set(name, value) if old.is_empty() => Change::Added {
            name: name.clone(),
            value: value.clone(),
        },
        HeaderOp::Set(name, value) => {
            let mut labels = Vec::new();
            was(name, &old, policy, outcome, request, forwarded, &mut labels);
            let mut unique: Vec<String> = Vec::new();
            for l in labels {
                if !unique.contains(&l) {
                    unique.push(l);
                }
            }
            let was = if unique.is_empty() {
                REPLACED.to_string()
            } else {
                unique
                    .iter()
                    .map(|l| format!("[{l}]"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            Change::Replaced {
                name: name.clone(),
                was,
                value: value.clone(),
            }
        }
    }
}

fn op_name(op: &HeaderOp) -> &str {
    match op {
        HeaderOp::Remove(name) | HeaderOp::Set(name, _) => name,
    }
}

/// Labels for what a replaced header's old value(s) held, from the same
/// compiled policy that replaced them.
fn was(
    name: &str,
    old: &[&[u8]],
    policy: &Policy,
    outcome: &RequestOutcome,
    request: &[Header],
    forwarded: &[Header],
    out: &mut Vec<String>,
) {
    let detectors = policy.detectors();
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let is_trace = matches!(name, "traceparent" | "tracestate" | "b3" | "uber-trace-id")
        || name.starts_with("x-b3-");
    if is_trace {
        let origin = match outcome.trace.as_ref().map(|t| t.origin) {
            Some(Origin::Started) => "started",
            Some(Origin::Continued(_)) => "continued",
            Some(Origin::Restarted(_)) => "restarted",
            None => "replaced",
        };
        out.push(format!("TRACE:{origin}"));
        if name == "tracestate" {
            for v in old {
                hits(detectors, &text(v), out);
            }
        }
    } else if name == "baggage" {
        let before = Baggage::parse(request);
        let after = Baggage::parse(forwarded);
        let mut dropped = 0;
        for (key, value) in before.members() {
            match after.members().find(|(k, _)| *k == key) {
                None => dropped += 1,
                Some((_, now)) if now == value => {}
                Some(_) => match policy.baggage().token_namespace(key) {
                    Some(ns) => out.push(format!("TOKEN:{ns}")),
                    None => hits(detectors, value, out),
                },
            }
        }
        if dropped > 0 {
            out.push(format!(
                "DROPPED:{dropped} {}",
                if dropped == 1 { "member" } else { "members" }
            ));
        }
    } else if let Some((key, value)) = Baggage::parse(request).legacy_member(name) {
        match policy.baggage().token_namespace(key) {
            Some(ns) => out.push(format!("TOKEN:{ns}")),
            None => hits(detectors, &value, out),
        }
    } else if let Some(ns) = policy.request_headers().token_namespace(name) {
        out.push(format!("TOKEN:{ns}"));
    } else if name == ":path" {
        out.push("REMOVED:query parameters".into());
    } else if name == crate::identity::PEER_HEADER {
        out.push("IDENTITY:verified peer".into());
    } else {
        for v in old {
            hits(detectors, &text(v), out);
        }
    }
}

/// What the detectors do to `text`, as labels.
fn hits(detectors: &Detectors, text: &str, out: &mut Vec<String>) {
    for h in detectors.find(text) {
        out.push(match h.action {
            Act::Mask => format!("REDACTED:{}", h.label),
            Act::Tokenize(ns) => format!("TOKEN:{ns}"),
            Act::Remove => format!("REMOVED:{}", h.label),
        });
    }
}

fn leaves(
    map: &Map<String, Value>,
    path: &mut Vec<String>,
    props: &mut StaticProperties,
) -> Result<(), ConfigError> {
    for (key, value) in map {
        path.push(key.clone());
        match value {
            Value::Object(inner) => leaves(inner, path, props)?,
            Value::String(s) => {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                *props = std::mem::take(props).with(&p, s.as_bytes().to_vec());
            }
            _ => {
                return Err(ConfigError::new(
                    format!("properties.{}", path.join(".")),
                    "expected a string or an object",
                ))
            }
        }
        path.pop();
    }
    Ok(())
}

/// What the host does with the operations: `Remove` drops every field of
/// that name; `Set` replaces them with one field where the first was (or
/// appends it).
pub fn apply(headers: &[Header], ops: &[HeaderOp]) -> Vec<OwnedHeader> {
    let mut out: Vec<OwnedHeader> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    for op in ops {
        match op {
            HeaderOp::Remove(name) => out.retain(|(n, _)| !n.eq_ignore_ascii_case(name)),
            HeaderOp::Set(name, value) => {
                let first = out.iter().position(|(n, _)| n.eq_ignore_ascii_case(name));
                out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                let at = first.unwrap_or(out.len()).min(out.len());
                out.insert(at, (name.clone(), value.clone()));
            }
        }
    }
    out
}

/// Header bytes for display: printable ASCII as is, anything else `\xNN`.
pub fn show(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

const REMOVED: &str = "[REDACTED:removed]";
const REPLACED: &str = "[REDACTED:replaced]";

impl Explanation {
    fn reason(&self) -> String {
        match &self.outcome.policy.reason {
            Reason::Default => "no rule matched".into(),
            Reason::RouteMetadata => "route metadata filter_metadata.tracesafe.policy".into(),
            Reason::Rule { index, name } => match name {
                Some(n) => format!("rules[{index}] {n:?}"),
                None => format!("rules[{index}]"),
            },
        }
    }

    /// Counters this request adds, with their Envoy stat names (without
    /// Envoy's `wasmcustom.` prefix).
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .outcome
            .metrics
            .iter()
            .map(|(m, n)| (format!("tracesafe.{}", m.name()), n))
            .collect();
        out.push((
            format!("tracesafe.policy.{}.requests", self.outcome.policy.name),
            1,
        ));
        out
    }

    fn direction(&self) -> &'static str {
        match self.outcome.direction {
            Some(crate::Direction::Inbound) => "inbound",
            Some(crate::Direction::Outbound) => "outbound",
            None => "unknown",
        }
    }

    /// The report for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "policy: {} ({})",
            self.outcome.policy.name,
            self.reason()
        );
        let _ = writeln!(out, "direction: {}", self.direction());
        let _ = writeln!(out, "removed:");
        let mut removed = 0;
        for change in &self.changes {
            if let Change::Removed { name, fields } = change {
                for _ in 0..*fields {
                    removed += 1;
                    let _ = writeln!(out, "  {name}: {REMOVED}");
                }
            }
        }
        if removed == 0 {
            let _ = writeln!(out, "  (nothing)");
        }
        let mut section = |title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                let _ = writeln!(out, "{title}:");
                for line in lines {
                    let _ = writeln!(out, "  {line}");
                }
            }
        };
        let replaced = self.changes.iter().filter_map(|c| match c {
            Change::Replaced { name, was, value } => {
                Some(format!("{name}: {was} -> {}", show(value)))
            }
            _ => None,
        });
        section("replaced", replaced.collect());
        let added = self.changes.iter().filter_map(|c| match c {
            Change::Added { name, value } => Some(format!("{name}: {}", show(value))),
            _ => None,
        });
        section("added", added.collect());
        let _ = writeln!(out, "forwarded headers:");
        for (name, value) in &self.forwarded {
            let _ = writeln!(out, "  {name}: {}", show(value));
        }
        self.span_text(&mut out);
        let _ = writeln!(out, "counters:");
        for (name, n) in self.counters() {
            let _ = writeln!(out, "  {name} {n}");
        }
        out
    }

    fn span_text(&self, out: &mut String) {
        let Some(span) = &self.outcome.span else {
            let _ = writeln!(out, "span: {}", self.span_export.note());
            return;
        };
        let _ = writeln!(out, "span ({}):", self.span_export.note());
        let _ = writeln!(out, "  name: {}", show(span.name.as_bytes()));
        let kind = match span.kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
        };
        let _ = writeln!(out, "  kind: {kind}");
        let _ = writeln!(out, "  trace_id: {}", to_hex(&span.trace_id));
        let _ = writeln!(out, "  span_id: {}", to_hex(&span.span_id));
        if let Some(parent) = &span.parent_span_id {
            let _ = writeln!(out, "  parent_span_id: {}", to_hex(parent));
        }
        let _ = writeln!(out, "  flags: {:02x}", span.flags);
        let _ = writeln!(out, "  attributes:");
        for (key, value) in &span.attributes {
            let value = match value {
                AttrValue::Str(s) => show(s.as_bytes()),
                AttrValue::Int(n) => n.to_string(),
            };
            let _ = writeln!(out, "    {key}: {value}");
        }
        for link in &span.links {
            let _ = writeln!(
                out,
                "  link: trace_id {} span_id {} flags {:02x}",
                to_hex(&link.trace_id),
                to_hex(&link.span_id),
                link.flags
            );
        }
    }

    /// The report for programs (`--json`). `span.otlp` is the OTLP/HTTP
    /// JSON body that would carry the span.
    pub fn json(&self) -> Value {
        let (selected_by, rule) = match &self.outcome.policy.reason {
            Reason::Default => ("default", Value::Null),
            Reason::RouteMetadata => ("route_metadata", Value::Null),
            Reason::Rule { index, name } => {
                ("rule", json!({"index": index, "name": name.as_deref()}))
            }
        };
        let mut removed = Vec::new();
        let mut replaced = Vec::new();
        let mut added = Vec::new();
        for change in &self.changes {
            match change {
                Change::Removed { name, fields } => removed.extend(std::iter::repeat_n(
                    json!({"name": name, "value": REMOVED}),
                    *fields,
                )),
                Change::Replaced { name, was, value } => {
                    replaced.push(json!({"name": name, "value": show(value), "was": was}))
                }
                Change::Added { name, value } => {
                    added.push(json!({"name": name, "value": show(value)}))
                }
            }
        }
        let otlp = self.outcome.span.as_ref().and_then(|span| {
            serde_json::from_str::<Value>(&otlp::encode(&self.resource, std::slice::from_ref(span)))
                .ok()
        });
        json!({
            "policy": self.outcome.policy.name.as_ref(),
            "selected_by": selected_by,
            "rule": rule,
            "direction": self.direction(),
            "removed": removed,
            "replaced": replaced,
            "added": added,
            "forwarded_headers": self.forwarded.iter().map(|(n, v)| json!([n, show(v)])).collect::<Vec<_>>(),
            "span": {
                "exported": self.span_export == SpanExport::Exported,
                "note": self.span_export.note(),
                "otlp": otlp,
            },
            "counters": self.counters().into_iter().map(|(k, v)| (k, json!(v))).collect::<Map<String, Value>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn engine() -> Engine {
        Engine::from_json(
            br#"{
                "request_headers": {"remove": ["x-internal"]},
                "policies": {"api": {"extends": ["secrets"]}},
                "rules": [{"name": "api", "match": {"route": "api"}, "policy": "api"}]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn explains_rule_removals_and_forwarded_headers() {
        let e = explain(
            &engine(),
            br#"{
                "method": "POST", "path": "/orders?id=1", "authority": "shop.example",
                "headers": {"Authorization": "Bearer SECRET1", "cookie": ["a=SECRET2", "b=SECRET3"], "accept": "*/*"},
                "direction": "inbound",
                "properties": {"xds": {"route_name": "api"}}
            }"#,
        )
        .unwrap();
        let text = e.text();
        assert_eq!(
            text,
            "policy: api (rules[0] \"api\")\n\
             direction: inbound\n\
             removed:\n  authorization: [REDACTED:removed]\n  cookie: [REDACTED:removed]\n  cookie: [REDACTED:removed]\n\
             added:\n  traceparent: 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
             forwarded headers:\n  :method: POST\n  :path: /orders?id=1\n  :authority: shop.example\n  accept: */*\n  \
             traceparent: 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
             span (not exported: the configuration has no `export`):\n  name: POST\n  kind: server\n  \
             trace_id: f465b9a16a9e786e4f450980185dc406\n  span_id: afcd1d7b39a820e2\n  flags: 03\n  \
             attributes:\n    http.request.method: POST\n    url.path: /orders\n    url.query: id=1\n    \
             server.address: shop.example\n    tracesafe.policy: api\n    tracesafe.redacted.headers: 3\n    \
             tracesafe.redacted.baggage: 0\n    tracesafe.redacted.tokens: 0\n\
             counters:\n  tracesafe.requests 1\n  tracesafe.traces_started 1\n  tracesafe.headers_removed 3\n  \
             tracesafe.policy.api.requests 1\n"
        );
        assert!(!text.contains("SECRET"));
        let j = e.json();
        assert_eq!(j["selected_by"], "rule");
        assert_eq!(j["rule"], json!({"index": 0, "name": "api"}));
        assert_eq!(j["removed"].as_array().unwrap().len(), 3);
        assert!(!j.to_string().contains("SECRET"));
    }

    #[test]
    fn labels_say_what_replaced_values_held_and_the_span_is_shown() {
        let config = json!({
            "keys": {"active": "k1", "env": {"k1": "K1"}},
            "export": {"cluster": "otel"},
            "extends": ["secrets", "pii"]
        });
        let engine = Engine::from_json_with_env(
            config.to_string().as_bytes(),
            &crate::redact::token::test_keys::env,
        )
        .unwrap();
        let e = explain(
            &engine,
            br#"{
                "path": "/users/424242/orders?email=alice@example.com",
                "authority": "shop.example",
                "headers": {
                    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "tracestate": "congo=alice@example.com,rojo=1",
                    "x-user-id": "42",
                    "referer": "https://shop.example/?u=alice@example.com",
                    "baggage": "user.id=42,note=mail%20alice@example.com,session=Bearer%20abcdefghijklmnop1,plan=pro",
                    "uberctx-enduser.id": "42"
                },
                "direction": "outbound"
            }"#,
        )
        .unwrap();
        let text = e.text();
        let replaced: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "replaced:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert_eq!(
            replaced,
            vec![
                "  traceparent: [TRACE:continued] -> 00-0af7651916cd43dd8448eb211c80319c-afcd1d7b39a820e2-01",
                "  tracestate: [TRACE:continued] [REDACTED:email] -> congo=[REDACTED:email],rojo=1",
                "  referer: [REDACTED:email] -> https://shop.example/?u=[REDACTED:email]",
                "  x-user-id: [TOKEN:user] -> tk.k1.RN1-OJO1K2rpPWeLDuUhEw",
                "  baggage: [TOKEN:user] [REDACTED:email] [DROPPED:1 member] -> \
                 user.id=tk.k1.RN1-OJO1K2rpPWeLDuUhEw,note=mail%20[REDACTED:email],plan=pro",
                "  uberctx-enduser.id: [TOKEN:user] -> tk.k1.RN1-OJO1K2rpPWeLDuUhEw",
            ],
            "{text}"
        );
        // Only the forwarded `:path` has it: the app gets its real URL.
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains("alice")).collect();
        assert_eq!(
            leaks,
            vec!["  :path: /users/424242/orders?email=alice@example.com"]
        );
        assert!(!text.contains("abcdefghijklmnop1"), "{text}");
        let span = text
            .lines()
            .skip_while(|l| !l.starts_with("span ("))
            .take_while(|l| *l != "counters:")
            .collect::<Vec<_>>()
            .join("\n");
        let id = crate::redact::token::test_keys::keyring("k1")
            .minter(None)
            .mint("id", b"424242");
        assert_eq!(
            span,
            format!(
                "span (exported when the response ends, with its end time and status code):\n  \
                 name: GET /users/{{id}}/orders\n  kind: client\n  \
                 trace_id: 0af7651916cd43dd8448eb211c80319c\n  span_id: afcd1d7b39a820e2\n  \
                 parent_span_id: b7ad6b7169203331\n  flags: 01\n  attributes:\n    \
                 http.request.method: GET\n    http.route: /users/{{id}}/orders\n    \
                 url.path: /users/{id}/orders\n    url.query: email=[REDACTED:email]\n    \
                 server.address: shop.example\n    tracesafe.policy: default\n    \
                 tracesafe.redacted.headers: 1\n    tracesafe.redacted.baggage: 3\n    \
                 tracesafe.redacted.tokens: 4"
            )
        );
        let j = e.json();
        assert_eq!(j.to_string().matches("alice").count(), 1);
        assert_eq!(j["span"]["exported"], true);
        let otlp = &j["span"]["otlp"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(otlp["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(otlp["name"], "GET /users/{id}/orders");
        assert_eq!(
            j["replaced"][3],
            json!({"name": "x-user-id", "value": "tk.k1.RN1-OJO1K2rpPWeLDuUhEw", "was": "[TOKEN:user]"})
        );
    }

    #[test]
    fn span_notes_when_not_exported() {
        let run = |config: &str, traceparent: &str| {
            let engine = Engine::from_json(config.as_bytes()).unwrap();
            let req = json!({"headers": {"traceparent": traceparent}}).to_string();
            explain(&engine, req.as_bytes()).unwrap()
        };
        let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
        let e = run(r#"{"export": {"cluster": "otel"}}"#, unsampled);
        assert_eq!(e.span_export, SpanExport::NotSampled);
        assert!(e.outcome.span.is_some());
        assert!(e
            .text()
            .contains("span (not exported: the trace is not sampled):\n"));
        let e = run(r#"{"trace": {"trace_context": "envoy"}}"#, unsampled);
        assert_eq!(e.span_export, SpanExport::NoTraceContext);
        assert!(e.text().contains(
            "span: none: tracesafe does not own the trace context (`trace.trace_context: envoy`)\n"
        ));
        assert_eq!(e.json()["span"]["otlp"], Value::Null);
    }

    #[test]
    fn default_policy_and_bad_requests() {
        let e = explain(&engine(), br#"{"headers": {"x-internal": "v"}}"#).unwrap();
        assert!(e
            .text()
            .starts_with("policy: default (no rule matched)\ndirection: unknown\n"));
        let err = explain(&engine(), br#"{"methd": "GET"}"#).unwrap_err();
        assert_eq!(err.path, "methd");
        let err = explain(&engine(), br#"{"properties": {"xds": {"route_name": 1}}}"#).unwrap_err();
        assert_eq!(err.path, "properties.xds.route_name");
    }

    #[test]
    fn apply_mirrors_the_host() {
        let h = |n: &str, v: &str| (n.to_string(), v.as_bytes().to_vec());
        let out = apply(
            &[("a", b"1"), ("b", b"2"), ("a", b"3"), ("c", b"4")],
            &[
                HeaderOp::Set("a".into(), b"new".to_vec()),
                HeaderOp::Remove("c".into()),
                HeaderOp::Set("d".into(), b"x".to_vec()),
            ],
        );
        assert_eq!(out, vec![h("a", "new"), h("b", "2"), h("d", "x")]);
        assert_eq!(show(&[b'a', 0xff, b'\\']), "a\\xff\\x5c");
    }
}
