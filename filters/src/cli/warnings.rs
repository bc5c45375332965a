//! `tracesafe check` warnings: configurations that load but would break a
//! working mesh when rolled out. They never change the exit status.

use crate::config::{
    self, DirectionConfig, MatchConfig, MatchDirection, PluginConfig, PolicyConfig,
};
use crate::redact::headers::{HeaderPolicy, LOGIN_HEADERS};
use std::fmt;

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
            out.extend(touches_logins(policy, &prefix));
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

/// The login headers `policy` removes, and those it rewrites (tokenizes,
/// or scans: the detectors mask `Bearer`/`Basic` credentials), as warnings.
fn touches_logins(policy: &PolicyConfig, prefix: &str) -> Vec<Warning> {
    let path = format!("{prefix}request_headers");
    let Ok(compiled) = HeaderPolicy::compile(&policy.request_headers, &path, true) else {
        return Vec::new();
    };
    let (removed, kept): (Vec<&str>, Vec<&str>) = LOGIN_HEADERS
        .into_iter()
        .filter(|h| *h != "set-cookie")
        .partition(|h| compiled.drops(h));
    let rewritten: Vec<&str> = kept
        .into_iter()
        .filter(|h| compiled.scans(h) || compiled.token_namespace(h).is_some())
        .collect();
    let mut out = Vec::new();
    if !removed.is_empty() {
        out.push(Warning {
            path: path.clone(),
            message: format!(
                "removes {} on a policy that can apply to inbound traffic: the app behind \
                 the sidecar loses its logins; remove credentials on outbound or egress \
                 routes only",
                removed.join(", ")
            ),
        });
    }
    if !rewritten.is_empty() {
        out.push(Warning {
            path,
            message: format!(
                "scans or tokenizes {} on a policy that can apply to inbound traffic: the \
                 detectors mask Bearer and Basic credentials, so the app behind the sidecar \
                 loses its logins; list the headers to scan instead of `*`, or scan them on \
                 outbound or egress routes only",
                rewritten.join(", ")
            ),
        });
    }
    out
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
    fn scanning_or_tokenizing_logins_inbound_warns() {
        for cfg in [
            serde_json::json!({"request_headers": {"scan": ["*", "authorization"]}}),
            serde_json::json!({"request_headers": {"tokenize": ["cookie"]}}),
        ] {
            let w = warnings(cfg.to_string().as_bytes());
            assert_eq!(w.len(), 1, "{cfg}");
            assert_eq!(w[0].path, "request_headers");
            assert!(w[0].message.starts_with("scans or tokenizes "), "{}", w[0]);
        }
        let w = warnings(
            br#"{"request_headers": {"scan": ["authorization", "cookie", "proxy-authorization"]}}"#,
        );
        assert!(w[0]
            .message
            .starts_with("scans or tokenizes authorization, cookie, proxy-authorization on"));
        // `*` leaves logins alone; other headers are not logins.
        for scan in [serde_json::json!(["*"]), serde_json::json!(["user-agent"])] {
            let cfg = serde_json::json!({"request_headers": {"scan": scan}});
            assert_eq!(paths(cfg), Vec::<String>::new());
        }
        let both = warnings(
            br#"{"request_headers": {"remove": ["cookie"], "scan": ["*", "authorization"]}}"#,
        );
        assert_eq!(both.len(), 2);
        assert!(both[0].message.starts_with("removes cookie on"));
        assert!(both[1]
            .message
            .starts_with("scans or tokenizes authorization on"));
        // Outbound only: no warning.
        let outbound = serde_json::json!({"direction": "outbound", "request_headers": {"scan": ["authorization"]}});
        assert_eq!(paths(outbound), Vec::<String>::new());
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
