//! The `tracesafe` binary, run as an administrator's CI would run it.
#![allow(clippy::unwrap_used)] // test helpers, not only #[test] fns

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tracesafe(args: &[&str], stdin: Option<&str>) -> Output {
    tracesafe_env(args, stdin, &[])
}

/// Runs the binary with exactly these of the README's key variables set.
fn tracesafe_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracesafe"))
        .args(args)
        .env_remove("TRACESAFE_KEY_K1")
        .env_remove("TRACESAFE_KEY_K2")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A scratch file that lives as long as the test.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, text: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!("tracesafe-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Temp(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

const CONFIG: &str = r#"{
  "request_headers": {"remove": ["x-internal"]},
  "policies": {
    "api": {"extends": ["secrets"], "request_headers": {"remove": ["x-debug"]}},
    "partner": {"extends": ["egress-strict"]}
  },
  "rules": [
    {"name": "api-route", "match": {"route": "api"}, "policy": "api"},
    {"name": "partners", "match": {"authority": "*.partner.example", "direction": "outbound"}, "policy": "partner"}
  ]
}"#;

#[test]
fn check_accepts_a_valid_config() {
    let cfg = Temp::new("ok.json", CONFIG);
    let out = tracesafe(&["check", cfg.path()], None);
    assert!(out.status.success(), "{out:?}");
    let p = cfg.path();
    assert_eq!(
        stdout(&out),
        format!(
            "{p}: ok (3 policies: default, api, partner; 2 rules)\n\
             {p}: warning at policies.api.request_headers: removes authorization, cookie, \
             proxy-authorization on a policy that can apply to inbound traffic: the app behind \
             the sidecar loses its logins; remove credentials on outbound or egress routes only\n"
        )
    );
}

/// Both rollout warnings, each with its JSON path; the exit status stays 0.
#[test]
fn check_warns_about_inbound_credential_removal_and_inbound_route_matches() {
    let cfg = Temp::new(
        "warn.json",
        r#"{
  "direction": "inbound",
  "request_headers": {"defaults": "credentials"},
  "rules": [{"match": {"route": "payments"}, "policy": "default"}]
}"#,
    );
    let out = tracesafe(&["check", cfg.path()], None);
    assert!(out.status.success(), "{out:?}");
    let p = cfg.path();
    assert_eq!(
        stdout(&out),
        format!(
            "{p}: ok (1 policy: default; 1 rule)\n\
             {p}: warning at request_headers: removes authorization, cookie, proxy-authorization \
             on a policy that can apply to inbound traffic: the app behind the sidecar loses its \
             logins; remove credentials on outbound or egress routes only\n\
             {p}: warning at rules[0].match.route: Istio names inbound routes `default`; match \
             `path_prefix` or `authority` instead\n"
        )
    );
}

#[test]
fn check_prints_every_error_with_path_and_hint() {
    let out = tracesafe(
        &["check", "-"],
        Some(
            r#"{
              "direction": "sideways",
              "request_headers": {"remvoe": ["authorization"]},
              "policies": {"Bad.Name": {}, "p": {"extends": ["secretz"]}},
              "rules": [
                {"match": {"path_regex": "(unclosed"}, "policy": "p"},
                {"match": {"method": "GET"}, "policy": "missing"}
              ]
            }"#,
        ),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let errors: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("-: error at "))
        .copied()
        .collect();
    assert_eq!(
        errors,
        vec![
            "-: error at direction: unknown variant `sideways`, expected one of `inbound`, `outbound`, `auto`",
            "-: error at policies.Bad.Name: invalid policy name \"Bad.Name\": use 1-64 lowercase letters, digits, `-` or `_`, starting with a letter or digit",
            "-: error at policies.p.extends[0]: unknown policy or preset `secretz` (presets: egress-strict, minimal, pci, pii, secrets; policies: default, Bad.Name, p)",
            "-: error at request_headers.remvoe: unknown field `remvoe`, expected one of `defaults`, `remove`, `remove_prefixes`, `remove_regex`, `allow_only`, `tokenize`, `namespaces`, `scan`",
            "-: error at rules[0].match.path_regex: invalid regular expression: found open group without closing ')'",
            "-: error at rules[1].policy: unknown policy `missing` (policies: Bad.Name, default, p)",
        ],
        "{text}"
    );
    // Every error is followed by its hint.
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("-: error at ") {
            assert!(lines[i + 1].starts_with("  hint: "), "{text}");
        }
    }
    assert!(text.contains("  hint: did you mean `remove`?"), "{text}");
    assert_eq!(lines.last(), Some(&"-: 6 errors"));
}

