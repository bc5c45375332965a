//! Audit records built by the engine: detector hits per carrier, spoofing,
//! invalid input; `findings` skips quiet requests; no value ever.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

use serde_json::{json, Value};
use tracesafe_filters::host::{SeededEntropy, StaticProperties};
use tracesafe_filters::{Engine, Header, RequestInput, ResponseInput};

fn h<'a>(n: &'a str, v: &'a str) -> Header<'a> {
    (n, v.as_bytes())
}

/// The record the adapter would write for this request and response.
fn record(mode: &str, request: &[Header], response: &[Header]) -> Option<Value> {
    let config = json!({
        "audit": {"mode": mode},
        "direction": "inbound",
        "export": {"cluster": "otel"},
        "url": {"templates": [{"template": "/orders/{id}"}]},
        "request_headers": {"scan": ["x-note"], "remove": ["authorization"]},
        "response_headers": {"scan": ["*"]}
    });
    let engine = Engine::from_json(config.to_string().as_bytes()).unwrap();
    let props = StaticProperties::default();
    let out = engine.on_request(
        &RequestInput {
            headers: request,
            properties: &props,
            now_ns: 0,
        },
        &mut SeededEntropy(0),
    );
    let resp = engine.on_response(
        &ResponseInput {
            headers: response,
            tenant: None,
            policy: out.policy.index,
            trace: out.trace.as_ref(),
            properties: &props,
        },
        None,
    );
    let text = out.audit?.finish(&resp.metrics)?;
    assert!(!text.contains('\n'));
    Some(serde_json::from_str(&text).unwrap())
}

const SECRETS: [&str; 4] = [
    "4111 1111 1111 1111",
    "alice@example.com",
    "spiffe://evil",
    "bob@example.com",
];

#[test]
fn findings_are_counted_per_carrier_without_values() {
    let request = [
        h(":method", "POST"),
        h(":path", "/orders/1234?mail=alice@example.com"),
        h(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        h("x-note", "card 4111 1111 1111 1111"),
        h("baggage", "note=alice%40example.com"),
        h("x-tracesafe-peer", "spiffe://evil"),
        h("authorization", "Bearer abc"),
    ];
    let response = [h(":status", "200"), h("x-contact", "bob@example.com")];
    let v = record("findings", &request, &response).unwrap();
    assert_eq!(
        v,
        json!({
            "version": 1,
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "policy": "default",
            "direction": "inbound",
            "route": "/orders/{id}",
            "identities": {},
            "detector_hits": {
                "request_headers": {"card": 1},
                "baggage": {"email": 1},
                "url": {"email": 1},
                "response_headers": {"email": 1}
            },
            "invalid": {},
            "tokens_minted": 0,
            "headers_removed": 1,
            "baggage_dropped": 0,
            "response_headers_removed": 0,
            "spoofing_stripped": 1
        })
    );
    let text = v.to_string();
    for s in SECRETS {
        assert!(!text.contains(s), "{s} in {text}");
    }
    assert!(!text.contains("1234") && !text.contains("mail="), "{text}");
}

#[test]
fn findings_mode_skips_quiet_requests_and_counts_invalid_input() {
    let quiet = [h(":method", "GET"), h(":path", "/")];
    let ok = [h(":status", "200")];
    assert_eq!(record("findings", &quiet, &ok), None);
    assert_eq!(record("off", &quiet, &ok), None);
    let v = record("always", &quiet, &ok).unwrap();
    assert_eq!(v["detector_hits"], json!({}));
    let bad = [
        h(":path", "/"),
        h("traceparent", "00-zz-b7ad6b7169203331-01"),
    ];
    let v = record("findings", &bad, &ok).unwrap();
    assert_eq!(v["invalid"], json!({"traceparent": 1}));
}

/// `docs/audit.schema.json` lists exactly the record's fields, all required.
#[test]
fn documented_schema_lists_every_field() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/audit.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let quiet = [h(":path", "/")];
    let v = record("always", &quiet, &[h(":status", "200")]).unwrap();
    let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let mut documented: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    required.sort();
    documented.sort();
    assert_eq!(fields, required);
    assert_eq!(fields, documented);
}
