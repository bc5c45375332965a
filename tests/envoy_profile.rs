//! `./build.sh envoy-profile MODE VARIANT [REQUESTS]`: where a variant's
//! CPU per request goes inside Envoy (docs/benchmark.md, "Envoy"). A program
//! run by hand, not by `cargo test`, `./build.sh test` or `./build.sh bench`.
//!
//! VARIANT: a listener of `envoy/bench/filter.yaml` (`bare`, `wasm-noop`,
//! `tracesafe-min`, `tracesafe-full`, `lua`, `native`) or an ablation of
//! `tracesafe-full`, its policy with one part taken out, so that the
//! difference is what that part costs in Envoy ([`ABLATIONS`]; the table is
//! in docs/benchmark.md, "What remains"). Each run starts its own
//! Envoy with that one listener, filled as `tests/bench.rs` fills it
//! (`common::bench`: node metadata, key, policies; `--concurrency 1`), in
//! front of `envoy/bench/upstream.yaml`, and sends the bench request with
//! h2load over HTTP/1.1 after 500 warm-up requests: 4 connections under
//! valgrind, 32 (the bench's) for CPU time, so that Envoy is as busy as in
//! the bench.
//!
//! `callgrind` (REQUESTS 2000 unless given): Envoy under valgrind (V8 there
//! can create only two wasm VMs: the main thread's and one worker's, hence
//! one listener per Envoy). Prints user-space instructions per request of
//! each thread (thread 1 is Envoy's main thread, the busiest one its
//! worker), then `tests/bench/callgrind_split.py`'s split of the worker's;
//! the profiles stay in `$ENVOY_PROFILE_OUT` (default /tmp/envoy-profile).
//!
//! `cpu` (REQUESTS 10000 unless given, 5 runs): Envoy natively, pinned to
//! the first allowed CPU (upstream and h2load on the second); prints user
//! and kernel CPU µs per request of each thread from
//! `/proc/<pid>/task/*/stat` (this VM exposes no hardware counters to
//! perf), the least loaded run first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::bench::{clk_tck, filter_envoy, pick_cpus, policy, stat_ticks, BenchRequest, VARIANTS};
use common::envoy::{repo_root, Envoy};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USAGE: &str = "usage: envoy_profile callgrind|cpu VARIANT [REQUESTS]";
const WARMUP_REQUESTS: u64 = 500;
/// CPU runs per variant: other jobs on the machine only add CPU time, so the
/// least loaded run is the one kept.
const CPU_RUNS: u32 = 5;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Callgrind,
    Cpu,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let mode = match arg(0) {
        Some("callgrind") => Mode::Callgrind,
        Some("cpu") => Mode::Cpu,
        _ => usage(),
    };
    let variant = arg(1).unwrap_or_else(|| usage());
    let (requests, connections) = match mode {
        Mode::Callgrind => (2000, 4),
        Mode::Cpu => (10_000, 32),
    };
    let requests: u64 = arg(2).map_or(requests, |n| n.parse().unwrap_or_else(|_| usage()));
    let (listener, full) = variant_config(variant);
    let out = std::env::var_os("ENVOY_PROFILE_OUT")
        .map_or_else(|| PathBuf::from("/tmp/envoy-profile"), PathBuf::from);
    fs::create_dir_all(&out).unwrap();
    let (filter_cpu, load_cpu) = pick_cpus();

    let upstream = Envoy::builder("bench/upstream.yaml")
        .pinned(&load_cpu)
        .start();
    let builder = filter_envoy(upstream.port("upstream"), &full).only_listener(listener);
    let envoy = match mode {
        Mode::Callgrind => builder
            .wrapped(&[
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--smc-check=all-non-file",
                "--separate-threads=yes",
                &format!("--callgrind-out-file={}/{variant}.%p", out.display()),
            ])
            .start(),
        Mode::Cpu => builder.pinned(&filter_cpu).start(),
    };
    let load = Load {
        request: BenchRequest::load(),
        port: envoy.port(listener),
        connections,
        cpus: load_cpu,
    };
    load.run(WARMUP_REQUESTS, true);
    match mode {
        Mode::Callgrind => callgrind(&envoy, &load, variant, requests, &out),
        Mode::Cpu => cpu(&envoy, &load, variant, requests),
    }
    envoy.assert_no_trap();
    for line in envoy.stats().lines().filter(|l| {
        [
            "wasmcustom.tracesafe.requests",
            "wasmcustom.tracesafe.spans_exported",
            "downstream_rq_completed",
        ]
        .iter()
        .any(|k| l.contains(k))
    }) {
        println!("{line}");
    }
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// An ablation of `tracesafe-full`: its name, what it takes out, and the
/// change to the policy that does it.
type Ablation = (&'static str, &'static str, fn(&mut Value));

