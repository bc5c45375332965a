//! Per-route policies through real Envoy: one listener, several routes, each
//! request getting the policy its route, rules or route metadata select.
//! Every policy removes a header named after it, so the headers the
//! upstream received show which policy ran.
#![allow(clippy::unwrap_used)] // test helpers, not only #[test] fns

mod common;

use common::support::{key, ENV_K2, USER_42};
use common::{Echo, Envoy, Request};
use serde_json::json;

/// Every header a policy below may remove, plus one that none removes.
const PROBES: &[&str] = &[
    "x-default-secret",
    "x-api-secret",
    "x-locked-secret",
    "x-upload-secret",
    "authorization",
    "x-keep",
];

/// `envoy/policies.yaml` with `config`, passing `env` to the VM.
fn policies_envoy(echo: &Echo, config: &serde_json::Value, env: &[(&str, &str)]) -> Envoy {
    Envoy::builder("policies.yaml")
        .upstream(echo.port)
        .plugin(config)
        .env(env)
        .start()
}

fn start(echo: &Echo) -> Envoy {
    let config = json!({
        // `defaults: none` turns off the built-in credential removal, so only
        // the `secrets` preset (via `api`) removes `authorization`.
        "request_headers": {"defaults": "none", "remove": ["x-default-secret"]},
        "policies": {
            "api": {"extends": ["secrets"], "request_headers": {"remove": ["x-api-secret"]}},
            "locked": {"request_headers": {"defaults": "none", "remove": ["x-locked-secret"]}},
            "uploads": {"request_headers": {"defaults": "none", "remove": ["x-upload-secret"]}},
            "unused": {}
        },
        "rules": [
            {"name": "api-route", "match": {"route": "api"}, "policy": "api"},
            // Route metadata on `admin` names `locked`, which wins over this rule.
            {"name": "admin-route", "match": {"route": "admin"}, "policy": "api"},
            {"name": "uploads", "match": {"path_prefix": "/uploads/", "method": "POST"}, "policy": "uploads"},
            {"name": "reports", "match": {"path_regex": "^/reports/[0-9]+$", "virtual_host": "app"}, "policy": "locked"}
        ]
    });
    policies_envoy(echo, &config, &[])
}

/// Sends `method path` with every probe header and returns the probes the
/// upstream did not receive.
fn removed(envoy: &Envoy, echo: &Echo, method: &str, path: &str, id: &str) -> Vec<&'static str> {
    let mut req = Request::get(path).header("x-test-id", id);
    req.method = method.into();
    for name in PROBES {
        req = req.header(name, "SECRET");
    }
    let resp = req.send(envoy.port("ingress")).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let got = echo.by_test_id(id);
    PROBES.iter().copied().filter(|n| !got.has(n)).collect()
}

