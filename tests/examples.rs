//! Every rollout resource in `examples/` is checked: the YAML parses, the
//! embedded plugin configuration passes the same validation as
//! `tracesafe check`, field names and enum values are those of the Istio
//! and Envoy Gateway APIs (encoded below from their published API
//! definitions), the plain Envoy config passes `envoy --mode validate` with
//! the real plugin, and the README documents every example file.
// Test helpers panic on purpose, not only inside #[test] fns.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    common::envoy::repo_root().join("examples")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
    out.sort();
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// The same validation `tracesafe check` runs: no error, and no rollout
/// warning (no credential removal that can reach inbound traffic, no
/// inbound `route` match).
fn assert_valid_plugin_config(config: &Value, origin: &str) {
    let bytes = match config {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    if let Err(diagnostics) =
        tracesafe_filters::check::check(&bytes, &tracesafe_filters::check::env_or_placeholder)
    {
        let text: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
        panic!("{origin}: invalid plugin config:\n{}", text.join("\n"));
    }
    let warnings = tracesafe_filters::cli::warnings::warnings(&bytes);
    assert!(warnings.is_empty(), "{origin}: {warnings:?}");
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    if parsed["direction"] == "inbound" {
        assert_no_route_match(&parsed, origin);
    }
}

/// Istio names every sidecar inbound route `default`: an inbound config
/// that matches `route` has a rule that never fires.
fn assert_no_route_match(config: &Value, origin: &str) {
    for rule in config["rules"].as_array().into_iter().flatten() {
        assert!(
            rule["match"].get("route").is_none(),
            "{origin}: inbound rule matches `route`: {rule}"
        );
    }
}

/// The environment variables a plugin configuration's `keys.env` names.
fn key_vars(config: &Value) -> Vec<String> {
    let parsed: Value = match config {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    parsed["keys"]["env"]
        .as_object()
        .map(|env| {
            env.values()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Every variable the plugin reads must be passed into the VM by the
/// resource that loads it (`hosted`), and put into the proxy's environment
/// by the platform's Secret wiring (`proxy`).
fn assert_keys_wired(config: &Value, hosted: &[String], origin: &str) -> Vec<String> {
    let vars = key_vars(config);
    assert!(!vars.is_empty(), "{origin}: no `keys` in the plugin config");
    for var in &vars {
        assert!(
            hosted.contains(var),
            "{origin}: {var} (keys.env) is not passed to the VM: {hosted:?}"
        );
    }
    vars
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `vmConfig.env` entries passed from the host.
fn host_env(vm_config: &Value) -> Vec<String> {
    vm_config["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["valueFrom"] == "HOST")
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// Names of `env` entries taken from a Kubernetes Secret.
fn secret_env(env: &Value) -> Vec<String> {
    env.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["valueFrom"]["secretKeyRef"].is_object())
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// A resource's allowed fields: dotted paths, `[]` for list entries, and a
/// trailing `.*` for free-form subtrees (labels, plugin config).
struct Api {
    fields: &'static [&'static str],
    enums: &'static [(&'static str, &'static [&'static str])],
    required: &'static [&'static str],
}

/// `extensions.istio.io/v1alpha1` WasmPlugin (istio/api extensions/v1alpha1/wasm.proto).
const WASM_PLUGIN: Api = Api {
    fields: &[
        "spec.selector.matchLabels.*",
        "spec.targetRef.group",
        "spec.targetRef.kind",
        "spec.targetRef.name",
        "spec.targetRef.namespace",
        "spec.targetRefs[].group",
        "spec.targetRefs[].kind",
        "spec.targetRefs[].name",
        "spec.targetRefs[].namespace",
        "spec.url",
        "spec.sha256",
        "spec.imagePullPolicy",
        "spec.imagePullSecret",
        "spec.verificationKey",
        "spec.pluginConfig.*",
        "spec.pluginName",
        "spec.phase",
        "spec.priority",
        "spec.failStrategy",
        "spec.vmConfig.env[].name",
        "spec.vmConfig.env[].value",
        "spec.vmConfig.env[].valueFrom",
        "spec.match[].mode",
        "spec.match[].ports[].number",
        "spec.type",
    ],
    enums: &[
        (
            "spec.phase",
            &["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"],
        ),
        (
            "spec.failStrategy",
            &["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"],
        ),
        (
            "spec.imagePullPolicy",
            &["UNSPECIFIED_POLICY", "IfNotPresent", "Always"],
        ),
        (
            "spec.match[].mode",
            &["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"],
        ),
        ("spec.vmConfig.env[].valueFrom", &["INLINE", "HOST"]),
        ("spec.type", &["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"]),
    ],
    required: &["spec.url"],
};

/// `extensions.istio.io/v1alpha1` TrafficExtension (istio/api
/// extensions/v1alpha1/traffic_extension.proto).
const TRAFFIC_EXTENSION: Api = Api {
    fields: &[
        "spec.selector.matchLabels.*",
        "spec.targetRefs[].group",
        "spec.targetRefs[].kind",
        "spec.targetRefs[].name",
        "spec.targetRefs[].namespace",
        "spec.phase",
        "spec.priority",
        "spec.match[].mode",
        "spec.match[].ports[].number",
        "spec.wasm.url",
        "spec.wasm.sha256",
        "spec.wasm.imagePullPolicy",
        "spec.wasm.imagePullSecret",
        "spec.wasm.verificationKey",
        "spec.wasm.pluginConfig.*",
        "spec.wasm.pluginName",
        "spec.wasm.failStrategy",
        "spec.wasm.vmConfig.env[].name",
        "spec.wasm.vmConfig.env[].value",
        "spec.wasm.vmConfig.env[].valueFrom",
        "spec.wasm.type",
        "spec.lua.inlineCode",
    ],
    enums: &[
        ("spec.phase", &["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"]),
        (
            "spec.wasm.failStrategy",
            &["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"],
        ),
        (
            "spec.wasm.imagePullPolicy",
            &["UNSPECIFIED_POLICY", "IfNotPresent", "Always"],
        ),
        (
            "spec.match[].mode",
            &["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"],
        ),
        ("spec.wasm.vmConfig.env[].valueFrom", &["INLINE", "HOST"]),
        (
            "spec.wasm.type",
            &["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"],
        ),
    ],
    required: &["spec.wasm.url"],
};

/// `gateway.envoyproxy.io/v1alpha1` EnvoyExtensionPolicy (envoyproxy/gateway
/// api/v1alpha1/envoyextensionypolicy_types.go, wasm_types.go).
const ENVOY_EXTENSION_POLICY: Api = Api {
    fields: &[
        "spec.targetRef.group",
        "spec.targetRef.kind",
        "spec.targetRef.name",
        "spec.targetRef.sectionName",
        "spec.targetRefs[].group",
        "spec.targetRefs[].kind",
        "spec.targetRefs[].name",
        "spec.targetRefs[].sectionName",
        "spec.targetSelectors[].*",
        "spec.mergeType",
        "spec.wasm[].name",
        "spec.wasm[].rootID",
        "spec.wasm[].code.type",
        "spec.wasm[].code.http.url",
        "spec.wasm[].code.http.sha256",
        "spec.wasm[].code.http.tls.caCertificateRef.*",
        "spec.wasm[].code.image.url",
        "spec.wasm[].code.image.sha256",
        "spec.wasm[].code.image.pullSecretRef.*",
        "spec.wasm[].code.image.tls.caCertificateRef.*",
        "spec.wasm[].code.pullPolicy",
        "spec.wasm[].config.*",
        "spec.wasm[].failOpen",
        "spec.wasm[].env.hostKeys[]",
        "spec.extProc[].*",
        "spec.lua[].*",
        "spec.dynamicModule[].*",
    ],
    enums: &[
        ("spec.wasm[].code.type", &["HTTP", "Image", "ConfigMap"]),
        ("spec.wasm[].code.pullPolicy", &["IfNotPresent", "Always"]),
    ],
    required: &["spec.wasm[].code.type"],
};

/// Other kinds the examples may contain; only their type is checked.
const OTHER_KINDS: &[(&str, &str)] = &[
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("install.istio.io/v1alpha1", "IstioOperator"),
    ("telemetry.istio.io/v1", "Telemetry"),
];

/// Every leaf of a JSON tree with its normalized path (`a.b[].c`); empty
/// objects and lists count as leaves.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(v, join(k), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                leaves(v, format!("{path}[]"), out);
            }
        }
        other => out.push((path, other.clone())),
    }
}

