//! `./build.sh demo`: a two-sidecar mesh on loopback (client → sidecar A →
//! mTLS → sidecar B → app), real Envoy 1.40 with tracesafe in both. Sends
//! requests carrying secrets and prints what the client sent next to what
//! the app received, then the trace the collector got, as a tree.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::grpc::{self, GrpcServer};
use common::mesh::Mesh;
use common::Request;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use std::time::Duration;

const KEY_VAR: &str = "TRACESAFE_DEMO_KEY";

fn main() {
    let path = common::envoy::repo_root().join("examples/policies/demo.json");
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let sidecar = |direction: &str, service: &str| {
        let mut cfg = policy.clone();
        let obj = cfg.as_object_mut().unwrap();
        obj.insert("direction".into(), direction.into());
        obj.insert("service".into(), serde_json::json!({ "name": service }));
        obj.insert(
            "export".into(),
            serde_json::json!({ "cluster": "collector", "flush_interval_ms": 100 }),
        );
        cfg
    };
    // A fresh random HMAC key for this run, handed to both VMs through the
    // environment (never through the plugin configuration).
    let key = random_key();
    let mesh = Mesh::start(
        &sidecar("outbound", "frontend"),
        &sidecar("inbound", "backend"),
        &[(KEY_VAR, &key)],
    );
    println!("tracesafe demo: client → sidecar A (outbound) → mTLS → sidecar B (inbound) → app");
    println!("policy: {}\n", path.display());

    let requests = [
        Request::get("/users/u-1234567/orders/981?coupon=SPRING&email=alice@example.com")
            .header("x-test-id", "1")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .header(
                "authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
            )
            .header("cookie", "session=7f3a9c0d2b1e; theme=dark")
            .header("x-api-key", "ak_live_51HqLyjWDarjtT1zdp7dc")
            .header("x-user-id", "u-1234567")
            .header("x-note", "call me at alice@example.com")
            .header("baggage", "user.id=u-1234567,session.token=s3cr3t,plan=pro")
            .header(
                "x-forwarded-client-cert",
                "By=spiffe://test.local/ns/shop/sa/backend;URI=spiffe://evil/ns/admin/sa/root",
            ),
        Request::get("/health")
            .header("x-test-id", "2")
            .header("Proxy-Authorization", "Basic YWxpY2U6czNjcjN0")
            .header("user-agent", "curl/8.5"),
    ];
    for req in &requests {
        let resp = req.send(mesh.entry()).unwrap();
        let id = String::from_utf8_lossy(&req.headers[0].1).into_owned();
        let got = mesh.app.by_test_id(&id);
        println!("{} {}  -> {}", req.method, req.path, resp.status);
        println!("  {:<58} app received", "client sent");
        for (name, value) in &req.headers {
            let lower = name.to_ascii_lowercase();
            let sent = format!("{name}: {}", short(value));
            let recv = match got.get(&lower) {
                Some(v) if v == value.as_slice() => "(unchanged)".to_string(),
                Some(v) => format!("{lower}: {}", short(v)),
                None => "(removed)".to_string(),
            };
            println!("  {sent:<58} {recv}");
        }
        for (name, value) in &got.headers {
            let new = !req
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name));
            if new
                && (name.starts_with("x-tracesafe")
                    || name == "traceparent"
                    || name == "x-forwarded-client-cert")
            {
                println!("  {:<58} {name}: {}", "(added by the mesh)", short(value));
            }
        }
        println!();
    }

    let spans = mesh.collector.wait_for_spans(4, Duration::from_secs(10));
    println!(
        "the collector received {} spans (OTLP/HTTP JSON):",
        spans.len()
    );
    print_trees(&spans);
    println!(
        "\ncounters: A headers_removed={} tokens_minted={} spoofing_stripped={}  B spans_exported={}",
        mesh.a.counter("headers_removed"),
        mesh.a.counter("tokens_minted"),
        mesh.a.counter("spoofing_stripped"),
        mesh.b.counter("spans_exported"),
    );
    mesh.a.assert_no_trap();
    mesh.b.assert_no_trap();
    grpc_call(
        &sidecar("outbound", "frontend"),
        &sidecar("inbound", "backend"),
        &key,
    );
}

