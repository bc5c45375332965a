//! tracesafe's own spans through the two-sidecar mTLS mesh, decoded by the
//! official OTLP types: parent/child across hops, verified identities,
//! sanitized attributes, and a dead collector that costs only spans.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::mesh::{Mesh, BACKEND, FRONTEND};
use common::support::{key, ENV_K1};
use common::Request;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::json;
use std::time::Duration;

fn sidecar(direction: &str, service: &str) -> serde_json::Value {
    json!({
        "direction": direction,
        "identity": {"trust_domain": "test.local", "forward_peer_header": true},
        "service": {"name": service},
        "export": {"cluster": "collector", "flush_interval_ms": 50, "batch_size": 8, "max_retries": 0},
        "keys": key("k1"),
        "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}, "scan": ["*"]},
        "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
        "url": {
            "templates": [{"template": "/users/{user}/orders/{order}", "params": {"user": "tokenize", "order": "keep"}, "namespaces": {"user": "user"}}],
            "query": {"default": "redact"}
        }
    })
}

fn attr(span: &Span, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.clone())
}

fn s(v: &str) -> Option<Value> {
    Some(Value::StringValue(v.to_string()))
}

const SECRETS: &[&str] = &[
    "alice@example.com",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "session=9f8e7d6c5b4a",
    "u-1234567",
    "4111111111111111",
    "hunter2-query",
];

#[test]
fn client_span_is_parent_of_server_span_with_verified_identities() {
    let mesh = Mesh::start(
        &sidecar("outbound", "frontend"),
        &sidecar("inbound", "backend"),
        ENV_K1,
    );
    let incoming_parent = "00f067aa0ba902b7";
    let traceparent = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{incoming_parent}-01");
    let resp = Request::get("/users/u-1234567/orders/981?note=hunter2-query&card=4111111111111111")
        .header("x-test-id", "mesh")
        .header("traceparent", &traceparent)
        .header("authorization", "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc")
        .header("cookie", "session=9f8e7d6c5b4a")
        .header("x-user-id", "u-1234567")
        .header("x-contact", "alice@example.com")
        .header("baggage", "user.id=u-1234567,plan=pro")
        .header("user-agent", "shop-app/2.1 (alice@example.com)")
        .send(mesh.entry())
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());

    let spans = mesh.collector.wait_for_spans(2, Duration::from_secs(10));
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let client = &spans
        .iter()
        .find(|(_, s)| s.kind == 3)
        .expect("CLIENT span")
        .1;
    let server = &spans
        .iter()
        .find(|(_, s)| s.kind == 2)
        .expect("SERVER span")
        .1;

    // One trace; A's CLIENT span is the parent of B's SERVER span, and A
    // continues the caller's context.
    let trace_id = hex("4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(client.trace_id, trace_id);
    assert_eq!(server.trace_id, trace_id);
    assert_eq!(client.parent_span_id, hex(incoming_parent));
    assert_eq!(server.parent_span_id, client.span_id);
    assert_ne!(server.span_id, client.span_id);
    assert_eq!(client.flags, 0x301, "sampled, parent is remote");
    assert_eq!(server.flags, 0x301);
    // The app saw B's span as its parent.
    let got = mesh.app.by_test_id("mesh");
    let forwarded = got.text("traceparent").unwrap();
    assert_eq!(
        forwarded,
        format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01",
            to_hex(&server.span_id)
        )
    );

    // Identities: each from its own source, never from a header.
    assert_eq!(
        attr(client, "mesh.local.spiffe_id"),
        s(FRONTEND),
        "node metadata of A"
    );
    assert_eq!(
        attr(client, "mesh.peer.spiffe_id"),
        s(BACKEND),
        "upstream certificate of A's call"
    );
    assert_eq!(
        attr(server, "mesh.peer.spiffe_id"),
        s(FRONTEND),
        "client certificate B verified"
    );
    assert_eq!(attr(server, "mesh.local.spiffe_id"), s(BACKEND));
    assert_eq!(attr(server, "mesh.peer.service_account"), s("frontend"));
    assert_eq!(attr(server, "k8s.namespace.name"), s("shop"));
    assert_eq!(got.text("x-tracesafe-peer").as_deref(), Some(FRONTEND));

    // Sanitized attributes, exactly.
    let user_token = "tk.k1.l7d17tZJ8DwYS23SXoGGMQ";
    for span in [client, server] {
        assert_eq!(span.name, "GET /users/{user}/orders/{order}");
        assert_eq!(attr(span, "http.route"), s("/users/{user}/orders/{order}"));
        assert_eq!(
            attr(span, "url.path"),
            s(&format!("/users/{user_token}/orders/981"))
        );
        assert_eq!(attr(span, "url.query"), s("note=REDACTED&card=REDACTED"));
        assert_eq!(attr(span, "http.request.method"), s("GET"));
        assert_eq!(
            attr(span, "http.response.status_code"),
            Some(Value::IntValue(200))
        );
        assert_eq!(span.status.as_ref().map(|st| st.code), Some(0));
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    }
    assert_eq!(
        attr(client, "user_agent.original"),
        s("shop-app/2.1 ([REDACTED:email])")
    );
    // The app got tokens, not ids, in every carrier (same namespace, same token).
    assert_eq!(got.text("x-user-id").as_deref(), Some(user_token));
    assert_eq!(
        got.text("baggage").as_deref(),
        Some(&*format!("user.id={user_token},plan=pro"))
    );

    // Resource: the configured service names.
    let services: Vec<&str> = spans.iter().map(|(svc, _)| svc.as_str()).collect();
    assert!(
        services.iter().any(|s| s.contains("frontend"))
            && services.iter().any(|s| s.contains("backend")),
        "{services:?}"
    );

    // No secret sent by the client appears anywhere in the exported JSON.
    let raw = String::from_utf8_lossy(&mesh.collector.raw_bodies()).into_owned();
    for secret in SECRETS {
        assert!(!raw.contains(secret), "{secret} leaked into spans: {raw}");
    }
    assert!(mesh
        .collector
        .exports()
        .iter()
        .all(|e| e.content_type == "application/json"));
    assert_eq!(mesh.a.counter("spans_exported"), 1);
    assert_eq!(mesh.b.counter("spans_exported"), 1);
    mesh.a.assert_no_trap();
    mesh.b.assert_no_trap();
}

#[test]
fn a_dead_collector_costs_spans_not_requests() {
    let mesh = Mesh::start(
        &sidecar("outbound", "frontend"),
        &sidecar("inbound", "backend"),
        ENV_K1,
    );
    mesh.collector.stop();
    for i in 0..20 {
        let resp = Request::get("/health")
            .header("x-test-id", format!("r{i}"))
            .send(mesh.entry())
            .unwrap();
        assert_eq!(resp.status, 200);
    }
    // Every span is accounted for: failed (no retries configured) or still
    // queued, never exported, never blocking a request.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while mesh.a.counter("spans_failed") < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mesh.a.counter("spans_failed"), 20, "{}", mesh.a.stats());
    assert_eq!(mesh.b.counter("spans_failed"), 20);
    assert_eq!(mesh.a.counter("spans_exported"), 0);
    assert!(mesh.collector.spans().is_empty());
    mesh.a.assert_no_trap();
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
