//! `tracesafe catalog`: the data catalog of a configuration. For every
//! policy (and the rules that select it) it lists what happens to each kind
//! of data: headers, baggage, the URL, detector findings, and what the span
//! record carries; and which token namespaces several carriers share, i.e.
//! where tokens can be joined. It reads the configuration after `extends`
//! (the parser the plugin uses), so presets show up resolved. One model,
//! rendered as Markdown for people and JSON for tools.

use crate::config::{MatchDirection, PluginConfig, PolicyConfig, RuleConfig, DEFAULT_POLICY};
use crate::redact::baggage::BaggageConfig;
use crate::redact::detectors::{builtin_action, DetectorAction, DetectorsConfig, BUILT_IN};
use crate::redact::headers::{
    HeaderDefaults, HeaderPolicyConfig, CREDENTIAL_HEADERS, EXTERNAL_HEADERS, EXTERNAL_PREFIXES,
    LOGIN_HEADERS,
};
use crate::redact::url::{AutoIds, PlaceholderAction, QueryAction, UrlConfig};
use crate::trace::config::TraceContextOwner;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The catalog of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub policies: Vec<PolicyEntry>,
    /// Token namespace → the carriers minting tokens in it (`policy:
    /// carrier`). Equal values give equal tokens in one namespace (under
    /// one key and tenant), so these are the places tokens can be joined.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// Whether tokens differ per tenant, and where the tenant is read.
    pub tenant: Option<String>,
}

/// One policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyEntry {
    pub name: String,
    pub selected_by: Vec<String>,
    pub request_headers: Vec<Row>,
    pub response_headers: Vec<Row>,
    pub baggage: Vec<Row>,
    pub url: Vec<Row>,
    pub detectors: Vec<Row>,
    pub span: Vec<Row>,
}

/// One kind of data and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// A header name, `prefix*`, `/regex/`, baggage key, URL part,
    /// detector or span attribute; `*` is everything else.
    pub item: String,
    /// `remove`, `keep`, `tokenize`, `scan`, `mask`, `redact`, `drop`, ...
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

fn row(item: impl Into<String>, action: &str, note: &str) -> Row {
    Row {
        item: item.into(),
        action: action.into(),
        namespace: None,
        note: note.into(),
    }
}

fn token_row(item: impl Into<String>, namespace: String, note: &str) -> Row {
    Row {
        namespace: Some(namespace),
        ..row(item, "tokenize", note)
    }
}

/// Builds the catalog of a parsed (and valid) configuration.
pub fn catalog(cfg: &PluginConfig) -> Catalog {
    let named = cfg.policies.iter().map(|(n, p)| (n.as_str(), p));
    let policies: Vec<PolicyEntry> = std::iter::once((DEFAULT_POLICY, &cfg.policy))
        .chain(named)
        .map(|(name, p)| policy(cfg, name, p))
        .collect();
    let mut namespaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &policies {
        let sections = [
            ("request header", &p.request_headers),
            ("response header", &p.response_headers),
            ("baggage", &p.baggage),
            ("url", &p.url),
            ("detector", &p.detectors),
        ];
        for (what, rows) in sections {
            for r in rows {
                if let Some(ns) = &r.namespace {
                    let carriers = namespaces.entry(ns.clone()).or_default();
                    carriers.push(format!("{}: {what} {}", p.name, r.item));
                }
            }
        }
    }
    let tenant = cfg.global.tenant.as_ref().map(|t| match t {
        crate::redact::token::TenantConfig::Header(h) => format!("request header {h}"),
        crate::redact::token::TenantConfig::Baggage(k) => format!("baggage key {k}"),
    });
    Catalog {
        policies,
        namespaces,
        tenant,
    }
}

fn policy(cfg: &PluginConfig, name: &str, p: &PolicyConfig) -> PolicyEntry {
    let mut request_headers = identity_rows(cfg);
    request_headers.extend(header_rows(&p.request_headers, true));
    PolicyEntry {
        name: name.to_string(),
        selected_by: selected_by(cfg, name),
        request_headers,
        response_headers: header_rows(&p.response_headers, false),
        baggage: baggage_rows(&p.baggage),
        url: url_rows(&p.url),
        detectors: detector_rows(&p.detectors),
        span: span_rows(cfg, p),
    }
}

