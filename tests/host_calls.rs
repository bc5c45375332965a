//! Host calls per request, exact, through real Envoy (#12): each one is a
//! crossing of the VM boundary, so the count is a cost figure the README
//! quotes. The plugin built with `host-call-count`
//! (`dist/tracesafe-host-calls.wasm`) counts the calls of every request
//! context and reports them as stats; the benchmark's request
//! (`envoy/bench/request.json`) goes through the benchmark's policies.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::support::BENCH_ENV;
use common::{envoy, Echo, Envoy, Plugin, Request};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `envoy/bench/request.json` as a request.
fn bench_request() -> Request {
    let path = envoy::repo_root().join("envoy/bench/request.json");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut req =
        Request::get(r["path"].as_str().unwrap()).header("host", r["authority"].as_str().unwrap());
    for h in r["headers"].as_array().unwrap() {
        req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    req
}

/// The host calls of the last of `n` requests after a first one (which
/// reads the per-root properties), by kind (nonzero ones), and the average
/// total over the `n`.
fn calls_per_request(policy_file: &str, n: u64) -> (BTreeMap<String, u64>, u64) {
    let (_envoy, _echo, last, average) = run(policy_file, n);
    (last, average)
}

/// `calls_per_request`, also handing back the Envoy (and its upstream).
fn run(policy_file: &str, n: u64) -> (Envoy, Echo, BTreeMap<String, u64>, u64) {
    let path = envoy::repo_root().join("envoy/bench").join(policy_file);
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let echo = Echo::start();
    let e = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .with(Plugin::new(&policy).wasm(&envoy::host_calls_wasm_path()))
        .env(BENCH_ENV)
        .start();
    let port = e.port("ingress");
    let sum = || e.counter("test.host_calls");
    // Requests are reported at the end of their stream, just after the
    // response: wait for each report.
    let settle = |before: u64| {
        let start = Instant::now();
        while sum() == before && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        sum()
    };
    assert_eq!(bench_request().send(port).unwrap().status, 200);
    let warm = settle(0);
    let mut total = warm;
    for _ in 0..n {
        assert_eq!(bench_request().send(port).unwrap().status, 200);
        total = settle(total);
    }
    e.assert_no_trap();
    let prefix = "wasmcustom.tracesafe.test.host_calls.";
    let last = e
        .stats()
        .lines()
        .filter_map(|l| {
            let (kind, n) = l.strip_prefix(prefix)?.split_once(": ")?;
            let n: u64 = n.trim().parse().ok()?;
            (n > 0).then(|| (kind.to_string(), n))
        })
        .collect();
    (e, echo, last, (total - warm) / n)
}

fn kinds(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
    list.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

// Per request, after the first (which also reads the per-root property
// `xds.listener_direction` of `tracesafe-min`, and fills the root's random
// pool):
// - the request headers: 1 map read, 3 properties (`connection.
//   uri_san_local_certificate` and `uri_san_peer_certificate` for identity,
//   `xds.route_metadata...tracesafe.policy` for the policy; all can change
//   per connection or route, so none is per root), 1 time, a set or removal
//   per header op (counters are summed in the VM and reach Envoy on the
//   root tick, so no increment is the request's); the span id comes from
//   the root's 512-byte random pool, which 1 `random_get` refills every 64
//   span ids;
// - the response headers: 1 lookup of `traceresponse` when no span or
//   audit needs the map (absent here, so no map read), else 1 map read;
// - the end of the stream: 1 time when a span is recorded (its export is
//   the root tick's, not the request's).

/// Propagation only: 1 map + 3 properties + 1 time + 1 set
/// (`traceparent`; the `tracestate` goes on as received) + 1
/// `traceresponse` lookup.
#[test]
fn tracesafe_min_makes_exactly_these_host_calls() {
    let want = kinds(&[
        ("header", 1),
        ("header_map", 1),
        ("property", 3),
        ("set_header", 1),
        ("time", 1),
    ]);
    assert_eq!(calls_per_request("tracesafe-min.json", 5), (want, 7));
}

/// The realistic policy, every request sampled and exported: 1 map + 3
/// properties + 1 time + 12 header ops (6 removals,
/// `traceparent` (the `tracestate` is unchanged), `x-user-id`, `baggage`,
/// 3 scanned headers), then the response map (the span needs its status)
/// and 1 time at the end.
#[test]
fn tracesafe_full_makes_exactly_these_host_calls() {
    let want = kinds(&[
        ("header_map", 2),
        ("property", 3),
        ("set_header", 12),
        ("time", 2),
    ]);
    assert_eq!(calls_per_request("tracesafe-full.json", 5), (want, 19));
}

/// The counters a request touches cost it no host call (the per-request
/// report of metric calls is present and 0), yet once the root tick has
/// flushed them they are exact: every one of the 1 + 10 requests counted
/// once.
#[test]
fn counters_are_exact_after_the_tick_flush_and_no_request_increments() {
    let (e, _echo, _, _) = run("tracesafe-min.json", 10);
    let stats = e.stats();
    assert!(
        stats
            .lines()
            .any(|l| l == "wasmcustom.tracesafe.test.host_calls.metric: 0"),
        "{stats}"
    );
    for counter in ["requests", "traces_continued", "policy.default.requests"] {
        assert_eq!(e.counter(counter), 11, "{counter}: {stats}");
    }
}

/// The first request's `random_get` fills a 512-byte pool: 64 span ids of
/// 8 bytes, so the 64th request after it is the one that refills.
#[test]
fn one_random_get_serves_64_span_ids() {
    let (last, average) = calls_per_request("tracesafe-min.json", 64);
    assert_eq!(last.get("random"), Some(&1));
    assert_eq!(average, 7);
}
