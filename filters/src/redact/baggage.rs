//! W3C Baggage, and the legacy carriers `uberctx-<key>` (Jaeger) and
//! `ot-baggage-<key>` (OpenTracing), filtered by one policy.
//!
//! All `baggage` fields are joined and parsed per the W3C grammar; invalid
//! members are dropped and counted. Members are then dropped (`drop_keys`,
//! `allow_keys`), tokenized (`tokenize_keys`) or scanned by the detectors.
//! 64 members / 8192 bytes are kept, dropping whole members from the end.
//! A changed baggage is re-serialized as one `baggage` field; an unchanged
//! one is forwarded byte for byte.

use crate::error::join;
use crate::error::ConfigError;
use crate::http::{self, is_tchar, Header, HeaderOp};
use crate::metrics::Metric;
use crate::redact::pct;
use crate::redact::token;
use crate::redact::{Redactor, ScanOutcome};
use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// W3C limits over all `baggage` fields together.
pub const MAX_MEMBERS: usize = 64;
pub const MAX_BYTES: usize = 8192;

const LEGACY_PREFIXES: &[&str] = &["uberctx-", "ot-baggage-"];

/// `baggage`: the policy for W3C baggage and the legacy carriers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BaggageConfig {
    /// Keys to drop: exact, or patterns where `*` matches any run (`session.*`).
    pub drop_keys: Vec<String>,
    /// Allow-list mode: only matching keys pass (same syntax).
    pub allow_keys: Option<Vec<String>>,
    /// Keys whose values become keyed tokens.
    pub tokenize_keys: Vec<String>,
    /// Token namespace per tokenized key (default: the key).
    pub namespaces: BTreeMap<String, String>,
    /// Run the detectors over the remaining values.
    pub scan: bool,
    /// Apply this policy to `uberctx-*` and `ot-baggage-*` headers too.
    pub legacy: bool,
}

impl Default for BaggageConfig {
    fn default() -> Self {
        Self {
            drop_keys: Vec::new(),
            allow_keys: None,
            tokenize_keys: Vec::new(),
            namespaces: BTreeMap::new(),
            scan: true,
            legacy: true,
        }
    }
}

/// A compiled [`BaggageConfig`]. Keys compare ASCII-case-insensitively
/// (Envoy lowercases the legacy header names that carry them).
#[derive(Debug, Clone)]
pub struct BaggagePolicy {
    drop: Vec<String>,
    allow: Option<Vec<String>>,
    /// (lowercase key, namespace)
    tokenize: Vec<(String, String)>,
    scan: bool,
    legacy: bool,
}

impl BaggagePolicy {
    /// Leaves every member alone (no drop, allow-list, token or scan): the
    /// request's baggage need not even be parsed.
    pub fn is_noop(&self) -> bool {
        self.drop.is_empty() && self.allow.is_none() && self.tokenize.is_empty() && !self.scan
    }
}

/// One W3C member as received, borrowed from its `baggage` field: parsing
/// runs on every request, and most members are forwarded untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member<'a> {
    /// The member's text without surrounding whitespace, forwarded as is
    /// when the member is kept unchanged. Its properties are read again
    /// from it only when the member is rewritten.
    raw: &'a str,
    key: &'a str,
    /// Percent-decoded, invalid UTF-8 replaced by U+FFFD; owned only when
    /// the value had escapes.
    value: Cow<'a, str>,
}

/// One legacy header name and its fields.
#[derive(Debug, Clone)]
struct Legacy<'a> {
    /// Lowercase; Envoy already lowercases names, so usually borrowed.
    name: Cow<'a, str>,
    /// Length of the `uberctx-`/`ot-baggage-` prefix of `name`.
    prefix: usize,
    values: Vec<&'a [u8]>,
}

impl<'a> Legacy<'a> {
    fn key(&self) -> &str {
        self.name.get(self.prefix..).unwrap_or_default()
    }

    fn value(&self) -> Option<Cow<'a, str>> {
        self.values
            .first()
            .map(|v| pct::decode_cow(v.trim_ascii(), false))
    }
}

