//! The configuration reference (`docs/configuration.md`) documents every
//! property of the schema the CLI prints, so a new field cannot ship
//! undocumented.
#![allow(clippy::unwrap_used)] // test code

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tracesafe_filters::Metric;

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

/// The counter names a metrics-table row documents: the backticked names
/// of its first cell, where `.suffix` continues the first name's prefix
/// (`identity_source.peer_certificate`, `.xfcc`).
fn row_names(line: &str) -> Vec<String> {
    let cell = line.split('|').nth(1).unwrap_or_default();
    let items: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
    let prefix = items
        .first()
        .and_then(|first| first.rsplit_once('.'))
        .map(|(p, _)| p)
        .unwrap_or_default();
    items
        .iter()
        .map(|i| match i.strip_prefix('.') {
            Some(rest) => format!("{prefix}.{rest}"),
            None => i.to_string(),
        })
        .collect()
}

/// Every counter the plugin defines has a row in the metrics table, and
/// every detector kind is listed in the `detector_hits.<kind>` row.
#[test]
fn configuration_reference_documents_every_metric() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let doc = std::fs::read_to_string(doc).unwrap();
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    let names: BTreeSet<String> = rows.iter().flat_map(|l| row_names(l)).collect();
    let hits = rows
        .iter()
        .find(|l| l.starts_with("| `detector_hits.<kind>` |"))
        .unwrap();
    assert!(names.contains("identity_source.xfcc"), "{names:?}");
    let missing: Vec<&str> = Metric::ALL
        .iter()
        .map(|m| m.name())
        .filter(|name| match name.strip_prefix("detector_hits.") {
            Some(kind) => !hits.contains(&format!("`{kind}`")),
            None => !names.contains(*name),
        })
        .collect();
    assert!(
        missing.is_empty(),
        "metrics not in docs/configuration.md: {missing:?}"
    );
}
