//! `tracesafe explain`: runs one described request through the engine, as
//! the plugin would, and reports which rule and policy applied, what was
//! removed or replaced and what the upstream would receive. Values the
//! filter removed or replaced are never printed: they show as
//! `[REDACTED:<what happened>]`.

use crate::config::{from_value, ConfigError, MatchDirection};
use crate::engine::{Engine, RequestInput, RequestOutcome};
use crate::headers::{Header, HeaderOp};
use crate::host::{SeededEntropy, StaticProperties};
use crate::policy::Reason;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `request.json`.
#[derive(Debug, Clone, Deserialize)]
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
    /// The listener's direction (`["xds","listener_direction"]`).
    #[serde(default)]
    pub direction: Option<MatchDirection>,
    /// Host properties as nested objects: every string leaf is the property
    /// at its key path, e.g. `{"xds": {"route_name": "api"}}`.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

fn get() -> String {
    "GET".into()
}

fn root() -> String {
    "/".into()
}

/// One header value or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Values {
    One(String),
    Many(Vec<String>),
}

/// The result of running one request.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub request: Vec<Header>,
    pub outcome: RequestOutcome,
    /// The headers after the filter's operations: what the upstream gets.
    pub forwarded: Vec<Header>,
}

/// Parses `request.json` and runs it through `engine`.
pub fn explain(engine: &Engine, request_json: &[u8]) -> Result<Explanation, ConfigError> {
    let value: Value = serde_json::from_slice(request_json)
        .map_err(|e| ConfigError::new("", format!("request: {e}")))?;
    let req: ExplainRequest = from_value(value, "")?;
    let mut headers: Vec<Header> = vec![
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
    let outcome = engine.on_request(
        &RequestInput {
            headers: &headers,
            properties: &props,
            // Fixed, like the ids, so explanations are reproducible.
            now_ns: 0,
        },
        // Fixed, so explanations are reproducible.
        &mut SeededEntropy(0),
    );
    let forwarded = apply(&headers, &outcome.ops);
    Ok(Explanation {
        request: headers,
        outcome,
        forwarded,
    })
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
pub fn apply(headers: &[Header], ops: &[HeaderOp]) -> Vec<Header> {
    let mut out = headers.to_vec();
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
fn show(bytes: &[u8]) -> String {
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

    /// Fields the filter removed, as (name, how many fields).
    fn removed(&self) -> Vec<(&str, usize)> {
        self.outcome
            .ops
            .iter()
            .filter_map(|op| match op {
                HeaderOp::Remove(name) => Some((
                    name.as_str(),
                    self.request
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                        .count(),
                )),
                HeaderOp::Set(..) => None,
            })
            .collect()
    }

    fn replaced(&self) -> Vec<(&str, &[u8])> {
        self.outcome
            .ops
            .iter()
            .filter_map(|op| match op {
                HeaderOp::Set(name, value) => Some((name.as_str(), value.as_slice())),
                HeaderOp::Remove(_) => None,
            })
            .collect()
    }

    /// Counters this request adds, with their Envoy stat names (without
    /// Envoy's `wasmcustom.` prefix).
    fn counters(&self) -> Vec<(String, u64)> {
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
        let removed = self.removed();
        if removed.is_empty() {
            let _ = writeln!(out, "  (nothing)");
        }
        for (name, fields) in removed {
            for _ in 0..fields {
                let _ = writeln!(out, "  {name}: {REMOVED}");
            }
        }
        let replaced = self.replaced();
        if !replaced.is_empty() {
            let _ = writeln!(out, "replaced:");
            for (name, value) in replaced {
                let _ = writeln!(out, "  {name}: {REPLACED} -> {}", show(value));
            }
        }
        let _ = writeln!(out, "forwarded headers:");
        for (name, value) in &self.forwarded {
            let _ = writeln!(out, "  {name}: {}", show(value));
        }
        let _ = writeln!(out, "counters:");
        for (name, n) in self.counters() {
            let _ = writeln!(out, "  {name} {n}");
        }
        out
    }

    /// The report for programs (`--json`).
    pub fn json(&self) -> Value {
        let (selected_by, rule) = match &self.outcome.policy.reason {
            Reason::Default => ("default", Value::Null),
            Reason::RouteMetadata => ("route_metadata", Value::Null),
            Reason::Rule { index, name } => {
                ("rule", json!({"index": index, "name": name.as_deref()}))
            }
        };
        json!({
            "policy": self.outcome.policy.name.as_ref(),
            "selected_by": selected_by,
            "rule": rule,
            "direction": self.direction(),
            "removed": self.removed().iter().flat_map(|(n, k)| std::iter::repeat_n(*n, *k)).map(|n| json!({"name": n, "value": REMOVED})).collect::<Vec<_>>(),
            "replaced": self.replaced().iter().map(|(n, v)| json!({"name": n, "value": show(v), "was": REPLACED})).collect::<Vec<_>>(),
            "forwarded_headers": self.forwarded.iter().map(|(n, v)| json!([n, show(v)])).collect::<Vec<_>>(),
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
             replaced:\n  traceparent: [REDACTED:replaced] -> 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
             forwarded headers:\n  :method: POST\n  :path: /orders?id=1\n  :authority: shop.example\n  accept: */*\n  \
             traceparent: 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
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
            &[h("a", "1"), h("b", "2"), h("a", "3"), h("c", "4")],
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