/// The baggage of one request, parsed once and used for the tenant lookup
/// and the policy. Borrows from the request headers.
#[derive(Debug, Clone, Default)]
pub struct Baggage<'a> {
    present: bool,
    /// Bytes of all `baggage` fields joined with `,`, as they would be
    /// forwarded unchanged.
    bytes: usize,
    members: Vec<Member<'a>>,
    invalid: u64,
    legacy: Vec<Legacy<'a>>,
}

/// What the policy decided for one member.
enum Decision {
    Keep,
    Drop,
    Value(String),
}

impl BaggagePolicy {
    pub fn compile(cfg: &BaggageConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let drop = keys(&cfg.drop_keys, &join(path, "drop_keys"))?;
        let allow = match &cfg.allow_keys {
            Some(list) => Some(keys(list, &join(path, "allow_keys"))?),
            None => None,
        };
        let tokenized = keys(&cfg.tokenize_keys, &join(path, "tokenize_keys"))?;
        if !tokenized.is_empty() {
            token::require_keys(has_keys, &join(path, "tokenize_keys"))?;
        }
        let namespaces = token::namespaces(&cfg.namespaces, &tokenized, path)?;
        let tokenize = tokenized
            .into_iter()
            .zip(&cfg.tokenize_keys)
            .map(|(lower, written)| {
                let ns = namespaces
                    .get(&lower)
                    .cloned()
                    .unwrap_or_else(|| written.clone());
                (lower, ns)
            })
            .collect();
        Ok(Self {
            drop,
            allow,
            tokenize,
            scan: cfg.scan,
            legacy: cfg.legacy,
        })
    }

    /// The token namespace of a tokenized key, in any case (keys are
    /// stored lowercase; compared without a lowercased copy, since this
    /// runs for every baggage member).
    pub fn token_namespace(&self, key: &str) -> Option<&str> {
        self.tokenize
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, ns)| ns.as_str())
    }

    /// The header operations for this request's baggage. `skip(name)` is true
    /// for header names the header policy already removes.
    pub fn apply(
        &self,
        bag: &Baggage,
        skip: &dyn Fn(&str) -> bool,
        r: &mut Redactor<'_>,
    ) -> Vec<HeaderOp> {
        let mut ops = Vec::new();
        if bag.present && !skip("baggage") {
            ops.extend(self.apply_w3c(bag, r));
        }
        if self.legacy {
            for l in &bag.legacy {
                if !skip(&l.name) {
                    ops.extend(self.apply_legacy(l, r));
                }
            }
        }
        ops
    }

    fn apply_w3c(&self, bag: &Baggage, r: &mut Redactor<'_>) -> Option<HeaderOp> {
        r.count(Metric::BaggageInvalid, bag.invalid);
        // Whitespace and empty list members count against the byte limit
        // too: over it, even an unchanged list is re-serialized compactly.
        let mut changed = bag.invalid > 0 || bag.bytes > MAX_BYTES;
        let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(bag.members.len());
        for m in &bag.members {
            match self.decide(m.key, &m.value, r) {
                Decision::Keep => out.push(Cow::Borrowed(m.raw)),
                Decision::Drop => changed = true,
                Decision::Value(v) => {
                    changed = true;
                    out.push(Cow::Owned(serialize(m.key, &v, m.raw)));
                }
            }
        }
        let kept = within_limits(&out);
        if kept < out.len() {
            r.count(Metric::BaggageOverLimit, (out.len() - kept) as u64);
            out.truncate(kept);
            changed = true;
        }
        match (changed, out.is_empty()) {
            (false, _) => None,
            (true, true) => Some(HeaderOp::Remove("baggage".into())),
            (true, false) => Some(HeaderOp::Set("baggage".into(), out.join(",").into_bytes())),
        }
    }

    fn apply_legacy(&self, l: &Legacy, r: &mut Redactor<'_>) -> Option<HeaderOp> {
        let value = match l.values.as_slice() {
            [one] if !l.key().is_empty() => pct::decode_cow(one.trim_ascii(), false),
            // Several fields for one key (or no key at all) cannot be
            // mapped to one member: drop them.
            _ => {
                r.count(Metric::BaggageInvalid, l.values.len() as u64);
                return Some(HeaderOp::Remove(l.name.to_string()));
            }
        };
        match self.decide(l.key(), &value, r) {
            Decision::Keep => None,
            Decision::Drop => Some(HeaderOp::Remove(l.name.to_string())),
            Decision::Value(v) => Some(HeaderOp::Set(
                l.name.to_string(),
                pct::encode(&v, pct::is_baggage_octet).into_bytes(),
            )),
        }
    }

    fn decide(&self, key: &str, value: &str, r: &mut Redactor<'_>) -> Decision {
        let lower = http::lowercase(key);
        let allowed = self.allow.as_ref().is_none_or(|allow| {
            allow
                .iter()
                .any(|p| wildcard(p.as_bytes(), lower.as_bytes()))
        });
        if !allowed
            || self
                .drop
                .iter()
                .any(|p| wildcard(p.as_bytes(), lower.as_bytes()))
        {
            r.count(Metric::BaggageDropped, 1);
            return Decision::Drop;
        }
        if let Some(ns) = self.token_namespace(&lower) {
            let token = r.token(ns, value.as_bytes());
            if token == value {
                return Decision::Keep;
            }
            r.count(Metric::BaggageTokenized, 1);
            return Decision::Value(token);
        }
        if !self.scan {
            return Decision::Keep;
        }
        match r.scan(value) {
            ScanOutcome::Clean => Decision::Keep,
            ScanOutcome::Remove => {
                r.count(Metric::BaggageDropped, 1);
                Decision::Drop
            }
            ScanOutcome::Replace(v) => Decision::Value(v),
        }
    }
}