fn selected_by(cfg: &PluginConfig, name: &str) -> Vec<String> {
    let mut out = vec![format!(
        "routes whose metadata `filter_metadata.tracesafe.policy` is `{name}`"
    )];
    for (i, rule) in cfg.global.rules.iter().enumerate() {
        if rule.policy == name {
            let label = rule
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" {n:?}"));
            out.push(format!("rules[{i}]{label}: {}", conditions(rule)));
        }
    }
    if name == DEFAULT_POLICY {
        out.push("requests no rule matches".into());
    }
    out
}

fn conditions(rule: &RuleConfig) -> String {
    let m = &rule.conditions;
    let direction = m.direction.map(|d| match d {
        MatchDirection::Inbound => "inbound".to_string(),
        MatchDirection::Outbound => "outbound".to_string(),
    });
    let all = [
        ("route", m.route.clone()),
        ("virtual_host", m.virtual_host.clone()),
        ("authority", m.authority.clone()),
        ("path", m.path.clone()),
        ("path_prefix", m.path_prefix.clone()),
        ("path_regex", m.path_regex.clone()),
        ("method", m.method.clone()),
        ("direction", direction),
    ];
    let parts: Vec<String> = all
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} `{v}`")))
        .collect();
    if parts.is_empty() {
        "every request".into()
    } else {
        parts.join(", ")
    }
}

/// Identity headers: global, so the same in every policy.
fn identity_rows(cfg: &PluginConfig) -> Vec<Row> {
    let id = &cfg.global.identity;
    let set = if id.forward_peer_header {
        "; set to the verified peer's SPIFFE ID"
    } else {
        ""
    };
    let mut out = vec![row(
        crate::identity::PEER_HEADER,
        "remove",
        &format!("forged identity: always stripped (counted as spoofing){set}"),
    )];
    let untrusted = "identity header: stripped unless the downstream is mTLS";
    let xfcc = if id.trust_xfcc {
        row(
            "x-forwarded-client-cert",
            "keep",
            "trusted (`identity.trust_xfcc`)",
        )
    } else {
        row("x-forwarded-client-cert", "remove", untrusted)
    };
    out.push(xfcc);
    out.extend(id.strip_headers.iter().map(|h| row(h, "remove", untrusted)));
    out
}

fn header_rows(h: &HeaderPolicyConfig, request: bool) -> Vec<Row> {
    let mut out = Vec::new();
    let defaults = match h.defaults {
        HeaderDefaults::None => "",
        HeaderDefaults::Credentials => "defaults: credentials",
        HeaderDefaults::External => "defaults: external",
    };
    if h.defaults != HeaderDefaults::None {
        out.extend(
            CREDENTIAL_HEADERS
                .iter()
                .map(|n| row(*n, "remove", defaults)),
        );
    }
    if h.defaults == HeaderDefaults::External {
        out.extend(EXTERNAL_HEADERS.iter().map(|n| row(*n, "remove", defaults)));
        let prefixes = EXTERNAL_PREFIXES.iter();
        out.extend(prefixes.map(|p| row(format!("{p}*"), "remove", defaults)));
    }
    out.extend(h.remove.iter().map(|n| row(n, "remove", "")));
    let prefixes = h.remove_prefixes.iter();
    out.extend(prefixes.map(|p| row(format!("{p}*"), "remove", "")));
    out.extend(
        h.remove_regex
            .iter()
            .map(|r| row(format!("/{r}/"), "remove", "")),
    );
    for name in &h.tokenize {
        let ns = h
            .namespaces
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.clone());
        out.push(token_row(name, ns, ""));
    }
    let scan_all = h.scan.iter().any(|s| s == "*");
    out.extend(
        h.scan
            .iter()
            .filter(|n| *n != "*")
            .map(|n| row(n, "scan", "values run through the detectors")),
    );
    let trace = if request {
        "trace context and baggage: see below"
    } else {
        "traceresponse: see `trace.traceresponse`"
    };
    match &h.allow_only {
        Some(allowed) => {
            out.extend(allowed.iter().map(|n| row(n, "keep", "allow_only")));
            out.push(row(
                "*",
                "remove",
                &format!("not in allow_only (pseudo-headers and framing pass; {trace})"),
            ));
        }
        None if scan_all => out.push(row(
            "*",
            "scan",
            &format!(
                "values run through the detectors; not {} or `-bin` metadata unless named",
                LOGIN_HEADERS.join(", ")
            ),
        )),
        None => out.push(row("*", "keep", "")),
    }
    out
}

