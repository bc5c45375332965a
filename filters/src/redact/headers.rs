//! Header policy, per direction: which headers leave this hop and in what
//! form. Removal (exact names, prefixes, regexes, a named default set),
//! allow-list mode, tokenized values and detector scans.

use crate::error::join;
use crate::error::ConfigError;
use crate::http::{self, header_name, Header, HeaderOp};
use crate::metrics::Metric;
use crate::redact::metadata;
use crate::redact::pct;
use crate::redact::token;
use crate::redact::{Redactor, ScanOutcome};
use regex_lite::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What to do with headers in one direction (`request_headers` towards the
/// upstream, `response_headers` towards the downstream).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderPolicyConfig {
    /// Built-in removal set applied on top of `remove` (default `none`).
    #[serde(default)]
    pub defaults: HeaderDefaults,
    /// Header names to remove, matched case-insensitively.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Name prefixes to remove (`x-internal-`).
    #[serde(default)]
    pub remove_prefixes: Vec<String>,
    /// regex-lite patterns searched in the lowercase name (anchor with `^`/`$`).
    #[serde(default)]
    pub remove_regex: Vec<String>,
    /// Allow-list mode: only these names (plus pseudo-headers, framing and
    /// the trace headers tracesafe manages) pass.
    #[serde(default)]
    pub allow_only: Option<Vec<String>>,
    /// Header names whose values are replaced by keyed tokens.
    #[serde(default)]
    pub tokenize: Vec<String>,
    /// Token namespace per tokenized header (default: the header name).
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// Header names, or `*` for all, whose values run through the detectors.
    #[serde(default)]
    pub scan: Vec<String>,
}

/// `defaults`: the named removal set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeaderDefaults {
    /// No built-in removals: the default, so a mesh-wide rollout with `{}`
    /// never strips the credentials apps and `RequestAuthentication` need.
    #[default]
    None,
    /// `authorization`, `proxy-authorization`, `cookie`, `set-cookie`,
    /// `x-api-key`, `x-amz-security-token`. Opt-in.
    Credentials,
    /// `credentials` plus `x-forwarded-client-cert` and `x-envoy-*`: for
    /// traffic leaving the mesh.
    External,
}

/// `defaults: credentials`: headers that carry credentials.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
];
/// `defaults: external` adds these names ...
pub const EXTERNAL_HEADERS: &[&str] = &["x-forwarded-client-cert"];
/// ... and these prefixes: mesh internals that must not leave the mesh.
pub const EXTERNAL_PREFIXES: &[&str] = &["x-envoy-"];

/// Trace headers tracesafe manages itself (trace context and baggage
/// modules): kept in allow-list mode, never tokenized or scanned as plain
/// headers.
pub const MANAGED_HEADERS: &[&str] = &[
    "traceparent",
    "tracestate",
    "baggage",
    "b3",
    "uber-trace-id",
    "x-request-id",
    "x-amzn-trace-id",
    "traceresponse",
];
/// Managed prefixes: B3 multi-header and the legacy baggage carriers.
pub const MANAGED_PREFIXES: &[&str] = &["x-b3-", "uberctx-", "ot-baggage-"];
/// Headers the proxy itself needs, which no header policy touches: message
/// framing, and `x-forwarded-proto`, without which Envoy's router finds no
/// route once a filter's header change has cleared the route cache.
pub const PROXY_HEADERS: &[&str] = &["content-length", "transfer-encoding", "x-forwarded-proto"];

/// Headers a client logs in with, or gets its session from. `scan: ["*"]`
/// leaves them alone unless named: the detectors mask Bearer and Basic
/// credentials and session ids, and a masked login is a logged-out user.
pub const LOGIN_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "set-cookie",
];

