//! gRPC through the whole pipeline (`Engine`): recognition, span name and
//! attributes, status from trailers, and the metadata rules.
#![allow(clippy::unwrap_used, clippy::panic)]

use tracesafe_filters::host::{SeededEntropy, StaticProperties};
use tracesafe_filters::span::AttrValue;
use tracesafe_filters::{Engine, Header, HeaderOp, Metric, RequestInput, ResponseInput};

fn hs<'a>(list: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
    list.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
}

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn engine(json: &str) -> Engine {
    Engine::from_json(json.as_bytes())
        .unwrap()
        .recording_every_span()
}

fn grpc_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
    let mut h = hs(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", "orders:50051"),
        (":path", "/shop.v1.Orders/Get"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("grpc-timeout", "1S"),
        ("traceparent", TRACEPARENT),
    ]);
    h.extend(hs(extra));
    h
}

fn http2() -> StaticProperties {
    StaticProperties::default().with(&["request", "protocol"], "HTTP/2")
}

#[test]
fn a_grpc_call_gets_an_rpc_span_and_its_status_from_trailers() {
    // Automatic ids would make `shop.v1.Orders` an `{id}` in a URL route.
    let e = engine(r#"{"direction":"inbound","url":{"auto_ids":"redact"}}"#);
    let out = e.on_request(
        &RequestInput {
            headers: &grpc_request(&[]),
            properties: &http2(),
            now_ns: 1,
        },
        &mut SeededEntropy(1),
    );
    let mut span = out.span.unwrap();
    assert_eq!(span.name, "shop.v1.Orders/Get");
    let rpc: Vec<_> = span
        .attributes
        .iter()
        .filter(|(k, _)| k.starts_with("rpc."))
        .cloned()
        .collect();
    assert_eq!(
        rpc,
        vec![
            ("rpc.system", AttrValue::Str("grpc".into())),
            ("rpc.service", AttrValue::Str("shop.v1.Orders".into())),
            ("rpc.method", AttrValue::Str("Get".into())),
        ]
    );
    assert!(
        !span
            .attributes
            .iter()
            .any(|(k, _)| *k == "url.path" || *k == "http.route"),
        "{:?}",
        span.attributes
    );
    span.observe_grpc_status(&hs(&[
        (":status", "200"),
        ("content-type", "application/grpc"),
    ]));
    span.observe_grpc_status(&hs(&[("grpc-status", "14"), ("grpc-message", "down")]));
    span.finish(Some(200), 2);
    assert!(span.error, "UNAVAILABLE is a server error");
    assert!(span
        .attributes
        .contains(&("rpc.grpc.status_code", AttrValue::Int(14))));
    let dump = format!("{span:?}");
    assert!(
        !dump.contains("down"),
        "grpc-message never reaches the span"
    );
}

#[test]
fn the_same_request_over_http1_is_plain_http() {
    let e = engine(r#"{"direction":"inbound"}"#);
    let props = StaticProperties::default().with(&["request", "protocol"], "HTTP/1.1");
    let out = e.on_request(
        &RequestInput {
            headers: &grpc_request(&[]),
            properties: &props,
            now_ns: 1,
        },
        &mut SeededEntropy(1),
    );
    let span = out.span.unwrap();
    assert_eq!(span.name, "POST");
    assert!(!span.attributes.iter().any(|(k, _)| k.starts_with("rpc.")));
}

#[test]
fn metadata_rules_on_request_headers() {
    let e = Engine::from_json_with_env(
        br#"{
            "keys": {"active": "k1", "env": {"k1": "K1"}},
            "request_headers": {
                "scan": ["*", "x-scanned-bin"],
                "tokenize": ["x-user-bin"],
                "remove": ["x-drop-bin"],
                "remove_prefixes": ["grpc-"]
            }
        }"#,
        &|name| (name == "K1").then(|| "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
    )
    .unwrap();
    // Base64 text that the card detector would mask, were it scanned as text.
    let blob = "//////4111111111111111//////";
    let email_bin = "YWxpY2VAZXhhbXBsZS5jb20="; // alice@example.com
    let out = e.on_request(
        &RequestInput {
            headers: &grpc_request(&[
                ("x-blob-bin", blob),
                ("x-scanned-bin", email_bin),
                ("x-user-bin", "NDI="),
                ("x-drop-bin", "AAEC"),
                ("x-note", "mail alice@example.com"),
            ]),
            properties: &http2(),
            now_ns: 1,
        },
        &mut SeededEntropy(1),
    );
    let ops: Vec<_> = out
        .ops
        .into_iter()
        .filter(|op| !matches!(op, HeaderOp::Set(n, _) if n == "traceparent"))
        .collect();
    assert_eq!(
        ops,
        vec![
            HeaderOp::Remove("x-scanned-bin".into()),
            // base64 of the token `tk.k1.Xf8_WHkQTc2svooSrccSgg`
            HeaderOp::Set(
                "x-user-bin".into(),
                b"dGsuazEuWGY4X1dIa1FUYzJzdm9vU3JjY1NnZw==".to_vec()
            ),
            HeaderOp::Remove("x-drop-bin".into()),
            HeaderOp::Set("x-note".into(), b"mail [REDACTED:email]".to_vec()),
        ]
    );
}

#[test]
fn trailers_get_the_response_header_policy() {
    let e = engine(
        r#"{"direction":"inbound","trace":{"traceresponse":"emit"},
            "response_headers":{"scan":["*"],"remove":["x-debug"]}}"#,
    );
    let trailers = hs(&[
        ("grpc-status", "5"),
        ("grpc-message", "no order for alice%40example.com"),
        ("grpc-status-details-bin", "CAUSBW5vcGUh"),
        ("x-debug", "1"),
    ]);
    let out = e.on_response_trailers(
        &ResponseInput {
            headers: &trailers,
            tenant: None,
            policy: 0,
            trace: None,
            properties: &StaticProperties::default(),
        },
        None,
    );
    assert_eq!(
        out.ops,
        vec![
            HeaderOp::Set(
                "grpc-message".into(),
                b"no order for [REDACTED:email]".to_vec()
            ),
            HeaderOp::Remove("x-debug".into()),
        ]
    );
    assert_eq!(out.metrics.get(Metric::ResponseHeadersRemoved), 1);
}

#[test]
fn grpc_reserved_headers_cannot_be_configured_away() {
    for (json, path) in [
        (
            r#"{"request_headers":{"remove":["grpc-timeout"]}}"#,
            "request_headers.remove[0]",
        ),
        (
            r#"{"response_headers":{"scan":["x-a","grpc-status"]}}"#,
            "response_headers.scan[1]",
        ),
    ] {
        let err = Engine::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.message.contains("gRPC"), "{}", err.message);
    }
    // grpc-message is ordinary text: a policy may remove it.
    assert!(Engine::from_json(br#"{"response_headers":{"remove":["grpc-message"]}}"#).is_ok());
}
