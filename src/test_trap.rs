//! Test-only (cargo feature `test-trap`, built as
//! `dist/tracesafe-test-trap.wasm` for the failure tests, never into the
//! release plugin): `"test_trap": true` in the plugin configuration arms a
//! deliberate trap that fires on requests carrying `x-tracesafe-test-trap`,
//! so tests can watch Envoy's `failure_policy` handle a failing VM. The
//! release build has none of this and refuses `test_trap` as an unknown
//! field.
use std::sync::atomic::{AtomicBool, Ordering};

pub const HEADER: &str = "x-tracesafe-test-trap";

static ARMED: AtomicBool = AtomicBool::new(false);

/// The configuration without `test_trap`; arms the trap when it was `true`.
pub fn take_flag(config: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_slice(&config) else {
        return config;
    };
    let armed = fields.remove("test_trap") == Some(serde_json::Value::Bool(true));
    ARMED.store(armed, Ordering::Relaxed);
    serde_json::to_vec(&fields).unwrap_or(config)
}

/// Aborts (in wasm an `unreachable` trap, as a panic would be) when armed
/// and the request asks for it.
pub fn on_request(headers: &[tracesafe_filters::Header]) {
    if ARMED.load(Ordering::Relaxed) && headers.iter().any(|(n, _)| *n == HEADER) {
        std::process::abort();
    }
}