fn baggage_rows(b: &BaggageConfig) -> Vec<Row> {
    let mut out: Vec<Row> = b.drop_keys.iter().map(|k| row(k, "drop", "")).collect();
    for key in &b.tokenize_keys {
        let ns = b
            .namespaces
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.clone());
        out.push(token_row(key, ns, ""));
    }
    let rest = if b.scan { "scan" } else { "keep" };
    match &b.allow_keys {
        Some(keys) => {
            out.extend(keys.iter().map(|k| row(k, rest, "allow_keys")));
            out.push(row("*", "drop", "not in allow_keys"));
        }
        None => out.push(row("*", rest, "")),
    }
    let legacy = if b.legacy {
        row(
            "uberctx-*, ot-baggage-*",
            "as baggage",
            "legacy carriers get the same treatment",
        )
    } else {
        row(
            "uberctx-*, ot-baggage-*",
            "keep",
            "legacy carriers untouched (`legacy: false`)",
        )
    };
    out.push(legacy);
    out
}

fn placeholder(a: PlaceholderAction) -> &'static str {
    match a {
        PlaceholderAction::Keep => "keep",
        PlaceholderAction::Redact => "redact",
        PlaceholderAction::Tokenize => "tokenize",
    }
}

fn query_action(a: QueryAction) -> &'static str {
    match a {
        QueryAction::Drop => "drop",
        QueryAction::Redact => "redact",
        QueryAction::Tokenize => "tokenize",
        QueryAction::Keep => "keep",
    }
}

fn url_rows(u: &UrlConfig) -> Vec<Row> {
    let mut out = Vec::new();
    for t in &u.templates {
        out.push(row(
            &t.template,
            "template",
            "becomes `http.route` and the span name",
        ));
        for name in placeholders(&t.template) {
            let action = t.params.get(&name).copied().unwrap_or_default();
            let item = format!("{} {{{name}}}", t.template);
            out.push(match action {
                PlaceholderAction::Tokenize => {
                    token_row(item, t.namespaces.get(&name).cloned().unwrap_or(name), "")
                }
                other => row(item, placeholder(other), ""),
            });
        }
    }
    let ids = "other id-like path segments (digits, UUIDs, hex)";
    out.push(match u.auto_ids {
        AutoIds::Off => row("auto_ids", "off", ids),
        AutoIds::Redact => row("auto_ids", "redact", ids),
        AutoIds::Tokenize => token_row("auto_ids", u.auto_id_namespace.clone(), ids),
    });
    let q = &u.query;
    for (name, action) in &q.params {
        let item = format!("query {name}");
        out.push(match action {
            QueryAction::Tokenize => token_row(
                item,
                q.namespaces
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| name.clone()),
                "",
            ),
            other => row(item, query_action(*other), ""),
        });
    }
    out.push(match q.default {
        QueryAction::Tokenize => token_row("query *", "<parameter name>".into(), ""),
        other => row("query *", query_action(other), "parameters not listed"),
    });
    let scan = if u.scan { "scan" } else { "keep" };
    out.push(row(
        "path segments, kept query values",
        scan,
        "in the span record",
    ));
    for p in &u.forward_query_remove {
        out.push(row(
            format!("query {p}"),
            "remove",
            "also from the forwarded `:path`",
        ));
    }
    out.push(row(
        ":path",
        "keep",
        "the app receives its real URL; only the span carries the sanitized one",
    ));
    out
}

