//! `./build.sh soak`: 1M requests (or `$SOAK_REQUESTS`) through a full
//! policy: keyed tokens with tenants, detectors on every header, baggage,
//! URL templates and query actions, every propagation format, span export
//! to a healthy collector for the one request in ten whose caller sampled
//! its trace. Each request has its own user, trace, tenant
//! and path. Prints Envoy's RSS, Envoy's own heap and the wasm VMs' linear
//! memory every 10% of the run, writes `dist/soak.json`, and fails when
//! Envoy's RSS grows after the first 10% (the warm-up) or the VMs' memory
//! passes the ceiling the export queue explains.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::collector::Collector;
use common::load::{self, Memory};
use common::{envoy, hostile_envoy, Echo, Request, Started};
use serde_json::json;

const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// RSS growth allowed after the warm-up (KiB): a few pages of connection
/// buffers.
const RSS_SLACK_KIB: u64 = 16 * 1024;
/// VM memory allowed above its size at start (KiB). A linear memory never
/// shrinks: it grows to the high-water mark of the export queue (up to
/// `max_queue` spans and one batch), which a burst can reach at any time,
/// and stays there. 4 MiB over 1M requests catches a leak of 4 bytes per
/// request.
const VM_CEILING_KIB: u64 = 4 * 1024;

