//! Verified identity through the two-sidecar mTLS mesh: identities come from
//! certificates, never from client headers, and reach Envoy's own spans
//! through filter state.
#![allow(clippy::unwrap_used)]

mod common;

use common::mesh::{Mesh, BACKEND, FRONTEND};
use common::Request;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use serde_json::json;
use std::time::Duration;

/// The HCM `tracing` block shipped in `envoy/`: Envoy's OpenTelemetry tracer
/// with custom tags read from tracesafe's filter state.
fn envoy_tracing() -> serde_json::Value {
    let path = common::envoy::repo_root().join("envoy/envoy-tracer-tags.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn envoy_tracer_spans_carry_tracesafe_identity() {
    let mesh = Mesh::start_with_tracing(&json!({}), &json!({}), &[], Some(&envoy_tracing()));
    let r = Request::get("/orders")
        .header("x-test-id", "t1")
        .send(mesh.entry())
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body_text());
    let spans = mesh.collector.wait_for_spans(1, Duration::from_secs(10));
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let export = &mesh.collector.exports()[0];
    assert_eq!(export.content_type, "application/x-protobuf");
    let tag = |k: &str| {
        spans[0]
            .1
            .attributes
            .iter()
            .find(|kv| kv.key == k)
            .and_then(|kv| kv.value.as_ref()?.value.clone())
    };
    assert_eq!(
        tag("mesh.peer.spiffe_id"),
        Some(Value::StringValue(FRONTEND.into()))
    );
    assert_eq!(
        tag("mesh.local.spiffe_id"),
        Some(Value::StringValue(BACKEND.into()))
    );
    assert_eq!(mesh.b.counter("identity_source.peer_certificate"), 1);
    assert_eq!(mesh.b.counter("identity_source.local_certificate"), 1);
    mesh.a.assert_no_trap();
    mesh.b.assert_no_trap();
}

#[test]
fn client_identity_headers_are_stripped_on_plaintext_hops() {
    let mesh = Mesh::start(
        &json!({}),
        &json!({"identity": {"forward_peer_header": true}}),
        &[],
    );
    let forged =
        "By=spiffe://test.local/ns/shop/sa/backend;URI=spiffe://test.local/ns/admin/sa/root";
    let r = Request::get("/")
        .header("x-test-id", "spoof")
        .header("x-forwarded-client-cert", forged)
        .header("x-tracesafe-peer", "spiffe://test.local/ns/admin/sa/root")
        .send(mesh.entry())
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body_text());
    // A (plaintext downstream) stripped both forged headers; B set its own
    // from the mTLS handshake.
    assert_eq!(mesh.a.counter("spoofing_stripped"), 1);
    let got = mesh.app.by_test_id("spoof");
    assert_eq!(got.text("x-tracesafe-peer").as_deref(), Some(FRONTEND));
    let xfcc = got.text("x-forwarded-client-cert").unwrap();
    assert!(!xfcc.contains("admin"), "{xfcc}");
    assert!(xfcc.ends_with(&format!("URI={FRONTEND}")), "{xfcc}");
    assert_eq!(mesh.b.counter("spoofing_stripped"), 0);
}
