//! The export check of `./build.sh bench`: for each OTLP protocol, the
//! `tracesafe-full` policy (which samples every request) at full speed
//! through an Envoy of its own (`envoy/hostile.yaml`, one worker, pinned
//! like the Envoy under test), exporting to the test collector, which
//! decodes and counts every span. Each protocol must deliver one span per
//! answered request and drop none.

use crate::common::collector::Collector;
use crate::common::envoy::{Envoy, Plugin};
use crate::common::support::BENCH_ENV;
use crate::Bench;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const PROTOCOLS: [&str; 3] = ["http/json", "http/protobuf", "grpc"];

/// How long the last batches may take after the load stops: the policy's
/// flush interval is 1 s.
const DRAIN: Duration = Duration::from_secs(10);

impl Bench {
    /// `export.<protocol>.{received, requests, dropped, ...}` for
    /// `dist/bench.json`.
    pub fn export_check(&self, policy: &Value) -> Value {
        PROTOCOLS
            .iter()
            .map(|p| (p.to_string(), self.export_run(p, policy)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn export_run(&self, protocol: &str, policy: &Value) -> Value {
        let t0 = Instant::now();
        let (collector, cluster) = match protocol {
            "grpc" => (Collector::start_grpc(), "collector-grpc"),
            _ => (Collector::start(), "collector"),
        };
        collector.discard();
        let mut config = policy.clone();
        config["export"]["cluster"] = json!(cluster);
        config["export"]["protocol"] = json!(protocol);
        // The policy's paths are answered by the template itself (`/api/`).
        let envoy = Envoy::builder("hostile.yaml")
            .upstream(1)
            .var("COLLECTOR_PORT", collector.port)
            .with(Plugin::new(&config))
            .env(BENCH_ENV)
            .pinned(&self.filter_cpu)
            .start();
        let out = self
            .wrk(envoy.port("ingress"), self.settings.export_seconds)
            .wait_with_output()
            .unwrap();
        let wrk = wrk_result(&out);
        // wrk exits with requests still in Envoy: wait until the answered
        // count stands still and the spans caught up (or the drain ends).
        let answered = || envoy.stat("http.ingress.downstream_rq_2xx");
        let deadline = Instant::now() + DRAIN;
        let mut requests = answered();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = answered();
            let settled = now == requests && collector.spans_received() >= now;
            requests = now;
            if settled || Instant::now() > deadline {
                break;
            }
        }
        envoy.assert_no_trap();
        let run = json!({
            "requests": requests,
            "received": collector.spans_received(),
            "dropped": envoy.counter("spans_dropped"),
            "failed": envoy.counter("spans_failed"),
            "export_requests": collector.requests(),
            "rps": (wrk["requests"].as_f64().unwrap() / (wrk["duration_us"].as_f64().unwrap() / 1e6)).round(),
        });
        eprintln!(
            "   export {protocol:<13} {run} in {:.0} s",
            t0.elapsed().as_secs_f64()
        );
        run
    }
}

/// The `BENCH {...}` line the wrk script prints.
pub fn wrk_result(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no result from wrk ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Whether one protocol's run passes: every answered request's span
/// arrived, none more, none dropped.
pub fn complete(run: &Value) -> bool {
    run["received"] == run["requests"] && run["dropped"] == 0 && run["requests"].as_u64() > Some(0)
}
