//! `extends`: policies built on presets and on other policies.
//!
//! Resolution works on the JSON objects, before they are deserialized into
//! `PolicyConfig`, so it covers every policy field, present and future,
//! without knowing any of them. The rules (also in docs/policies-and-presets.md):
//!
//! - A policy is the merge of the policies it extends, in the order listed,
//!   and then of its own fields: `extends: [a, b]` + own = a ⊕ b ⊕ own.
//! - `x ⊕ y` (y takes precedence):
//!   - objects merge key by key, recursively;
//!   - arrays are united: y's entries first, in order, then x's entries
//!     that y does not already have (a higher-precedence list comes first,
//!     and own entries keep their indices, so error paths stay exact);
//!   - any other value (string, number, boolean), or values of different
//!     types: y replaces x;
//!   - `null` in y deletes the key, which resets the field to its default.
//! - Names resolve to `default` (the top-level policy), an entry of
//!   `policies`, or a built-in preset. Unknown names and cycles are
//!   configuration errors at the `extends[i]` entry that names them.

use crate::config::presets;
use crate::config::{policy_path, PolicySource, DEFAULT_POLICY, EXTENDS};
use crate::error::join;
use crate::error::{kind, ConfigError, ErrorKind};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Object = Map<String, Value>;

/// Every policy after resolution; `None` where resolution failed (the error
/// is already reported).
#[derive(Debug, Default)]
pub struct Resolved {
    pub default: Option<Object>,
    pub named: BTreeMap<String, Option<Object>>,
}

/// Resolves `extends` for the top-level policy and every named policy.
pub fn resolve(
    default: &Object,
    named: &BTreeMap<String, PolicySource>,
    errors: &mut Vec<ConfigError>,
) -> Resolved {
    let mut resolver = Resolver {
        default,
        named,
        done: BTreeMap::new(),
        errors,
    };
    let mut stack = Vec::new();
    let default = resolver.resolve(DEFAULT_POLICY, &mut stack);
    let named = named
        .keys()
        .map(|name| (name.clone(), resolver.resolve(name, &mut stack)))
        .collect();
    Resolved { default, named }
}

/// The presets `name` builds on, directly or through the policies it
/// extends, in merge order (a later entry wins over an earlier one), each
/// once. Error messages use it to say which preset a setting came from.
/// Unknown names and cycles are skipped: resolution reports them.
pub fn presets_used(
    name: &str,
    default: &Object,
    named: &BTreeMap<String, PolicySource>,
) -> Vec<&'static str> {
    fn walk(
        name: &str,
        default: &Object,
        named: &BTreeMap<String, PolicySource>,
        seen: &mut Vec<String>,
        out: &mut Vec<&'static str>,
    ) {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_string());
        let preset = presets::names().find(|p| *p == name);
        let own: Option<Object> = match preset {
            Some(p) => presets::get(p).and_then(|text| serde_json::from_str(text).ok()),
            None if name == DEFAULT_POLICY => Some(default.clone()),
            None => named.get(name).map(|s| s.0.clone()),
        };
        let parents = own
            .as_ref()
            .and_then(|o| o.get(EXTENDS))
            .and_then(Value::as_array);
        for parent in parents.into_iter().flatten().filter_map(Value::as_str) {
            walk(parent, default, named, seen, out);
        }
        if let Some(p) = preset {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(name, default, named, &mut Vec::new(), &mut out);
    out
}

/// `x ⊕ y`: `over` merged onto `base`, `over` taking precedence.
pub fn merge(mut base: Object, over: Object) -> Object {
    for (key, value) in over {
        match value {
            Value::Null => {
                base.remove(&key);
            }
            Value::Object(over) => {
                let merged = match base.remove(&key) {
                    Some(Value::Object(inner)) => merge(inner, over),
                    _ => merge(Object::new(), over),
                };
                base.insert(key, Value::Object(merged));
            }
            Value::Array(mut over) => {
                if let Some(Value::Array(inherited)) = base.remove(&key) {
                    for item in inherited {
                        if !over.contains(&item) {
                            over.push(item);
                        }
                    }
                }
                base.insert(key, Value::Array(over));
            }
            scalar => {
                base.insert(key, scalar);
            }
        }
    }
    base
}