#[test]
fn routes_rules_and_route_metadata_select_policies() {
    let echo = Echo::start();
    let envoy = start(&echo);
    // Route name rule: the api policy (secrets preset + its own header).
    assert_eq!(
        removed(&envoy, &echo, "GET", "/api/orders", "api"),
        vec!["x-api-secret", "authorization"]
    );
    // Route metadata names `locked`, overriding the `admin-route` rule.
    assert_eq!(
        removed(&envoy, &echo, "GET", "/admin/users", "admin"),
        vec!["x-locked-secret"]
    );
    // Same route (`web`), different method/path: rules decide per request.
    assert_eq!(
        removed(&envoy, &echo, "POST", "/uploads/a?x=1", "upload-post"),
        vec!["x-upload-secret"]
    );
    assert_eq!(
        removed(&envoy, &echo, "GET", "/uploads/a", "upload-get"),
        vec!["x-default-secret"]
    );
    assert_eq!(
        removed(&envoy, &echo, "GET", "/reports/7", "report"),
        vec!["x-locked-secret"]
    );
    assert_eq!(
        removed(&envoy, &echo, "GET", "/reports/7/raw", "report-raw"),
        vec!["x-default-secret"]
    );
    // Metadata naming an unknown policy is counted and ignored.
    assert_eq!(
        removed(&envoy, &echo, "GET", "/legacy/x", "legacy"),
        vec!["x-default-secret"]
    );
    // Repeat a route: the cached selection gives the same answer.
    assert_eq!(
        removed(&envoy, &echo, "GET", "/api/again", "api-2"),
        vec!["x-api-secret", "authorization"]
    );

    assert_eq!(envoy.counter("requests"), 8, "{}", envoy.stats());
    assert_eq!(envoy.counter("policy.api.requests"), 2);
    assert_eq!(envoy.counter("policy.locked.requests"), 2);
    assert_eq!(envoy.counter("policy.uploads.requests"), 1);
    assert_eq!(envoy.counter("policy.default.requests"), 3);
    assert_eq!(envoy.counter("route_policy_unknown"), 1);
    // Every configured policy has its counter, even before its first request.
    assert!(
        envoy
            .stats()
            .lines()
            .any(|l| l == "wasmcustom.tracesafe.policy.unused.requests: 0"),
        "{}",
        envoy.stats()
    );
    envoy.assert_no_trap();
}

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// Three routes of one listener, three preset-built policies: the default
/// (`secrets` + `pii`), `egress-strict` for `api`, `minimal` for probes.
#[test]
fn presets_give_routes_their_policies_through_envoy() {
    let echo = Echo::start();
    let envoy = policies_envoy(
        &echo,
        &json!({
            "keys": key("k2"),
            "extends": ["secrets", "pii"],
            "policies": {
                // The test id must reach the echo: allow-list entries add up.
                "partner": {"extends": ["egress-strict"], "request_headers": {"allow_only": ["x-test-id"]}},
                "probes": {"extends": ["minimal"]}
            },
            "rules": [
                {"match": {"route": "api"}, "policy": "partner"},
                {"match": {"path_prefix": "/healthz"}, "policy": "probes"}
            ]
        }),
        ENV_K2,
    );
    let send = |path: &str, id: &str| {
        let req = Request::get(path)
            .header("x-test-id", id)
            .header("traceparent", TRACEPARENT)
            .header("tracestate", "congo=t61rcWkgMzE")
            .header("authorization", "Bearer abcdefghijklmnop1")
            .header("x-user-id", "42")
            .header("baggage", "user.id=42,note=mail%20alice@example.com")
            .header("accept", "application/json");
        let resp = req.send(envoy.port("ingress")).unwrap();
        assert_eq!(resp.status, 200, "{}", resp.body_text());
        echo.by_test_id(id)
    };

    // default: secrets + pii.
    let got = send("/orders/1", "pii");
    assert!(!got.has("authorization"));
    assert_eq!(got.text("x-user-id").as_deref(), Some(USER_42));
    assert_eq!(
        got.text("baggage"),
        Some(format!("user.id={USER_42},note=mail%20[REDACTED:email]"))
    );
    assert_eq!(got.text("tracestate").as_deref(), Some("congo=t61rcWkgMzE"));
    assert!(got
        .text("traceparent")
        .unwrap()
        .contains("0af7651916cd43dd8448eb211c80319c"));

    // api: egress-strict (allow-list, no baggage/tracestate, new trace).
    let got = send("/api/charges", "partner");
    let names: Vec<&str> = got
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| {
            ![
                "x-forwarded-proto",
                "x-envoy-expected-rq-timeout-ms",
                "x-test-id",
            ]
            .contains(n)
        })
        .collect();
    assert_eq!(
        names,
        vec!["host", "accept", "content-length", "traceparent"]
    );
    assert!(!got
        .text("traceparent")
        .unwrap()
        .contains("0af7651916cd43dd8448eb211c80319c"));

    // probes: minimal (only the trace context changes).
    let got = send("/healthz", "probe");
    assert!(got.has("authorization"));
    assert_eq!(got.text("x-user-id").as_deref(), Some("42"));
    assert_eq!(
        got.text("baggage").as_deref(),
        Some("user.id=42,note=mail%20alice@example.com")
    );

    assert_eq!(envoy.counter("policy.default.requests"), 1);
    assert_eq!(envoy.counter("policy.partner.requests"), 1);
    assert_eq!(envoy.counter("policy.probes.requests"), 1);
    assert_eq!(envoy.counter("traces_restarted"), 1);
    assert_eq!(envoy.counter("tokens_minted"), 2);
    envoy.assert_no_trap();
}