/// The ablations, in the order of docs/benchmark.md's table.
const ABLATIONS: [Ablation; 7] = [
    (
        "tracesafe-full-noexport",
        "export: no span is built, queued or sent",
        |p| {
            p.as_object_mut().unwrap().remove("export");
        },
    ),
    (
        "tracesafe-full-noscan",
        "the detectors: no header, baggage or URL scan",
        |p| {
            p["request_headers"]["scan"] = json!([]);
            p["baggage"]["scan"] = json!(false);
            p["url"]["scan"] = json!(false);
        },
    ),
    (
        "tracesafe-full-notokens",
        "tokens: x-user-id, baggage and path kept",
        |p| {
            p["request_headers"]["tokenize"] = json!([]);
            p["request_headers"]["namespaces"] = json!({});
            p["baggage"]["tokenize_keys"] = json!([]);
            p["baggage"]["namespaces"] = json!({});
            p["url"]["templates"][0]["params"]["user"] = json!("keep");
            p["url"]["templates"][0]["namespaces"] = json!({});
        },
    ),
    (
        "tracesafe-full-nobaggage",
        "the baggage policy: baggage not parsed",
        |p| {
            p["baggage"] = json!({ "scan": false });
        },
    ),
    (
        "tracesafe-full-nourl",
        "the URL policy: no template, query kept",
        |p| {
            p["url"] = json!({ "scan": false });
        },
    ),
    (
        "tracesafe-full-noheaders",
        "the request header policy",
        |p| {
            p["request_headers"] = json!({ "defaults": "none", "remove": [] });
        },
    ),
    (
        "tracesafe-full-json",
        "nothing; spans as OTLP/HTTP JSON, not protobuf",
        |p| {
            p["export"]["protocol"] = json!("http/json");
        },
    ),
];

/// The listener a variant runs on and the `tracesafe-full` policy it gets.
fn variant_config(variant: &str) -> (&'static str, Value) {
    let mut full = policy("tracesafe-full");
    if let Some(listener) = VARIANTS.into_iter().find(|l| *l == variant) {
        return (listener, full);
    }
    let Some((_, _, ablate)) = ABLATIONS.iter().find(|(name, _, _)| *name == variant) else {
        eprintln!("unknown variant {variant}: one of {VARIANTS:?} or an ablation:");
        for (name, what, _) in ABLATIONS {
            eprintln!("  {name:<26} {what}");
        }
        usage()
    };
    ablate(&mut full);
    ("tracesafe-full", full)
}

/// h2load sending the bench request to one listener.
struct Load {
    request: BenchRequest,
    port: u16,
    connections: u32,
    /// `taskset -c` list for h2load.
    cpus: String,
}

impl Load {
    /// Sends `n` requests over HTTP/1.1 and checks every one succeeded.
    fn run(&self, n: u64, print: bool) {
        let r = &self.request;
        assert_eq!(r.method, "GET", "request.json: h2load sends GET");
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &self.cpus, "h2load", "--h1", "-t", "1"])
            .args(["-n", &n.to_string(), "-c", &self.connections.to_string()])
            .args(["-H", &format!("host: {}", r.authority)]);
        for (name, value) in &r.headers {
            cmd.args(["-H", &format!("{name}: {value}")]);
        }
        let out = cmd
            .arg(format!("http://127.0.0.1:{}{}", self.port, r.path))
            .stdin(Stdio::null())
            .output()
            .expect("h2load (Debian package nghttp2-client)");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("requests:"));
        let ok = line.is_some_and(|l| l.contains(&format!(" {n} succeeded")));
        assert!(out.status.success() && ok, "h2load failed:\n{text}");
        if print {
            println!("{}", line.unwrap_or_default());
        }
    }
}

