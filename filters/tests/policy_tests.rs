//! `tracesafe test`: the shipped example tests pass; a changed expectation
//! fails with the case's name and the difference; `never` catches a planted
//! secret on every surface without printing it; bad files exit 2 with the
//! JSON path.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

mod support;

use serde_json::{json, Value};
use support::{repo, stderr, stdout, tracesafe, Temp};

const EXAMPLES: [&str; 2] = [
    "examples/policies/demo.tests.json",
    "examples/policies/mesh.tests.json",
];

fn cases(file: &str) -> usize {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(file)).unwrap()).unwrap();
    v["cases"].as_array().unwrap().len()
}

#[test]
fn shipped_example_tests_pass() {
    let out = tracesafe(&["test", EXAMPLES[0], EXAMPLES[1]]);
    let total: usize = EXAMPLES.iter().map(|f| cases(f)).sum();
    assert!(total >= 6);
    assert_eq!(
        stdout(&out),
        format!("{total} passed, 0 failed\n"),
        "{out:?}"
    );
    assert_eq!(out.status.code(), Some(0));
}

/// The mesh example with its config inlined (the scratch file lives
/// elsewhere) and `edit` applied to its first case.
fn mesh_with(edit: impl FnOnce(&mut Value)) -> Temp {
    let mut tests: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/policies/mesh.tests.json")).unwrap(),
    )
    .unwrap();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/policies/mesh.json")).unwrap(),
    )
    .unwrap();
    tests["config"] = config;
    edit(&mut tests["cases"][0]);
    Temp::new("mesh.tests.json", &tests.to_string())
}

const CASE: &str =
    "payments inbound: the app keeps its login, ids tokenized, the card masked in the span";