fn main() {
    let total: u64 = std::env::var("SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let step = total / 10;
    let policy = json!({
        "keys": {"active": "k2", "env": {"k1": "TRACESAFE_KEY_K1", "k2": "TRACESAFE_KEY_K2"}},
        "tenant": {"header": "x-tenant-id"},
        "request_headers": {
            "tokenize": ["x-user-id", "x-tenant-id"],
            "namespaces": {"x-user-id": "user"},
            "scan": ["*"]
        },
        "response_headers": {"remove": ["x-debug-token"], "scan": ["*"]},
        "detectors": {"custom": [{"name": "api_key", "regex": "\\bsk_live_[A-Za-z0-9]{16,}\\b"}]},
        "baggage": {"drop_keys": ["session.*"], "tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
        "url": {
            "templates": [{"template": "/load/users/{user}/orders/{order}", "params": {"user": "tokenize", "order": "redact"},
                           "namespaces": {"user": "user"}}],
            "auto_ids": "tokenize",
            "query": {"params": {"email": "drop"}},
            "forward_query_remove": ["api_key"]
        },
        "trace": {"propagation": ["tracecontext", "b3multi", "jaeger"], "tracestate_key": "tracesafe",
                  "request_id": "generate"},
        "export": {"cluster": "collector", "batch_size": 512, "max_queue": 4096, "flush_interval_ms": 100}
    });
    let env = [("TRACESAFE_KEY_K1", K1), ("TRACESAFE_KEY_K2", K2)];
    let echo = Echo::start();
    let collector = Collector::start();
    collector.discard();
    let e = match hostile_envoy(
        echo.port,
        collector.port,
        &policy,
        &env,
        &envoy::wasm_path(),
        "FAIL_CLOSED",
    ) {
        Started::Ready(e) => e,
        Started::Exited { log, .. } => panic!("envoy exited:\n{log}"),
    };
    let port = e.port("ingress");
    // The policy is in force: a user id reaches the upstream as a token.
    let resp = Request::get("/check")
        .header("x-test-id", "check")
        .header("x-user-id", "42")
        .send(port)
        .unwrap();
    assert_eq!(resp.status, 200);
    let token = echo.by_test_id("check").text("x-user-id").unwrap();
    assert!(token.starts_with("tk.k2."), "{token}");
    let request = |n: u64| {
        load::request(
            &format!(
                "/load/users/{n}/orders/{}?email=u{n}@example.com&api_key=sk_live_{n:016}&page=2",
                n % 97
            ),
            &[
                // One caller in ten sampled its trace (parent-based sampling).
                (
                    "traceparent",
                    &format!(
                        "00-{:032x}-{:016x}-0{}",
                        n + 1,
                        n + 1,
                        u8::from(n % 10 == 0)
                    ),
                ),
                ("tracestate", "congo=t61rcWkgMzE"),
                ("baggage", &format!("user.id={n},session.id=s{n},plan=pro")),
                ("x-user-id", &n.to_string()),
                ("x-tenant-id", &format!("tenant-{}", n % 10)),
                ("authorization", &format!("Bearer tok-{n:016x}-x9")),
                ("cookie", &format!("session={n:x}")),
                (
                    "x-note",
                    &format!("call +1415555{:04} or mail u{n}@example.com", n % 10_000),
                ),
                ("user-agent", "soak/1.0"),
            ],
        )
    };
    println!("soak: {total} requests through envoy/hostile.yaml with a full policy, 4 keep-alive connections");
    let mut samples = vec![(0, Memory::of(e.pid(), e.admin))];
    let mut rows = Vec::new();
    for i in 0..10 {
        let offset = i * step;
        let r = load::run_with(port, step, 4, move |n| request(offset + n));
        assert_eq!((r.count(200), r.errors), (step, 0), "{r:?}");
        let m = Memory::of(e.pid(), e.admin);
        println!(
            "{:>9} requests  {:>6.0}/s  p99 {:>6} us  RSS {:>7} KiB  Envoy heap {:>7} KiB  VMs {:>6} KiB ({} KiB resident)",
            offset + step,
            r.per_second(),
            r.p99_us,
            m.rss,
            m.envoy_allocated,
            m.vm_size,
            m.vm_rss
        );
        rows.push(json!({
            "requests": offset + step, "per_second": r.per_second().round(), "p99_us": r.p99_us,
            "rss_kib": m.rss, "envoy_heap_kib": m.envoy_allocated, "vm_kib": m.vm_size, "vm_resident_kib": m.vm_rss
        }));
        samples.push((offset + step, m));
    }
    let warm = samples[1].1;
    let end = samples.last().unwrap().1;
    let spans = |n: &str| e.counter(n);
    let summary = json!({
        "requests": total,
        "policy": policy,
        "samples": rows,
        "start": {"rss_kib": samples[0].1.rss, "vm_kib": samples[0].1.vm_size},
        "rss_growth_after_warm_up_kib": end.rss as i64 - warm.rss as i64,
        "vm_growth_after_warm_up_kib": end.vm_size as i64 - warm.vm_size as i64,
        "envoy_heap_growth_after_warm_up_kib": end.envoy_allocated as i64 - warm.envoy_allocated as i64,
        "spans": {"exported": spans("spans_exported"), "dropped": spans("spans_dropped"),
                  "failed": spans("spans_failed"), "export_requests": collector.requests()},
        "filter_requests": spans("requests"),
        "note": "RSS: VmRSS of the Envoy process (1 worker). Envoy heap: admin /memory `allocated`. \
                 VMs: the wasm linear memories of all VMs of the plugin (V8 maps each in front of a guard \
                 region of several GiB; found in /proc/<pid>/smaps), their size and resident part."
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary["spans"]).unwrap()
    );
    let out = envoy::repo_root().join("dist/soak.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    println!("wrote {}", out.display());
    assert_eq!(e.counter("requests"), total + 1);
    e.assert_no_trap();
    assert!(
        end.rss <= warm.rss + RSS_SLACK_KIB,
        "RSS grew: {warm:?} -> {end:?}"
    );
    let start = samples[0].1;
    assert!(
        end.vm_size <= start.vm_size + VM_CEILING_KIB,
        "VM memory grew past its ceiling: {start:?} -> {end:?}"
    );
    println!(
        "memory bounded: RSS {:+} KiB after warm-up, VMs {:+} KiB since start (ceiling +{VM_CEILING_KIB} KiB)",
        end.rss as i64 - warm.rss as i64,
        end.vm_size as i64 - start.vm_size as i64
    );
}