/// Whether `name` (lowercase) is a trace header tracesafe manages.
pub fn is_managed(name: &str) -> bool {
    MANAGED_HEADERS.contains(&name) || MANAGED_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[derive(Debug, Clone, Default)]
enum ScanSet {
    #[default]
    None,
    /// `*`, with the names listed next to it.
    All(Vec<String>),
    Names(Vec<String>),
}

/// A header policy compiled once in `on_configure`.
#[derive(Debug, Clone, Default)]
pub struct HeaderPolicy {
    remove: NameSet,
    remove_prefixes: Vec<String>,
    remove_regex: Vec<Regex>,
    allow_only: Option<Vec<String>>,
    /// (name, namespace)
    tokenize: Vec<(String, String)>,
    scan: ScanSet,
}

impl HeaderPolicy {
    /// Validates and normalises the configured names. `path` is the JSON
    /// path of the policy, used in error messages.
    pub fn compile(
        cfg: &HeaderPolicyConfig,
        path: &str,
        has_keys: bool,
    ) -> Result<Self, ConfigError> {
        let mut remove = names(&cfg.remove, &join(path, "remove"))?;
        untouchable(&remove, &join(path, "remove"))?;
        let mut remove_prefixes = names(&cfg.remove_prefixes, &join(path, "remove_prefixes"))?;
        let (set, prefixes): (&[&[&str]], &[&str]) = match cfg.defaults {
            HeaderDefaults::None => (&[], &[]),
            HeaderDefaults::Credentials => (&[CREDENTIAL_HEADERS], &[]),
            HeaderDefaults::External => {
                (&[CREDENTIAL_HEADERS, EXTERNAL_HEADERS], EXTERNAL_PREFIXES)
            }
        };
        remove.extend(set.concat().iter().map(|s| s.to_string()));
        remove_prefixes.extend(prefixes.iter().map(|s| s.to_string()));
        let mut remove_regex = Vec::with_capacity(cfg.remove_regex.len());
        for (i, re) in cfg.remove_regex.iter().enumerate() {
            let at = format!("{}[{i}]", join(path, "remove_regex"));
            let re = Regex::new(re).map_err(|e| ConfigError::new(at, e.to_string()))?;
            remove_regex.push(re);
        }
        let allow_only = match &cfg.allow_only {
            Some(list) => {
                let mut list = names(list, &join(path, "allow_only"))?;
                list.sort_unstable();
                Some(list)
            }
            None => None,
        };
        let tokenize_names = names(&cfg.tokenize, &join(path, "tokenize"))?;
        unmanaged(&tokenize_names, &join(path, "tokenize"))?;
        untouchable(&tokenize_names, &join(path, "tokenize"))?;
        if !tokenize_names.is_empty() {
            token::require_keys(has_keys, &join(path, "tokenize"))?;
        }
        let namespaces = token::namespaces(&cfg.namespaces, &tokenize_names, path)?;
        let tokenize = tokenize_names
            .into_iter()
            .map(|n| {
                let ns = namespaces.get(&n).cloned().unwrap_or_else(|| n.clone());
                (n, ns)
            })
            .collect();
        let scan = if cfg.scan.is_empty() {
            ScanSet::None
        } else {
            let list = names(&cfg.scan, &join(path, "scan"))?;
            unmanaged(&list, &join(path, "scan"))?;
            untouchable(&list, &join(path, "scan"))?;
            if list.iter().any(|s| s == "*") {
                ScanSet::All(list)
            } else {
                ScanSet::Names(list)
            }
        };
        Ok(Self {
            remove: NameSet::new(remove),
            remove_prefixes,
            remove_regex,
            allow_only,
            tokenize,
            scan,
        })
    }

    /// Whether the removal lists (names, prefixes, regexes, defaults) drop
    /// `name` (lowercase).
    pub fn removes(&self, name: &str) -> bool {
        self.remove.contains(name)
            || self
                .remove_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
            || self.remove_regex.iter().any(|re| re.is_match(name))
    }

    /// Whether a (non-pseudo, non-proxy) header `name` (lowercase) is
    /// removed: by the removal lists or by `allow_only`.
    pub fn drops(&self, name: &str) -> bool {
        self.drops_given(name, self.removes(name))
    }

    /// [`HeaderPolicy::drops`] when `removes` is already known.
    fn drops_given(&self, name: &str, removes: bool) -> bool {
        removes || !self.allowed(name)
    }

    /// The token namespace of a tokenized header (lowercase name).
    pub fn token_namespace(&self, name: &str) -> Option<&str> {
        self.tokenize
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, ns)| ns.as_str())
    }

    fn allowed(&self, name: &str) -> bool {
        match &self.allow_only {
            None => true,
            Some(list) => {
                is_managed(name) || list.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
            }
        }
    }

    /// No rule of this policy applies to `name`: the common case, checked
    /// before gathering the header's values.
    fn untouched(&self, name: &str, removes: bool) -> bool {
        !removes && self.allowed(name) && self.token_namespace(name).is_none() && !self.scans(name)
    }

    /// Whether `scan` covers `name` (lowercase): its values go through the
    /// detectors.
    pub fn scans(&self, name: &str) -> bool {
        match &self.scan {
            ScanSet::None => false,
            // Binary metadata (gRPC `-bin`) and logins are scanned only
            // when named.
            ScanSet::All(named) => {
                !(metadata::is_binary(name) || LOGIN_HEADERS.contains(&name))
                    || named.iter().any(|n| n == name)
            }
            ScanSet::Names(list) => list.iter().any(|n| n == name),
        }
    }

    /// Decides the operations for one header list. Each affected name gets
    /// one op however many fields carried it; counts are of fields, and
    /// removals count as `removed` (request or response counter).
    pub fn apply(
        &self,
        headers: &[Header],
        r: &mut Redactor<'_>,
        removed: Metric,
    ) -> Vec<HeaderOp> {
        let mut ops = Vec::new();
        for (i, (name, _)) in headers.iter().enumerate() {
            let lower = http::lowercase(name);
            if lower.starts_with(':') {
                continue;
            }
            // Looked up once: it decides both whether and how.
            let removes = self.removes(&lower);
            if self.untouched(&lower, removes) {
                continue;
            }
            let first = !headers
                .iter()
                .take(i)
                .any(|(n, _)| n.eq_ignore_ascii_case(&lower));
            if !first {
                continue;
            }
            let values = http::values(headers.get(i..).unwrap_or_default(), &lower);
            if let Some(op) = self.decide(&lower, removes, &values, r, removed) {
                ops.push(op);
            }
        }
        ops
    }

    /// `removes`: [`HeaderPolicy::removes`] of `name`.
    fn decide(
        &self,
        name: &str,
        removes: bool,
        values: &[&[u8]],
        r: &mut Redactor<'_>,
        removed: Metric,
    ) -> Option<HeaderOp> {
        if PROXY_HEADERS.contains(&name) || metadata::is_reserved(name) {
            return None;
        }
        let fields = values.len() as u64;
        if self.drops_given(name, removes) {
            r.count(removed, fields);
            return Some(HeaderOp::Remove(name.to_string()));
        }
        if is_managed(name) {
            return None;
        }
        if let Some(ns) = self.token_namespace(name) {
            if metadata::is_binary(name) {
                return metadata::tokenize(name, ns, values, r);
            }
            let mut changed = 0;
            let mut out: Vec<Vec<u8>> = Vec::with_capacity(values.len());
            for v in values {
                let v = v.trim_ascii();
                let token = r.token(ns, v);
                if token.as_bytes() != v {
                    changed += 1;
                }
                out.push(token.into_bytes());
            }
            if changed == 0 {
                return None;
            }
            r.count(Metric::HeadersTokenized, changed);
            return Some(HeaderOp::Set(name.to_string(), out.join(&b","[..])));
        }
        if !self.scans(name) {
            return None;
        }
        if metadata::is_binary(name) {
            return metadata::scan(name, values, r, removed);
        }
        let mut changed = false;
        let mut kept: Vec<Cow<'_, [u8]>> = Vec::with_capacity(values.len());
        for v in values {
            match r.scan_raw(&http::lossy(v), pct::is_header_text) {
                ScanOutcome::Clean => kept.push(Cow::Borrowed(v)),
                ScanOutcome::Remove => {
                    changed = true;
                    r.count(removed, 1);
                }
                ScanOutcome::Replace(s) => {
                    changed = true;
                    kept.push(Cow::Owned(s.into_bytes()));
                }
            }
        }
        match (changed, kept.is_empty()) {
            (false, _) => None,
            (true, true) => Some(HeaderOp::Remove(name.to_string())),
            (true, false) => Some(HeaderOp::Set(name.to_string(), kept.join(&b","[..]))),
        }
    }
}