/// One gRPC call (HTTP/2 end to end, h2 over mTLS between the sidecars)
/// that fails with UNAVAILABLE in its trailers, and its two spans.
fn grpc_call(a: &serde_json::Value, b: &serde_json::Value, key: &str) {
    let server = GrpcServer::start();
    let port = server.port;
    let mesh = Mesh::with_app(server, port, a, b, &[(KEY_VAR, key)], None);
    let path = "/shop.v1.Orders/Get";
    let metadata: [(&str, &[u8]); 5] = [
        (
            "traceparent",
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("x-user-id", b"u-1234567"),
        ("x-contact", b"alice@example.com"),
        ("x-blob-bin", b"//////4111111111111111//////"),
        ("x-answer-status", b"14"),
    ];
    let reply = grpc::call(mesh.entry(), path, &metadata);
    let got = mesh.app.received().pop().unwrap();
    println!(
        "\ngRPC POST {path} (HTTP/2)  -> grpc-status {}",
        reply.grpc_status().unwrap_or_default()
    );
    println!("  {:<58} server received", "client sent");
    for (name, value) in metadata {
        let sent = format!("{name}: {}", short(value));
        let recv = match got.get(name) {
            Some(v) if v == value => "(unchanged)".to_string(),
            Some(v) => format!("{name}: {}", short(v)),
            None => "(removed)".to_string(),
        };
        println!("  {sent:<58} {recv}");
    }
    let spans = mesh.collector.wait_for_spans(2, Duration::from_secs(10));
    println!("the collector received {} spans:", spans.len());
    print_trees(&spans);
    mesh.a.assert_no_trap();
    mesh.b.assert_no_trap();
}

/// Prints each trace as a tree: roots are spans whose parent is not among
/// the received spans (the client's own span).
fn print_trees(spans: &[(String, Span)]) {
    let ids: Vec<&Vec<u8>> = spans.iter().map(|(_, s)| &s.span_id).collect();
    let mut roots: Vec<&(String, Span)> = spans
        .iter()
        .filter(|(_, s)| !ids.contains(&&s.parent_span_id))
        .collect();
    roots.sort_by_key(|(_, s)| s.start_time_unix_nano);
    for root in roots {
        println!("trace {}", hex(&root.1.trace_id));
        print_span(spans, root, 1);
    }
}

fn print_span(all: &[(String, Span)], (service, span): &(String, Span), depth: usize) {
    let pad = "   ".repeat(depth);
    let kind = match span.kind {
        2 => "SERVER",
        3 => "CLIENT",
        _ => "SPAN",
    };
    let ms = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e6;
    let status = match span.status.as_ref().map_or(0, |s| s.code) {
        2 => "  ERROR",
        _ => "",
    };
    println!(
        "{pad}└─ {kind} \"{}\"  service={}  {ms:.2} ms  span={}{status}",
        span.name,
        service_name(service),
        hex(&span.span_id)
    );
    for key in [
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "rpc.grpc.status_code",
        "mesh.local.spiffe_id",
        "mesh.peer.spiffe_id",
        "url.path",
        "url.query",
        "user_agent.original",
        "http.response.status_code",
        "tracesafe.redacted.headers",
        "tracesafe.redacted.baggage",
        "tracesafe.redacted.tokens",
    ] {
        if let Some(v) = span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.clone())
        {
            let v = match v {
                Value::StringValue(s) => s,
                Value::IntValue(i) => i.to_string(),
                other => format!("{other:?}"),
            };
            println!("{pad}     {key} = {v}");
        }
    }
    for child in all.iter().filter(|(_, c)| c.parent_span_id == span.span_id) {
        print_span(all, child, depth + 1);
    }
}

fn service_name(debug: &str) -> String {
    debug.split('"').nth(1).unwrap_or(debug).to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn short(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.chars().count() > 44 {
        format!("{}…", s.chars().take(43).collect::<String>())
    } else {
        s.into_owned()
    }
}
