//! URL sanitization for the span record. The forwarded request keeps its
//! real path and query (the application needs them), except the parameters
//! named in `forward_query_remove`; only the span gets the sanitized URL:
//! `http.route` from path templates (or automatic id detection), `url.path`
//! with placeholders tokenized or redacted, `url.query` per-parameter, and
//! credentials in a URL replaced by `REDACTED:REDACTED@`.

use crate::error::join;
use crate::error::ConfigError;
use crate::http::{Header, HeaderOp};
use crate::metrics::Metric;
use crate::redact::detect_credentials::PASSWORD_NAMES;
use crate::redact::pct;
use crate::redact::token;
use crate::redact::{Redactor, ScanOutcome, REDACTED};
use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Query parameters whose values OpenTelemetry says to replace with
/// `REDACTED` (the key is kept), unless `url.query.params` says otherwise.
pub const SIGNATURE_PARAMS: &[&str] = &[
    "sig",
    "Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "X-Goog-Signature",
];

/// `url`: how the URL appears in the span record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UrlConfig {
    /// Path templates (`/users/{user}/orders/{order}`); the first match
    /// becomes `http.route`.
    pub templates: Vec<TemplateConfig>,
    /// Ids in path segments no template matched.
    pub auto_ids: AutoIds,
    /// Token namespace for automatically detected ids.
    pub auto_id_namespace: String,
    pub query: QueryConfig,
    /// Run the detectors over path segments and kept query values.
    pub scan: bool,
    /// Query parameters also removed from the forwarded `:path` (egress).
    pub forward_query_remove: Vec<String>,
}

impl Default for UrlConfig {
    fn default() -> Self {
        Self {
            templates: Vec::new(),
            auto_ids: AutoIds::Off,
            auto_id_namespace: "id".into(),
            query: QueryConfig::default(),
            scan: true,
            forward_query_remove: Vec::new(),
        }
    }
}

/// One path template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub template: String,
    /// Action per placeholder (default `redact`).
    #[serde(default)]
    pub params: BTreeMap<String, PlaceholderAction>,
    /// Token namespace per tokenized placeholder (default: its name).
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlaceholderAction {
    Keep,
    #[default]
    Redact,
    Tokenize,
}

/// `auto_ids`: all-digit segments of 4+ digits, UUIDs and 16+ hex
/// characters become `{id}` in the route, and `REDACTED` or a token in
/// `url.path`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoIds {
    #[default]
    Off,
    Redact,
    Tokenize,
}

/// `url.query`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// Action for parameters not listed in `params`.
    pub default: QueryAction,
    /// Action per parameter name (case-insensitive).
    pub params: BTreeMap<String, QueryAction>,
    /// Token namespace per tokenized parameter (default: its name).
    pub namespaces: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryAction {
    Drop,
    Redact,
    Tokenize,
    #[default]
    Keep,
}

