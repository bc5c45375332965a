//! Plugin configuration: the JSON an administrator writes, parsed with serde
//! into typed structs. Unknown fields are errors so a typo fails closed
//! instead of silently disabling a redaction.
//!
//! The top level holds plugin-wide settings (`GlobalConfig`) side by side
//! with the fields of the default policy (`PolicyConfig`), so a one-policy
//! configuration needs no nesting. Named policies live under `policies`;
//! `rules` choose between them per request (see `crate::policy`), and `extends`
//! composes them (see [`extends`]).

pub mod extends;
pub mod presets;
pub mod schema;

use crate::error::{from_value, kind, ConfigError, ErrorKind};
use crate::redact::baggage::BaggageConfig;
use crate::redact::detectors::DetectorsConfig;
use crate::redact::headers::HeaderPolicyConfig;
use crate::redact::token::{KeysConfig, TenantConfig};
use crate::redact::url::UrlConfig;
use crate::span::otlp::ServiceConfig;
use crate::trace::config::TraceConfig;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The whole plugin configuration (`pluginConfig` in Istio, `configuration`
/// in Envoy).
#[derive(Debug, Clone, Default)]
pub struct PluginConfig {
    pub global: GlobalConfig,
    /// The default policy: the policy fields written at the top level, with
    /// its `extends` resolved.
    pub policy: PolicyConfig,
    /// The entries of `policies`, with their `extends` resolved.
    pub policies: BTreeMap<String, PolicyConfig>,
    /// Policy name (`default` included) → the presets it builds on, in
    /// merge order, so errors can name the preset a setting came from.
    pub presets: BTreeMap<String, Vec<&'static str>>,
}

/// Plugin-wide settings: they describe the sidecar, not a route.
// Every field must have a default: `tracesafe check` validates each
// top-level field on its own.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Ignored by the plugin; lets editors find the JSON Schema
    /// (`tracesafe schema`).
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    /// Which side of the workload this filter sits on.
    #[serde(default)]
    pub direction: DirectionConfig,
    /// Where the local and peer SPIFFE IDs come from.
    #[serde(default)]
    pub identity: crate::identity::IdentityConfig,
    /// Resource attributes of exported spans.
    #[serde(default)]
    pub service: ServiceConfig,
    /// OTLP/HTTP span export; absent means tracesafe exports no spans.
    #[serde(default)]
    pub export: Option<crate::span::export::ExportConfig>,
    /// HMAC keys for tokens: ids and the environment variables holding them.
    #[serde(default)]
    pub keys: Option<KeysConfig>,
    /// Where a request's tenant comes from, for per-tenant token keys.
    #[serde(default)]
    pub tenant: Option<TenantConfig>,
    /// Audit records for a SIEM: filter state `wasm.tracesafe.audit`, one
    /// JSON object per request, for Envoy's access log (docs/policy-tests-catalog-audit.md).
    #[serde(default)]
    pub audit: crate::span::audit::AuditConfig,
    /// Named policies, each with the same fields as the top-level (default)
    /// policy plus `extends`. Names: lowercase letters, digits, `-` and `_`.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$" }))]
    pub policies: BTreeMap<String, PolicySource>,
    /// Ordered rules choosing a policy per request; the first match wins,
    /// and the top-level policy (`default`) applies when none matches.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// Keys of [`GlobalConfig`]; every other top-level key belongs to the
/// default policy.
pub const GLOBAL_FIELDS: &[&str] = &[
    "$schema",
    "direction",
    "identity",
    "service",
    "export",
    "keys",
    "tenant",
    "audit",
    "policies",
    "rules",
];

/// The name of the policy written at the top level.
pub const DEFAULT_POLICY: &str = "default";

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
// Every field must have a default: policies are validated field by field,
// and `extends` merges them before this struct is deserialized.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Header policy applied to requests before they reach the upstream.
    #[serde(default)]
    pub request_headers: HeaderPolicyConfig,
    /// Header policy applied to responses before they reach the downstream.
    #[serde(default)]
    pub response_headers: HeaderPolicyConfig,
    /// Value detectors and their actions.
    #[serde(default)]
    pub detectors: DetectorsConfig,
    /// W3C baggage and the legacy `uberctx-*` / `ot-baggage-*` headers.
    #[serde(default)]
    pub baggage: BaggageConfig,
    /// The URL as the span record shows it (and `forward_query_remove`).
    #[serde(default)]
    pub url: UrlConfig,
    /// Trace context: propagation formats, restart, sampling, tracestate.
    #[serde(default)]
    pub trace: TraceConfig,
}