fn allowed(api: &Api, path: &str) -> bool {
    api.fields.iter().any(|f| match f.strip_suffix(".*") {
        Some(prefix) => {
            path == prefix
                || path.starts_with(&format!("{prefix}."))
                || path.starts_with(&format!("{prefix}[]"))
        }
        None => {
            *f == path || f.starts_with(&format!("{path}.")) || f.starts_with(&format!("{path}[]"))
        }
    })
}

fn check_api(api: &Api, doc: &Value, origin: &str) {
    let mut all = Vec::new();
    leaves(doc.get("spec").unwrap(), "spec".into(), &mut all);
    for (path, value) in &all {
        assert!(
            allowed(api, path),
            "{origin}: `{path}` is not a field of this API"
        );
        if let Some((_, values)) = api.enums.iter().find(|(p, _)| p == path) {
            let v = value.as_str().unwrap_or_default();
            assert!(
                values.contains(&v),
                "{origin}: `{path}: {value}` is not one of {values:?}"
            );
        }
    }
    for req in api.required {
        assert!(
            all.iter().any(|(p, _)| p.starts_with(req)),
            "{origin}: `{req}` is required"
        );
    }
}

fn at<'a>(doc: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(doc, |v, k| &v[*k])
}

#[test]
fn rollout_resources_match_their_apis_and_carry_valid_configs() {
    let mut all = Vec::new();
    files(&examples(), &mut all);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut modes = Vec::new();
    // Key variables the Istio / Envoy Gateway plugins read, and those the
    // proxies get from a Secret.
    let (mut istio_vars, mut istio_proxy_env) = (Vec::new(), Vec::new());
    let (mut eg_vars, mut eg_proxy_env) = (Vec::new(), Vec::new());
    for path in all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        for (i, doc) in yaml_docs(path).into_iter().enumerate() {
            let origin = format!("{} (document {})", path.display(), i + 1);
            if doc.get("static_resources").is_some() {
                // A plain Envoy bootstrap: checked by `envoy_static_config_validates`.
                *seen.entry("Envoy".into()).or_default() += 1;
                continue;
            }
            let api_version = doc["apiVersion"].as_str().unwrap_or_default();
            let kind = doc["kind"].as_str().unwrap_or_default();
            *seen.entry(kind.to_string()).or_default() += 1;
            match (api_version, kind) {
                ("extensions.istio.io/v1alpha1", "WasmPlugin") => {
                    check_api(&WASM_PLUGIN, &doc, &origin);
                    assert!(
                        at(&doc, &["spec", "url"])
                            .as_str()
                            .unwrap()
                            .starts_with("oci://"),
                        "{origin}"
                    );
                    check_oci_and_choices(&doc["spec"], &doc["spec"], &origin);
                    if doc["spec"]["match"][0]["mode"] == "SERVER" {
                        assert_eq!(
                            doc["spec"]["pluginConfig"]["direction"], "inbound",
                            "{origin}"
                        );
                    }
                    modes.push(
                        doc["spec"]["match"][0]["mode"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    );
                    assert_valid_plugin_config(&doc["spec"]["pluginConfig"], &origin);
                    istio_vars.extend(assert_keys_wired(
                        &doc["spec"]["pluginConfig"],
                        &host_env(&doc["spec"]["vmConfig"]),
                        &origin,
                    ));
                }
                ("extensions.istio.io/v1alpha1", "TrafficExtension") => {
                    check_api(&TRAFFIC_EXTENSION, &doc, &origin);
                    check_oci_and_choices(&doc["spec"]["wasm"], &doc["spec"], &origin);
                    assert_valid_plugin_config(&doc["spec"]["wasm"]["pluginConfig"], &origin);
                    istio_vars.extend(assert_keys_wired(
                        &doc["spec"]["wasm"]["pluginConfig"],
                        &host_env(&doc["spec"]["wasm"]["vmConfig"]),
                        &origin,
                    ));
                }
                ("gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy") => {
                    check_api(&ENVOY_EXTENSION_POLICY, &doc, &origin);
                    for wasm in doc["spec"]["wasm"].as_array().unwrap() {
                        let sha = wasm["code"]["image"]["sha256"].as_str().unwrap();
                        assert!(is_sha256_or_placeholder(sha), "{origin}: sha256 {sha}");
                        assert!(!wasm["env"]["hostKeys"].as_array().unwrap().is_empty());
                        assert_valid_plugin_config(&wasm["config"], &origin);
                        eg_vars.extend(assert_keys_wired(
                            &wasm["config"],
                            &strings(&wasm["env"]["hostKeys"]),
                            &origin,
                        ));
                    }
                }
                ("apps/v1", "Deployment") => {
                    // The injector selects pods by label; the annotation is deprecated.
                    let meta = &doc["spec"]["template"]["metadata"];
                    assert_eq!(
                        meta["labels"]["sidecar.istio.io/inject"], "true",
                        "{origin}: no injection label"
                    );
                    assert!(
                        meta["annotations"].get("sidecar.istio.io/inject").is_none(),
                        "{origin}: injection annotation"
                    );
                    for c in doc["spec"]["template"]["spec"]["containers"]
                        .as_array()
                        .unwrap()
                    {
                        if c["name"] == "istio-proxy" {
                            istio_proxy_env.extend(secret_env(&c["env"]));
                        }
                    }
                }
                ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy") => {
                    let container =
                        &doc["spec"]["provider"]["kubernetes"]["envoyDeployment"]["container"];
                    eg_proxy_env.extend(secret_env(&container["env"]));
                }
                other => assert!(
                    OTHER_KINDS.contains(&other),
                    "{origin}: unexpected {other:?}"
                ),
            }
        }
    }
    for kind in [
        "WasmPlugin",
        "TrafficExtension",
        "EnvoyExtensionPolicy",
        "Secret",
        "Envoy",
    ] {
        assert!(seen.contains_key(kind), "no {kind} example: {seen:?}");
    }
    modes.sort();
    assert_eq!(
        modes,
        vec!["CLIENT", "SERVER"],
        "one WasmPlugin per direction"
    );
    for (vars, env, what) in [
        (&istio_vars, &istio_proxy_env, "the istio-proxy container"),
        (&eg_vars, &eg_proxy_env, "the EnvoyProxy's Envoy container"),
    ] {
        for var in vars {
            assert!(
                env.contains(var),
                "{var} is not put into {what}'s environment from a Secret: {env:?}"
            );
        }
    }
}

