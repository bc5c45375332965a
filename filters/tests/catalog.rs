//! `tracesafe catalog`: the example policies' catalogs in `docs/catalog/`
//! are what the command prints today, and the JSON form carries the same
//! model.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

mod support;

use support::{repo, stdout, tracesafe, Temp};

#[test]
fn committed_catalogs_are_current() {
    for name in ["demo", "mesh"] {
        let config = format!("examples/policies/{name}.json");
        let out = tracesafe(&["catalog", &config]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let doc = format!("docs/catalog/{name}.md");
        let committed = std::fs::read_to_string(repo().join(&doc)).unwrap();
        assert_eq!(
            stdout(&out),
            committed,
            "{doc} is stale: regenerate it with `tracesafe catalog {config} > {doc}`"
        );
    }
}

#[test]
fn json_format_and_invalid_configs() {
    let out = tracesafe(&["catalog", "--format", "json", "examples/policies/mesh.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["default", "health", "partners", "payments"]);
    assert_eq!(
        v["namespaces"]["user"][0],
        "default: request header x-user-id"
    );
    let bad = Temp::new(
        "bad-catalog.json",
        r#"{"request_headers": {"remove": ["a b"]}}"#,
    );
    let out = tracesafe(&["catalog", bad.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with(&format!(
            "{}: error at request_headers.remove[0]",
            bad.path()
        )),
        "{out:?}"
    );
    let out = tracesafe(&["catalog", "--format", "yaml", "examples/policies/mesh.json"]);
    assert_eq!(out.status.code(), Some(2));
}
