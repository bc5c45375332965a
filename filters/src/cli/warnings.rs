//! `tracesafe check` warnings: configurations that load but would break a
//! working mesh when rolled out. They never change the exit status.

use crate::config::{
    self, DirectionConfig, MatchConfig, MatchDirection, PluginConfig, PolicyConfig,
};
use crate::redact::headers::HeaderPolicy;
use std::fmt;

/// Request headers an app behind an inbound sidecar logs in with.
const LOGIN_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// One warning as `tracesafe check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning at {}: {}", self.path, self.message)
    }
}

/// Every warning for a configuration; none when it does not parse (the
/// errors say more then).
pub fn warnings(bytes: &[u8]) -> Vec<Warning> {
    let Ok(cfg) = config::parse(bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let policies = std::iter::once((config::DEFAULT_POLICY, &cfg.policy, String::new())).chain(
        cfg.policies
            .iter()
            .map(|(name, p)| (name.as_str(), p, format!("policies.{name}."))),
    );
    for (name, policy, prefix) in policies {
        if can_apply_inbound(&cfg, name) {
            out.extend(strips_logins(policy, &prefix));
        }
    }
    for (i, rule) in cfg.global.rules.iter().enumerate() {
        if rule.conditions.route.is_some() && sees_inbound_only(&cfg, &rule.conditions) {
            out.push(Warning {
                path: format!("rules[{i}].match.route"),
                message: "Istio names inbound routes `default`; match `path_prefix` or \
                          `authority` instead"
                    .into(),
            });
        }
    }
    out
}

/// The login headers `policy` removes from requests, as one warning.
fn strips_logins(policy: &PolicyConfig, prefix: &str) -> Option<Warning> {
    let path = format!("{prefix}request_headers");
    let compiled = HeaderPolicy::compile(&policy.request_headers, &path, true).ok()?;
    let removed: Vec<&str> = LOGIN_HEADERS
        .into_iter()
        .filter(|h| compiled.drops(h))
        .collect();
    if removed.is_empty() {
        return None;
    }
    Some(Warning {
        path,
        message: format!(
            "removes {} on a policy that can apply to inbound traffic: the app behind the \
             sidecar loses its logins; remove credentials on outbound or egress routes only",
            removed.join(", ")
        ),
    })
}

/// Whether policy `name` can run on an inbound hop: the plugin is not
/// outbound-only, and the default policy is not shadowed for inbound by a
/// catch-all inbound rule, or a named policy has a rule that allows inbound.
fn can_apply_inbound(cfg: &PluginConfig, name: &str) -> bool {
    if cfg.global.direction == DirectionConfig::Outbound {
        return false;
    }
    if name == config::DEFAULT_POLICY {
        return !cfg
            .global
            .rules
            .iter()
            .any(|r| r.policy != name && catches_all_inbound(&r.conditions));
    }
    cfg.global
        .rules
        .iter()
        .any(|r| r.policy == name && r.conditions.direction != Some(MatchDirection::Outbound))
}

/// A rule whose only condition (if any) is `direction: inbound`.
fn catches_all_inbound(m: &MatchConfig) -> bool {
    m.route.is_none()
        && m.virtual_host.is_none()
        && m.authority.is_none()
        && m.path.is_none()
        && m.path_prefix.is_none()
        && m.path_regex.is_none()
        && m.method.is_none()
        && m.direction != Some(MatchDirection::Outbound)
}

/// Whether a rule only ever sees inbound hops.
fn sees_inbound_only(cfg: &PluginConfig, m: &MatchConfig) -> bool {
    m.direction == Some(MatchDirection::Inbound) || cfg.global.direction == DirectionConfig::Inbound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(json: serde_json::Value) -> Vec<String> {
        warnings(json.to_string().as_bytes())
            .into_iter()
            .map(|w| w.path)
            .collect()
    }

    #[test]
    fn empty_config_has_no_warning() {
        assert_eq!(paths(serde_json::json!({})), Vec::<String>::new());
    }

    #[test]
    fn credential_removal_that_can_reach_inbound_warns() {
        for cfg in [
            serde_json::json!({"request_headers": {"defaults": "credentials"}}),
            serde_json::json!({"extends": ["secrets"]}),
            serde_json::json!({"request_headers": {"remove": ["Cookie"]}}),
            serde_json::json!({"request_headers": {"allow_only": ["accept"]}}),
            serde_json::json!({"request_headers": {"remove_regex": ["^auth"]}}),
        ] {
            assert_eq!(paths(cfg.clone()), ["request_headers"], "{cfg}");
        }
        let named = serde_json::json!({
            "policies": {"strict": {"extends": ["secrets"]}},
            "rules": [{"match": {"path_prefix": "/admin"}, "policy": "strict"}]
        });
        assert_eq!(paths(named), ["policies.strict.request_headers"]);
    }

    #[test]
    fn outbound_only_removal_does_not_warn() {
        for cfg in [
            serde_json::json!({"direction": "outbound", "extends": ["secrets"]}),
            serde_json::json!({
                "policies": {"egress": {"extends": ["egress-strict"]}},
                "rules": [{"match": {"direction": "outbound", "authority": "api.partner.com"}, "policy": "egress"}]
            }),
            // Never used by a rule: cannot apply.
            serde_json::json!({"policies": {"unused": {"extends": ["secrets"]}}}),
        ] {
            assert_eq!(paths(cfg.clone()), Vec::<String>::new(), "{cfg}");
        }
        // The default policy never sees inbound: a catch-all inbound rule
        // picks another policy first.
        let shadowed = serde_json::json!({
            "extends": ["secrets"],
            "policies": {"in": {}},
            "rules": [{"match": {"direction": "inbound"}, "policy": "in"}]
        });
        assert_eq!(paths(shadowed), Vec::<String>::new());
    }

    #[test]
    fn inbound_route_match_warns() {
        let cfg = serde_json::json!({
            "policies": {"p": {}},
            "rules": [
                {"match": {"direction": "inbound", "route": "payments"}, "policy": "p"},
                {"match": {"direction": "outbound", "route": "payments"}, "policy": "p"},
                {"match": {"route": "payments"}, "policy": "p"}
            ]
        });
        assert_eq!(paths(cfg), ["rules[0].match.route"]);
        let inbound = serde_json::json!({"direction": "inbound", "rules": [{"match": {"route": "r"}, "policy": "default"}]});
        assert_eq!(paths(inbound), ["rules[0].match.route"]);
        let w = &warnings(
            br#"{"direction":"inbound","rules":[{"match":{"route":"r"},"policy":"default"}]}"#,
        )[0];
        assert_eq!(
            w.to_string(),
            "warning at rules[0].match.route: Istio names inbound routes `default`; match `path_prefix` or `authority` instead"
        );
    }
}
