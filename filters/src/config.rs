//! Plugin configuration: the JSON an administrator writes, parsed with serde
//! into typed structs. Unknown fields are errors so a typo fails closed
//! instead of silently disabling a redaction.
//!
//! The top level holds plugin-wide settings (`GlobalConfig`) side by side
//! with the fields of the default policy (`PolicyConfig`), so a one-policy
//! configuration needs no nesting.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// The whole plugin configuration (`pluginConfig` in Istio, `configuration`
/// in Envoy).
#[derive(Debug, Clone, Default)]
pub struct PluginConfig {
    pub global: GlobalConfig,
    /// The policy written at the top level.
    pub policy: PolicyConfig,
}

/// Plugin-wide settings: they describe the sidecar, not a route.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Which side of the workload this filter sits on.
    #[serde(default)]
    pub direction: DirectionConfig,
}

/// Keys of [`GlobalConfig`]; every other top-level key belongs to the policy.
const GLOBAL_FIELDS: &[&str] = &["direction"];

/// `direction`: fixed, or `auto` to read Envoy's `listener_direction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionConfig {
    Inbound,
    Outbound,
    #[default]
    Auto,
}

/// Everything that can differ per route: trace, header, baggage, URL, token
/// and identity settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Header policy applied to requests before they reach the upstream.
    #[serde(default)]
    pub request_headers: HeaderPolicyConfig,
}

/// What to do with headers in one direction.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderPolicyConfig {
    /// Header names to remove, matched case-insensitively.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// A configuration problem, located by its JSON path so the administrator
/// can find the field (`request_headers.remove[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "config error: {}", self.message)
        } else {
            write!(f, "config error at {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Parses the plugin configuration. Empty input means "all defaults".
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(PluginConfig::default());
    }
    let top: Map<String, Value> = typed(&mut serde_json::Deserializer::from_slice(bytes), "")?;
    let (global, policy): (Map<String, Value>, Map<String, Value>) = top
        .into_iter()
        .partition(|(k, _)| GLOBAL_FIELDS.contains(&k.as_str()));
    Ok(PluginConfig {
        global: from_value(Value::Object(global), "")?,
        policy: from_value(Value::Object(policy), "")?,
    })
}

/// Deserializes a sub-tree, prefixing error paths with `base`.
pub fn from_value<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, ConfigError> {
    typed(value, base)
}

fn typed<'de, T, D>(de: D, base: &str) -> Result<T, ConfigError>
where
    T: DeserializeOwned,
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(de).map_err(|err| {
        let inner = err.path().to_string();
        let path = match (base, inner.as_str()) {
            ("", p) => p.to_string(),
            (b, ".") => b.to_string(),
            (b, p) if p.starts_with('[') => format!("{b}{p}"),
            (b, p) => format!("{b}.{p}"),
        };
        ConfigError::new(path, serde_message(err.inner()))
    })
}

/// serde_json appends "at line L column C"; the JSON path already says where,
/// so keep just the problem ("invalid type: integer `3`, expected a string").
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) if err.line() > 0 => text.get(..cut).unwrap_or(&text).to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn empty_config_is_default() {
        let cfg = parse(b"  ").unwrap();
        assert!(cfg.policy.request_headers.remove.is_empty());
        assert_eq!(cfg.global.direction, DirectionConfig::Auto);
    }

    #[test]
    fn global_and_policy_fields_share_the_top_level() {
        let cfg = parse(br#"{"direction":"inbound","request_headers":{"remove":["a"]}}"#).unwrap();
        assert_eq!(cfg.global.direction, DirectionConfig::Inbound);
        assert_eq!(cfg.policy.request_headers.remove, vec!["a".to_string()]);
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = parse(br#"{"request_headers":{"remove":["a","b",3]}}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.remove[2]");
        assert_eq!(err.message, "invalid type: integer `3`, expected a string");
        assert_eq!(
            err.to_string(),
            "config error at request_headers.remove[2]: invalid type: integer `3`, expected a string"
        );
    }

    #[test]
    fn bad_enum_names_the_path() {
        let err = parse(br#"{"direction":"sideways"}"#).unwrap_err();
        assert_eq!(err.path, "direction");
        assert!(
            err.message.contains("unknown variant `sideways`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_field_is_an_error() {
        let err = parse(br#"{"request_headers":{"remvoe":[]}}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.remvoe");
        assert!(
            err.message.starts_with("unknown field `remvoe`"),
            "{}",
            err.message
        );
        let err = parse(br#"{"request_header":{}}"#).unwrap_err();
        assert_eq!(err.path, "request_header");
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = parse(br#"{"request_headers": "#).unwrap_err();
        assert!(err.message.contains("EOF"), "{}", err.message);
        let err = parse(br#"[1]"#).unwrap_err();
        assert!(err.message.contains("expected a map"), "{}", err.message);
    }

    #[test]
    fn from_value_prefixes_paths() {
        let err =
            from_value::<HeaderPolicyConfig>(serde_json::json!({"remove": [1]}), "policies.p")
                .unwrap_err();
        assert_eq!(err.path, "policies.p.remove[0]");
    }
}