/// `{name}` placeholders of a template, in order.
fn placeholders(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn detector_action(a: DetectorAction) -> &'static str {
    match a {
        DetectorAction::Off => "off",
        DetectorAction::Remove => "remove",
        DetectorAction::Mask => "mask",
        DetectorAction::Tokenize => "tokenize",
    }
}

fn detector_rows(d: &DetectorsConfig) -> Vec<Row> {
    let ns = |label: &str| {
        d.namespaces
            .get(label)
            .cloned()
            .unwrap_or_else(|| label.into())
    };
    let mut out: Vec<Row> = BUILT_IN
        .iter()
        .map(|kind| match builtin_action(d, *kind) {
            DetectorAction::Tokenize => token_row(kind.name(), ns(kind.name()), ""),
            other => row(kind.name(), detector_action(other), ""),
        })
        .collect();
    for c in &d.custom {
        let note = format!("custom: `{}`", c.regex);
        out.push(match c.action {
            DetectorAction::Tokenize => token_row(&c.name, ns(&c.name), &note),
            other => row(&c.name, detector_action(other), &note),
        });
    }
    out
}

fn span_rows(cfg: &PluginConfig, p: &PolicyConfig) -> Vec<Row> {
    if p.trace.trace_context == TraceContextOwner::Envoy {
        return vec![row("span", "none", "Envoy's tracer owns the trace context")];
    }
    let export = match &cfg.global.export {
        Some(e) => format!("exported to cluster `{}` when sampled", e.cluster),
        None => "not exported: no `export`".into(),
    };
    let mut out = vec![row("span", "record", &export)];
    let attrs: &[(&str, &str)] = &[
        (
            "http.request.method",
            "the method (unknown ones as `_OTHER`)",
        ),
        ("http.route", "the matching URL template or auto id route"),
        ("url.path", "the path, placeholders and ids per `url`"),
        ("url.query", "the query per `url.query`"),
        ("url.scheme", "the scheme"),
        ("server.address", "the authority's host"),
        (
            "user_agent.original",
            "the user agent, through the detectors",
        ),
        (
            "mesh.peer.*, mesh.local.*, k8s.namespace.name",
            "verified SPIFFE identities",
        ),
        ("tracesafe.policy", "this policy's name"),
        (
            "tracesafe.redacted.*",
            "counts of removed headers, baggage members, tokens",
        ),
        ("http.response.status_code", "the response status"),
    ];
    out.extend(attrs.iter().map(|(k, v)| row(*k, "attribute", v)));
    out
}

impl Catalog {
    /// The catalog for tools.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The catalog for people; `source` names the configuration.
    pub fn markdown(&self, source: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Data catalog: `{source}`\n");
        let _ = writeln!(
            out,
            "Generated by `tracesafe catalog {source}`: what each policy does to each kind of data.\n"
        );
        let _ = writeln!(out, "## Token namespaces\n");
        let _ = writeln!(
            out,
            "Tokens of one namespace are equal for equal values (same key{}), so they can be joined across these carriers.\n",
            self.tenant.as_ref().map_or(String::new(), |t| format!(" and tenant, read from {t}"))
        );
        if self.namespaces.is_empty() {
            let _ = writeln!(out, "No carrier mints tokens.\n");
        } else {
            let _ = writeln!(out, "| namespace | carriers |\n|---|---|");
            for (ns, carriers) in &self.namespaces {
                let _ = writeln!(out, "| `{ns}` | {} |", carriers.join("<br>"));
            }
            out.push('\n');
        }
        for p in &self.policies {
            let _ = writeln!(out, "## Policy `{}`\n\nSelected by:\n", p.name);
            for s in &p.selected_by {
                let _ = writeln!(out, "- {s}");
            }
            out.push('\n');
            let sections = [
                ("Request headers", "header", &p.request_headers),
                ("Response headers", "header", &p.response_headers),
                ("Baggage", "key", &p.baggage),
                ("URL", "part", &p.url),
                ("Detectors", "detector", &p.detectors),
                ("Span record", "attribute", &p.span),
            ];
            for (title, item, rows) in sections {
                table(&mut out, title, item, rows);
            }
        }
        out
    }
}

