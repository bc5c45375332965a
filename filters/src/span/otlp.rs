//! OTLP/HTTP JSON encoding of span batches (`POST /v1/traces`): lowerCamelCase
//! fields, ids as lowercase hex, enums as integers, 64-bit integers as
//! decimal strings. The span-to-OTLP mapping (flags, kind, status) is shared
//! with the protobuf encoder in `otlp_proto`.

use crate::host::Properties;
use crate::span::{AttrValue, Link, SpanKind, SpanRecord};
use crate::trace::ids::to_hex as hex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `service`: who this workload is, for the span resource. Unset fields fall
/// back to Istio node metadata (`WORKLOAD_NAME`, `NAMESPACE`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Resource attributes shared by every span of this workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub attributes: Vec<(String, String)>,
}

impl Resource {
    /// `service.name`/`service.namespace` from config, else from Istio node
    /// metadata; `k8s.*` from node metadata. Read once per VM.
    pub fn for_workload(cfg: &ServiceConfig, props: &dyn Properties) -> Self {
        let node = |key: &str| {
            props
                .property(&["xds", "node", "metadata", key])
                .and_then(|v| String::from_utf8(v).ok())
                .filter(|v| !v.is_empty())
        };
        let k8s_ns = node("NAMESPACE");
        let pod = node("NAME");
        let name = cfg
            .name
            .clone()
            .or_else(|| node("WORKLOAD_NAME"))
            .unwrap_or_else(|| "tracesafe".to_string());
        let mut attributes = vec![("service.name".to_string(), name)];
        let entries = [
            (
                "service.namespace",
                cfg.namespace.clone().or_else(|| k8s_ns.clone()),
            ),
            ("k8s.namespace.name", k8s_ns),
            ("k8s.pod.name", pod),
        ];
        for (k, v) in entries {
            if let Some(v) = v {
                attributes.push((k.to_string(), v));
            }
        }
        Resource { attributes }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    resource_spans: [ResourceSpans<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    resource: JsonResource,
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct JsonResource {
    attributes: Vec<KeyValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScopeSpans<'a> {
    scope: Scope,
    spans: Vec<JsonSpan<'a>>,
}

#[derive(Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan<'a> {
    trace_id: String,
    span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    flags: u32,
    name: &'a str,
    kind: u8,
    start_time_unix_nano: String,
    end_time_unix_nano: String,
    attributes: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<JsonLink>,
    status: Status,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLink {
    trace_id: String,
    span_id: String,
    flags: u32,
}

#[derive(Serialize)]
struct Status {
    code: u8,
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Value {
    StringValue(String),
    IntValue(String),
}

/// OTLP span flags: bit 8 says whether bit 9 (parent is remote) is known.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// The instrumentation scope of every exported span.
pub(crate) const SCOPE_NAME: &str = "tracesafe";
pub(crate) const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The OTLP `flags` of a span. Its parent (app or upstream hop) is always
/// across a process boundary.
pub(crate) fn span_flags(s: &SpanRecord) -> u32 {
    let remote = if s.parent_span_id.is_some() {
        IS_REMOTE
    } else {
        0
    };
    u32::from(s.flags) | HAS_IS_REMOTE | remote
}

/// The OTLP `flags` of a link: a linked context always came from outside.
pub(crate) fn link_flags(l: &Link) -> u32 {
    u32::from(l.flags) | HAS_IS_REMOTE | IS_REMOTE
}

/// OTLP `SpanKind`: SERVER=2, CLIENT=3.
pub(crate) fn kind_code(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Server => 2,
        SpanKind::Client => 3,
    }
}

/// OTLP `Status.code`: UNSET=0, ERROR=2.
pub(crate) fn status_code(s: &SpanRecord) -> u8 {
    if s.error {
        2
    } else {
        0
    }
}

/// `partialSuccess.rejectedSpans` of an OTLP/HTTP JSON response (an int64,
/// so a decimal string, though a number is accepted too); 0 when absent.
pub fn json_rejected_spans(body: &[u8]) -> u64 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    match v.pointer("/partialSuccess/rejectedSpans") {
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        Some(n) => n.as_u64().unwrap_or(0),
        None => 0,
    }
}

/// Encodes one export request body.
pub fn encode(resource: &Resource, spans: &[SpanRecord]) -> String {
    let body = Request {
        resource_spans: [ResourceSpans {
            resource: JsonResource {
                attributes: resource
                    .attributes
                    .iter()
                    .map(|(k, v)| KeyValue {
                        key: k.clone(),
                        value: Value::StringValue(v.clone()),
                    })
                    .collect(),
            },
            scope_spans: [ScopeSpans {
                scope: Scope {
                    name: SCOPE_NAME,
                    version: SCOPE_VERSION,
                },
                spans: spans.iter().map(json_span).collect(),
            }],
        }],
    };
    serde_json::to_string(&body).unwrap_or_default()
}

fn json_span(s: &SpanRecord) -> JsonSpan<'_> {
    JsonSpan {
        trace_id: hex(&s.trace_id),
        span_id: hex(&s.span_id),
        parent_span_id: s.parent_span_id.map(|p| hex(&p)),
        flags: span_flags(s),
        name: &s.name,
        kind: kind_code(s.kind),
        start_time_unix_nano: s.start_ns.to_string(),
        end_time_unix_nano: s.end_ns.to_string(),
        attributes: s
            .attributes
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).to_string(),
                value: match v {
                    AttrValue::Str(s) => Value::StringValue(s.clone()),
                    AttrValue::Int(i) => Value::IntValue(i.to_string()),
                },
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| JsonLink {
                trace_id: hex(&l.trace_id),
                span_id: hex(&l.span_id),
                flags: link_flags(l),
            })
            .collect(),
        status: Status {
            code: status_code(s),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn resource_from_config_then_node_metadata() {
        use crate::host::StaticProperties;
        let props = StaticProperties::default()
            .with(&["xds", "node", "metadata", "NAMESPACE"], "shop")
            .with(&["xds", "node", "metadata", "WORKLOAD_NAME"], "cart")
            .with(&["xds", "node", "metadata", "NAME"], "cart-7d9f");
        let r = Resource::for_workload(&ServiceConfig::default(), &props);
        let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            r.attributes,
            want(&[
                ("service.name", "cart"),
                ("service.namespace", "shop"),
                ("k8s.namespace.name", "shop"),
                ("k8s.pod.name", "cart-7d9f")
            ])
        );
        let cfg = ServiceConfig {
            name: Some("checkout".into()),
            namespace: Some("payments".into()),
        };
        let r = Resource::for_workload(&cfg, &StaticProperties::default());
        assert_eq!(
            r.attributes,
            want(&[
                ("service.name", "checkout"),
                ("service.namespace", "payments")
            ])
        );
    }