/// Instructions per request of each Envoy thread during `n` requests, and
/// the split of the busiest (the worker's).
fn callgrind(envoy: &Envoy, load: &Load, variant: &str, n: u64, out: &Path) {
    let pid = envoy.pid().to_string();
    let control = |args: &[&str]| {
        let status = Command::new("callgrind_control")
            .args(args)
            .arg(&pid)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "callgrind_control {args:?} {pid}: {status}"
        );
    };
    control(&["-i", "on"]);
    control(&["-z"]);
    load.run(n, true);
    control(&["-d", variant]);
    control(&["-i", "off"]);
    println!("{variant}: user-space instructions per request, by thread (callgrind Ir)");
    // One file per thread for dump 1: <variant>.<pid>.1-<thread>.
    let prefix = format!("{variant}.{pid}.1-");
    let mut files: Vec<PathBuf> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    files.sort();
    let mut worker: Option<(u64, PathBuf)> = None;
    for file in files {
        let ir = summary_ir(&file);
        if ir < n {
            continue;
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        println!("  {name:<40} {:>12.0}", ir as f64 / n as f64);
        if worker.as_ref().is_none_or(|(most, _)| ir > *most) {
            worker = Some((ir, file));
        }
    }
    let (_, worker) = worker.expect("no thread of Envoy ran the requests");
    let status = Command::new("python3")
        .arg(repo_root().join("tests/bench/callgrind_split.py"))
        .arg(&worker)
        .arg(n.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "callgrind_split.py: {status}");
}

/// The `summary:` line of a callgrind profile: all instructions of the dump.
fn summary_ir(file: &Path) -> u64 {
    let text = fs::read_to_string(file).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// User and kernel CPU µs per request of each Envoy thread, over
/// [`CPU_RUNS`] runs of `n` requests, the least loaded first.
fn cpu(envoy: &Envoy, load: &Load, variant: &str, n: u64) {
    let hz = clk_tck();
    let per_req = |ticks: u64| ticks as f64 * 1e6 / hz / n as f64;
    let mut runs: Vec<(f64, String)> = Vec::new();
    for run in 1..=CPU_RUNS {
        let before = thread_ticks(envoy.pid());
        load.run(n, false);
        let after = thread_ticks(envoy.pid());
        let (mut user, mut kernel, mut threads) = (0.0, 0.0, String::new());
        for (tid, (name, u1, k1)) in &after {
            let Some((_, u0, k0)) = before.get(tid) else {
                continue;
            };
            let (u, k) = (per_req(u1 - u0), per_req(k1 - k0));
            user += u;
            kernel += k;
            if u + k > 0.0 {
                threads += &format!("  {name} {u:.1} {k:.1}");
            }
        }
        let line = format!("run {run}: all {user:.1} {kernel:.1} {threads}");
        runs.push((user + kernel, line));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!("{variant}: CPU µs per request, user and kernel, by thread ({CPU_RUNS} runs of {n})");
    for (i, (_, line)) in runs.iter().enumerate() {
        println!("{}{line}", if i == 0 { "kept " } else { "" });
    }
}

/// (thread name, utime, stime) of each thread of `pid`, by thread id.
fn thread_ticks(pid: u32) -> BTreeMap<u32, (String, u64, u64)> {
    let mut out = BTreeMap::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let tid = dir.file_name().unwrap().to_string_lossy().parse().unwrap();
        // A thread can end between the listing and the read.
        let (Ok(comm), Ok(stat)) = (
            fs::read_to_string(dir.join("comm")),
            fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        let (user, system) = stat_ticks(&stat);
        out.insert(tid, (comm.trim().replace(' ', "_"), user, system));
    }
    out
}
