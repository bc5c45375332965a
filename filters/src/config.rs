//! Plugin configuration: the JSON an administrator writes, parsed with serde
//! into typed structs. Unknown fields are errors so a typo fails closed
//! instead of silently disabling a redaction.

use serde::Deserialize;
use std::fmt;

/// The whole plugin configuration (`pluginConfig` in Istio, `configuration`
/// in Envoy).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Header policy applied to requests before they reach the upstream.
    #[serde(default)]
    pub request_headers: HeaderPolicyConfig,
}

/// What to do with headers in one direction.
#[derive(Debug, Clone, Default, Deserialize)]
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
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
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
        assert!(cfg.request_headers.remove.is_empty());
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
    fn unknown_field_is_an_error() {
        let err = parse(br#"{"request_headers":{"remvoe":[]}}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.remvoe");
        assert!(
            err.message.starts_with("unknown field `remvoe`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = parse(br#"{"request_headers": "#).unwrap_err();
        assert!(err.message.contains("EOF"), "{}", err.message);
    }
}
