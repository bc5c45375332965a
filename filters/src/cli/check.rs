//! `tracesafe check`: every configuration error, each with its JSON path and
//! a hint. The errors come from the same parser and compiler the plugin
//! runs (`Engine::from_json_all`); hints come from the error itself and the
//! field's description in the JSON Schema.

use crate::config::schema::schema;
use crate::config::{presets, unknown_field};
use crate::engine::Engine;
use crate::error::{ConfigError, ErrorKind};
use serde_json::Value;
use std::fmt;

/// One error as `tracesafe check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            "error".to_string()
        } else {
            format!("error at {}", self.path)
        };
        write!(f, "{at}: {}\n  hint: {}", self.message, self.hint)
    }
}

/// Key variables for offline checks: the real value when the variable is
/// set (so a short or malformed key is still reported), otherwise a
/// placeholder key, so a CI job without the secrets can validate the rest.
pub fn env_or_placeholder(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| Some("cGxhY2Vob2xkZXIta2V5LWZvci1vZmZsaW5lLWNoZWNrcw==".to_string()))
}

/// The key variables named in `keys.env` that this process does not have,
/// i.e. those [`env_or_placeholder`] stands in for: tools say so, since
/// tokens minted with the placeholder differ from the plugin's.
pub fn placeholder_vars(bytes: &[u8]) -> Vec<String> {
    let Ok(cfg) = crate::config::parse(bytes) else {
        return Vec::new();
    };
    cfg.global
        .keys
        .map(|k| k.env.into_values())
        .into_iter()
        .flatten()
        .filter(|var| std::env::var(var).is_err())
        .collect()
}

/// Validates a plugin configuration: the compiled engine, or every error.
/// `env` resolves the key variables named in `keys.env`.
pub fn check(
    bytes: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Engine, Vec<Diagnostic>> {
    Engine::from_json_all(bytes, env).map_err(|errors| {
        let schema = schema();
        errors
            .into_iter()
            .map(|err| diagnose(err, &schema))
            .collect()
    })
}

fn diagnose(err: ConfigError, schema: &Value) -> Diagnostic {
    let hint = hint(&err, schema);
    Diagnostic {
        path: err.path,
        message: err.message,
        hint,
    }
}

fn hint(err: &ConfigError, schema: &Value) -> String {
    let mut parts = Vec::new();
    let mut field = err.path.clone();
    if let Some((name, expected)) = unknown_field(&err.message) {
        if expected.is_empty() {
            parts.push("this object takes no fields".to_string());
        } else if let Some(best) = closest(&name, &expected) {
            parts.push(format!("did you mean `{best}`?"));
            if err.path.ends_with(&name) {
                let parent = err.path.len().saturating_sub(name.len());
                field = format!("{}{best}", err.path.get(..parent).unwrap_or(""));
            }
        } else {
            parts.push(format!("expected one of: {}", expected.join(", ")));
        }
    } else if let Some(missing) = err.message.strip_prefix("missing field `") {
        let name = missing.split('`').next().unwrap_or(missing);
        parts.push(format!("add `{name}`"));
        field = crate::error::join(&err.path, name);
    } else if err.kind == ErrorKind::PolicyName {
        parts.push(
            "policy names become Envoy stat names (`tracesafe.policy.<name>.requests`)".into(),
        );
    } else if err.kind == ErrorKind::ExtendsCycle {
        parts.push("a policy cannot extend itself, directly or through others".into());
    } else if err.path.contains(".extends[") || err.path.starts_with("extends[") {
        let presets: Vec<&str> = presets::names().collect();
        parts.push(format!(
            "`extends` names `default`, an entry of `policies` or a preset: {}",
            presets.join(", ")
        ));
    }
    if let Some(description) = describe(schema, &field) {
        let shown = strip_indices(&field);
        parts.push(format!("`{shown}`: {description}"));
    }
    if parts.is_empty() {
        parts.push("see `tracesafe schema` and docs/configuration.md".into());
    }
    parts.join("; ")
}

/// `rules[2].match.path` → `rules[].match.path`, the field rather than the
/// entry.
fn strip_indices(path: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out.trim_end_matches("[]").to_string()
}

/// The schema description of the field at `path`, on one line.
fn describe(schema: &Value, path: &str) -> Option<String> {
    let mut node = schema;
    let mut description = None;
    for segment in segments(path) {
        node = resolve(schema, node);
        node = match segment {
            Segment::Index => node.get("items")?,
            Segment::Key(key) => match node.get("properties").and_then(|p| p.get(key)) {
                Some(field) => field,
                None => node.get("additionalProperties").filter(|a| a.is_object())?,
            },
        };
        let own = node
            .get("description")
            .or_else(|| resolve(schema, node).get("description"))
            .and_then(Value::as_str);
        // An array entry without its own description is described by the
        // array.
        if own.is_some() || matches!(segment, Segment::Key(_)) {
            description = own;
        }
    }
    description.map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Follows a local `$ref` (`#/$defs/Name`).
fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| schema.get("$defs")?.get(name))
        .unwrap_or(node)
}

