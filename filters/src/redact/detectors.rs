//! Value detectors: find personal data and credentials inside header values,
//! baggage values, query values, path segments and tracestate values.
//!
//! Each detector is a regex-lite pattern (compiled once) plus a check that
//! throws out look-alikes: Luhn for cards, a JSON header with `alg` for
//! JWTs, octet ranges for IPv4, a real parse for IPv6, the SSA rules for
//! SSNs. Detectors only locate; what happens to a hit (`remove`, `mask`,
//! `tokenize`) is applied by [`crate::redact::Redactor`]. The matched text
//! is never logged.

use crate::config::ConfigError;
use crate::engine::join;
use crate::redact::token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use regex_lite::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a detector found; also the metric `detector_hits.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectorKind {
    Email,
    Card,
    Jwt,
    Credential,
    AwsKey,
    Ipv4,
    Ipv6,
    Ssn,
    Phone,
    /// Any detector from `detectors.custom` (one counter for all of them:
    /// metric names never depend on configuration).
    Custom,
}

impl DetectorKind {
    pub const ALL: [DetectorKind; 10] = [
        DetectorKind::Email,
        DetectorKind::Card,
        DetectorKind::Jwt,
        DetectorKind::Credential,
        DetectorKind::AwsKey,
        DetectorKind::Ipv4,
        DetectorKind::Ipv6,
        DetectorKind::Ssn,
        DetectorKind::Phone,
        DetectorKind::Custom,
    ];

    /// The config field, mask label and default token namespace.
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Email => "email",
            DetectorKind::Card => "card",
            DetectorKind::Jwt => "jwt",
            DetectorKind::Credential => "credential",
            DetectorKind::AwsKey => "aws_key",
            DetectorKind::Ipv4 => "ipv4",
            DetectorKind::Ipv6 => "ipv6",
            DetectorKind::Ssn => "ssn",
            DetectorKind::Phone => "phone",
            DetectorKind::Custom => "custom",
        }
    }
}

/// What to do with a value in which a detector hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DetectorAction {
    /// The detector does not run.
    Off,
    /// Drop the whole carrier: the header field, baggage member or query
    /// parameter (a path segment becomes `REDACTED`).
    Remove,
    /// Replace the match with `[REDACTED:<kind>]` (cards keep the last 4
    /// digits: `[REDACTED:card:1111]`).
    #[default]
    Mask,
    /// Replace the match with its keyed token.
    Tokenize,
}

/// `detectors`: one action per built-in detector, plus custom ones.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorsConfig {
    pub email: DetectorAction,
    pub card: DetectorAction,
    pub jwt: DetectorAction,
    pub credential: DetectorAction,
    pub aws_key: DetectorAction,
    pub ipv4: DetectorAction,
    pub ipv6: DetectorAction,
    pub ssn: DetectorAction,
    pub phone: DetectorAction,
    /// Named regexes (regex-lite syntax).
    pub custom: Vec<CustomDetectorConfig>,
    /// Token namespace per tokenizing detector (default: its name).
    pub namespaces: BTreeMap<String, String>,
}

impl Default for DetectorsConfig {
    fn default() -> Self {
        let m = DetectorAction::Mask;
        Self {
            email: m,
            card: m,
            jwt: m,
            credential: m,
            aws_key: m,
            ipv4: m,
            ipv6: m,
            ssn: m,
            phone: m,
            custom: Vec::new(),
            namespaces: BTreeMap::new(),
        }
    }
}

/// One entry of `detectors.custom`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomDetectorConfig {
    /// Mask label and default namespace: `[a-z0-9_]`, 1 to 32 characters.
    pub name: String,
    pub regex: String,
    #[serde(default)]
    pub action: DetectorAction,
}

/// A detector's compiled action (`off` detectors are not compiled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Remove,
    Mask,
    /// With the token namespace.
    Tokenize(String),
}

/// The check that confirms a regex candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Custom,
    Email,
    Card,
    Jwt,
    Credential,
    AwsKey,
    Ipv4,
    Ipv6,
    Ssn,
    Phone,
}

#[derive(Debug, Clone)]
struct Rule {
    kind: DetectorKind,
    label: String,
    regex: Regex,
    check: Check,
    action: Act,
}

/// One confirmed match, as byte offsets into the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'d> {
    pub start: usize,
    pub end: usize,
    pub kind: DetectorKind,
    /// `email`, ..., or the custom detector's name.
    pub label: &'d str,
    pub action: &'d Act,
}

/// The compiled detectors of one policy, in priority order: custom first,
/// then the most specific built-ins. An earlier detector's hit wins over an
/// overlapping later one.
#[derive(Debug, Clone, Default)]
pub struct Detectors {
    rules: Vec<Rule>,
}

/// Built-in detectors in priority order, with their patterns.
const BUILT_IN: &[(DetectorKind, Check, &str)] = &[
    (
        DetectorKind::Credential,
        Check::Credential,
        r"(?i)\b(?:bearer|basic)[ \t]+[A-Za-z0-9._~+/=-]+",
    ),
    (
        DetectorKind::Jwt,
        Check::Jwt,
        r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    ),
    (
        DetectorKind::AwsKey,
        Check::AwsKey,
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|APKA)[A-Z0-9]{16}\b",
    ),
    (
        DetectorKind::Email,
        Check::Email,
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b",
    ),
    (
        DetectorKind::Card,
        Check::Card,
        r"\b[2-6](?:[ -]?[0-9]){12,18}\b",
    ),
    (
        DetectorKind::Ssn,
        Check::Ssn,
        r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
    ),
    (
        DetectorKind::Ipv6,
        Check::Ipv6,
        r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?",
    ),
    (
        DetectorKind::Ipv4,
        Check::Ipv4,
        r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b",
    ),
    (
        DetectorKind::Phone,
        Check::Phone,
        r"\+[1-9][0-9]{7,14}\b|(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?|[0-9]{2,4}[ .-])[0-9]{3,4}[ .-][0-9]{3,4}\b",
    ),
];

impl Detectors {
    /// `path` is the JSON path of `detectors`; `has_keys` says whether
    /// `tokenize` is possible.
    pub fn compile(cfg: &DetectorsConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let mut tokenized: Vec<String> = Vec::new();
        let mut planned: Vec<(DetectorKind, String, Regex, Check, DetectorAction)> = Vec::new();
        for (i, c) in cfg.custom.iter().enumerate() {
            let at = format!("{}[{i}]", join(path, "custom"));
            let name_ok = (1..=32).contains(&c.name.len())
                && c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok {
                return Err(ConfigError::new(
                    join(&at, "name"),
                    format!("{:?} must be 1 to 32 characters of a-z 0-9 _", c.name),
                ));
            }
            if DetectorKind::ALL.iter().any(|k| k.name() == c.name)
                || cfg.custom.iter().take(i).any(|o| o.name == c.name)
            {
                return Err(ConfigError::new(
                    join(&at, "name"),
                    format!("detector name {:?} is already taken", c.name),
                ));
            }
            let regex = Regex::new(&c.regex)
                .map_err(|e| ConfigError::new(join(&at, "regex"), e.to_string()))?;
            if regex.is_match("") {
                return Err(ConfigError::new(
                    join(&at, "regex"),
                    "the pattern matches the empty string",
                ));
            }
            planned.push((
                DetectorKind::Custom,
                c.name.clone(),
                regex,
                Check::Custom,
                c.action,
            ));
            if c.action == DetectorAction::Tokenize {
                token::require_keys(has_keys, &join(&at, "action"))?;
                tokenized.push(c.name.clone());
            }
        }
        for &(kind, check, pattern) in BUILT_IN {
            let action = builtin_action(cfg, kind);
            if action == DetectorAction::Tokenize {
                token::require_keys(has_keys, &join(path, kind.name()))?;
                tokenized.push(kind.name().to_string());
            }
            let regex = Regex::new(pattern)
                .map_err(|e| ConfigError::new(join(path, kind.name()), e.to_string()))?;
            planned.push((kind, kind.name().to_string(), regex, check, action));
        }
        let namespaces = token::namespaces(&cfg.namespaces, &tokenized, path)?;
        let rules = planned
            .into_iter()
            .filter_map(|(kind, label, regex, check, action)| {
                let action = match action {
                    DetectorAction::Off => return None,
                    DetectorAction::Remove => Act::Remove,
                    DetectorAction::Mask => Act::Mask,
                    DetectorAction::Tokenize => Act::Tokenize(
                        namespaces
                            .get(&label)
                            .cloned()
                            .unwrap_or_else(|| label.clone()),
                    ),
                };
                Some(Rule {
                    kind,
                    label,
                    regex,
                    check,
                    action,
                })
            })
            .collect();
        Ok(Self { rules })
    }

    /// Confirmed, non-overlapping hits in `text`, ordered by position.
    pub fn find(&self, text: &str) -> Vec<Hit<'_>> {
        let mut hits: Vec<Hit<'_>> = Vec::new();
        let shape = Shape::of(text.as_bytes());
        for rule in &self.rules {
            if !rule.check.may_match(&shape) {
                continue;
            }
            for m in rule.regex.find_iter(text) {
                let (start, end) = (m.start(), m.end());
                if hits.iter().any(|h| start < h.end && h.start < end) {
                    continue;
                }
                if rule.check.confirm(text.as_bytes(), start, end) {
                    hits.push(Hit {
                        start,
                        end,
                        kind: rule.kind,
                        label: &rule.label,
                        action: &rule.action,
                    });
                }
            }
        }
        hits.sort_by_key(|h| h.start);
        hits
    }
}

/// Byte counts of a value, computed once per scan for the pre-filters.
#[derive(Debug, Default)]
struct Shape {
    len: usize,
    digits: usize,
    upper: usize,
    dots: usize,
    dashes: usize,
    colons: usize,
    blanks: usize,
    at: usize,
}

impl Shape {
    fn of(text: &[u8]) -> Self {
        let mut s = Shape {
            len: text.len(),
            ..Shape::default()
        };
        for b in text {
            match b {
                b'0'..=b'9' => s.digits += 1,
                b'A'..=b'Z' => s.upper += 1,
                b'.' => s.dots += 1,
                b'-' => s.dashes += 1,
                b':' => s.colons += 1,
                b' ' | b'\t' => s.blanks += 1,
                b'@' => s.at += 1,
                _ => {}
            }
        }
        s
    }
}

fn builtin_action(cfg: &DetectorsConfig, kind: DetectorKind) -> DetectorAction {
    match kind {
        DetectorKind::Email => cfg.email,
        DetectorKind::Card => cfg.card,
        DetectorKind::Jwt => cfg.jwt,
        DetectorKind::Credential => cfg.credential,
        DetectorKind::AwsKey => cfg.aws_key,
        DetectorKind::Ipv4 => cfg.ipv4,
        DetectorKind::Ipv6 => cfg.ipv6,
        DetectorKind::Ssn => cfg.ssn,
        DetectorKind::Phone => cfg.phone,
        DetectorKind::Custom => DetectorAction::Off,
    }
}

/// The mask for a hit: `[REDACTED:<label>]`, cards `[REDACTED:card:<last 4>]`.
pub fn mask(hit: &Hit<'_>, text: &str) -> String {
    if hit.kind == DetectorKind::Card {
        let digits: Vec<u8> = text
            .as_bytes()
            .get(hit.start..hit.end)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(u8::is_ascii_digit)
            .collect();
        let last4 = digits
            .get(digits.len().saturating_sub(4)..)
            .unwrap_or_default();
        return format!("[REDACTED:card:{}]", String::from_utf8_lossy(last4));
    }
    format!("[REDACTED:{}]", hit.label)
}

impl Check {
    /// A pre-filter on byte counts, so most values skip most regexes (each
    /// needs at least what its shortest match contains).
    fn may_match(self, t: &Shape) -> bool {
        match self {
            Check::Custom => true,
            Check::Email => t.at > 0 && t.dots > 0,
            Check::Jwt => t.dots >= 2 && t.len >= 10,
            Check::Credential => t.blanks > 0 && t.len >= 8,
            Check::AwsKey => t.upper >= 4 && t.len >= 20,
            Check::Ipv6 => t.colons >= 2,
            Check::Card => t.digits >= 13,
            Check::Ssn => t.digits >= 9 && t.dashes >= 2,
            Check::Ipv4 => t.digits >= 4 && t.dots >= 3,
            Check::Phone => t.digits >= 7,
        }
    }

    fn confirm(self, text: &[u8], start: usize, end: usize) -> bool {
        let m = text.get(start..end).unwrap_or_default();
        match self {
            Check::Custom | Check::Email | Check::AwsKey => true,
            Check::Card => {
                let digits: Vec<u8> = m
                    .iter()
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| b - b'0')
                    .collect();
                (13..=19).contains(&digits.len())
                    && luhn(&digits)
                    && standalone(text, start, end, b" -.")
            }
            Check::Jwt => {
                let around = |b: Option<&u8>| {
                    b.is_some_and(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
                };
                !around(before(text, start, 1)) && !around(text.get(end)) && jwt_header_has_alg(m)
            }
            Check::Credential => credential(m),
            Check::Ipv4 => {
                m.split(|&b| b == b'.').all(|o| number(o) <= 255)
                    && standalone(text, start, end, b".")
            }
            Check::Ipv6 => {
                let edge = |b: Option<&u8>| {
                    b.is_some_and(|b| b.is_ascii_alphanumeric() || b":._".contains(b))
                };
                !edge(before(text, start, 1))
                    && !edge(text.get(end))
                    && m.iter().any(u8::is_ascii_hexdigit)
                    && std::str::from_utf8(m).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
            }
            Check::Ssn => {
                let mut parts = m.split(|&b| b == b'-').map(number);
                let (area, group, serial) = (
                    parts.next().unwrap_or(0),
                    parts.next().unwrap_or(0),
                    parts.next().unwrap_or(0),
                );
                area != 0
                    && area != 666
                    && area < 900
                    && group != 0
                    && serial != 0
                    && standalone(text, start, end, b"-")
            }
            Check::Phone => {
                let n = m.iter().filter(|b| b.is_ascii_digit()).count();
                (7..=15).contains(&n) && standalone(text, start, end, b" .-")
            }
        }
    }
}

fn before(text: &[u8], start: usize, back: usize) -> Option<&u8> {
    start.checked_sub(back).and_then(|i| text.get(i))
}

/// Not glued to a word, and not one piece of a longer number (`1.2.3.4.5`,
/// `123-45-6789-0`): digit runs joined by `seps` are one number.
fn standalone(text: &[u8], start: usize, end: usize, seps: &[u8]) -> bool {
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let sep = |b: Option<&u8>| b.is_some_and(|b| seps.contains(b));
    let digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_digit);
    let glued_before = word(before(text, start, 1))
        || (sep(before(text, start, 1)) && digit(before(text, start, 2)));
    let glued_after = word(text.get(end)) || (sep(text.get(end)) && digit(text.get(end + 1)));
    !glued_before && !glued_after
}

/// Decimal value of a short digit run (saturating; the regexes bound it).
fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |n, d| {
        n.saturating_mul(10)
            .saturating_add(u32::from(d.wrapping_sub(b'0')))
    })
}

/// The Luhn checksum over digit values (0-9).
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if !i.is_multiple_of(2) {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A JWT's first segment is base64url JSON with an `alg` string (RFC 7515).
fn jwt_header_has_alg(m: &[u8]) -> bool {
    let header = m.split(|&b| b == b'.').next().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|h| h.get("alg").is_some_and(serde_json::Value::is_string))
}

/// Standard base64, padding optional, as in `Authorization: Basic`.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `Basic <base64 of user:pass>`, or `Bearer <token>` where the token looks
/// generated (16+ characters with a digit or symbol), so prose such as
/// "basic information" or "bearer of bad news" does not match.
fn credential(m: &[u8]) -> bool {
    let Some(split) = m.iter().position(|b| *b == b' ' || *b == b'\t') else {
        return false;
    };
    let (scheme, rest) = m.split_at(split);
    let cred = rest.trim_ascii_start();
    if scheme.eq_ignore_ascii_case(b"basic") {
        return BASIC_BASE64
            .decode(cred)
            .is_ok_and(|plain| plain.contains(&b':'));
    }
    cred.len() >= 16
        && cred.iter().any(u8::is_ascii_alphabetic)
        && cred
            .iter()
            .any(|b| b.is_ascii_digit() || b"-._~+/".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn all() -> Detectors {
        Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap()
    }

    /// The (label, matched text) of every hit.
    fn found(d: &Detectors, text: &str) -> Vec<(String, String)> {
        d.find(text)
            .iter()
            .map(|h| (h.label.to_string(), text[h.start..h.end].to_string()))
            .collect()
    }

    fn one(text: &str) -> Vec<(String, String)> {
        found(&all(), text)
    }

    fn hit(label: &str, m: &str) -> Vec<(String, String)> {
        vec![(label.to_string(), m.to_string())]
    }

    #[test]
    fn email() {
        assert_eq!(
            one("mail alice.smith+tag@mail.example.co.uk now"),
            hit("email", "alice.smith+tag@mail.example.co.uk")
        );
        for no in [
            "alice@localhost",
            "@example.com",
            "a@b",
            "user at example.com",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn payment_card_needs_luhn() {
        assert_eq!(one("4111111111111111"), hit("card", "4111111111111111"));
        assert_eq!(
            one("card 4111 1111 1111 1111 ok"),
            hit("card", "4111 1111 1111 1111")
        );
        assert_eq!(
            one("5500-0000-0000-0004"),
            hit("card", "5500-0000-0000-0004")
        );
        assert_eq!(one("378282246310005"), hit("card", "378282246310005"));
        // Luhn-invalid 16 digits, a 20-digit run, a card-like run glued to
        // letters, and a first digit no scheme uses are not cards.
        for no in [
            "4111111111111112",
            "41111111111111111111",
            "id4111111111111111",
            "9111111111111111",
            "order 1234567890123",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn jwt_needs_a_json_header_with_alg() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(one(&format!("t={jwt}")), hit("jwt", jwt));
        // alg=none has an empty signature.
        let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.";
        assert_eq!(one(unsigned), hit("jwt", unsigned));
        // Header without alg; not JSON; dotted names.
        for no in [
            "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhIn0.c2ln",
            "abcd.efgh.ijkl",
            "www.example.com",
            "v1.2.3",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn bearer_and_basic_credentials() {
        assert_eq!(
            one("Bearer sk_live_51HqLyjWDarjtT1zdp7dc"),
            hit("credential", "Bearer sk_live_51HqLyjWDarjtT1zdp7dc")
        );
        assert_eq!(
            one("auth=basic YWxpY2U6czNjcjN0"),
            hit("credential", "basic YWxpY2U6czNjcjN0")
        );
        // A bearer JWT is one credential, not a JWT inside prose.
        assert_eq!(
            one("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")[0].0,
            "credential"
        );
        for no in [
            "basic information",
            "Basic aGVsbG8gd29ybGQ=",
            "bearer of bad news",
            "Bearer responsibilities",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn aws_access_key_id() {
        assert_eq!(
            one("key=AKIAIOSFODNN7EXAMPLE;"),
            hit("aws_key", "AKIAIOSFODNN7EXAMPLE")
        );
        assert_eq!(
            one("ASIAY34FZKBOKMUTVV7A"),
            hit("aws_key", "ASIAY34FZKBOKMUTVV7A")
        );
        for no in [
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLEX",
            "XKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn ipv4() {
        assert_eq!(one("from 10.0.0.1."), hit("ipv4", "10.0.0.1"));
        assert_eq!(one("192.168.1.254"), hit("ipv4", "192.168.1.254"));
        for no in ["256.1.1.1", "1.2.3.4.5", "v1.2.3", "1.2.3"] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn ipv6() {
        for ip in [
            "2001:db8::1",
            "fe80::1ff:fe23:4567:890a",
            "::1",
            "::ffff:192.0.2.1",
        ] {
            assert_eq!(one(&format!("ip {ip} end")), hit("ipv6", ip), "{ip}");
        }
        assert_eq!(
            one("2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
            hit("ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")
        );
        for no in ["12:30:45", "std::vec", "00:1a:2b:3c:4d:5e", "a::b::c", "::"] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn us_ssn() {
        assert_eq!(one("ssn 123-45-6789"), hit("ssn", "123-45-6789"));
        for no in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "1123-45-6789",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn phone() {
        for p in [
            "+14155552671",
            "(415) 555-2671",
            "415-555-2671",
            "+44 20 7946 0958",
            "+1 415.555.2671",
        ] {
            assert_eq!(one(&format!("call {p} now")), hit("phone", p), "{p}");
        }
        for no in [
            "2024-01-15",
            "4155552671",
            "10.100.200.300",
            "+123",
            "version 1.2.3",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn several_hits_in_order_without_overlap() {
        let text = "a@example.com paid 4111111111111111 from 10.1.2.3";
        let got: Vec<String> = found(&all(), text).into_iter().map(|(l, _)| l).collect();
        assert_eq!(got, ["email", "card", "ipv4"]);
    }

    #[test]
    fn masks_keep_the_last_four_card_digits() {
        let d = all();
        let text = "4111 1111 1111 1234 a@b.io";
        let hits = d.find(text);
        assert_eq!(hits.len(), 1, "1234 fails Luhn here");
        assert_eq!(mask(&hits[0], text), "[REDACTED:email]");
        let text = "4111 1111 1111 1111";
        assert_eq!(mask(&d.find(text)[0], text), "[REDACTED:card:1111]");
    }

    #[test]
    fn custom_detectors_run_first_and_off_disables() {
        let cfg: DetectorsConfig = serde_json::from_value(serde_json::json!({
            "email": "off",
            "custom": [{"name": "employee_id", "regex": "E[0-9]{6}", "action": "remove"}]
        }))
        .unwrap();
        let d = Detectors::compile(&cfg, "detectors", false).unwrap();
        assert_eq!(
            found(&d, "E123456 a@example.com"),
            hit("employee_id", "E123456")
        );
        assert_eq!(d.find("E123456")[0].action, &Act::Remove);
        assert_eq!(d.find("E123456")[0].kind, DetectorKind::Custom);
    }

    #[test]
    fn config_errors() {
        let compile = |v: serde_json::Value, keys: bool| {
            let cfg: DetectorsConfig = serde_json::from_value(v).unwrap();
            Detectors::compile(&cfg, "detectors", keys)
        };
        let e = compile(serde_json::json!({"email": "tokenize"}), false).unwrap_err();
        assert_eq!(e.path, "detectors.email");
        let e = compile(
            serde_json::json!({"custom": [{"name": "x", "regex": "("}]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.path, "detectors.custom[0].regex");
        let e = compile(
            serde_json::json!({"custom": [{"name": "x", "regex": "a*"}]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.message, "the pattern matches the empty string");
        let e = compile(
            serde_json::json!({"custom": [{"name": "email", "regex": "a"}]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.path, "detectors.custom[0].name");
        let e = compile(serde_json::json!({"namespaces": {"email": "e"}}), true).unwrap_err();
        assert_eq!(e.path, "detectors.namespaces.email");
        let d = compile(
            serde_json::json!({"email": "tokenize", "namespaces": {"email": "contact"}}),
            true,
        )
        .unwrap();
        assert_eq!(
            d.find("a@example.com")[0].action,
            &Act::Tokenize("contact".into())
        );
    }
}