fn table(out: &mut String, title: &str, item: &str, rows: &[Row]) {
    let _ = writeln!(
        out,
        "### {title}\n\n| {item} | action | namespace | note |\n|---|---|---|---|"
    );
    for r in rows {
        let ns = r
            .namespace
            .as_ref()
            .map_or(String::new(), |n| format!("`{n}`"));
        let cell = r.item.replace('|', "\\|");
        let note = r.note.replace('|', "\\|");
        let _ = writeln!(out, "| `{cell}` | {} | {ns} | {note} |", r.action);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cfg(json: serde_json::Value) -> PluginConfig {
        crate::config::parse(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn namespaces_list_every_carrier_that_mints_in_them() {
        let c = catalog(&cfg(serde_json::json!({
            "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}},
            "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
            "detectors": {"email": "tokenize"},
            "url": {"query": {"params": {"uid": "tokenize"}, "namespaces": {"uid": "user"}}},
            "policies": {"p": {"request_headers": {"tokenize": ["x-account"]}}},
            "rules": [{"name": "r", "match": {"route": "api", "direction": "inbound"}, "policy": "p"}]
        })));
        let ns: Vec<(&str, Vec<&str>)> = c
            .namespaces
            .iter()
            .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            ns,
            vec![
                ("email", vec!["default: detector email"]),
                (
                    "user",
                    vec![
                        "default: request header x-user-id",
                        "default: baggage user.id",
                        "default: url query uid"
                    ]
                ),
                ("x-account", vec!["p: request header x-account"]),
            ]
        );
        let p = c.policies.iter().find(|p| p.name == "p").unwrap();
        assert_eq!(
            p.selected_by,
            vec![
                "routes whose metadata `filter_metadata.tracesafe.policy` is `p`",
                "rules[0] \"r\": route `api`, direction `inbound`"
            ]
        );
        assert_eq!(p.request_headers.last(), Some(&row("*", "keep", "")));
    }

    #[test]
    fn allow_lists_and_envoy_traces_are_described() {
        let c = catalog(&cfg(serde_json::json!({
            "request_headers": {"allow_only": ["accept"], "defaults": "none"},
            "baggage": {"allow_keys": ["plan"], "scan": false, "legacy": false},
            "trace": {"trace_context": "envoy"}
        })));
        let d = &c.policies[0];
        let items: Vec<(&str, &str)> = d
            .request_headers
            .iter()
            .map(|r| (r.item.as_str(), r.action.as_str()))
            .collect();
        assert_eq!(
            items,
            vec![
                ("x-tracesafe-peer", "remove"),
                ("x-forwarded-client-cert", "remove"),
                ("accept", "keep"),
                ("*", "remove")
            ]
        );
        let bag: Vec<&str> = d.baggage.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(bag, vec!["keep", "drop", "keep"]);
        assert_eq!(
            d.span,
            vec![row("span", "none", "Envoy's tracer owns the trace context")]
        );
    }

    /// Every attribute a span can carry is in the catalog's list.
    #[test]
    fn span_rows_cover_the_span_record() {
        let engine = crate::engine::Engine::from_json(
            br#"{"url": {"templates": [{"template": "/a/{x}"}]}}"#,
        )
        .unwrap();
        let e = crate::cli::explain::explain(
            &engine,
            br#"{"path": "/a/1?q=2", "authority": "h", "headers": {":scheme": "https", "user-agent": "ua"}}"#,
        )
        .unwrap();
        let mut span = e.outcome.span.unwrap();
        span.finish(Some(200), 0);
        let rows = span_rows(&cfg(serde_json::json!({})), &PolicyConfig::default());
        let covered = |key: &str| {
            rows.iter().any(|r| {
                r.item.split(", ").any(|i| match i.strip_suffix('*') {
                    Some(prefix) => key.starts_with(prefix),
                    None => i == key,
                })
            })
        };
        assert!(span.attributes.len() >= 11, "{span:?}");
        for (key, _) in &span.attributes {
            assert!(covered(key), "{key} is not in the catalog");
        }
    }
}