struct Resolver<'a> {
    default: &'a Object,
    named: &'a BTreeMap<String, PolicySource>,
    /// Memoized results, so a policy extended by many is resolved (and its
    /// errors reported) once.
    done: BTreeMap<String, Option<Object>>,
    errors: &'a mut Vec<ConfigError>,
}

impl Resolver<'_> {
    /// The object written for `name` and its JSON path (presets have none
    /// in the plugin config; they are named by their file).
    fn source(&mut self, name: &str) -> Option<(Object, String)> {
        if name == DEFAULT_POLICY {
            return Some((self.default.clone(), String::new()));
        }
        if let Some(source) = self.named.get(name) {
            return Some((source.0.clone(), policy_path(name)));
        }
        let text = presets::get(name)?;
        let path = format!("preset {name}");
        match serde_json::from_str::<Object>(text) {
            Ok(object) => Some((object, path)),
            Err(err) => {
                self.errors.push(ConfigError::new(path, err.to_string()));
                None
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        name == DEFAULT_POLICY || self.named.contains_key(name) || presets::get(name).is_some()
    }

    fn resolve(&mut self, name: &str, stack: &mut Vec<String>) -> Option<Object> {
        if let Some(done) = self.done.get(name) {
            return done.clone();
        }
        let (source, path) = self.source(name)?;
        stack.push(name.to_string());
        let result = self.build(source, &path, stack);
        stack.pop();
        self.done.insert(name.to_string(), result.clone());
        result
    }

    fn build(&mut self, mut own: Object, path: &str, stack: &mut Vec<String>) -> Option<Object> {
        let at = join(path, EXTENDS);
        let parents = match own.remove(EXTENDS) {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.errors.push(ConfigError::new(
                    at,
                    format!(
                        "invalid type: {}, expected an array of preset or policy names",
                        kind(&other)
                    ),
                ));
                return None;
            }
        };
        let mut merged = Object::new();
        let mut ok = true;
        for (i, item) in parents.iter().enumerate() {
            let item_path = format!("{at}[{i}]");
            let Some(parent) = item.as_str() else {
                self.errors.push(ConfigError::new(
                    item_path,
                    format!(
                        "invalid type: {}, expected a preset or policy name",
                        kind(item)
                    ),
                ));
                ok = false;
                continue;
            };
            if let Some(pos) = stack.iter().position(|n| n == parent) {
                let mut cycle: Vec<&str> = stack.iter().skip(pos).map(String::as_str).collect();
                cycle.push(parent);
                self.errors.push(
                    ConfigError::new(item_path, format!("`extends` cycle: {}", cycle.join(" → ")))
                        .of_kind(ErrorKind::ExtendsCycle),
                );
                ok = false;
                continue;
            }
            if !self.exists(parent) {
                self.errors
                    .push(ConfigError::new(item_path, self.unknown(parent)));
                ok = false;
                continue;
            }
            match self.resolve(parent, stack) {
                Some(resolved) => merged = merge(merged, resolved),
                None => ok = false,
            }
        }
        let merged = merge(merged, own);
        ok.then_some(merged)
    }

    fn unknown(&self, name: &str) -> String {
        let presets: Vec<&str> = presets::names().collect();
        let mut policies = vec![DEFAULT_POLICY];
        policies.extend(self.named.keys().map(String::as_str));
        format!(
            "unknown policy or preset `{name}` (presets: {}; policies: {})",
            presets.join(", "),
            policies.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn run(default: Value, named: Value) -> (Resolved, Vec<ConfigError>) {
        let named: BTreeMap<String, PolicySource> = serde_json::from_value(named).unwrap();
        let mut errors = Vec::new();
        let r = resolve(&obj(default), &named, &mut errors);
        (r, errors)
    }

    #[test]
    fn merge_rules() {
        let base = obj(json!({
            "a": {"x": 1, "y": [1, 2], "keep": true},
            "list": ["p", "q"],
            "s": "base",
            "gone": {"deep": 1},
            "t": [1]
        }));
        let over = obj(json!({
            "a": {"x": 2, "y": [3, 1]},
            "list": ["r", "p"],
            "s": "over",
            "gone": null,
            "t": "scalar replaces array",
            "new": {"n": null, "m": 1}
        }));
        assert_eq!(
            Value::Object(merge(base, over)),
            json!({
                "a": {"x": 2, "y": [3, 1, 2], "keep": true},
                "list": ["r", "p", "q"],
                "s": "over",
                "t": "scalar replaces array",
                "new": {"m": 1}
            })
        );
    }

    #[test]
    fn own_duplicates_keep_their_indices() {
        let merged = merge(obj(json!({"l": ["a"]})), obj(json!({"l": ["b", "b", "a"]})));
        assert_eq!(Value::Object(merged), json!({"l": ["b", "b", "a"]}));
    }

    #[test]
    fn later_extends_and_own_fields_win() {
        let (r, errors) = run(
            json!({"extends": ["one", "two"], "s": "own", "l": ["own"]}),
            json!({
                "one": {"s": "one", "t": "one", "u": "one", "l": ["one"]},
                "two": {"extends": ["secrets"], "t": "two", "l": ["two"]}
            }),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let d = r.default.unwrap();
        assert_eq!(d["s"], "own");
        assert_eq!(d["t"], "two");
        assert_eq!(d["u"], "one");
        assert_eq!(d["l"], json!(["own", "two", "one"]));
        assert!(d["request_headers"]["remove"]
            .as_array()
            .unwrap()
            .contains(&json!("authorization")));
        assert!(!d.contains_key("extends"));
        assert_eq!(r.named["one"].as_ref().unwrap()["s"], "one");
    }

    #[test]
    fn presets_used_follow_policies_in_merge_order() {
        let default = obj(json!({"extends": ["pci"]}));
        let named: BTreeMap<String, PolicySource> = serde_json::from_value(json!({
            "a": {"extends": ["default", "pii", "b"]},
            "b": {"extends": ["a", "secrets", "pci"]},
            "c": {"extends": ["nope"]}
        }))
        .unwrap();
        assert_eq!(
            presets_used("a", &default, &named),
            vec!["pci", "pii", "secrets"]
        );
        assert_eq!(presets_used("default", &default, &named), vec!["pci"]);
        assert!(presets_used("c", &default, &named).is_empty());
    }

    #[test]
    fn named_policies_may_extend_default() {
        let (r, errors) = run(
            json!({"k": 1}),
            json!({"child": {"extends": ["default"], "j": 2}}),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(r.named["child"].clone().unwrap()),
            json!({"k": 1, "j": 2})
        );
    }

    #[test]
    fn unknown_names_are_errors_at_the_entry() {
        let (r, errors) = run(json!({}), json!({"p": {"extends": ["secrets", "nope"]}}));
        assert!(r.named["p"].is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "policies.p.extends[1]");
        assert_eq!(
            errors[0].message,
            "unknown policy or preset `nope` (presets: egress-strict, minimal, pci, pii, secrets; policies: default, p)"
        );
    }

    #[test]
    fn cycles_are_reported_once() {
        let (r, errors) = run(
            json!({"extends": ["a"]}),
            json!({"a": {"extends": ["b"]}, "b": {"extends": ["a"]}, "c": {"extends": ["c"]}}),
        );
        assert!(r.default.is_none() && r.named["a"].is_none() && r.named["b"].is_none());
        let got: Vec<(String, String)> = errors.into_iter().map(|e| (e.path, e.message)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "policies.b.extends[0]".to_string(),
                    "`extends` cycle: a → b → a".to_string()
                ),
                (
                    "policies.c.extends[0]".to_string(),
                    "`extends` cycle: c → c".to_string()
                ),
            ]
        );
    }

    #[test]
    fn extends_must_be_an_array_of_names() {
        let (_, errors) = run(
            json!({"extends": "secrets"}),
            json!({"p": {"extends": [1]}}),
        );
        assert_eq!(errors[0].path, "extends");
        assert_eq!(
            errors[0].message,
            "invalid type: string, expected an array of preset or policy names"
        );
        assert_eq!(errors[1].path, "policies.p.extends[0]");
    }
}
