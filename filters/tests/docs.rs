//! The configuration reference (`docs/configuration.md`) documents every
//! property of the schema the CLI prints, so a new field cannot ship
//! undocumented.
#![allow(clippy::unwrap_used)] // test code

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Every property name in `schema`: `properties` of the root, of `$defs`
/// and of nested objects, items and alternatives, at any depth.
fn property_names(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            for value in map.values() {
                property_names(value, out);
            }
        }
        Value::Array(items) => {
            for value in items {
                property_names(value, out);
            }
        }
        _ => {}
    }
}

/// The dotted segments of every backticked span: `rules[].match.route`
/// documents `rules`, `match` and `route`; `.card` (a continued list)
/// documents `card`.
fn documented_names(markdown: &str) -> BTreeSet<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| span.split('.'))
        .map(|segment| segment.trim_end_matches("[]").to_string())
        .collect()
}

#[test]
fn configuration_reference_documents_every_schema_property() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracesafe"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names = BTreeSet::new();
    property_names(&schema, &mut names);
    // The schema has properties at all levels: a walk that found none
    // would pass vacuously.
    for nested in ["request_headers", "remove", "custom", "regex", "route"] {
        assert!(names.contains(nested), "schema walk missed {nested}");
    }

    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let documented = documented_names(&std::fs::read_to_string(doc).unwrap());
    let missing: Vec<&String> = names.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "schema properties not in docs/configuration.md: {missing:?}"
    );
}