enum Segment<'a> {
    Key(&'a str),
    Index,
}

/// `a.b[3].c` → `a`, `b`, `[]`, `c`.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            out.push(Segment::Key(key));
        }
        out.extend(pieces.map(|_| Segment::Index));
    }
    out
}

/// The expected name closest to a misspelled one, if close enough to be a
/// typo.
fn closest<'a>(name: &str, expected: &'a [String]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (edit_distance(name, e), e))
        .filter(|(d, e)| *d <= (e.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e.as_str())
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev
                .get(j)
                .map_or(usize::MAX, |p| p + usize::from(ca != *cb));
            let delete = prev.get(j + 1).map_or(usize::MAX, |p| p + 1);
            let insert = row.get(j).map_or(usize::MAX, |p| p + 1);
            row.push(substitute.min(delete).min(insert));
        }
        prev = row;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn errors(json: &str) -> Vec<Diagnostic> {
        check(json.as_bytes(), &env_or_placeholder).err().unwrap()
    }

    #[test]
    fn typo_gets_a_suggestion_and_the_right_fields_description() {
        let d = errors(r#"{"request_headers": {"remvoe": []}, "polices": {}}"#);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].path, "polices");
        assert!(
            d[0].hint
                .starts_with("did you mean `policies`?; `policies`: Named policies"),
            "{}",
            d[0].hint
        );
        assert_eq!(d[1].path, "request_headers.remvoe");
        assert_eq!(
            d[1].hint,
            "did you mean `remove`?; `request_headers.remove`: Header names to remove, matched case-insensitively."
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_describe_the_field() {
        let d =
            errors(r#"{"policies": {"p": {"request_headers": {"remove": [3]}}}, "rules": [{}]}"#);
        assert_eq!(d[0].path, "rules[0]");
        assert_eq!(
            d[0].hint,
            "add `policy`; `rules[].policy`: The policy to apply: `default` or a key of `policies`."
        );
        assert_eq!(d[1].path, "policies.p.request_headers.remove[0]");
        assert_eq!(
            d[1].hint,
            "`policies.p.request_headers.remove`: Header names to remove, matched case-insensitively."
        );
        assert_eq!(
            d[1].to_string(),
            format!(
                "error at policies.p.request_headers.remove[0]: invalid type: integer `3`, expected a string\n  hint: {}",
                d[1].hint
            )
        );
    }

    #[test]
    fn every_error_has_a_hint() {
        for cfg in [
            "[",
            r#"{"extends": ["a"], "policies": {"a": {"extends": ["default"]}}}"#,
            r#"{"extends": ["nope"]}"#,
            r#"{"rules": [{"match": {"path_regex": "("}, "policy": "default"}]}"#,
            r#"{"direction": "up"}"#,
        ] {
            for d in errors(cfg) {
                assert!(!d.hint.is_empty(), "{cfg}: {d}");
            }
        }
        let d = errors(r#"{"direction": "inbund"}"#);
        assert!(
            d[0].hint.starts_with("did you mean `inbound`?"),
            "{}",
            d[0].hint
        );
    }

    #[test]
    fn hints_follow_the_error_kind() {
        let d = errors(r#"{"policies": {"Bad.Name": {}}}"#);
        assert_eq!(d[0].path, "policies.Bad.Name");
        assert!(
            d[0].hint.starts_with(
                "policy names become Envoy stat names (`tracesafe.policy.<name>.requests`)"
            ),
            "{}",
            d[0].hint
        );
        let d = errors(r#"{"extends": ["a"], "policies": {"a": {"extends": ["default"]}}}"#);
        assert!(
            d[0].hint
                .starts_with("a policy cannot extend itself, directly or through others"),
            "{}",
            d[0].hint
        );
        let d = errors(r#"{"extends": ["nope"]}"#);
        assert!(
            d[0].hint.starts_with(
                "`extends` names `default`, an entry of `policies` or a preset: egress-strict, minimal, pci, pii, secrets"
            ),
            "{}",
            d[0].hint
        );
    }

    #[test]
    fn valid_config_compiles() {
        assert!(check(
            br#"{"policies": {"a": {"extends": ["secrets"]}}}"#,
            &env_or_placeholder
        )
        .is_ok());
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("remvoe", "remove"), 2);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(
            closest("polices", &["policies".into(), "rules".into()]),
            Some("policies")
        );
        assert_eq!(closest("zzz", &["policies".into()]), None);
    }
}