/// A manifest digest's hex, or the examples' placeholder, which must not
/// look like a digest (applied unchanged, the image cannot be pulled).
fn is_sha256_or_placeholder(s: &str) -> bool {
    s == "REPLACE-BEFORE-APPLY"
        || s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Module fields (`wasm`: WasmPlugin spec or TrafficExtension spec.wasm)
/// and targeting fields (`spec`): pinned image, chosen phase and priority,
/// fail closed, HMAC keys from the host.
fn check_oci_and_choices(wasm: &Value, spec: &Value, origin: &str) {
    assert!(
        wasm["url"].as_str().unwrap().starts_with("oci://"),
        "{origin}"
    );
    assert!(
        is_sha256_or_placeholder(wasm["sha256"].as_str().unwrap()),
        "{origin}"
    );
    assert_eq!(spec["phase"], "STATS", "{origin}");
    assert!(spec["priority"].is_i64(), "{origin}");
    assert_eq!(wasm["failStrategy"], "FAIL_CLOSE", "{origin}");
    let env = wasm["vmConfig"]["env"].as_array().unwrap();
    assert!(env.iter().all(|e| e["valueFrom"] == "HOST"), "{origin}");
}

#[test]
fn envoy_static_config_validates_with_the_real_plugin() {
    let path = examples().join("envoy/envoy.yaml");
    let docs = yaml_docs(&path);
    let mut doc = docs.into_iter().next().unwrap();
    let mut wasm_filters = 0;
    for listener in doc["static_resources"]["listeners"].as_array_mut().unwrap() {
        for chain in listener["filter_chains"].as_array_mut().unwrap() {
            for filter in chain["filters"].as_array_mut().unwrap() {
                for http in filter["typed_config"]["http_filters"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    // `get` first: indexing a serde_json value mutably inserts keys.
                    if http.pointer("/typed_config/config/vm_config").is_none() {
                        continue;
                    }
                    let config = &mut http["typed_config"]["config"];
                    wasm_filters += 1;
                    assert_valid_plugin_config(
                        &config["configuration"]["value"],
                        "examples/envoy/envoy.yaml",
                    );
                    assert_keys_wired(
                        &config["configuration"]["value"],
                        &strings(&config["vm_config"]["environment_variables"]["host_env_keys"]),
                        "examples/envoy/envoy.yaml",
                    );
                    assert_eq!(config["failure_policy"], "FAIL_CLOSED");
                    config["vm_config"]["code"]["local"]["filename"] =
                        Value::String(common::envoy::wasm_path().display().to_string());
                }
            }
        }
    }
    assert_eq!(wasm_filters, 1);
    // Envoy's validate mode loads the plugin and runs its on_configure.
    let dir = std::env::temp_dir().join(format!("tracesafe-examples-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("envoy.json");
    fs::write(&cfg, doc.to_string()).unwrap();
    let out = Command::new(common::envoy::envoy_bin())
        .args(["--mode", "validate", "--disable-hot-restart", "-c"])
        .arg(&cfg)
        // 32 bytes of standard base64: the plugin checks the key on load.
        .env(
            "TRACESAFE_HMAC_KEY_1",
            "ZXhhbXBsZS1rZXktZm9yLXZhbGlkYXRpb24tb25seS0zMmI=",
        )
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let _ = fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && log.contains("configuration ") && log.contains(" OK"),
        "{log}"
    );
}

#[test]
fn policy_files_are_valid_and_reference_the_schema() {
    let dir = examples().join("policies");
    let mut all = Vec::new();
    files(&dir, &mut all);
    for path in all
        .iter()
        // Test files are checked by `tracesafe test` (filters/tests/policy_tests.rs).
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n != "request.json" && !n.ends_with(".tests.json"))
        })
    {
        let text = fs::read_to_string(path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_valid_plugin_config(&value, &path.display().to_string());
        let schema = value["$schema"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no $schema", path.display()));
        assert!(
            dir.join(schema).exists(),
            "{}: {schema} does not exist",
            path.display()
        );
    }
}

/// `mesh.json` and `request.json` are the README's explain example: the
/// partner call gets the `partners` policy and leaves with the allow-listed
/// headers and a new trace only.
#[test]
fn mesh_example_explains_as_documented() {
    let dir = examples().join("policies");
    let engine = tracesafe_filters::check::check(
        &fs::read(dir.join("mesh.json")).unwrap(),
        &tracesafe_filters::check::env_or_placeholder,
    )
    .unwrap();
    let explained =
        tracesafe_filters::explain::explain(&engine, &fs::read(dir.join("request.json")).unwrap())
            .unwrap();
    assert_eq!(&*explained.outcome.policy.name, "partners");
    let names: Vec<&str> = explained
        .forwarded
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            ":method",
            ":path",
            ":authority",
            "content-type",
            "idempotency-key",
            "traceparent"
        ]
    );
    let text = explained.text();
    assert!(
        text.contains("  traceparent: [TRACE:restarted] -> 00-"),
        "{text}"
    );
    assert!(
        !text.contains("sk_live") && !text.contains("user.id"),
        "{text}"
    );
}

