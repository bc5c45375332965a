//! Audit records through real Envoy: the access log of `envoy/audit.yaml`
//! ships `%FILTER_STATE(wasm.tracesafe.audit:PLAIN)%`; every record parses
//! as JSON, matches `docs/audit.schema.json`, counts the detector hits and
//! spoofing of the requests sent, and holds none of the secrets sent.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Echo, Envoy, Request};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CARD: &str = "4111 1111 1111 1111";
const EMAIL: &str = "alice@example.com";
const FORGED: &str = "spiffe://cluster.local/ns/admin/sa/root";
const BEARER: &str = "Bearer s3cr3t-audit-token";

/// Validates `v` against `schema`, supporting exactly the keywords
/// `docs/audit.schema.json` uses (any other keyword fails, so the schema
/// cannot outgrow the check).
fn validate(v: &Value, schema: &Value, at: &str) {
    let s = schema.as_object().unwrap();
    for (key, rule) in s {
        match key.as_str() {
            "$schema" | "title" | "description" => {}
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    other => other
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap())
                        .collect(),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "string" => v.is_string(),
                    "integer" => v.is_u64() || v.is_i64(),
                    "null" => v.is_null(),
                    other => panic!("type {other} not supported"),
                });
                assert!(ok, "{at}: {v} is not {types:?}");
            }
            "enum" => assert!(
                rule.as_array().unwrap().contains(v),
                "{at}: {v} not in {rule}"
            ),
            "minimum" => assert!(
                v.as_f64().unwrap() >= rule.as_f64().unwrap(),
                "{at}: {v} < {rule}"
            ),
            "maximum" => assert!(
                v.as_f64().unwrap() <= rule.as_f64().unwrap(),
                "{at}: {v} > {rule}"
            ),
            "minLength" | "maxLength" => {
                if let Some(text) = v.as_str() {
                    let n = rule.as_u64().unwrap() as usize;
                    let ok = if key == "minLength" {
                        text.len() >= n
                    } else {
                        text.len() <= n
                    };
                    assert!(ok, "{at}: {text:?} breaks {key} {n}");
                }
            }
            "required" => {
                for name in rule.as_array().unwrap() {
                    assert!(
                        v.get(name.as_str().unwrap()).is_some(),
                        "{at}: {name} missing"
                    );
                }
            }
            "properties" => {
                for (name, sub) in rule.as_object().unwrap() {
                    if let Some(field) = v.get(name) {
                        validate(field, sub, &format!("{at}.{name}"));
                    }
                }
            }
            "propertyNames" => {
                for name in v.as_object().unwrap().keys() {
                    validate(&json!(name), rule, &format!("{at} key {name}"));
                }
            }
            "additionalProperties" => {
                let known = s.get("properties").and_then(Value::as_object);
                for (name, field) in v.as_object().unwrap() {
                    if known.is_some_and(|k| k.contains_key(name)) {
                        continue;
                    }
                    match rule {
                        Value::Bool(false) => panic!("{at}: unexpected field {name}"),
                        sub => validate(field, sub, &format!("{at}.{name}")),
                    }
                }
            }
            other => panic!("schema keyword {other} not supported by this check"),
        }
    }
}

/// The access log's lines once `n` are written (Envoy flushes on a timer).
fn access_log(path: &std::path::Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} access log lines",
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn access_log_ships_value_free_audit_records() {
    let echo = Echo::start();
    let log = common::envoy::scratch_dir().join("access.log");
    let envoy = Envoy::builder("audit.yaml")
        .upstream(echo.port)
        .var("ACCESS_LOG", log.display())
        .plugin(&json!({
            "audit": {"mode": "findings"},
            "direction": "inbound",
            "request_headers": {"scan": ["x-note"], "remove": ["authorization"]}
        }))
        .start();
    let send = |r: Request| assert_eq!(r.send(envoy.port("ingress")).unwrap().status, 200);
    // 1: a card in a header, an email in baggage, a forged identity.
    send(
        Request::get("/orders/1234?q=1")
            .header("x-test-id", "hits")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .header("x-note", format!("card {CARD}"))
            .header("baggage", "note=alice%40example.com")
            .header("x-tracesafe-peer", FORGED)
            .header("authorization", BEARER),
    );
    // 2: nothing to report: no record under `findings`.
    send(Request::get("/quiet").header("x-test-id", "quiet"));
    // 3: an invalid traceparent and an email.
    send(
        Request::get("/")
            .header("x-test-id", "invalid")
            .header("traceparent", "00-not-a-trace-01")
            .header("x-note", EMAIL),
    );
    let lines = access_log(&log, 3);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::envoy::repo_root().join("docs/audit.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let mut records = Vec::new();
    for line in &lines {
        let text = line.to_string();
        for secret in [
            CARD,
            EMAIL,
            "alice%40example.com",
            FORGED,
            "s3cr3t-audit-token",
            "1234",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        match &line["tracesafe"] {
            Value::String(record) => {
                let v: Value = serde_json::from_str(record).unwrap();
                validate(&v, &schema, "record");
                records.push(v);
            }
            // No record, no filter state: Envoy writes null.
            other => assert!(other.is_null(), "{line}"),
        }
    }
    assert_eq!(records.len(), 2, "{lines:#?}");
    let hits = &records[0];
    assert_eq!(hits["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hits["direction"], "inbound");
    assert_eq!(hits["policy"], "default");
    assert_eq!(
        hits["detector_hits"],
        json!({"request_headers": {"card": 1}, "baggage": {"email": 1}})
    );
    assert_eq!(hits["spoofing_stripped"], 1);
    assert_eq!(hits["headers_removed"], 1);
    assert_eq!(hits["invalid"], json!({}));
    let invalid = &records[1];
    assert_eq!(invalid["invalid"], json!({"traceparent": 1}));
    assert_eq!(
        invalid["detector_hits"],
        json!({"request_headers": {"email": 1}})
    );
    assert_eq!(invalid["spoofing_stripped"], 0);
    // The plugin's own log holds no value either.
    let envoy_log = envoy.log();
    for secret in [CARD, EMAIL, FORGED] {
        assert!(!envoy_log.contains(secret), "{secret} in the Envoy log");
    }
    envoy.assert_no_trap();
}