/// The URL as the span record shows it. Plain data for the span exporter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SanitizedUrl {
    /// `http.route`: the matched template, or the path with ids replaced by
    /// `{id}` when `auto_ids` is on; `None` otherwise (never the raw path).
    pub route: Option<String>,
    /// `url.path`
    pub path: String,
    /// `url.query` (without `?`); `None` when nothing remains.
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathAct {
    Keep,
    Redact,
    Tokenize(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum QAct {
    Drop,
    Redact,
    /// `None`: the parameter's own name is the namespace.
    Tokenize(Option<String>),
    Keep,
}

#[derive(Debug, Clone)]
enum Seg {
    Literal(String),
    Param(PathAct),
}

#[derive(Debug, Clone)]
struct Template {
    text: String,
    segs: Vec<Seg>,
}

/// A compiled [`UrlConfig`].
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    templates: Vec<Template>,
    auto_ids: Option<PathAct>,
    query_default: QAct,
    /// (lowercase name, action), explicit first, then the signature list.
    query: Vec<(String, QAct)>,
    scan: bool,
    forward_remove: Vec<String>,
}

impl UrlPolicy {
    pub fn compile(cfg: &UrlConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let mut templates = Vec::with_capacity(cfg.templates.len());
        for (i, t) in cfg.templates.iter().enumerate() {
            let at = format!("{}[{i}]", join(path, "templates"));
            templates.push(Template::compile(t, &at, has_keys)?);
        }
        let auto_ids = match cfg.auto_ids {
            AutoIds::Off => None,
            AutoIds::Redact => Some(PathAct::Redact),
            AutoIds::Tokenize => {
                token::require_keys(has_keys, &join(path, "auto_ids"))?;
                Some(PathAct::Tokenize(token::namespace(
                    &cfg.auto_id_namespace,
                    &join(path, "auto_id_namespace"),
                )?))
            }
        };
        let qpath = join(path, "query");
        let tokenized: Vec<String> = cfg
            .query
            .params
            .iter()
            .filter(|(_, a)| **a == QueryAction::Tokenize)
            .map(|(n, _)| n.clone())
            .collect();
        let namespaces = token::namespaces(&cfg.query.namespaces, &tokenized, &qpath)?;
        let mut query = Vec::new();
        for (name, action) in &cfg.query.params {
            let at = format!("{}.{name}", join(&qpath, "params"));
            if name.is_empty() {
                return Err(ConfigError::new(at, "empty parameter name"));
            }
            let act = match action {
                QueryAction::Drop => QAct::Drop,
                QueryAction::Redact => QAct::Redact,
                QueryAction::Keep => QAct::Keep,
                QueryAction::Tokenize => {
                    token::require_keys(has_keys, &at)?;
                    let ns = namespaces.get(&name.to_ascii_lowercase()).cloned();
                    QAct::Tokenize(Some(ns.unwrap_or_else(|| name.clone())))
                }
            };
            query.push((name.to_ascii_lowercase(), act));
        }
        for sig in SIGNATURE_PARAMS.iter().chain(&PASSWORD_NAMES) {
            query.push((sig.to_ascii_lowercase(), QAct::Redact));
        }
        let query_default = match cfg.query.default {
            QueryAction::Drop => QAct::Drop,
            QueryAction::Redact => QAct::Redact,
            QueryAction::Keep => QAct::Keep,
            QueryAction::Tokenize => {
                token::require_keys(has_keys, &join(&qpath, "default"))?;
                QAct::Tokenize(None)
            }
        };
        let mut forward_remove = Vec::new();
        for (i, name) in cfg.forward_query_remove.iter().enumerate() {
            if name.is_empty() {
                return Err(ConfigError::new(
                    format!("{}[{i}]", join(path, "forward_query_remove")),
                    "empty parameter name",
                ));
            }
            forward_remove.push(name.to_ascii_lowercase());
        }
        Ok(Self {
            templates,
            auto_ids,
            query_default,
            query,
            scan: cfg.scan,
            forward_remove,
        })
    }

    /// The span's URL, and the `:path` rewrite when `forward_query_remove`
    /// applies. `None` without a `:path`.
    /// `for_span`: whether a span record will use the sanitized URL; without
    /// one only `forward_query_remove` is applied.
    pub fn sanitize(
        &self,
        headers: &[Header],
        r: &mut Redactor<'_>,
        for_span: bool,
    ) -> (Option<SanitizedUrl>, Option<HeaderOp>) {
        let Some(raw) = pseudo(headers, ":path") else {
            return (None, None);
        };
        let mut op = None;
        let mut target = raw;
        let forwarded;
        if let Some((kept, removed)) = self.forward_removal(raw) {
            r.count(Metric::ForwardQueryRemoved, removed);
            forwarded = kept;
            target = &forwarded;
            op = Some(HeaderOp::Set(":path".into(), forwarded.clone()));
        }
        if !for_span {
            return (None, op);
        }
        let target = crate::http::lossy(target);
        let target = target.split('#').next().unwrap_or_default();
        // Absolute-form targets carry a scheme and authority (perhaps with
        // credentials): spans get only the path and query, never `url.full`.
        let rest = match target.split_once("://") {
            Some((scheme, after)) if is_scheme(scheme) => {
                let end = after.find(['/', '?']).unwrap_or(after.len());
                after.get(end..).unwrap_or_default()
            }
            _ => target,
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (route, path) = self.path(if path.is_empty() { "/" } else { path }, r);
        let query = query.and_then(|q| self.query(q, r));
        (Some(SanitizedUrl { route, path, query }), op)
    }

    /// The forwarded `:path` without the `forward_query_remove` parameters,
    /// other bytes untouched; `None` when nothing is removed.
    fn forward_removal(&self, raw: &[u8]) -> Option<(Vec<u8>, u64)> {
        if self.forward_remove.is_empty() {
            return None;
        }
        let q = raw.iter().position(|&b| b == b'?')?;
        let (path, query) = raw.split_at(q);
        let query = query.get(1..).unwrap_or_default();
        let mut removed = 0;
        let kept: Vec<&[u8]> = query
            .split(|&b| b == b'&')
            .filter(|piece| {
                let name = piece.split(|&b| b == b'=').next().unwrap_or_default();
                let name = pct::decode_cow(name, true);
                let drop = self
                    .forward_remove
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&name));
                removed += u64::from(drop);
                !drop
            })
            .collect();
        if removed == 0 {
            return None;
        }
        let mut out = path.to_vec();
        if kept.iter().any(|p| !p.is_empty()) {
            out.push(b'?');
            out.extend(kept.join(&b'&'));
        }
        Some((out, removed))
    }

    /// (`http.route`, `url.path`), each built in one string: segments are
    /// borrowed unless a rule rewrites them.
    fn path(&self, path: &str, r: &mut Redactor<'_>) -> (Option<String>, String) {
        let Some(stripped) = path.strip_prefix('/') else {
            return (None, path.to_string());
        };
        let segs: Vec<&str> = stripped.split('/').collect();
        let mut out = String::with_capacity(path.len() + 16);
        if let Some(t) = self.templates.iter().find(|t| t.matches(&segs)) {
            for (seg, raw) in t.segs.iter().zip(&segs) {
                out.push('/');
                match seg {
                    Seg::Literal(_) | Seg::Param(PathAct::Keep) => out.push_str(raw),
                    Seg::Param(PathAct::Redact) => out.push_str(REDACTED),
                    Seg::Param(PathAct::Tokenize(ns)) => out
                        .push_str(&r.token(ns, pct::decode_cow(raw.as_bytes(), false).as_bytes())),
                }
            }
            return (Some(t.text.clone()), out);
        }
        let mut route = self
            .auto_ids
            .as_ref()
            .map(|_| String::with_capacity(path.len()));
        for raw in segs {
            let decoded = pct::decode_cow(raw.as_bytes(), false);
            let scanned = match &self.auto_ids {
                Some(act) if is_id(&decoded) => Some(("{id}", id_path(act, &decoded, r))),
                _ if self.scan && !raw.is_empty() => match r.scan_for_span(&decoded) {
                    ScanOutcome::Clean => None,
                    ScanOutcome::Remove => Some(("{redacted}", Cow::Borrowed(REDACTED))),
                    ScanOutcome::Replace(v) => {
                        Some(("{redacted}", Cow::Owned(pct::encode(&v, pct::is_url_safe))))
                    }
                },
                _ => None,
            };
            // A route keeps only plain words: any other segment may be an
            // unknown secret, so it is an id.
            let (rseg, pseg) = match (scanned, &self.auto_ids) {
                (Some(seg), _) => seg,
                (None, Some(act)) if !raw.is_empty() && !is_plain_word(&decoded) => {
                    ("{id}", id_path(act, &decoded, r))
                }
                (None, _) => (raw, Cow::Borrowed(raw)),
            };
            if let Some(route) = &mut route {
                route.push('/');
                route.push_str(rseg);
            }
            out.push('/');
            out.push_str(&pseg);
        }
        (route, out)
    }

    /// `url.query`: per-parameter actions, then detectors on kept values.
    fn query(&self, q: &str, r: &mut Redactor<'_>) -> Option<String> {
        let mut out = String::with_capacity(q.len() + 16);
        let mut pieces = 0;
        // Starts one output parameter: `&` between parameters.
        let mut next = |out: &mut String| {
            if pieces > 0 {
                out.push('&');
            }
            pieces += 1;
        };
        for piece in q.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = match piece.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (piece, None),
            };
            let name = pct::decode_cow(raw_name.as_bytes(), true);
            let act = self
                .query
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map_or(&self.query_default, |(_, a)| a);
            match act {
                QAct::Drop => {}
                QAct::Redact => {
                    next(&mut out);
                    out.extend([raw_name, "=", REDACTED]);
                }
                QAct::Tokenize(ns) => {
                    let ns = ns.as_deref().unwrap_or(&name);
                    let value = raw_value.map(|v| pct::decode_cow(v.as_bytes(), true));
                    let token = r.token(ns, value.as_deref().unwrap_or_default().as_bytes());
                    next(&mut out);
                    out.extend([raw_name, "=", &token]);
                }
                QAct::Keep if !self.scan => {
                    next(&mut out);
                    out.push_str(piece);
                }
                QAct::Keep => match scan_query_text(raw_value.unwrap_or(raw_name), r) {
                    ScanOutcome::Clean => {
                        next(&mut out);
                        out.push_str(piece);
                    }
                    ScanOutcome::Remove => {}
                    ScanOutcome::Replace(v) => {
                        next(&mut out);
                        if raw_value.is_some() {
                            out.extend([raw_name, "="]);
                        }
                        pct::encode_into(&mut out, &v, pct::is_url_safe);
                    }
                },
            }
        }
        (pieces > 0).then_some(out)
    }
}

