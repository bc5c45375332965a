//! The benchmark's Envoy under test, shared by `tests/bench.rs` (all
//! variants at once) and `tests/envoy_profile.rs` (one variant per Envoy):
//! `envoy/bench/filter.yaml` filled with the bench's plugins, policies,
//! Lua script, native removals and key, and the bench request.

use super::envoy::{repo_root, yaml_string, Builder, Envoy, Plugin};
use super::support::BENCH_ENV;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Listener names in `envoy/bench/filter.yaml`, in table order.
pub const VARIANTS: [&str; 6] = [
    "bare",
    "wasm-noop",
    "tracesafe-min",
    "tracesafe-full",
    "lua",
    "native",
];
/// The floor: an empty proxy-wasm filter (tests/bench/wasm-noop), built by
/// `./build.sh bench` into `dist/`.
pub const FLOOR: &str = "wasm-noop";
/// Variants whose plugin configuration is `envoy/bench/<name>.json`.
pub const POLICIES: [&str; 2] = ["tracesafe-min", "tracesafe-full"];

/// `envoy/bench`: templates, policies, request.
pub fn bench_dir() -> PathBuf {
    repo_root().join("envoy/bench")
}

pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `envoy/bench/<name>.json`, a policy of [`POLICIES`].
pub fn policy(name: &str) -> Value {
    let path = bench_dir().join(format!("{name}.json"));
    serde_json::from_slice(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `filter.yaml` in front of `upstream_port` with every variant's filter:
/// `full` is `tracesafe-full`'s policy (the profile's ablations change it).
/// Not started: the caller pins it, or keeps one listener.
pub fn filter_envoy(upstream_port: u16, full: &Value) -> Builder {
    // Both plugins in one VM (vm_id), which gets tracesafe-full's key.
    let plugin = |name: &str, config: &Value| {
        Plugin::new(config)
            .at(&name.replace('-', "_").to_uppercase())
            .named(name)
            .vm_id("tracesafe")
    };
    let noop = Plugin::new(&json!({}))
        .wasm(&repo_root().join("dist/wasm-noop.wasm"))
        .at("WASM_NOOP")
        .named(FLOOR)
        .vm_id(FLOOR);
    let lua = String::from_utf8(read(&bench_dir().join("lua-filter.lua"))).unwrap();
    Envoy::builder("bench/filter.yaml")
        .upstream(upstream_port)
        .with(noop)
        .with(plugin("tracesafe-min", &policy("tracesafe-min")))
        .with(plugin("tracesafe-full", full))
        .var("LUA_SOURCE", yaml_string(&lua))
        .var("NATIVE_REMOVALS", native_removals(full))
        .env(BENCH_ENV)
}

/// `header_mutation` removals for the `native` listener: the headers
/// tracesafe-full.json removes.
fn native_removals(full: &Value) -> String {
    let names = full["request_headers"]["remove"]
        .as_array()
        .expect("tracesafe-full.json: request_headers.remove feeds the native variant");
    let removals: Vec<Value> = names.iter().map(|n| json!({ "remove": n })).collect();
    Value::Array(removals).to_string()
}

/// `envoy/bench/request.json`: the one request every variant gets.
pub struct BenchRequest {
    pub method: String,
    pub path: String,
    pub authority: String,
    pub headers: Vec<(String, String)>,
}

impl BenchRequest {
    pub fn load() -> Self {
        let v: Value = serde_json::from_slice(&read(&bench_dir().join("request.json"))).unwrap();
        let text = |v: &Value| v.as_str().expect("request.json: strings").to_string();
        BenchRequest {
            method: text(&v["method"]),
            path: text(&v["path"]),
            authority: text(&v["authority"]),
            headers: v["headers"]
                .as_array()
                .expect("request.json: headers")
                .iter()
                .map(|h| (text(&h[0]), text(&h[1])))
                .collect(),
        }
    }
}

/// Both CPUs this process may use: the first for the Envoy under test, the
/// second for the load (upstream and load generator). With one CPU they
/// share it.
pub fn pick_cpus() -> (String, String) {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap()),
            None => cpus.push(part.parse::<u32>().unwrap()),
        }
    }
    let filter = cpus[0].to_string();
    let load = cpus.get(1).unwrap_or(&cpus[0]).to_string();
    if filter == load {
        eprintln!("== only one CPU: Envoy and the load share it; ratios still hold, absolute numbers do not");
    }
    (filter, load)
}

/// Clock ticks per second, the unit of `/proc/.../stat` CPU times.
pub fn clk_tck() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// (utime, stime) in clock ticks from a `/proc/<pid>/stat` or
/// `/proc/<pid>/task/<tid>/stat` line: fields 14 and 15, counted after the
/// command name, which is in parentheses and may contain spaces.
pub fn stat_ticks(stat: &str) -> (u64, u64) {
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (fields[11].parse().unwrap(), fields[12].parse().unwrap())
}