/// A policy object as written: the fields of [`PolicyConfig`] plus
/// `extends`. It stays JSON until `extends` is resolved, so merging works
/// for every field without knowing it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct PolicySource(pub Map<String, Value>);

/// The key that names the presets and policies a policy builds on.
pub const EXTENDS: &str = "extends";

impl JsonSchema for PolicySource {
    fn schema_name() -> Cow<'static, str> {
        "Policy".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = PolicyConfig::json_schema(generator);
        let mut extends = generator.subschema_for::<Vec<String>>();
        extends.insert(
            "description".into(),
            Value::from(
                "Presets (secrets, pii, pci, egress-strict, minimal) and named policies \
                 this policy builds on; later entries and the policy's own fields win.",
            ),
        );
        let props = schema
            .ensure_object()
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            props.insert(EXTENDS.into(), extends.to_value());
        }
        schema
    }
}

/// One entry of `rules`: when every condition in `match` holds, `policy`
/// applies.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A label shown by `tracesafe explain`; not used for matching.
    #[serde(default)]
    pub name: Option<String>,
    /// Conditions that must all hold. An empty `match` matches every request.
    #[serde(default, rename = "match")]
    pub conditions: MatchConfig,
    /// The policy to apply: `default` or a key of `policies`.
    pub policy: String,
}

impl RuleConfig {
    /// Keeps rule indices stable when a rule fails to parse; a configuration
    /// with errors never runs, so it is never evaluated.
    fn placeholder() -> Self {
        Self {
            name: None,
            conditions: MatchConfig::default(),
            policy: DEFAULT_POLICY.into(),
        }
    }
}

/// Rule conditions. `route`, `virtual_host` and `direction` are route-level
/// (their result is cached per route); the others are read per request.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// Envoy route name (`["xds","route_name"]`); Istio names routes after
    /// the VirtualService `http[].name`.
    #[serde(default)]
    pub route: Option<String>,
    /// Envoy virtual host name (`["xds","virtual_host_name"]`).
    #[serde(default)]
    pub virtual_host: Option<String>,
    /// Request authority without port: an exact host, or `*.suffix` for any
    /// host under `suffix`. Case-insensitive.
    #[serde(default)]
    pub authority: Option<String>,
    /// Exact path (without the query string).
    #[serde(default)]
    pub path: Option<String>,
    /// Path prefix (without the query string).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Regular expression (regex-lite syntax) searched in the path without
    /// the query string; anchor it with `^...$` to match the whole path.
    #[serde(default)]
    pub path_regex: Option<String>,
    /// HTTP method, exactly (`GET`, `POST`, ...).
    #[serde(default)]
    pub method: Option<String>,
    /// The hop's direction (see the top-level `direction`).
    #[serde(default)]
    pub direction: Option<MatchDirection>,
}

/// A direction a rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchDirection {
    Inbound,
    Outbound,
}

/// Parses the plugin configuration. Empty input means "all defaults".
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, ConfigError> {
    let (cfg, errors) = parse_all(bytes);
    match errors.into_iter().next() {
        Some(err) => Err(err),
        None => Ok(cfg),
    }
}

/// Parses the plugin configuration and reports every error it can find:
/// each top-level field, each policy and each rule is checked on its own
/// (serde stops at the first error inside one of them). Parts with errors
/// are replaced by defaults, so the result is only usable when the list is
/// empty.
pub fn parse_all(bytes: &[u8]) -> (PluginConfig, Vec<ConfigError>) {
    let mut errors = Vec::new();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (PluginConfig::default(), errors);
    }
    let top: Map<String, Value> = match serde_json::from_slice(bytes) {
        Ok(top) => top,
        Err(err) => {
            // Not JSON, or not an object: the position is the best pointer.
            errors.push(ConfigError::new("", err.to_string()));
            return (PluginConfig::default(), errors);
        }
    };
    let (mut global, default): (Map<String, Value>, Map<String, Value>) = top
        .into_iter()
        .partition(|(k, _)| GLOBAL_FIELDS.contains(&k.as_str()));
    let policies = global.remove("policies");
    let rules = global.remove("rules");
    let mut global: GlobalConfig = fields(global, "", &mut errors);
    global.policies = policy_sources(policies, &mut errors);
    global.rules = rules_config(rules, &mut errors);

    let resolved = extends::resolve(&default, &global.policies, &mut errors);
    let policy = resolved
        .default
        .map(|merged| policy_config(&default, merged, "", &mut errors))
        .unwrap_or_default();
    let presets = std::iter::once(DEFAULT_POLICY)
        .chain(global.policies.keys().map(String::as_str))
        .map(|name| {
            let used = extends::presets_used(name, &default, &global.policies);
            (name.to_string(), used)
        })
        .collect();
    let mut policies = BTreeMap::new();
    for (name, source) in &global.policies {
        let path = policy_path(name);
        let merged = resolved.named.get(name).cloned().flatten();
        let cfg = merged
            .map(|merged| policy_config(&source.0, merged, &path, &mut errors))
            .unwrap_or_default();
        policies.insert(name.clone(), cfg);
    }
    (
        PluginConfig {
            global,
            policy,
            policies,
            presets,
        },
        errors,
    )
}