/// Runs the detectors over a raw query value (or a name without value).
/// `+` is a space to a form decoder but itself to most servers
/// (`?phone=+14155552671`), so text with a `+` is scanned both ways: with
/// `+` literal first, then that result with `+` as spaces
/// (`4111+1111+1111+1111`).
fn scan_query_text(raw: &str, r: &mut Redactor<'_>) -> ScanOutcome {
    if !raw.contains('+') {
        return r.scan_for_span(&pct::decode_lossy(raw.as_bytes(), false));
    }
    let literal = pct::decode_lossy(raw.as_bytes(), false);
    let (replaced, text) = match r.scan_for_span(&literal) {
        ScanOutcome::Remove => return ScanOutcome::Remove,
        ScanOutcome::Clean => (false, literal),
        ScanOutcome::Replace(s) => (true, s),
    };
    match r.scan_for_span(&text.replace('+', " ")) {
        ScanOutcome::Clean if replaced => ScanOutcome::Replace(text),
        other => other,
    }
}

impl Template {
    fn compile(cfg: &TemplateConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let tpath = join(path, "template");
        let Some(body) = cfg.template.strip_prefix('/') else {
            return Err(ConfigError::new(tpath, "a template starts with `/`"));
        };
        let tokenized: Vec<String> = cfg
            .params
            .iter()
            .filter(|(_, a)| **a == PlaceholderAction::Tokenize)
            .map(|(n, _)| n.clone())
            .collect();
        let namespaces = token::namespaces(&cfg.namespaces, &tokenized, path)?;
        let mut names: Vec<&str> = Vec::new();
        let mut segs = Vec::new();
        for seg in body.split('/') {
            let name = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match name {
                Some(name) => {
                    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !ok || names.contains(&name) {
                        return Err(ConfigError::new(
                            tpath,
                            format!(
                                "placeholder {{{name}}} must be a unique name of A-Z a-z 0-9 _"
                            ),
                        ));
                    }
                    names.push(name);
                    let act = match cfg.params.get(name).copied().unwrap_or_default() {
                        PlaceholderAction::Keep => PathAct::Keep,
                        PlaceholderAction::Redact => PathAct::Redact,
                        PlaceholderAction::Tokenize => {
                            token::require_keys(
                                has_keys,
                                &format!("{}.{name}", join(path, "params")),
                            )?;
                            PathAct::Tokenize(
                                namespaces
                                    .get(&name.to_ascii_lowercase())
                                    .cloned()
                                    .unwrap_or_else(|| name.to_string()),
                            )
                        }
                    };
                    segs.push(Seg::Param(act));
                }
                None if seg.contains(['{', '}']) => {
                    return Err(ConfigError::new(
                        tpath,
                        format!("{seg:?}: a placeholder is a whole segment, like {{name}}"),
                    ));
                }
                None => segs.push(Seg::Literal(seg.to_string())),
            }
        }
        if let Some(unknown) = cfg.params.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(ConfigError::new(
                format!("{}.{unknown}", join(path, "params")),
                format!("the template has no placeholder {{{unknown}}}"),
            ));
        }
        Ok(Self {
            text: cfg.template.clone(),
            segs,
        })
    }

    /// Literal segments match exactly, placeholders one non-empty segment.
    fn matches(&self, segs: &[&str]) -> bool {
        self.segs.len() == segs.len()
            && self.segs.iter().zip(segs).all(|(t, s)| match t {
                Seg::Literal(l) => l == s,
                Seg::Param(_) => !s.is_empty(),
            })
    }
}