/// The order of a [`NameSet`]: length, then bytes.
fn by_len(name: &str) -> (usize, &str) {
    (name.len(), name)
}

/// A set of header names, looked up for every header of every request:
/// a mask of the names' lengths turns most misses away before any
/// string compare.
#[derive(Debug, Clone, Default)]
struct NameSet {
    sorted: Vec<String>,
    /// Bit `n` for a name of `n` bytes, bit 63 for all of 63 and more.
    lens: u64,
}

impl NameSet {
    fn new(mut names: Vec<String>) -> Self {
        // By length first: a lookup the mask lets through mostly ends on a
        // length compare.
        names.sort_unstable_by(|a, b| by_len(a).cmp(&by_len(b)));
        names.dedup();
        let lens = names.iter().fold(0, |m, n| m | Self::bit(n));
        Self {
            sorted: names,
            lens,
        }
    }

    fn bit(name: &str) -> u64 {
        1 << name.len().min(63)
    }

    fn contains(&self, name: &str) -> bool {
        self.lens & Self::bit(name) != 0
            && self
                .sorted
                .binary_search_by(|n| by_len(n).cmp(&by_len(name)))
                .is_ok()
    }
}

/// Validates a list of header names (or prefixes), lowercased.
fn names(list: &[String], path: &str) -> Result<Vec<String>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, n)| header_name(n, &format!("{path}[{i}]")))
        .collect()
}