    #[test]
    fn exact_json() {
        let span = SpanRecord {
            trace_id: [0x4b; 16],
            span_id: [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
            parent_span_id: Some([1; 8]),
            flags: 1,
            name: "GET /x".into(),
            kind: SpanKind::Server,
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_000_000_000_500,
            attributes: vec![
                ("http.request.method", AttrValue::Str("GET".into())),
                ("http.response.status_code", AttrValue::Int(500)),
            ],
            links: vec![Link {
                trace_id: [2; 16],
                span_id: [3; 8],
                flags: 0,
            }],
            error: true,
        };
        let resource = Resource {
            attributes: vec![("service.name".into(), "shop".into())],
        };
        let json: serde_json::Value = serde_json::from_str(&encode(&resource, &[span])).unwrap();
        let expected = serde_json::json!({"resourceSpans":[{
            "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
            "scopeSpans":[{"scope":{"name":"tracesafe","version":env!("CARGO_PKG_VERSION")},"spans":[{
                "traceId":"4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b",
                "spanId":"00f067aa0ba902b7",
                "parentSpanId":"0101010101010101",
                "flags":0x301,
                "name":"GET /x",
                "kind":2,
                "startTimeUnixNano":"1700000000000000000",
                "endTimeUnixNano":"1700000000000000500",
                "attributes":[
                    {"key":"http.request.method","value":{"stringValue":"GET"}},
                    {"key":"http.response.status_code","value":{"intValue":"500"}}
                ],
                "links":[{"traceId":"02020202020202020202020202020202","spanId":"0303030303030303","flags":0x300}],
                "status":{"code":2}
            }]}]
        }]});
        assert_eq!(json, expected);
    }
}
