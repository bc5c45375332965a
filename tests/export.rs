//! Span export through real Envoy in each OTLP protocol: the same spans
//! arrive as JSON, as protobuf and over gRPC (decoded by the official
//! types, gRPC by their tonic server), export headers and partial success
//! work in each, and a burst of requests is exported in full.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::collector::Collector;
use common::envoy::Builder;
use common::{Envoy, Plugin, Request, Started};
use serde_json::json;
use std::time::{Duration, Instant};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A collector speaking `protocol` and the cluster of envoy/hostile.yaml
/// that reaches it (gRPC needs the HTTP/2 one).
fn collector_for(protocol: &str) -> (Collector, &'static str) {
    match protocol {
        "grpc" => (Collector::start_grpc(), "collector-grpc"),
        _ => (Collector::start(), "collector"),
    }
}

fn start(collector: &Collector, export: serde_json::Value) -> Envoy {
    start_with_env(collector, export, &[])
}

fn start_with_env(collector: &Collector, export: serde_json::Value, env: &[(&str, &str)]) -> Envoy {
    let config = json!({"service": {"name": "shop"}, "export": export});
    proxy(collector.port, &config).env(env).start()
}

/// The hostile template (its `/load` route answers without an upstream)
/// with a fail-closed plugin exporting to `collector_port`.
fn proxy(collector_port: u16, config: &serde_json::Value) -> Builder {
    Envoy::builder("hostile.yaml")
        .upstream(1)
        .var("COLLECTOR_PORT", collector_port)
        .with(Plugin::new(config).failure_policy("FAIL_CLOSED"))
}

/// The exported span of one request with a fixed incoming context, without
/// its own (random) span id and timestamps.
fn exported_span(protocol: &str) -> (String, opentelemetry_proto::tonic::trace::v1::ResourceSpans) {
    let (collector, cluster) = collector_for(protocol);
    let envoy = start(
        &collector,
        json!({"cluster": cluster, "protocol": protocol, "flush_interval_ms": 20}),
    );
    let resp = Request::get("/load/users?q=1")
        .header("traceparent", TRACEPARENT)
        .send(envoy.port("ingress"))
        .unwrap();
    assert_eq!(resp.status, 200);
    collector.wait_for_spans(1, Duration::from_secs(10));
    let exports = collector.exports();
    assert_eq!(exports.len(), 1);
    let mut rs = exports[0].request.resource_spans[0].clone();
    for ss in &mut rs.scope_spans {
        for s in &mut ss.spans {
            s.span_id.clear();
            s.start_time_unix_nano = 0;
            s.end_time_unix_nano = 0;
        }
    }
    (exports[0].content_type.clone(), rs)
}

#[test]
fn every_protocol_carries_the_same_spans() {
    let (json_type, json_rs) = exported_span("http/json");
    let (proto_type, proto_rs) = exported_span("http/protobuf");
    let (grpc_type, grpc_rs) = exported_span("grpc");
    assert_eq!(json_type, "application/json");
    assert_eq!(proto_type, "application/x-protobuf");
    assert_eq!(grpc_type, "application/grpc");
    assert_eq!(json_rs, proto_rs);
    assert_eq!(grpc_rs, proto_rs);
    let span = &proto_rs.scope_spans[0].spans[0];
    assert_eq!(
        span.trace_id,
        vec![
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36
        ]
    );
    assert_eq!(
        span.parent_span_id,
        vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
    );
    let resource = proto_rs.resource.unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
}

/// Every span of a burst arrives: batches go out in parallel and on a
/// short tick while there is a backlog.
#[test]
fn a_burst_is_exported_in_full() {
    const REQUESTS: u64 = 3000;
    let collector = Collector::start();
    collector.discard();
    let envoy = start(
        &collector,
        json!({"cluster": "collector", "protocol": "http/protobuf"}),
    );
    let request = Request::get("/load")
        .header("traceparent", TRACEPARENT)
        .to_bytes();
    let report = common::load::run(envoy.port("ingress"), &request, REQUESTS, 16);
    assert_eq!(report.count(200), REQUESTS);
    let deadline = Instant::now() + Duration::from_secs(20);
    while envoy.counter("spans_exported") < REQUESTS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "burst: {REQUESTS} requests in {:?}, {} spans exported in {} export requests, {} dropped",
        report.elapsed,
        envoy.counter("spans_exported"),
        collector.requests(),
        envoy.counter("spans_dropped")
    );
    assert_eq!(
        envoy.counter("spans_exported"),
        REQUESTS,
        "{}",
        envoy.stats()
    );
    assert_eq!(envoy.counter("spans_dropped"), 0);
    assert_eq!(envoy.counter("spans_failed"), 0);
}