/// Managed trace headers are rewritten by their own modules, never as
/// plain header values.
fn unmanaged(list: &[String], path: &str) -> Result<(), ConfigError> {
    reject(
        list,
        path,
        is_managed,
        "is a trace header tracesafe manages; configure it in its own section",
    )
}

/// [`PROXY_HEADERS`] and gRPC-reserved names named explicitly are a
/// configuration mistake.
fn untouchable(list: &[String], path: &str) -> Result<(), ConfigError> {
    reject(
        list,
        path,
        |n| PROXY_HEADERS.contains(&n) || metadata::is_reserved(n),
        "is needed by the proxy or by gRPC and cannot be changed by a header policy",
    )
}

/// The first name in `list` that `bad` accepts, as an error at its index.
fn reject(
    list: &[String],
    path: &str,
    bad: impl Fn(&str) -> bool,
    why: &str,
) -> Result<(), ConfigError> {
    match list.iter().position(|n| bad(n)) {
        Some(i) => Err(ConfigError::new(
            format!("{path}[{i}]"),
            format!("{:?} {why}", list.get(i).map_or("", String::as_str)),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::redact::detectors::{DetectorKind, Detectors, DetectorsConfig};
    use crate::redact::token::test_keys::keyring;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy(v: serde_json::Value) -> HeaderPolicy {
        let cfg: HeaderPolicyConfig = serde_json::from_value(v).unwrap();
        HeaderPolicy::compile(&cfg, "request_headers", true).unwrap()
    }

    fn compile_err(v: serde_json::Value) -> ConfigError {
        let cfg: HeaderPolicyConfig = serde_json::from_value(v).unwrap();
        HeaderPolicy::compile(&cfg, "request_headers", false).unwrap_err()
    }

    fn h<'a>(name: &'a str, value: &'a [u8]) -> Header<'a> {
        (name, value)
    }

    /// Applies `p` with the default detectors and key k2; returns ops and
    /// counters.
    fn run(p: &HeaderPolicy, headers: &[Header]) -> (Vec<HeaderOp>, Metrics) {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let k = keyring("k2");
        let mut r = Redactor::new(&d, Some(k.minter(None)), Metrics::default());
        let ops = p.apply(headers, &mut r, Metric::HeadersRemoved);
        (ops, r.into_metrics())
    }

    fn removed(ops: &[HeaderOp]) -> Vec<&str> {
        ops.iter()
            .filter_map(|op| match op {
                HeaderOp::Remove(n) => Some(n.as_str()),
                HeaderOp::Set(..) => None,
            })
            .collect()
    }

    /// The length mask only turns misses away: names of the same length,
    /// and names of 63 bytes and more (which share one bit), are still
    /// told apart by their bytes.
    #[test]
    fn name_set_finds_exactly_its_names() {
        let long = "x".repeat(70);
        let longer = "y".repeat(90);
        let set = NameSet::new(vec![
            "cookie".into(),
            "x-api-key".into(),
            "cookie".into(),
            long.clone(),
        ]);
        for name in ["cookie", "x-api-key", long.as_str()] {
            assert!(set.contains(name), "{name}");
        }
        for name in [
            "cookies",
            "x-api-kez",
            "",
            "cooki",
            longer.as_str(),
            &long[1..],
        ] {
            assert!(!set.contains(name), "{name}");
        }
        assert!(!NameSet::default().contains(""));
    }

    #[test]
    fn removes_case_insensitively_once_per_name() {
        let p =
            policy(serde_json::json!({"defaults": "none", "remove": ["Authorization", "cookie"]}));
        let (ops, m) = run(
            &p,
            &[
                h("authorization", b"Bearer x"),
                h("Cookie", b"a=1"),
                h("cookie", b"b=2"),
                h("x-keep", b"1"),
            ],
        );
        assert_eq!(
            ops,
            vec![
                HeaderOp::Remove("authorization".into()),
                HeaderOp::Remove("cookie".into())
            ]
        );
        assert_eq!(m.get(Metric::HeadersRemoved), 3);
    }

    #[test]
    /// `{}` removes nothing (a mesh-wide rollout keeps every login);
    /// the credential and external sets are opt-in.
    fn nothing_is_removed_by_default_and_the_sets_are_opt_in() {
        let all: Vec<Header> = CREDENTIAL_HEADERS
            .iter()
            .map(|n| h(n, b"v"))
            .chain([h("x-envoy-peer", b"v"), h("x-forwarded-client-cert", b"v")])
            .collect();
        assert_eq!(run(&policy(serde_json::json!({})), &all).0, vec![]);
        let p = policy(serde_json::json!({"defaults": "none"}));
        assert_eq!(run(&p, &all).0, vec![]);
        let p = policy(serde_json::json!({"defaults": "credentials"}));
        let (ops, _) = run(&p, &all);
        assert_eq!(removed(&ops), CREDENTIAL_HEADERS.to_vec());
        let p = policy(serde_json::json!({"defaults": "external"}));
        let (ops, _) = run(&p, &all);
        assert_eq!(removed(&ops).len(), CREDENTIAL_HEADERS.len() + 2);
    }

    #[test]
    fn prefixes_and_regexes() {
        let p = policy(serde_json::json!({
            "defaults": "none",
            "remove_prefixes": ["X-Internal-"],
            "remove_regex": ["^x-debug-[0-9]+$", "secret"]
        }));
        let (ops, _) = run(
            &p,
            &[
                h("x-internal-user", b"1"),
                h("x-debug-42", b"1"),
                h("x-debug-x", b"1"),
                h("x-my-secret-thing", b"1"),
                h("x-internal", b"1"),
            ],
        );
        assert_eq!(
            removed(&ops),
            ["x-internal-user", "x-debug-42", "x-my-secret-thing"]
        );
    }

    #[test]
    fn allow_only_keeps_listed_pseudo_proxy_and_trace_headers() {
        let p = policy(
            serde_json::json!({"defaults": "none", "allow_only": ["Accept", "authorization"]}),
        );
        let input = [
            h(":path", b"/"),
            h(":authority", b"a"),
            h("accept", b"*/*"),
            h("authorization", b"x"),
            h("content-length", b"0"),
            h("x-forwarded-proto", b"http"),
            h("traceparent", b"00-..."),
            h("baggage", b"a=1"),
            h("x-b3-traceid", b"1"),
            h("uberctx-a", b"1"),
            h("x-request-id", b"1"),
            h("user-agent", b"curl"),
            h("x-forwarded-for", b"10.0.0.1"),
        ];
        let (ops, m) = run(&p, &input);
        assert_eq!(removed(&ops), ["user-agent", "x-forwarded-for"]);
        assert_eq!(m.get(Metric::HeadersRemoved), 2);
        // Removal lists still apply to allowed names.
        let p =
            policy(serde_json::json!({"defaults": "credentials", "allow_only": ["authorization"]}));
        assert_eq!(removed(&run(&p, &input[3..4]).0), ["authorization"]);
    }

    #[test]
    fn tokenizes_values_with_namespaces() {
        let p = policy(serde_json::json!({
            "tokenize": ["X-User-Id", "x-tenant-id"],
            "namespaces": {"x-user-id": "user"}
        }));
        let (ops, m) = run(
            &p,
            &[
                h("x-user-id", b" 42 "),
                h("x-tenant-id", b"tk.k2.p84PCaUIFbo_9PJ0HNRkcw"),
                h("x-other", b"42"),
            ],
        );
        assert_eq!(
            ops,
            vec![HeaderOp::Set(
                "x-user-id".into(),
                b"tk.k2.p84PCaUIFbo_9PJ0HNRkcw".to_vec()
            )]
        );
        assert_eq!(m.get(Metric::HeadersTokenized), 1);
        assert_eq!(m.get(Metric::TokensMinted), 1);
        // Several fields: one token each, joined as one list.
        let (ops, _) = run(&p, &[h("x-user-id", b"42"), h("x-user-id", b"42")]);
        assert_eq!(
            ops,
            vec![HeaderOp::Set(
                "x-user-id".into(),
                b"tk.k2.p84PCaUIFbo_9PJ0HNRkcw,tk.k2.p84PCaUIFbo_9PJ0HNRkcw".to_vec()
            )]
        );
    }

    #[test]
    fn scans_named_or_all_headers() {
        let p = policy(serde_json::json!({"scan": ["x-note"]}));
        let input = [
            h("x-note", b"call alice@example.com"),
            h("x-other", b"bob@example.com"),
            h("traceparent", b"bob@example.com"),
        ];
        let (ops, m) = run(&p, &input);
        assert_eq!(
            ops,
            vec![HeaderOp::Set(
                "x-note".into(),
                b"call [REDACTED:email]".to_vec()
            )]
        );
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Email)), 1);
        let p = policy(serde_json::json!({"scan": ["*"]}));
        let (ops, _) = run(&p, &input);
        assert_eq!(ops.len(), 2, "managed traceparent is not scanned: {ops:?}");
        let logins = [
            h("authorization", b"Bearer alice@example.com"),
            h("cookie", b"who=alice@example.com"),
        ];
        assert_eq!(run(&p, &logins).0, vec![], "`*` leaves logins alone");
        let named = policy(serde_json::json!({"scan": ["*", "cookie"]}));
        assert_eq!(
            run(&named, &logins).0,
            vec![HeaderOp::Set(
                "cookie".into(),
                b"who=[REDACTED:email]".to_vec()
            )]
        );
        let (ops, _) = run(&p, &[h("x-clean", &[0xff, b'a'])]);
        assert_eq!(ops, vec![], "clean non-UTF-8 values stay untouched");
    }

    /// Found by the leak audit (tests/leak_audit.rs): a percent-encoded
    /// email in a Referer passed the detectors.
    #[test]
    fn scanned_values_are_read_percent_decoded() {
        let p = policy(serde_json::json!({"scan": ["referer"]}));
        let (ops, _) = run(
            &p,
            &[h(
                "referer",
                b"https://shop.example/a?email=alice%40example.com&q=a%20b",
            )],
        );
        assert_eq!(
            ops,
            vec![HeaderOp::Set(
                "referer".into(),
                b"https://shop.example/a?email=[REDACTED:email]&q=a b".to_vec()
            )]
        );
        let (ops, _) = run(&p, &[h("referer", b"https://shop.example/a?q=a%20b")]);
        assert_eq!(ops, vec![], "escapes alone change nothing");
    }

    #[test]
    fn non_utf8_values_are_fine() {
        let p = policy(serde_json::json!({"remove": ["x-secret"]}));
        let (ops, _) = run(
            &p,
            &[h("x-bin", &[0xff, 0xfe]), h("x-secret", &[0xc3, 0x28])],
        );
        assert_eq!(ops, vec![HeaderOp::Remove("x-secret".into())]);
    }

    #[test]
    fn bad_config_names_the_field() {
        let e = compile_err(serde_json::json!({"remove": ["ok", "bad name"]}));
        assert_eq!(e.path, "request_headers.remove[1]");
        let e = compile_err(serde_json::json!({"remove": [""]}));
        assert_eq!(e.path, "request_headers.remove[0]");
        assert_eq!(e.message, "expected a header name, got an empty string");
        let e = compile_err(serde_json::json!({"remove_regex": ["x", "("]}));
        assert_eq!(e.path, "request_headers.remove_regex[1]");
        let e = compile_err(serde_json::json!({"allow_only": ["a:b"]}));
        assert_eq!(e.path, "request_headers.allow_only[0]");
        let e = compile_err(serde_json::json!({"tokenize": ["x-user-id"]}));
        assert_eq!(e.path, "request_headers.tokenize");
        let e = compile_err(serde_json::json!({"scan": ["a", "baggage"]}));
        assert_eq!(e.path, "request_headers.scan[1]");
        let e = compile_err(serde_json::json!({"remove": ["X-Forwarded-Proto"]}));
        assert_eq!(e.path, "request_headers.remove[0]");
        // Prefixes and regexes never reach the proxy's own headers.
        let p = policy(serde_json::json!({"remove_prefixes": ["x-"], "remove_regex": ["length"]}));
        let (ops, _) = run(
            &p,
            &[h("x-forwarded-proto", b"http"), h("content-length", b"0")],
        );
        assert_eq!(ops, vec![]);
        let cfg: HeaderPolicyConfig = serde_json::from_value(
            serde_json::json!({"tokenize": ["a"], "namespaces": {"b": "x"}}),
        )
        .unwrap();
        let e = HeaderPolicy::compile(&cfg, "request_headers", true).unwrap_err();
        assert_eq!(e.path, "request_headers.namespaces.b");
    }
}
