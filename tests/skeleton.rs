//! Walking skeleton through real Envoy: the plugin loads, removes headers,
//! survives non-UTF-8 values, and a bad config keeps Envoy from serving.

mod common;

use common::{Echo, Envoy, Request, Started};
use serde_json::json;

#[test]
fn removes_configured_headers_case_insensitively() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {"remove": ["Authorization", "cookie", "X-API-KEY"]}}))
        .start();
    let resp = Request::get("/orders/1")
        .header("x-test-id", "rm")
        .header("Authorization", "Bearer sk_live_SECRET123")
        .header("COOKIE", "session=SECRETCOOKIE")
        .header("x-api-key", "SECRETKEY")
        .header("x-keep", "kept")
        .send(envoy.port("ingress"))
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let got = echo.by_test_id("rm");
    assert!(!got.has("authorization"));
    assert!(!got.has("cookie"));
    assert!(!got.has("x-api-key"));
    assert_eq!(got.get("x-keep"), Some(&b"kept"[..]));
    for (name, value) in &got.headers {
        let v = String::from_utf8_lossy(value);
        assert!(!v.contains("SECRET"), "{name}: {v} leaked");
    }
}

#[test]
fn non_utf8_header_value_does_not_trap() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {"remove": ["authorization"]}}))
        .start();
    let port = envoy.port("ingress");
    let resp = Request::get("/")
        .header("x-test-id", "bin")
        .header("x-binary", [0xff, 0xfe, b'a', 0xc3, 0x28])
        .header("authorization", [b'B', 0xff, b'X'])
        .send(port)
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let got = echo.by_test_id("bin");
    assert_eq!(
        got.get("x-binary"),
        Some(&[0xff, 0xfe, b'a', 0xc3, 0x28][..])
    );
    assert!(!got.has("authorization"));
    // The VM is still alive and healthy for the next request.
    let resp = Request::get("/")
        .header("x-test-id", "after")
        .send(port)
        .unwrap();
    assert_eq!(resp.status, 200);
    envoy.assert_no_trap();
}

#[test]
fn bad_config_refuses_the_plugin_and_names_the_field() {
    let echo = Echo::start();
    let started = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {"remove": ["a", "b", 3]}}))
        .try_start();
    match started {
        Started::Ready(envoy) => panic!("envoy served with a bad plugin config:\n{}", envoy.log()),
        Started::Exited { code, log } => {
            assert_ne!(code, Some(0));
            assert!(
                log.contains(
                    "tracesafe: config error at request_headers.remove[2]: invalid type: integer `3`, expected a string"
                ),
                "{log}"
            );
        }
    }
}

#[test]
fn unknown_config_field_refuses_the_plugin() {
    let echo = Echo::start();
    match Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_header": {}}))
        .try_start()
    {
        Started::Ready(envoy) => panic!("envoy served:\n{}", envoy.log()),
        Started::Exited { log, .. } => {
            assert!(
                log.contains(
                    "tracesafe: config error at request_header: unknown field `request_header`"
                ),
                "{log}"
            )
        }
    }
}

#[test]
fn counts_removed_headers_in_stats() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {"remove": ["cookie"]}}))
        .start();
    let port = envoy.port("ingress");
    for _ in 0..3 {
        let resp = Request::get("/")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .send(port)
            .unwrap();
        assert_eq!(resp.status, 200);
    }
    assert_eq!(envoy.counter("requests"), 3, "{}", envoy.stats());
    assert_eq!(envoy.counter("headers_removed"), 6);
}