#[test]
fn check_fails_on_any_invalid_file() {
    let good = Temp::new("good.json", "{}");
    let bad = Temp::new("bad.json", "{");
    let out = tracesafe(&["check", good.path(), bad.path()], None);
    assert_eq!(out.status.code(), Some(1));
    let missing = tracesafe(&["check", "/nonexistent/x.json"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(tracesafe(&["check"], None).status.code(), Some(2));
    assert_eq!(tracesafe(&["frobnicate"], None).status.code(), Some(2));
}

#[test]
fn explain_shows_rule_policy_and_forwarded_headers_without_secrets() {
    let cfg = Temp::new("explain.json", CONFIG);
    let req = Temp::new(
        "request.json",
        r#"{
          "method": "GET", "path": "/v1/orders", "authority": "shop.example",
          "headers": {"authorization": "Bearer sk_live_SECRET", "x-debug": "SECRET-2", "accept": "application/json"},
          "direction": "inbound",
          "properties": {"xds": {"route_name": "api"}}
        }"#,
    );
    let out = tracesafe(&["explain", cfg.path(), "--request", req.path()], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "policy: api (rules[0] \"api-route\")\n\
         direction: inbound\n\
         removed:\n  authorization: [REDACTED:removed]\n  x-debug: [REDACTED:removed]\n\
         added:\n  traceparent: 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
         forwarded headers:\n  :method: GET\n  :path: /v1/orders\n  :authority: shop.example\n  accept: application/json\n  \
         traceparent: 00-f465b9a16a9e786e4f450980185dc406-afcd1d7b39a820e2-03\n\
         span (not exported: the configuration has no `export`):\n  name: GET\n  kind: server\n  \
         trace_id: f465b9a16a9e786e4f450980185dc406\n  span_id: afcd1d7b39a820e2\n  flags: 03\n  \
         attributes:\n    http.request.method: GET\n    url.path: /v1/orders\n    server.address: shop.example\n    \
         tracesafe.policy: api\n    tracesafe.redacted.headers: 2\n    tracesafe.redacted.baggage: 0\n    \
         tracesafe.redacted.tokens: 0\n\
         counters:\n  tracesafe.requests 1\n  tracesafe.traces_started 1\n  tracesafe.headers_removed 2\n  \
         tracesafe.policy.api.requests 1\n"
    );

    let outbound = Temp::new(
        "outbound.json",
        r#"{"authority": "api.partner.example:443", "direction": "outbound",
            "headers": {"baggage": "user=SECRET", "x-keep": "1"}}"#,
    );
    let out = tracesafe(
        &[
            "explain",
            cfg.path(),
            "--request",
            outbound.path(),
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(!text.contains("SECRET"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["policy"], "partner");
    assert_eq!(v["selected_by"], "rule");
    assert_eq!(v["rule"]["index"], 1);
    assert_eq!(
        v["removed"],
        serde_json::json!([
            {"name": "x-keep", "value": "[REDACTED:removed]"},
            {"name": "baggage", "value": "[REDACTED:removed]"}
        ])
    );
    assert_eq!(v["counters"]["tracesafe.policy.partner.requests"], 1);
}

#[test]
fn explain_labels_tokens_and_masks_with_the_real_keys() {
    let cfg = Temp::new("explain-keyed.json", KEYED_CONFIG);
    let req = Temp::new(
        "keyed-request.json",
        r#"{"headers": {"x-user-id": "42", "from": "alice@example.com",
                        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}"#,
    );
    let args = ["explain", cfg.path(), "--request", req.path()];
    let out = tracesafe_env(&args, None, README_KEYS);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(
            "replaced:\n  traceparent: [TRACE:continued] -> 00-0af7651916cd43dd8448eb211c80319c-afcd1d7b39a820e2-01\n  \
             from: [REDACTED:email] -> [REDACTED:email]\n  \
             x-user-id: [TOKEN:user] -> tk.k2.p84PCaUIFbo_9PJ0HNRkcw\n"
        ),
        "{text}"
    );
    assert!(!text.contains("alice"), "{text}");
    // Without the variables, a placeholder key stands in, and stderr says so.
    let out = tracesafe(&args, None);
    assert!(out.status.success(), "{out:?}");
    assert!(!stdout(&out).contains("tk.k2.p84PCaUIFbo_9PJ0HNRkcw"));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{0}: note: environment variable TRACESAFE_KEY_K1 is not set: tokens below use a placeholder key, not the plugin's\n\
             {0}: note: environment variable TRACESAFE_KEY_K2 is not set: tokens below use a placeholder key, not the plugin's\n",
            cfg.path()
        )
    );
}

