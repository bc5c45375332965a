//! Test keys, token vectors and small helpers shared by the integration
//! tests.

use serde_json::{json, Value};

/// The README's published keys: k1 = bytes 0..32, k2 = bytes 32..64.
pub const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The host environment variables carrying them into the VM.
pub const K1_VAR: &str = "TRACESAFE_KEY_K1";
pub const K2_VAR: &str = "TRACESAFE_KEY_K2";
/// Host env with k1 only, k2 only, and both.
pub const ENV_K1: &[(&str, &str)] = &[(K1_VAR, K1)];
pub const ENV_K2: &[(&str, &str)] = &[(K2_VAR, K2)];
pub const ENV: &[(&str, &str)] = &[(K1_VAR, K1), (K2_VAR, K2)];

/// The variable `envoy/bench/tracesafe-full.json` reads its key from, set
/// to k1 (a benchmark needs no secret).
pub const BENCH_ENV: &[(&str, &str)] = &[("TRACESAFE_BENCH_KEY", K1)];

/// README vector: key k2, namespace `user`, value `42`.
pub const USER_42: &str = "tk.k2.p84PCaUIFbo_9PJ0HNRkcw";

/// The `keys` config with one key, `k1` or `k2`, read from its variable.
pub fn key(id: &str) -> Value {
    let var = if id == "k1" { K1_VAR } else { K2_VAR };
    json!({"active": id, "env": {id: var}})
}

/// The `keys` config with both keys, `k2` active.
pub fn keys() -> Value {
    json!({"active": "k2", "env": {"k1": K1_VAR, "k2": K2_VAR}})
}

/// A version-00 traceparent.
pub fn traceparent(trace: &str, parent: &str, flags: &str) -> String {
    format!("00-{trace}-{parent}-{flags}")
}

/// A port nothing listens on: a collector that is down.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