fn pseudo<'h>(headers: &[Header<'h>], name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// RFC 3986 scheme.
fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// An id segment's text in `url.path` (the route gets `{id}`): `REDACTED`
/// or the token.
fn id_path(act: &PathAct, decoded: &str, r: &mut Redactor<'_>) -> Cow<'static, str> {
    match act {
        PathAct::Tokenize(ns) => Cow::Owned(r.token(ns, decoded.as_bytes())),
        PathAct::Keep | PathAct::Redact => Cow::Borrowed(REDACTED),
    }
}

/// A segment an automatic route may keep: 1 to 32 of `a-z 0-9 - _ .`
/// (detectors and `generic_secret` run before this).
pub fn is_plain_word(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// An id-like segment: 4+ digits, a UUID, or 16+ hex characters.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.len() >= 4 && b.iter().all(u8::is_ascii_digit);
    let hex = b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit);
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    digits || hex || uuid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::redact::detectors::{DetectorKind, Detectors, DetectorsConfig};
    use crate::redact::token::test_keys::keyring;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy(v: serde_json::Value) -> UrlPolicy {
        let cfg: UrlConfig = serde_json::from_value(v).unwrap();
        UrlPolicy::compile(&cfg, "url", true).unwrap()
    }

    fn err(v: serde_json::Value, keys: bool) -> ConfigError {
        let cfg: UrlConfig = serde_json::from_value(v).unwrap();
        UrlPolicy::compile(&cfg, "url", keys).unwrap_err()
    }

    fn run(p: &UrlPolicy, headers: &[(&str, &str)]) -> (SanitizedUrl, Option<HeaderOp>, Metrics) {
        let headers: Vec<Header> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let k = keyring("k2");
        let mut r = Redactor::new(&d, Some(k.minter(None)), Metrics::default());
        let (url, op) = p.sanitize(&headers, &mut r, true);
        (url.unwrap(), op, r.into_metrics())
    }

    fn url(p: &UrlPolicy, path: &str) -> SanitizedUrl {
        run(p, &[(":path", path)]).0
    }

    #[test]
    fn templates_match_whole_segments_first_wins() {
        let p = policy(serde_json::json!({"templates": [
            {"template": "/users/{user}/orders/{order}",
             "params": {"user": "tokenize", "order": "keep"},
             "namespaces": {"user": "user"}},
            {"template": "/users/{user}"},
            {"template": "/"}
        ]}));
        let u = url(&p, "/users/42/orders/A-7?x=1");
        assert_eq!(u.route.as_deref(), Some("/users/{user}/orders/{order}"));
        assert_eq!(u.path, "/users/tk.k2.p84PCaUIFbo_9PJ0HNRkcw/orders/A-7");
        assert_eq!(u.query.as_deref(), Some("x=1"));
        let u = url(&p, "/users/alice%40example.com");
        assert_eq!(u.route.as_deref(), Some("/users/{user}"));
        assert_eq!(u.path, "/users/REDACTED");
        assert_eq!(url(&p, "/").route.as_deref(), Some("/"));
        // Empty segment, trailing slash, other prefix: no template.
        for path in ["/users//orders/1", "/users/42/", "/accounts/42"] {
            assert_eq!(url(&p, path).route, None, "{path}");
        }
    }

    #[test]
    fn the_same_id_tokenizes_the_same_in_path_header_and_baggage() {
        let p = policy(serde_json::json!({"templates": [
            {"template": "/u/{id}", "params": {"id": "tokenize"}, "namespaces": {"id": "user"}}
        ]}));
        // %34%32 is "42": the decoded segment is tokenized.
        assert_eq!(url(&p, "/u/%34%32").path, "/u/tk.k2.p84PCaUIFbo_9PJ0HNRkcw");
    }

    #[test]
    fn automatic_ids() {
        let p = policy(serde_json::json!({"auto_ids": "redact"}));
        let u = url(
            &p,
            "/orders/12345/items/550e8400-e29b-41d4-a716-446655440000/x/0123456789abcdef/v1/123",
        );
        assert_eq!(
            u.route.as_deref(),
            Some("/orders/{id}/items/{id}/x/{id}/v1/123")
        );
        assert_eq!(u.path, "/orders/REDACTED/items/REDACTED/x/REDACTED/v1/123");
        let p = policy(serde_json::json!({"auto_ids": "tokenize", "auto_id_namespace": "user"}));
        let u = url(&p, "/u/4242");
        assert_eq!(u.route.as_deref(), Some("/u/{id}"));
        assert_eq!(
            u.path,
            format!("/u/{}", keyring("k2").minter(None).mint("user", b"4242"))
        );
        // Off: no route, the path passes (detectors aside).
        let u = url(&policy(serde_json::json!({})), "/orders/12345");
        assert_eq!((u.route, u.path.as_str()), (None, "/orders/12345"));
        for (s, id) in [
            ("123", false),
            ("1234", true),
            ("abcdef0123456789", true),
            ("abcdef012345678", false),
            ("xyz", false),
        ] {
            assert_eq!(is_id(s), id, "{s}");
        }
    }

    #[test]
    fn detectors_on_unmatched_segments() {
        let p = policy(serde_json::json!({"auto_ids": "redact"}));
        let u = url(&p, "/mail/alice%40example.com/x");
        assert_eq!(u.path, "/mail/[REDACTED:email]/x");
        assert_eq!(u.route.as_deref(), Some("/mail/{redacted}/x"));
        let p = policy(serde_json::json!({"scan": false}));
        assert_eq!(
            url(&p, "/mail/alice%40example.com").path,
            "/mail/alice%40example.com"
        );
    }

    #[test]
    fn automatic_routes_keep_only_plain_words() {
        let p = policy(serde_json::json!({"auto_ids": "redact"}));
        let u = url(
            &p,
            "/api/v1.2/ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP/Profile/s/Zx81kLq0PmN3vB7rT5yW2sD4/ok/",
        );
        assert_eq!(
            u.route.as_deref(),
            Some("/api/v1.2/{redacted}/{id}/s/{redacted}/ok/")
        );
        assert_eq!(
            u.path,
            "/api/v1.2/[REDACTED:credential:github]/REDACTED/s/[REDACTED:generic_secret]/ok/"
        );
        // Without automatic ids there is no route; high-entropy segments
        // are still masked in `url.path`.
        let u = url(
            &policy(serde_json::json!({})),
            "/s/Zx81kLq0PmN3vB7rT5yW2sD4",
        );
        assert_eq!(u.path, "/s/[REDACTED:generic_secret]");
        for (s, plain) in [
            ("orders", true),
            ("v1.2_x-y", true),
            ("Orders", false),
            ("", false),
            (&"a".repeat(33), false),
        ] {
            assert_eq!(is_plain_word(s), plain, "{s}");
        }
    }

    #[test]
    fn query_actions_and_signature_parameters() {
        let p = policy(serde_json::json!({"query": {
            "default": "keep",
            "params": {"token": "drop", "email": "tokenize", "q": "redact", "sig": "keep"},
            "namespaces": {"email": "email"}
        }}));
        let u = url(
            &p,
            "/s?q=secret&Token=x&email=alice%40example.com&page=2&X-Amz-Signature=abc&sig=kept&note=call%20alice%40example.com&flag&Password=hunter2&pwd=x",
        );
        // Password parameters are redacted like signatures: split from
        // their `password=`, short values would pass the detectors.
        assert_eq!(
            u.query.as_deref(),
            Some("q=REDACTED&email=tk.k2.VDx-xIlGJYqJDpkxd_1rrA&page=2&X-Amz-Signature=REDACTED&sig=kept&note=call%20[REDACTED:email]&flag&Password=REDACTED&pwd=REDACTED")
        );
        let p =
            policy(serde_json::json!({"query": {"default": "drop", "params": {"page": "keep"}}}));
        assert_eq!(url(&p, "/s?a=1&page=2").query.as_deref(), Some("page=2"));
        assert_eq!(url(&p, "/s?a=1").query, None);
        // Found by the `pipeline` fuzz target: a raw `+` is a space to form
        // decoding, which hid this phone number from the detectors.
        let p = policy(serde_json::json!({}));
        let (u, _, m) = run(
            &p,
            &[(":path", "/s?phone=+14155552671&card=4111+1111+1111+1111&both=+14155552671+4111+1111+1111+1111&a+b=c")],
        );
        assert_eq!(
            u.query.as_deref(),
            Some("phone=[REDACTED:phone]&card=[REDACTED:card:1111]&both=[REDACTED:phone]%20[REDACTED:card:1111]&a+b=c")
        );
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Phone)), 2);
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Card)), 2);
        let p = policy(serde_json::json!({"query": {"default": "tokenize"}}));
        assert_eq!(
            url(&p, "/s?user=42").query.as_deref(),
            Some(format!("user={}", keyring("k2").minter(None).mint("user", b"42")).as_str())
        );
    }

    #[test]
    fn absolute_form_keeps_only_path_and_query() {
        let p = policy(serde_json::json!({}));
        let u = url(&p, "http://user:pass@example.com:8080/p?X-Goog-Signature=1");
        assert_eq!(u.path, "/p");
        assert_eq!(u.query.as_deref(), Some("X-Goog-Signature=REDACTED"));
        let u = url(&p, "https://bob:pw@api.example.com?sig=x");
        assert_eq!(u.path, "/");
        assert_eq!(u.query.as_deref(), Some("sig=REDACTED"));
        assert_eq!(url(&p, "*").path, "*");
    }

    #[test]
    fn forward_query_remove_rewrites_only_named_parameters() {
        let p = policy(serde_json::json!({"forward_query_remove": ["api_key", "Token"]}));
        let (u, op, m) = run(&p, &[(":path", "/p?a=1&API_KEY=s3cr3t&b=%20&token&c")]);
        assert_eq!(
            op,
            Some(HeaderOp::Set(":path".into(), b"/p?a=1&b=%20&c".to_vec()))
        );
        assert_eq!(m.get(Metric::ForwardQueryRemoved), 2);
        assert_eq!(u.query.as_deref(), Some("a=1&b=%20&c"));
        let (_, op, _) = run(&p, &[(":path", "/p?api_key=1")]);
        assert_eq!(op, Some(HeaderOp::Set(":path".into(), b"/p".to_vec())));
        let (_, op, _) = run(&p, &[(":path", "/p?a=1")]);
        assert_eq!(op, None);
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            err(
                serde_json::json!({"templates": [{"template": "users"}]}),
                true
            )
            .path,
            "url.templates[0].template"
        );
        assert_eq!(
            err(
                serde_json::json!({"templates": [{"template": "/a/x{id}"}]}),
                true
            )
            .path,
            "url.templates[0].template"
        );
        assert_eq!(
            err(
                serde_json::json!({"templates": [{"template": "/{a}/{a}"}]}),
                true
            )
            .path,
            "url.templates[0].template"
        );
        assert_eq!(
            err(
                serde_json::json!({"templates": [{"template": "/{a}", "params": {"b": "keep"}}]}),
                true
            )
            .path,
            "url.templates[0].params.b"
        );
        assert_eq!(
            err(serde_json::json!({"templates": [{"template": "/{a}", "params": {"a": "tokenize"}}]}), false).path,
            "url.templates[0].params.a"
        );
        assert_eq!(
            err(serde_json::json!({"auto_ids": "tokenize"}), false).path,
            "url.auto_ids"
        );
        assert_eq!(
            err(serde_json::json!({"query": {"default": "tokenize"}}), false).path,
            "url.query.default"
        );
        assert_eq!(
            err(
                serde_json::json!({"query": {"params": {"e": "tokenize"}}}),
                false
            )
            .path,
            "url.query.params.e"
        );
        assert_eq!(
            err(
                serde_json::json!({"query": {"params": {"e": "keep"}, "namespaces": {"e": "x"}}}),
                true
            )
            .path,
            "url.query.namespaces.e"
        );
        assert_eq!(
            err(serde_json::json!({"forward_query_remove": [""]}), true).path,
            "url.forward_query_remove[0]"
        );
    }
}