#[test]
fn explain_refuses_an_invalid_config_or_request() {
    let bad = Temp::new("bad-explain.json", r#"{"rules": 1}"#);
    let req = Temp::new("req.json", "{}");
    let out = tracesafe(&["explain", bad.path(), "--request", req.path()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("error at rules: invalid type: number, expected an array of rules")
    );
    let cfg = Temp::new("cfg-explain.json", "{}");
    let badreq = Temp::new("badreq.json", r#"{"method": 1}"#);
    let out = tracesafe(&["explain", cfg.path(), "--request", badreq.path()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config error at method"));
    assert_eq!(
        tracesafe(&["explain", cfg.path()], None).status.code(),
        Some(2)
    );
}

/// The README's published keys: k1 = bytes 0..32, k2 = bytes 32..64.
const README_KEYS: &[(&str, &str)] = &[
    (
        "TRACESAFE_KEY_K1",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ),
    (
        "TRACESAFE_KEY_K2",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    ),
];

const KEYED_CONFIG: &str = r#"{
  "keys": {"active": "k2", "env": {"k1": "TRACESAFE_KEY_K1", "k2": "TRACESAFE_KEY_K2"}},
  "tenant": {"header": "x-tenant-id"},
  "extends": ["pii"]
}"#;

#[test]
fn token_prints_the_readme_vectors() {
    let cfg = Temp::new("keyed.json", KEYED_CONFIG);
    let token = |extra: &[&str], value: &str, stdin: Option<&str>| {
        let mut args = vec!["token", "--config", cfg.path()];
        args.extend_from_slice(extra);
        args.push(value);
        let out = tracesafe_env(&args, stdin, README_KEYS);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
        stdout(&out)
    };
    for (extra, value, want) in [
        (
            &["--namespace", "user"][..],
            "42",
            "tk.k2.p84PCaUIFbo_9PJ0HNRkcw",
        ),
        (
            &["--namespace", "x-user-id"],
            "42",
            "tk.k2.3yF0X8-Myh6C_xdoKrA6gQ",
        ),
        (
            &["--namespace", "email"],
            "alice@example.com",
            "tk.k2.VDx-xIlGJYqJDpkxd_1rrA",
        ),
        (
            &["--namespace", "user", "--tenant", "acme"],
            "42",
            "tk.k2.Gr6HcGBzoscrhfbwVHksbg",
        ),
        (
            &["--tenant", "globex", "--namespace", "user"],
            "42",
            "tk.k2.D8ggPvxkns3Zvcqkj8WB1A",
        ),
        (
            &["--namespace", "user", "--key", "k1"],
            "42",
            "tk.k1.RN1-OJO1K2rpPWeLDuUhEw",
        ),
        (
            &["--namespace", "email", "--key", "k1"],
            "alice@example.com",
            "tk.k1.DTMW4PiH9-84IbsrkLbOXg",
        ),
        (
            &["--namespace", "user", "--key", "k1", "--"],
            "",
            "tk.k1.Jyd2DHzuasRbIfUxTPZaQg",
        ),
    ] {
        assert_eq!(
            token(extra, value, None),
            format!("{want}\n"),
            "{extra:?} {value}"
        );
    }
    // `-` reads the value from stdin (keeping it out of shell history).
    assert_eq!(
        token(&["--namespace", "user"], "-", Some("42\n")),
        "tk.k2.p84PCaUIFbo_9PJ0HNRkcw\n"
    );
}

#[test]
fn token_needs_keys_from_the_environment() {
    let cfg = Temp::new("keyed-missing.json", KEYED_CONFIG);
    let args = ["token", "--config", cfg.path(), "--namespace", "user", "42"];
    let out = tracesafe_env(&args, None, &README_KEYS[..1]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "config error at keys.env.k2: environment variable TRACESAFE_KEY_K2 is not set"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let plain = Temp::new("plain.json", "{}");
    let out = tracesafe_env(
        &[
            "token",
            "--config",
            plain.path(),
            "--namespace",
            "user",
            "42",
        ],
        None,
        README_KEYS,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `keys`"));
    let untenanted = Temp::new(
        "untenanted.json",
        r#"{"keys": {"active": "k1", "env": {"k1": "TRACESAFE_KEY_K1"}}}"#,
    );
    let out = tracesafe_env(
        &[
            "token",
            "--config",
            untenanted.path(),
            "--namespace",
            "user",
            "--tenant",
            "acme",
            "42",
        ],
        None,
        README_KEYS,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `tenant` source"));
    for bad in [
        &["token", "--namespace", "user", "42"][..],
        &["token", "--config", cfg.path(), "42"],
        &["token", "--config", cfg.path(), "--namespace", "user"],
        &[
            "token",
            "--config",
            cfg.path(),
            "--namespace",
            "user",
            "a",
            "b",
        ],
        &["token", "--config", cfg.path(), "--nmespace", "user", "a"],
    ] {
        assert_eq!(tracesafe(bad, None).status.code(), Some(2), "{bad:?}");
    }
}

/// `examples/tracesafe.schema.json` is what `tracesafe schema` prints; run
/// `cargo run -p tracesafe-filters --bin tracesafe -- schema > examples/tracesafe.schema.json`
/// after changing the configuration types.
#[test]
fn schema_is_current_in_examples() {
    let out = tracesafe(&["schema"], None);
    assert!(out.status.success());
    let printed = stdout(&out);
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["properties"]["rules"].is_object());
    let committed = std::fs::read_to_string(repo().join("examples/tracesafe.schema.json")).unwrap();
    assert!(
        committed == printed,
        "examples/tracesafe.schema.json is stale: regenerate it with `tracesafe schema`"
    );
}