impl<'a> Baggage<'a> {
    pub fn parse(headers: &[Header<'a>]) -> Self {
        let mut bag = Baggage::default();
        for &(name, value) in headers {
            if name.eq_ignore_ascii_case("baggage") {
                // As if all fields were joined with `,`: members never span
                // fields, so each is parsed where it lies.
                bag.bytes += value.len() + usize::from(bag.present);
                bag.present = true;
                bag.parse_field(value);
            } else if let Some(prefix) = LEGACY_PREFIXES.iter().find(|p| {
                name.get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
            }) {
                bag.push_legacy(name, prefix.len(), value);
            }
        }
        bag
    }

    fn parse_field(&mut self, field: &'a [u8]) {
        let commas = field.iter().filter(|&&b| b == b',').count();
        self.members.reserve(commas + 1);
        // One UTF-8 check for the whole field is cheaper than one per
        // member; only a field with invalid UTF-8 is checked member by
        // member (a member with invalid UTF-8 is invalid).
        match std::str::from_utf8(field) {
            Ok(text) => text.split(',').for_each(|m| self.push_member(Some(m))),
            Err(_) => field
                .split(|&b| b == b',')
                .for_each(|m| self.push_member(std::str::from_utf8(m).ok())),
        }
    }

    /// One list member (`None`: not UTF-8); empty ones are skipped.
    fn push_member(&mut self, text: Option<&'a str>) {
        match text.map(|t| t.trim_matches([' ', '\t'])) {
            Some("") => {}
            Some(t) => match parse_member(t) {
                Some(m) => self.members.push(m),
                None => self.invalid += 1,
            },
            None => self.invalid += 1,
        }
    }

    fn push_legacy(&mut self, name: &'a str, prefix: usize, value: &'a [u8]) {
        let name = http::lowercase(name);
        match self.legacy.iter_mut().find(|l| l.name == name) {
            Some(l) => l.values.push(value),
            None => self.legacy.push(Legacy {
                name,
                prefix,
                values: vec![value],
            }),
        }
    }

    /// The decoded value of `key`: W3C baggage first, then the legacy
    /// headers. Used for the tenant source.
    pub fn value(&self, key: &str) -> Option<Cow<'_, str>> {
        if let Some(m) = self
            .members
            .iter()
            .find(|m| m.key.eq_ignore_ascii_case(key))
        {
            return Some(Cow::Borrowed(&m.value));
        }
        self.legacy
            .iter()
            .find(|l| l.key().eq_ignore_ascii_case(key))
            .and_then(Legacy::value)
    }