/// Export headers come from the VM environment and arrive on every export
/// request (as gRPC metadata with `grpc`); a partial success (in the JSON
/// answer, or the `ExportTraceServiceResponse`) is counted as rejected spans.
fn headers_arrive_and_partial_success_is_counted(protocol: &str) {
    let (collector, cluster) = collector_for(protocol);
    collector.answer_with(r#"{"partialSuccess":{"rejectedSpans":"1","errorMessage":"too old"}}"#);
    let envoy = start_with_env(
        &collector,
        json!({"cluster": cluster, "protocol": protocol, "flush_interval_ms": 20,
               "headers": {"x-api-key": "TRACESAFE_TEST_OTLP_KEY"}}),
        &[("TRACESAFE_TEST_OTLP_KEY", "s3cret-value")],
    );
    let resp = Request::get("/load")
        .header("traceparent", TRACEPARENT)
        .send(envoy.port("ingress"))
        .unwrap();
    assert_eq!(resp.status, 200);
    collector.wait_for_spans(1, Duration::from_secs(10));
    let exports = collector.exports();
    let key: Vec<_> = exports[0]
        .headers
        .iter()
        .filter(|(n, _)| n == "x-api-key")
        .collect();
    assert_eq!(
        key,
        vec![&("x-api-key".to_string(), "s3cret-value".to_string())]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while envoy.counter("spans_rejected") < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(envoy.counter("spans_rejected"), 1);
    assert_eq!(envoy.counter("spans_exported"), 0);
    assert!(!envoy.stats().contains("s3cret-value"));
    assert!(!envoy.log().contains("s3cret-value"));
}

#[test]
fn headers_arrive_and_partial_success_is_counted_over_http() {
    headers_arrive_and_partial_success_is_counted("http/json");
}

#[test]
fn headers_arrive_and_partial_success_is_counted_over_grpc() {
    headers_arrive_and_partial_success_is_counted("grpc");
}

/// A missing header variable refuses the plugin, naming the variable.
#[test]
fn a_missing_header_variable_is_a_config_error() {
    let collector = Collector::start();
    let config = json!({"export": {"cluster": "collector", "headers": {"authorization": "TRACESAFE_TEST_MISSING"}}});
    match proxy(collector.port, &config).try_start() {
        Started::Ready(_) => panic!("plugin loaded without its header variable"),
        Started::Exited { log, .. } => assert!(
            log.contains("export.headers.authorization: environment variable TRACESAFE_TEST_MISSING is not set"),
            "{log}"
        ),
    }
}

/// A dead gRPC collector costs spans, never requests: `dispatch_grpc_call`
/// fails with UNAVAILABLE, the batch is given up, requests are untouched.
#[test]
fn a_dead_grpc_collector_costs_spans_not_requests() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let config = json!({"export": {"cluster": "collector-grpc", "protocol": "grpc",
        "batch_size": 5, "flush_interval_ms": 20, "max_retries": 0}});
    let envoy = proxy(port, &config).start();
    let request = Request::get("/load")
        .header("traceparent", TRACEPARENT)
        .to_bytes();
    let report = common::load::run(envoy.port("ingress"), &request, 20, 2);
    assert_eq!(report.count(200), 20);
    let deadline = Instant::now() + Duration::from_secs(10);
    while envoy.counter("spans_failed") < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(envoy.counter("spans_failed"), 20, "{}", envoy.stats());
    assert_eq!(envoy.counter("spans_exported"), 0);
    envoy.assert_no_trap();
}