/// The JSON path of a policy: `` for the default, `policies.<name>` else.
pub fn policy_path(name: &str) -> String {
    if name == DEFAULT_POLICY {
        String::new()
    } else {
        format!("policies.{name}")
    }
}

/// Deserializes a policy. The policy as written is checked first, so errors
/// in its own fields carry their exact paths; then the merged policy.
fn policy_config(
    written: &Map<String, Value>,
    merged: Map<String, Value>,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> PolicyConfig {
    let mut own = written.clone();
    own.remove(EXTENDS);
    let before = errors.len();
    let _: PolicyConfig = fields(extends::merge(Map::new(), own), path, errors);
    let cfg = if errors.len() == before {
        fields(merged, path, errors)
    } else {
        PolicyConfig::default()
    };
    if path.is_empty() {
        for err in errors.iter_mut().skip(before) {
            top_level_unknown(err);
        }
    }
    cfg
}

/// An unknown key at the top level is checked against the default policy's
/// fields; serde's "expected ..." then lists only those, so add the global
/// fields and `extends`.
fn top_level_unknown(err: &mut ConfigError) {
    let Some((field, mut expected)) = unknown_field(&err.message) else {
        return;
    };
    if err.path != field {
        return;
    }
    expected.extend(GLOBAL_FIELDS.iter().map(|s| s.to_string()));
    expected.push(EXTENDS.to_string());
    expected.sort_unstable();
    expected.dedup();
    let list: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
    err.message = format!(
        "unknown field `{field}`, expected one of {}",
        list.join(", ")
    );
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" (also "expected
/// `a`", "expected `a` or `b`", "there are no fields", and the same for
/// "unknown variant") into the unknown name and the expected names.
pub fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let expected = match rest.split_once("expected") {
        Some((_, list)) => list
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    Some((name.to_string(), expected))
}

/// Deserializes an object whose fields all have defaults. On error, each
/// field is deserialized on its own so every bad field is reported, not
/// just the first; the result is then the default.
fn fields<T: DeserializeOwned + Default>(
    map: Map<String, Value>,
    base: &str,
    errors: &mut Vec<ConfigError>,
) -> T {
    match from_value::<T>(Value::Object(map.clone()), base) {
        Ok(v) => v,
        Err(whole) => {
            let before = errors.len();
            for (key, value) in map {
                let one = Map::from_iter([(key, value)]);
                if let Err(err) = from_value::<T>(Value::Object(one), base) {
                    errors.push(err);
                }
            }
            if errors.len() == before {
                errors.push(whole);
            }
            T::default()
        }
    }
}

/// `policies`: an object of policy objects with safe names (they become
/// parts of stat names: `tracesafe.policy.<name>.requests`).
fn policy_sources(
    value: Option<Value>,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, PolicySource> {
    let Some(value) = value else {
        return BTreeMap::new();
    };
    let map = match value {
        Value::Object(map) => map,
        other => {
            errors.push(ConfigError::new(
                "policies",
                format!(
                    "invalid type: {}, expected an object of named policies",
                    kind(&other)
                ),
            ));
            return BTreeMap::new();
        }
    };
    let mut out = BTreeMap::new();
    for (name, body) in map {
        let path = format!("policies.{name}");
        if let Err(err) = check_policy_name(&name, &path) {
            errors.push(err);
            if name == DEFAULT_POLICY {
                // The name is taken by the top-level policy.
                continue;
            }
        }
        let source = match from_value::<PolicySource>(body, &path) {
            Ok(source) => source,
            Err(err) => {
                errors.push(err);
                PolicySource::default()
            }
        };
        out.insert(name, source);
    }
    out
}

/// Longest policy name: stat names stay readable.
const MAX_POLICY_NAME: usize = 64;

/// Policy names end up in Envoy stat names, so they are restricted to
/// `[a-z0-9][a-z0-9_-]*`; they may not shadow `default` or a preset.
fn check_policy_name(name: &str, path: &str) -> Result<(), ConfigError> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !starts_well || !name.chars().all(valid_char) || name.len() > MAX_POLICY_NAME {
        return Err(ConfigError::new(path, format!(
            "invalid policy name {name:?}: use 1-{MAX_POLICY_NAME} lowercase letters, digits, `-` or `_`, starting with a letter or digit"
        )).of_kind(ErrorKind::PolicyName));
    }
    if name == DEFAULT_POLICY {
        return Err(ConfigError::new(
            path,
            "`default` is the policy written at the top level; put its fields there",
        ));
    }
    if crate::config::presets::get(name).is_some() {
        return Err(ConfigError::new(path, format!(
            "`{name}` is a built-in preset; name the policy differently and use `\"extends\": [\"{name}\"]`"
        )));
    }
    Ok(())
}

/// `rules`: each rule is deserialized on its own so every bad rule is
/// reported; a bad rule is replaced by a placeholder to keep indices.
fn rules_config(value: Option<Value>, errors: &mut Vec<ConfigError>) -> Vec<RuleConfig> {
    let Some(value) = value else {
        return Vec::new();
    };
    let items = match value {
        Value::Array(items) => items,
        other => {
            errors.push(ConfigError::new(
                "rules",
                format!("invalid type: {}, expected an array of rules", kind(&other)),
            ));
            return Vec::new();
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(
            |(i, item)| match from_value::<RuleConfig>(item, &format!("rules[{i}]")) {
                Ok(rule) => rule,
                Err(err) => {
                    errors.push(err);
                    RuleConfig::placeholder()
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::config::{PropagationFormat, RequestIdMode, TraceContextOwner};
    use crate::trace::sampling::{SamplingConfig, SamplingMode};
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
    fn trace_defaults_and_fields() {
        let cfg = parse(b"{}").unwrap();
        assert_eq!(
            cfg.policy.trace.propagation,
            vec![PropagationFormat::TraceContext]
        );
        assert_eq!(cfg.policy.trace.request_id, RequestIdMode::Keep);
        assert_eq!(cfg.policy.trace.trace_context, TraceContextOwner::Tracesafe);
        let cfg = parse(
            br#"{"trace":{"propagation":["b3multi","jaeger"],"sampling":"never","request_id":"generate","trace_context":"envoy"}}"#,
        )
        .unwrap();
        assert_eq!(
            cfg.policy.trace.propagation,
            vec![PropagationFormat::B3Multi, PropagationFormat::Jaeger]
        );
        assert_eq!(
            cfg.policy.trace.sampling,
            Some(SamplingConfig::Mode(SamplingMode::Never))
        );
        let cfg = parse(br#"{"trace":{"sampling":0.25}}"#).unwrap();
        assert_eq!(cfg.policy.trace.sampling, Some(SamplingConfig::Ratio(0.25)));
    }

    #[test]
    fn bad_trace_fields_name_the_path() {
        let err = parse(br#"{"trace":{"sampling":"sometimes"}}"#).unwrap_err();
        assert_eq!(err.path, "trace.sampling");
        assert_eq!(
            err.message,
            "a sampling ratio between 0 and 1, \"always\" or \"never\""
        );
        let err = parse(br#"{"trace":{"propagation":["tracecontext","zipkin"]}}"#).unwrap_err();
        assert_eq!(err.path, "trace.propagation[1]");
        let err = parse(br#"{"trace":{"restart":true}}"#).unwrap_err();
        assert_eq!(err.path, "trace.restart");
    }

    #[test]
    fn policies_rules_and_extends() {
        let cfg = parse(
            br#"{
                "$schema": "tracesafe.schema.json",
                "extends": ["secrets"],
                "request_headers": {"remove": ["x-own"]},
                "policies": {
                    "api": {"extends": ["default"], "request_headers": {"remove": ["x-api"]}},
                    "bare": {}
                },
                "rules": [{"name": "r", "match": {"route": "api", "method": "GET"}, "policy": "api"}]
            }"#,
        )
        .unwrap();
        let own = &cfg.policy.request_headers.remove;
        assert_eq!(own.first().map(String::as_str), Some("x-own"));
        assert!(own.contains(&"authorization".to_string()));
        let api = &cfg.policies["api"].request_headers.remove;
        assert_eq!(api.first().map(String::as_str), Some("x-api"));
        assert!(api.contains(&"x-own".to_string()) && api.contains(&"cookie".to_string()));
        assert!(cfg.policies["bare"].request_headers.remove.is_empty());
        assert_eq!(cfg.global.rules.len(), 1);
        assert_eq!(
            cfg.global.rules[0].conditions.method.as_deref(),
            Some("GET")
        );
    }

    #[test]
    fn null_resets_an_inherited_field() {
        let cfg = parse(br#"{"extends": ["secrets"], "request_headers": null}"#).unwrap();
        assert!(cfg.policy.request_headers.remove.is_empty());
    }

    #[test]
    fn policy_names_are_stat_safe() {
        for (name, msg, kind) in [
            ("Bad", "invalid policy name", ErrorKind::PolicyName),
            ("a.b", "invalid policy name", ErrorKind::PolicyName),
            ("-a", "invalid policy name", ErrorKind::PolicyName),
            (
                "default",
                "`default` is the policy written at the top level",
                ErrorKind::Invalid,
            ),
            ("pii", "`pii` is a built-in preset", ErrorKind::Invalid),
        ] {
            let json = format!(r#"{{"policies": {{"{name}": {{}}}}}}"#);
            let err = parse(json.as_bytes()).unwrap_err();
            assert_eq!(err.path, format!("policies.{name}"));
            assert!(err.message.starts_with(msg), "{name}: {}", err.message);
            assert_eq!(err.kind, kind, "{name}");
        }
        let long = "a".repeat(65);
        let json = format!(r#"{{"policies": {{"{long}": {{}}}}}}"#);
        assert!(parse(json.as_bytes()).is_err());
        let ok = format!(
            r#"{{"policies": {{"{}": {{}}, "a-b_9": {{}}}}}}"#,
            "a".repeat(64)
        );
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn every_error_is_reported() {
        let (_, errors) = parse_all(
            br#"{
                "direction": "sideways",
                "request_headers": {"remove": [1]},
                "bogus": true,
                "policies": {
                    "a": {"request_headers": {"remove": "x"}, "nope": 1},
                    "b": {"extends": ["missing"]},
                    "c": 3
                },
                "rules": [{"policy": "a"}, {"match": {"paht": "/"}, "policy": "a"}, {"match": {}}]
            }"#,
        );
        let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            got,
            vec![
                "direction",
                "policies.c",
                "rules[1].match.paht",
                "rules[2]",
                "policies.b.extends[0]",
                "bogus",
                "request_headers.remove[0]",
                "policies.a.nope",
                "policies.a.request_headers.remove",
            ]
        );
        assert_eq!(
            errors[5].message,
            "unknown field `bogus`, expected one of `$schema`, `audit`, `baggage`, `detectors`, `direction`, `export`, `extends`, `identity`, `keys`, `policies`, `request_headers`, `response_headers`, `rules`, `service`, `tenant`, `trace`, `url`"
        );
        assert_eq!(errors[3].message, "missing field `policy`");
    }

    #[test]
    fn errors_in_own_fields_keep_their_paths_under_extends() {
        let err = parse(br#"{"extends": ["secrets"], "request_headers": {"remove": ["ok", 2]}}"#)
            .unwrap_err();
        assert_eq!(err.path, "request_headers.remove[1]");
    }

    #[test]
    fn unknown_field_parts() {
        assert_eq!(
            unknown_field("unknown field `x`, expected one of `a`, `b`"),
            Some(("x".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            unknown_field("unknown variant `x`, expected `a` or `b`"),
            Some(("x".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            unknown_field("unknown field `x`, there are no fields"),
            Some(("x".into(), vec![]))
        );
        assert_eq!(unknown_field("invalid type"), None);
    }

    #[test]
    fn locates_errors_without_path_tracking() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Rule {
            policy: String,
            #[serde(default)]
            tags: Vec<u8>,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Top {
            #[serde(default)]
            rules: Vec<Rule>,
        }
        let at = |v: serde_json::Value| from_value::<Top>(v, "base").unwrap_err().path;
        // A wrong type deep inside an array element whose other field is
        // required: deleting `policy` only says "missing field", so the
        // search goes into `tags`.
        assert_eq!(
            at(serde_json::json!({"rules": [{"policy": "p"}, {"policy": "p", "tags": [1, "x"]}]})),
            "base.rules[1].tags[1]"
        );
        assert_eq!(
            at(serde_json::json!({"rules": [{"policy": 7}]})),
            "base.rules[0].policy"
        );
        assert_eq!(at(serde_json::json!({"rules": [{}]})), "base.rules[0]");
        assert_eq!(at(serde_json::json!({"rulez": []})), "base.rulez");
    }

    #[test]
    fn from_value_prefixes_paths() {
        let err =
            from_value::<HeaderPolicyConfig>(serde_json::json!({"remove": [1]}), "policies.p")
                .unwrap_err();
        assert_eq!(err.path, "policies.p.remove[0]");
    }
}