    /// The valid W3C members as (key, decoded value), in order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|m| (m.key, &*m.value))
    }

    /// The member a legacy header (`uberctx-<key>`, lowercase name) carries:
    /// (key, decoded value of its first field).
    pub fn legacy_member(&self, name: &str) -> Option<(&str, Cow<'_, str>)> {
        let l = self.legacy.iter().find(|l| l.name == name)?;
        Some((l.key(), l.value()?))
    }
}

/// `key OWS "=" OWS value *( OWS ";" OWS property )`, ASCII only; `None`
/// when the member is invalid.
fn parse_member(text: &str) -> Option<Member<'_>> {
    if !text.is_ascii() {
        return None;
    }
    let (head, mut props) = split_member(text);
    let (key, value) = split_at_byte(head, b'=')?;
    let key = token_str(key)?;
    let value = octets(value)?;
    // Most values have no escapes: then the text is the value.
    let value = if value.bytes().any(|b| b == b'%') {
        let decoded = pct::decode(value.as_bytes(), false, true)?;
        Cow::Owned(
            String::from_utf8(decoded)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    } else {
        Cow::Borrowed(value)
    };
    props.try_for_each(|p| p.map(drop))?;
    Some(Member {
        raw: text,
        key,
        value,
    })
}

/// A member's text as its `key=value` part and its properties, OWS
/// trimmed: `(key, Some(value))` or `(key, None)`, or `None` for an invalid
/// one. Validates them when parsing and lists them when the member is
/// rewritten.
fn split_member(text: &str) -> (&str, impl Iterator<Item = Option<Property<'_>>>) {
    let mut parts = pieces(text, b';');
    let head = parts.next().unwrap_or_default();
    let props = parts.map(|p| match split_at_byte(p, b'=') {
        Some((k, v)) => Some((token_str(k)?, Some(octets(v)?))),
        None => Some((token_str(p)?, None)),
    });
    (head, props)
}

