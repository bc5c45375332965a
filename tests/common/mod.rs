//! Integration-test harness shared by every test in `tests/`: real Envoy
//! processes on loopback, an echo upstream and a raw HTTP/1.1 client.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod app;
pub mod certs;
pub mod collector;
pub mod echo;
pub mod envoy;
pub mod http;
pub mod load;
pub mod mesh;

pub use echo::Echo;
pub use envoy::{Envoy, Started};
pub use http::Request;

/// Starts `envoy/filter.yaml`: tracesafe with `config` in front of `echo`.
pub fn filter_envoy(echo: &Echo, config: &serde_json::Value, env: &[(&str, &str)]) -> Started {
    let keys: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
    Envoy::try_start(
        "filter.yaml",
        &[
            ("UPSTREAM_PORT", echo.port.to_string()),
            ("PLUGIN_CONFIG", envoy::yaml_string(&config.to_string())),
            ("HOST_ENV_KEYS", serde_json::to_string(&keys).unwrap()),
        ],
        env,
    )
}

/// Like [`filter_envoy`] but the plugin must load.
pub fn ready_filter_envoy(echo: &Echo, config: &serde_json::Value, env: &[(&str, &str)]) -> Envoy {
    match filter_envoy(echo, config, env) {
        Started::Ready(e) => e,
        Started::Exited { code, log } => panic!("envoy exited ({code:?}):\n{log}"),
    }
}

/// The tracesafe HTTP filter entry as one-line JSON (valid YAML flow), for
/// templates that say `- {{TRACESAFE}}`: the plugin config and the names of
/// the host environment variables passed into the VM.
pub fn tracesafe_filter(config: &serde_json::Value, env_keys: &[&str]) -> String {
    serde_json::json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "tracesafe",
                "root_id": "tracesafe",
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config.to_string(),
                },
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": envoy::wasm_path().display().to_string()}},
                    "environment_variables": {"host_env_keys": env_keys},
                },
            },
        },
    })
    .to_string()
}

/// Starts `envoy/hostile.yaml`: plugin file `wasm` with `config` and
/// `failure_policy` in front of `upstream`, exporting to `collector`; its
/// `/load` route is answered by Envoy after the filter ran.
pub fn hostile_envoy(
    upstream: u16,
    collector: u16,
    config: &serde_json::Value,
    env: &[(&str, &str)],
    wasm: &std::path::Path,
    failure_policy: &str,
) -> Started {
    let keys: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
    Envoy::try_start(
        "hostile.yaml",
        &[
            ("UPSTREAM_PORT", upstream.to_string()),
            ("COLLECTOR_PORT", collector.to_string()),
            ("PLUGIN_CONFIG", envoy::yaml_string(&config.to_string())),
            ("PLUGIN_WASM", wasm.display().to_string()),
            ("FAILURE_POLICY", failure_policy.to_string()),
            ("HOST_ENV_KEYS", serde_json::to_string(&keys).unwrap()),
        ],
        env,
    )
}
