//! Per-route policies through real Envoy: one listener, several routes, each
//! request getting the policy its route, rules or route metadata select.
//! Every policy removes a header named after it, so the headers the
//! upstream received show which policy ran.
#![allow(clippy::unwrap_used)] // test helpers, not only #[test] fns

mod common;

use common::{envoy, Echo, Envoy, Request};
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
    Envoy::start(
        "policies.yaml",
        &[
            ("UPSTREAM_PORT", echo.port.to_string()),
            ("PLUGIN_CONFIG", envoy::yaml_string(&config.to_string())),
        ],
        &[],
    )
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