/// `s` around its first `sep` (ASCII). Byte loops: members and their
/// parts are short, and a `char` search costs more to set up than it
/// saves on them.
fn split_at_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s` split at every `sep` (ASCII), like [`str::split`].
fn pieces(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        let (head, tail) = match split_at_byte(r, sep) {
            Some((head, tail)) => (head, Some(tail)),
            None => (r, None),
        };
        rest = tail;
        Some(head)
    })
}

/// A property's key and optional value.
type Property<'a> = (&'a str, Option<&'a str>);

/// A non-empty RFC 7230 token, OWS trimmed.
fn token_str(s: &str) -> Option<&str> {
    let s = s.trim_matches([' ', '\t']);
    (!s.is_empty() && s.chars().all(is_tchar)).then_some(s)
}

/// `*baggage-octet`, OWS trimmed; `%` escapes are checked when decoding.
fn octets(s: &str) -> Option<&str> {
    let s = s.trim_matches([' ', '\t']);
    s.bytes().all(pct::is_baggage_octet).then_some(s)
}

/// `key=value` with the (valid, normalised) properties of the member's
/// text `raw`.
fn serialize(key: &str, value: &str, raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + value.len() + 8);
    out.push_str(key);
    out.push('=');
    pct::encode_into(&mut out, value, pct::is_baggage_octet);
    for (k, v) in split_member(raw).1.flatten() {
        out.push(';');
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// How many leading members fit in 64 members and 8192 bytes (with the
/// `,` separators).
fn within_limits(members: &[Cow<'_, str>]) -> usize {
    let mut bytes = 0;
    for (i, m) in members.iter().enumerate() {
        bytes += m.len() + usize::from(i > 0);
        if i >= MAX_MEMBERS || bytes > MAX_BYTES {
            return i;
        }
    }
    members.len()
}

/// Validates keys, lowercased. `*` is a token character, so patterns are
/// keys too; only `drop_keys`/`allow_keys` read it as a wildcard.
fn keys(list: &[String], path: &str) -> Result<Vec<String>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, k)| match token_str(k) {
            Some(t) if t == k => Ok(k.to_ascii_lowercase()),
            _ => Err(ConfigError::new(
                format!("{path}[{i}]"),
                format!("{k:?} is not a baggage key"),
            )),
        })
        .collect()
}

/// `*` matches any run of characters (greedy with backtracking).
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match (p.get(pi), s.get(si)) {
            (Some(b'*'), _) => {
                star = Some((pi, si));
                pi += 1;
            }
            (Some(a), Some(b)) if a == b => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::redact::detectors::{Detectors, DetectorsConfig};
    use crate::redact::token::test_keys::keyring;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy(v: serde_json::Value) -> BaggagePolicy {
        let cfg: BaggageConfig = serde_json::from_value(v).unwrap();
        BaggagePolicy::compile(&cfg, "baggage", true).unwrap()
    }

    fn run_with(
        p: &BaggagePolicy,
        headers: &[Header],
        skip: &dyn Fn(&str) -> bool,
    ) -> (Vec<HeaderOp>, Metrics) {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let k = keyring("k2");
        let mut r = Redactor::new(&d, Some(k.minter(None)), Metrics::default());
        let ops = p.apply(&Baggage::parse(headers), skip, &mut r);
        (ops, r.into_metrics())
    }

    fn run(p: &BaggagePolicy, headers: &[Header]) -> (Vec<HeaderOp>, Metrics) {
        run_with(p, headers, &|_| false)
    }

    fn bag<'a>(values: &[&'a str]) -> Vec<Header<'a>> {
        values.iter().map(|v| ("baggage", v.as_bytes())).collect()
    }

    fn set(v: &str) -> Vec<HeaderOp> {
        vec![HeaderOp::Set("baggage".into(), v.as_bytes().to_vec())]
    }

    /// The byte splitters agree with `str`'s.
    #[test]
    fn byte_splits_are_str_splits() {
        for s in [
            "",
            ";",
            "a",
            "a;b",
            ";a;;b;",
            "k=v;p=1=2;q",
            "=",
            "a=",
            "=b",
        ] {
            assert_eq!(
                pieces(s, b';').collect::<Vec<_>>(),
                s.split(';').collect::<Vec<_>>()
            );
            assert_eq!(split_at_byte(s, b'='), s.split_once('='), "{s:?}");
        }
    }

    #[test]
    fn grammar_accepts_ows_properties_and_equals_in_values() {
        let b = Baggage::parse(&bag(&[" a = 1 ; p1 ; p2 = x ,b=x=y", "c=%41%20b,d="]));
        assert_eq!(b.invalid, 0);
        let props = |raw| {
            split_member(raw)
                .1
                .flatten()
                .map(|(k, v)| v.map_or(k.to_string(), |v| format!("{k}={v}")))
                .collect()
        };
        let got: Vec<(&str, &str, Vec<String>)> = b
            .members
            .iter()
            .map(|m| (m.key, &*m.value, props(m.raw)))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "1", vec!["p1".to_string(), "p2=x".to_string()]),
                ("b", "x=y", vec![]),
                ("c", "A b", vec![]),
                ("d", "", vec![]),
            ]
        );
        assert_eq!(b.members[0].raw, "a = 1 ; p1 ; p2 = x");
    }

    #[test]
    fn grammar_rejects_invalid_members() {
        for bad in [
            "novalue",
            "=v",
            "a b=1",
            "k=va lue",
            "k=\"q\"",
            "k=back\\slash",
            "k=100%",
            "k=%zz",
            "k=v;",
            "k=v;p q",
            "k(=v",
            "k=\u{e9}",
        ] {
            let b = Baggage::parse(&bag(&[bad]));
            assert_eq!((b.members.len(), b.invalid), (0, 1), "{bad}");
        }
        let b = Baggage::parse(&[("baggage", &b"k=\xff"[..])]);
        assert_eq!(b.invalid, 1);
    }

    #[test]
    fn invalid_members_are_dropped_and_counted() {
        let (ops, m) = run(
            &policy(serde_json::json!({})),
            &bag(&["a=1,bad,b=2", "c d=3"]),
        );
        assert_eq!(ops, set("a=1,b=2"));
        assert_eq!(m.get(Metric::BaggageInvalid), 2);
    }

    #[test]
    fn unchanged_baggage_is_not_touched() {
        let (ops, m) = run(
            &policy(serde_json::json!({})),
            &bag(&["a = 1;p, b=%41", "c=3,, "]),
        );
        assert_eq!(ops, vec![]);
        assert_eq!(m.iter().count(), 0);
    }

    #[test]
    fn drop_and_allow_keys_with_patterns() {
        let p = policy(serde_json::json!({"drop_keys": ["Session.*", "token"]}));
        let (ops, m) = run(&p, &bag(&["session.id=1,a=2,TOKEN=3,session=4"]));
        assert_eq!(ops, set("a=2,session=4"));
        assert_eq!(m.get(Metric::BaggageDropped), 2);
        let p = policy(serde_json::json!({"allow_keys": ["user.*", "tenant"]}));
        let (ops, _) = run(&p, &bag(&["user.plan=pro,other=1,tenant=t"]));
        assert_eq!(ops, set("user.plan=pro,tenant=t"));
        let (ops, _) = run(&p, &bag(&["other=1"]));
        assert_eq!(ops, vec![HeaderOp::Remove("baggage".into())]);
    }

    #[test]
    fn wildcards() {
        for (p, s, ok) in [
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abbbc", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*c", "abcd", false),
            ("abc", "ab", false),
            ("*.id", "user.id", true),
            ("*.id", "user.idx", false),
        ] {
            assert_eq!(wildcard(p.as_bytes(), s.as_bytes()), ok, "{p} {s}");
        }
    }

    #[test]
    fn tokenizes_keys_keeping_properties() {
        let p = policy(serde_json::json!({
            "tokenize_keys": ["user.id", "account.id"],
            "namespaces": {"user.id": "user"}
        }));
        let (ops, m) = run(
            &p,
            &bag(&["user.id=42;ttl=60,account.id=tk.k1.RN1-OJO1K2rpPWeLDuUhEw"]),
        );
        assert_eq!(ops, set("user.id=tk.k2.p84PCaUIFbo_9PJ0HNRkcw;ttl=60,account.id=tk.k1.RN1-OJO1K2rpPWeLDuUhEw"));
        assert_eq!(m.get(Metric::BaggageTokenized), 1);
    }

    /// Keys match in any case, whichever case the config wrote them in.
    #[test]
    fn token_namespace_ignores_case() {
        let p = policy(serde_json::json!({
            "tokenize_keys": ["User.Id", "acct"],
            "namespaces": {"user.id": "user"}
        }));
        assert_eq!(p.token_namespace("user.id"), Some("user"));
        assert_eq!(p.token_namespace("USER.ID"), Some("user"));
        assert_eq!(p.token_namespace("aCcT"), Some("acct"));
        assert_eq!(p.token_namespace("acct2"), None);
        assert_eq!(p.token_namespace("user"), None);
    }

    #[test]
    fn detectors_mask_and_reencode_values() {
        let p = policy(serde_json::json!({}));
        // Decoded, masked, then re-encoded: the space and the invalid byte
        // (now U+FFFD) are percent-encoded again.
        let (ops, _) = run(&p, &bag(&["note=%FF%20mail%20a%40example.com;p,k=v"]));
        assert_eq!(ops, set("note=%EF%BF%BD%20mail%20[REDACTED:email];p,k=v"));
        let p = policy(serde_json::json!({"scan": false}));
        assert_eq!(run(&p, &bag(&["note=a%40example.com"])).0, vec![]);
    }

    #[test]
    fn member_limit_drops_from_the_end() {
        let members: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
        let (ops, m) = run(&policy(serde_json::json!({})), &bag(&[&members.join(",")]));
        assert_eq!(ops, set(&members[..64].join(",")));
        assert_eq!(m.get(Metric::BaggageOverLimit), 6);
    }

    #[test]
    fn byte_limit_counts_all_fields_and_separators() {
        // 4 members of 2047 bytes + 3 commas = 8191 bytes fit; a fifth
        // member of any size does not.
        let big = |k: char| format!("{k}={}", "x".repeat(2045));
        let fields = [big('a'), big('b'), big('c'), big('d')];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        assert_eq!(run(&policy(serde_json::json!({})), &bag(&refs)).0, vec![]);
        let mut more = refs.clone();
        more.push("e=1");
        let (ops, m) = run(&policy(serde_json::json!({})), &bag(&more));
        assert_eq!(ops, set(&fields.join(",")));
        assert_eq!(m.get(Metric::BaggageOverLimit), 1);
        let total: usize = fields.iter().map(String::len).sum::<usize>() + 3;
        assert_eq!(total, 8191);
    }

    /// Found by the `baggage` fuzz target: padding is forwarded bytes too.
    #[test]
    fn whitespace_and_empty_members_count_against_the_byte_limit() {
        let padded = format!("a=1{},b=2", " ".repeat(9000));
        let (ops, m) = run(&policy(serde_json::json!({})), &bag(&[&padded]));
        assert_eq!(ops, set("a=1,b=2"));
        assert_eq!(m.iter().count(), 0);
        let commas = format!("a=1{}", ",".repeat(8200));
        assert_eq!(
            run(&policy(serde_json::json!({})), &bag(&[&commas])).0,
            set("a=1")
        );
        // Within the limit, padding is forwarded as it came.
        let (ops, _) = run(&policy(serde_json::json!({})), &bag(&["a=1 ,, ", " b=2"]));
        assert_eq!(ops, vec![]);
    }

    #[test]
    fn legacy_headers_follow_the_same_policy() {
        let p = policy(serde_json::json!({
            "drop_keys": ["session"],
            "tokenize_keys": ["user.id"],
            "namespaces": {"user.id": "user"}
        }));
        let headers = [
            ("uberctx-user.id", &b"42"[..]),
            ("ot-baggage-session", &b"abc"[..]),
            ("uberctx-note", &b"mail%20a%40example.com"[..]),
            ("uberctx-plain", &b"ok"[..]),
            ("uberctx-dup", &b"1"[..]),
            ("uberctx-dup", &b"2"[..]),
        ];
        let (ops, m) = run(&p, &headers);
        assert_eq!(
            ops,
            vec![
                HeaderOp::Set(
                    "uberctx-user.id".into(),
                    b"tk.k2.p84PCaUIFbo_9PJ0HNRkcw".to_vec()
                ),
                HeaderOp::Remove("ot-baggage-session".into()),
                HeaderOp::Set("uberctx-note".into(), b"mail%20[REDACTED:email]".to_vec()),
                HeaderOp::Remove("uberctx-dup".into()),
            ]
        );
        assert_eq!(m.get(Metric::BaggageInvalid), 2);
        let p = policy(serde_json::json!({"drop_keys": ["session"], "legacy": false}));
        assert_eq!(run(&p, &headers).0, vec![]);
    }

    #[test]
    fn headers_removed_by_the_header_policy_are_skipped() {
        let p = policy(serde_json::json!({"drop_keys": ["a"]}));
        let mut headers = bag(&["a=1"]);
        headers.push(("uberctx-a", &b"1"[..]));
        let (ops, _) = run_with(&p, &headers, &|n| n == "baggage");
        assert_eq!(ops, vec![HeaderOp::Remove("uberctx-a".into())]);
    }

    #[test]
    fn value_lookup_for_the_tenant() {
        let b = Baggage::parse(&[
            ("baggage", &b"Tenant.Id=acme%2Dcorp"[..]),
            ("uberctx-region", &b"eu%2D1"[..]),
        ]);
        assert_eq!(b.value("tenant.id").as_deref(), Some("acme-corp"));
        assert_eq!(b.value("region").as_deref(), Some("eu-1"));
        assert_eq!(b.value("nope"), None);
    }

    #[test]
    fn config_errors() {
        let err = |v: serde_json::Value, keys: bool| {
            let cfg: BaggageConfig = serde_json::from_value(v).unwrap();
            BaggagePolicy::compile(&cfg, "baggage", keys).unwrap_err()
        };
        assert_eq!(
            err(serde_json::json!({"drop_keys": ["ok", "a b"]}), true).path,
            "baggage.drop_keys[1]"
        );
        assert_eq!(
            err(serde_json::json!({"tokenize_keys": [" a"]}), true).path,
            "baggage.tokenize_keys[0]"
        );
        assert_eq!(
            err(serde_json::json!({"tokenize_keys": ["a"]}), false).path,
            "baggage.tokenize_keys"
        );
        assert_eq!(
            err(
                serde_json::json!({"tokenize_keys": ["a"], "namespaces": {"b": "x"}}),
                true
            )
            .path,
            "baggage.namespaces.b"
        );
    }
}
