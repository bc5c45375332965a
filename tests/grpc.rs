//! gRPC through the two-sidecar mesh over real Envoy: a real HTTP/2 client
//! (h2c) → sidecar A (outbound, CLIENT span) → h2 over mTLS → sidecar B
//! (inbound, SERVER span) → h2c → a gRPC server. Spans carry the RPC
//! conventions and the status from `grpc-status`; metadata follows the
//! policy, `-bin` values whole.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::grpc::{call, GrpcServer, Reply};
use common::mesh::Mesh;
use common::support::{key, ENV_K1};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::json;
use std::time::Duration;
use tracesafe_filters::trace::ids::{from_hex, to_hex};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const PATH: &str = "/shop.v1.Orders/Get";
/// Random bytes whose base64 text holds a run the card detector would mask
/// if it were scanned as text.
const BLOB: &[u8] = b"//////4111111111111111//////";
const SECRET: &str = "alice@example.com";

fn sidecar(direction: &str, service: &str) -> serde_json::Value {
    json!({
        "direction": direction,
        "service": {"name": service},
        "export": {"cluster": "collector", "flush_interval_ms": 50, "max_retries": 0},
        "keys": key("k1"),
        "request_headers": {
            "scan": ["*", "x-scanned-bin"],
            "tokenize": ["x-user-bin"],
            "remove": ["x-drop-bin"]
        },
        "response_headers": {"scan": ["*"]}
    })
}

fn mesh() -> Mesh<GrpcServer> {
    let server = GrpcServer::start();
    let port = server.port;
    Mesh::with_app(
        server,
        port,
        &sidecar("outbound", "frontend"),
        &sidecar("inbound", "backend"),
        ENV_K1,
        None,
    )
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

/// One call with a test id and the caller's trace context.
fn send(mesh: &Mesh<GrpcServer>, id: &str, metadata: &[(&str, &[u8])]) -> Reply {
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let mut md: Vec<(&str, &[u8])> = vec![
        ("x-test-id", id.as_bytes()),
        ("traceparent", traceparent.as_bytes()),
    ];
    md.extend(metadata);
    call(mesh.entry(), PATH, &md)
}

/// The CLIENT (A) and SERVER (B) spans of the one call sent.
fn spans(mesh: &Mesh<GrpcServer>) -> (Span, Span) {
    let spans = mesh.collector.wait_for_spans(2, Duration::from_secs(10));
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let kind = |k: i32| spans.iter().find(|(_, s)| s.kind == k).unwrap().1.clone();
    (kind(3), kind(2))
}

fn b64(v: &str) -> Vec<u8> {
    STANDARD.encode(v).into_bytes()
}

fn status_code(span: &Span) -> i32 {
    span.status.as_ref().map_or(0, |s| s.code)
}

/// OTLP status codes.
const UNSET: i32 = 0;
const ERROR: i32 = 2;

/// Both spans are RPC spans of the one call, parent and child in the
/// caller's trace, with this gRPC status.
fn assert_rpc_spans(client: &Span, server: &Span, code: i64) {
    for span in [client, server] {
        assert_eq!(span.name, "shop.v1.Orders/Get");
        assert_eq!(
            span.trace_id,
            from_hex::<16>(TRACE.as_bytes()).unwrap().to_vec()
        );
        assert_eq!(attr(span, "rpc.system"), s("grpc"));
        assert_eq!(attr(span, "rpc.service"), s("shop.v1.Orders"));
        assert_eq!(attr(span, "rpc.method"), s("Get"));
        assert_eq!(
            attr(span, "rpc.grpc.status_code"),
            Some(Value::IntValue(code))
        );
        assert_eq!(
            attr(span, "http.response.status_code"),
            Some(Value::IntValue(200))
        );
        assert_eq!(attr(span, "url.path"), None);
    }
    assert_eq!(
        client.parent_span_id,
        from_hex::<8>(PARENT.as_bytes()).unwrap().to_vec()
    );
    assert_eq!(server.parent_span_id, client.span_id);
}

#[test]
fn a_call_continues_the_trace_and_metadata_follows_the_policy() {
    let mesh = mesh();
    let user = b64("u-1234567");
    let scanned = b64("\u{1}alice@example.com");
    let detail = b64("call alice@example.com");
    let reply = send(
        &mesh,
        "ok",
        &[
            ("x-blob-bin", BLOB),
            ("x-contact", SECRET.as_bytes()),
            ("x-user-bin", &user),
            ("x-drop-bin", b"AAEC"),
            ("x-scanned-bin", &scanned),
            ("x-answer-detail-bin", &detail),
        ],
    );
    assert_eq!(reply.status, 200);
    // The custom trailer went through the response header policy.
    assert_eq!(
        reply.trailers,
        vec![
            ("grpc-status".to_string(), b"0".to_vec()),
            ("x-detail".to_string(), b"call [REDACTED:email]".to_vec()),
        ]
    );

    let got = mesh.app.by_test_id("ok");
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", PATH));
    let names: Vec<&str> = got.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "content-type",
            "te",
            "grpc-timeout",
            "x-test-id",
            "x-blob-bin",
            "x-answer-detail-bin",
            "x-forwarded-proto",
            "x-request-id",
            "x-contact",
            "x-user-bin",
            "x-forwarded-client-cert",
            "traceparent",
            "x-envoy-expected-rq-timeout-ms",
        ],
        "x-drop-bin removed, x-scanned-bin removed on a hit in its decoded bytes"
    );
    // gRPC's own headers and unscanned binary metadata, byte for byte.
    assert_eq!(got.get("content-type"), Some(&b"application/grpc"[..]));
    assert_eq!(got.get("te"), Some(&b"trailers"[..]));
    assert_eq!(got.get("grpc-timeout"), Some(&b"5S"[..]));
    assert_eq!(got.get("x-blob-bin"), Some(BLOB));
    assert_eq!(got.get("x-answer-detail-bin"), Some(&detail[..]));
    assert_eq!(got.text("x-contact").unwrap(), "[REDACTED:email]");
    // Tokenized whole, and still valid binary metadata: base64 of the token
    // (A minted it, B recognized its own key's token and kept it).
    let token = STANDARD.decode(got.get("x-user-bin").unwrap()).unwrap();
    assert_eq!(token, b"tk.k1.I59Gd0n51cOAfNlqOXP3DQ");

    let (client, server) = spans(&mesh);
    assert_rpc_spans(&client, &server, 0);
    assert_eq!(status_code(&client), UNSET);
    assert_eq!(status_code(&server), UNSET);
    assert_eq!(
        got.text("traceparent").unwrap(),
        format!("00-{TRACE}-{}-01", to_hex(&server.span_id))
    );
    let raw = String::from_utf8_lossy(&mesh.collector.raw_bodies()).into_owned();
    for secret in [SECRET, "u-1234567"] {
        assert!(!raw.contains(secret), "{secret} in an export");
    }
}