#[test]
fn readme_documents_every_example() {
    let readme = fs::read_to_string(common::envoy::repo_root().join("docs/rollout.md")).unwrap();
    let mut all = Vec::new();
    files(&examples(), &mut all);
    for path in all {
        let rel = path
            .strip_prefix(common::envoy::repo_root())
            .unwrap()
            .display()
            .to_string();
        assert!(
            readme.contains(&rel),
            "docs/rollout.md does not mention {rel}"
        );
    }
}

#[test]
fn api_checks_catch_misspelled_fields_and_values() {
    let good = serde_json::json!({"spec": {"url": "oci://r/i:1", "vmConfig": {"env": [{"name": "K", "valueFrom": "HOST"}]}}});
    check_api(&WASM_PLUGIN, &good, "good");
    for bad in [
        serde_json::json!({"spec": {"url": "oci://r/i:1", "vmconfig": {}}}),
        serde_json::json!({"spec": {"url": "oci://r/i:1", "vmConfig": {"env": [{"name": "K", "valueFrom": "SECRET"}]}}}),
        serde_json::json!({"spec": {"url": "oci://r/i:1", "match": [{"mode": "INBOUND"}]}}),
        serde_json::json!({"spec": {"sha256": "x"}}),
    ] {
        let caught = std::panic::catch_unwind(|| check_api(&WASM_PLUGIN, &bad, "bad"));
        assert!(caught.is_err(), "{bad} passed");
    }
    let bad_eep = serde_json::json!({"spec": {"wasm": [{"code": {"type": "Image"}, "env": {"hostkeys": ["K"]}}]}});
    assert!(
        std::panic::catch_unwind(|| check_api(&ENVOY_EXTENSION_POLICY, &bad_eep, "bad")).is_err()
    );
}