#[test]
fn a_changed_expectation_fails_with_the_case_name_and_the_difference() {
    let file = mesh_with(|case| {
        case["expect"]["policy"] = json!("partners");
        case["expect"]["removed"] = json!(["cookie"]);
        case["expect"]["kept"] = json!(["content-type", "baggage:user.id"]);
        case["expect"]["span"]["attributes"]["tracesafe.redacted.tokens"] = json!(3);
        case["expect"]["forwarded"] = json!({"x-user-id": "42"});
    });
    let out = tracesafe(&["test", file.path()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        format!(
            "FAIL {}: {CASE}: policy: expected partners, got payments; \
             cookie: expected removed, got kept; baggage:user.id: expected kept, got tokenized; \
             forwarded x-user-id: expected \"42\", got \"tk.k1.sM1IWywX24FQDyg1EFESVg\"; \
             span.attributes[\"tracesafe.redacted.tokens\"]: expected 3, got 2\n\
             3 passed, 1 failed\n",
            file.path()
        )
    );
}

/// One case that plants `secret` where `config` lets it through.
fn planted(config: Value, request: Value, response: Option<Value>, secret: &str) -> (String, i32) {
    let mut case =
        json!({"name": "planted", "request": request, "expect": {"never": ["not-there", secret]}});
    if let Some(r) = response {
        case["response"] = r;
    }
    let file = Temp::new(
        "planted.tests.json",
        &json!({"config": config, "cases": [case]}).to_string(),
    );
    let out = tracesafe(&["test", file.path()]);
    let text = stdout(&out);
    assert!(!text.contains(secret), "{text}");
    let prefix = format!("FAIL {}: planted: ", file.path());
    let line = text.lines().next().unwrap();
    assert_eq!(text.lines().nth(1), Some("0 passed, 1 failed"), "{text}");
    (
        line.strip_prefix(&prefix).unwrap().to_string(),
        out.status.code().unwrap(),
    )
}

#[test]
fn never_catches_a_planted_secret_on_every_surface() {
    let secret = "planted-s3cret@value";
    let open = json!({"request_headers": {"defaults": "none"}, "baggage": {"scan": false}});
    let cases = [
        (
            open.clone(),
            json!({"headers": {"x-secret": secret}}),
            None,
            "never[1] found in forwarded header x-secret (verbatim)",
        ),
        (
            open.clone(),
            json!({"headers": {"baggage": "plan=pro,k=planted-s3cret%40value"}}),
            None,
            "never[1] found in forwarded header baggage (percent-encoded)",
        ),
        (
            open.clone(),
            json!({}),
            Some(json!({"headers": {"x-debug": secret}})),
            "never[1] found in response header x-debug (verbatim)",
        ),
        (
            json!({"url": {"scan": false, "query": {"default": "keep"}}}),
            json!({"path": format!("/p?q={}", "eHBsYW50ZWQtczNjcmV0QHZhbHVl")}),
            None,
            "never[1] found in span record (base64)",
        ),
    ];
    for (config, request, response, want) in cases {
        assert_eq!(
            planted(config, request, response, secret),
            (want.to_string(), 1)
        );
    }
    // Counters: the one config-chosen part of a stat name is the policy.
    let config = json!({
        "policies": {"planted-policy": {"trace": {"trace_context": "envoy"}}},
        "rules": [{"match": {"method": "GET"}, "policy": "planted-policy"}]
    });
    assert_eq!(
        planted(config, json!({}), None, "planted-policy"),
        ("never[1] found in counters (verbatim)".to_string(), 1)
    );
}

#[test]
fn values_holding_a_never_string_are_not_printed() {
    let file = Temp::new(
        "hold.tests.json",
        &json!({
            "config": {"request_headers": {"defaults": "none"}},
            "cases": [{
                "name": "token kept",
                "request": {"headers": {"authorization": "Bearer abcdefghijklmnopqrstuvwx"}},
                "expect": {
                    "forwarded": {"authorization": "[REDACTED:removed]"},
                    "never": ["abcdefghijklmnopqrstuvwx"]
                }
            }]
        })
        .to_string(),
    );
    let out = tracesafe(&["test", file.path()]);
    assert_eq!(
        stdout(&out),
        format!(
            "FAIL {}: token kept: forwarded authorization: expected \"[REDACTED:removed]\", \
             got a value holding never[0]; never[0] found in forwarded header authorization (verbatim)\n\
             0 passed, 1 failed\n",
            file.path()
        )
    );
}

#[test]
fn bad_files_exit_2_with_the_json_path() {
    let run = |tests: Value| {
        let file = Temp::new("bad.tests.json", &tests.to_string());
        let out = tracesafe(&["test", file.path()]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(stdout(&out), "");
        stderr(&out).replace(file.path(), "FILE")
    };
    let err = run(json!({"config": {}, "cases": [{"name": "x", "expect": {"removd": []}}]}));
    assert!(
        err.starts_with("tracesafe: FILE: error at cases[0].expect.removd: unknown field `removd`"),
        "{err}"
    );
    let err = run(json!({"config": {"request_headers": {"remove": ["a b"]}}, "cases": []}));
    assert!(
        err.starts_with("tracesafe: FILE: config: error at request_headers.remove[0]:"),
        "{err}"
    );
    let err =
        run(json!({"config": {}, "cases": [{"name": "x", "request": {"properties": {"a": 1}}}]}));
    assert_eq!(
        err,
        "tracesafe: FILE: error at cases[0].request.properties.a: expected a string or an object\n"
    );
    let err = run(json!({"config": "missing.json", "cases": []}));
    assert!(err.contains("missing.json: No such file"), "{err}");
}

/// `examples/tests.schema.json` is what `tracesafe schema --tests` prints.
#[test]
fn the_test_file_schema_is_current() {
    let out = tracesafe(&["schema", "--tests"]);
    let committed = std::fs::read_to_string(repo().join("examples/tests.schema.json")).unwrap();
    assert_eq!(
        stdout(&out),
        committed,
        "examples/tests.schema.json is stale: regenerate it with \
         `tracesafe schema --tests > examples/tests.schema.json`"
    );
}

/// `request.route` is the route name rules match on.
#[test]
fn request_route_selects_route_rules() {
    let file = Temp::new(
        "route.tests.json",
        &json!({
            "config": {
                "policies": {"api": {"request_headers": {"remove": ["x-debug"]}}},
                "rules": [{"match": {"route": "api"}, "policy": "api"}]
            },
            "cases": [
                {"name": "named route", "request": {"route": "api", "headers": {"x-debug": "1"}},
                 "expect": {"policy": "api", "removed": ["x-debug"]}},
                {"name": "other route", "request": {"route": "web", "headers": {"x-debug": "1"}},
                 "expect": {"policy": "default", "kept": ["x-debug"], "removed": ["x-absent"]}}
            ]
        })
        .to_string(),
    );
    let out = tracesafe(&["test", file.path()]);
    assert_eq!(
        stdout(&out),
        format!(
            "FAIL {}: other route: x-absent: expected removed, got absent\n1 passed, 1 failed\n",
            file.path()
        )
    );
}