#[test]
fn unavailable_in_trailers_is_an_error_on_both_sides() {
    let mesh = mesh();
    let reply = send(&mesh, "down", &[("x-answer-status", b"14")]);
    assert_eq!(reply.grpc_status().as_deref(), Some("14"));
    let (client, server) = spans(&mesh);
    assert_rpc_spans(&client, &server, 14);
    assert_eq!(status_code(&client), ERROR);
    assert_eq!(status_code(&server), ERROR);
}

#[test]
fn trailers_only_not_found_is_an_error_for_the_client_only() {
    let mesh = mesh();
    let message = b64("no order for alice@example.com");
    let reply = send(
        &mesh,
        "missing",
        &[
            ("x-answer-status", b"5"),
            ("x-answer-form", b"trailers-only"),
            ("x-answer-message-bin", &message),
        ],
    );
    assert!(reply.trailers.is_empty(), "{reply:?}");
    assert_eq!(reply.grpc_status().as_deref(), Some("5"));
    // grpc-message is text the server wrote: scanned like any header.
    assert_eq!(
        reply.get("grpc-message").as_deref(),
        Some("no order for [REDACTED:email]")
    );
    let (client, server) = spans(&mesh);
    assert_rpc_spans(&client, &server, 5);
    assert_eq!(status_code(&client), ERROR, "any non-OK status");
    assert_eq!(
        status_code(&server),
        UNSET,
        "NOT_FOUND is not a server error"
    );
    let raw = String::from_utf8_lossy(&mesh.collector.raw_bodies()).into_owned();
    assert!(!raw.contains("no order"), "grpc-message never on a span");
}
