//! The JSON Schema of the plugin configuration (`tracesafe schema`), built
//! from the same serde structs the plugin parses, so it cannot drift.

use crate::config::{GlobalConfig, PolicySource};
use schemars::JsonSchema;
use serde_json::Value;

/// The top level: global fields and the default policy's fields side by
/// side (see `config/mod.rs`). Only used to derive the schema.
#[derive(JsonSchema)]
#[schemars(
    title = "tracesafe plugin configuration",
    description = "Plugin-wide fields, the default policy's fields, named `policies` and `rules`.",
    deny_unknown_fields
)]
#[allow(dead_code)] // never constructed: only its schema is used
struct TopLevel {
    #[schemars(flatten)]
    global: GlobalConfig,
    #[schemars(flatten)]
    policy: PolicySource,
}

/// The schema as JSON (draft 2020-12).
pub fn schema() -> Value {
    schemars::schema_for!(TopLevel).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    /// Guards for everyone adding fields: a global field must be listed in
    /// `GLOBAL_FIELDS`, and global and policy fields must not share names.
    #[test]
    fn top_level_is_global_plus_policy_fields() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        let global = schemars::schema_for!(GlobalConfig).to_value();
        let global_keys = keys(&global["properties"]);
        let mut listed: Vec<String> = crate::config::GLOBAL_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        listed.sort();
        assert_eq!(
            global_keys, listed,
            "GLOBAL_FIELDS must list GlobalConfig's fields"
        );
        let policy = schemars::schema_for!(crate::config::PolicyConfig).to_value();
        let policy_keys = keys(&policy["properties"]);
        assert!(policy_keys.iter().all(|k| !global_keys.contains(k)));
        let mut all = global_keys;
        all.extend(policy_keys);
        all.push(crate::config::EXTENDS.into());
        all.sort();
        assert_eq!(keys(&s["properties"]), all);
        assert_eq!(
            s["properties"]["policies"]["additionalProperties"]["$ref"],
            "#/$defs/Policy"
        );
        assert_eq!(
            s["properties"]["policies"]["propertyNames"]["pattern"],
            "^[a-z0-9][a-z0-9_-]{0,63}$"
        );
    }
}
