//! Value detectors: find personal data and credentials inside header values,
//! baggage values, query values, path segments and tracestate values.
//!
//! One pass over a value's bytes stops only where a format can begin (a
//! word start, `@`, `+`, `(`, `:`, `=`, `-`) and hands that window to a
//! hand-written matcher ([`crate::redact::detect_scan`], [`crate::redact::detect_credentials`]);
//! a check then throws out look-alikes: Luhn for cards, a JSON header with
//! `alg` for JWTs, octet ranges for IPv4, a real parse for IPv6, the SSA
//! rules for SSNs, mod-97 for IBANs. Only `detectors.custom` uses regexes.
//! Detectors only locate; what happens to a hit (`remove`, `mask`,
//! `tokenize`) is applied by [`crate::redact::Redactor`]. The matched text
//! is never logged.

use crate::error::join;
use crate::error::ConfigError;
use crate::redact::detect_confirm::{
    confirm_card, confirm_ssn, credential, glued_before, jwt_header_has_alg, number, standalone,
};
use crate::redact::detect_credentials as creds;
use crate::redact::detect_scan::{self as scan, is_word, prev, Shape};
use crate::redact::token;
use regex_lite::Regex;

/// Defined beside the counters it labels, so metrics need not import redact.
pub use crate::metrics::DetectorKind;
pub use crate::redact::detect_config::{
    builtin_action, CustomDetectorConfig, DetectorAction, DetectorsConfig,
};

/// A detector's compiled action (`off` detectors are not compiled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Remove,
    Mask,
    /// With the token namespace.
    Tokenize(String),
}

#[derive(Debug, Clone)]
struct CustomRule {
    label: String,
    regex: Regex,
    action: Act,
}

/// One confirmed match, as byte offsets into the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'d> {
    pub start: usize,
    pub end: usize,
    pub kind: DetectorKind,
    /// `email`, ..., `credential:<format>`, or the custom detector's name.
    pub label: &'d str,
    pub action: &'d Act,
}

/// Built-in detectors in priority order: an earlier detector's hit keeps
/// its label when a later one overlaps it (and is widened to cover both).
pub const BUILT_IN: [DetectorKind; 11] = [
    DetectorKind::Credential,
    DetectorKind::Jwt,
    DetectorKind::AwsKey,
    DetectorKind::Email,
    DetectorKind::Iban,
    DetectorKind::Card,
    DetectorKind::Ssn,
    DetectorKind::Ipv6,
    DetectorKind::Ipv4,
    DetectorKind::Phone,
    DetectorKind::GenericSecret,
];

/// The compiled detectors of one policy: custom first, then the built-ins
/// in [`BUILT_IN`] order.
#[derive(Debug, Clone, Default)]
pub struct Detectors {
    custom: Vec<CustomRule>,
    /// The action of each [`BUILT_IN`] detector, `None` when off.
    acts: [Option<Act>; 11],
    /// `generic_secret`'s action for span-bound values.
    span_secret: Option<Act>,
    /// Which built-ins are on, for forwarded (`[0]`) and span-bound (`[1]`)
    /// values: read on every scan, so worked out once.
    on: [[bool; 11]; 2],
}

impl Detectors {
    /// `path` is the JSON path of `detectors`; `has_keys` says whether
    /// `tokenize` is possible.
    pub fn compile(cfg: &DetectorsConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let mut tokenized: Vec<String> = Vec::new();
        let mut planned: Vec<(String, Regex, DetectorAction)> = Vec::new();
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
            planned.push((c.name.clone(), regex, c.action));
            if c.action == DetectorAction::Tokenize {
                token::require_keys(has_keys, &join(&at, "action"))?;
                tokenized.push(c.name.clone());
            }
        }
        for kind in BUILT_IN {
            if builtin_action(cfg, kind) == DetectorAction::Tokenize {
                token::require_keys(has_keys, &join(path, kind.name()))?;
                tokenized.push(kind.name().to_string());
            }
        }
        let namespaces = token::namespaces(&cfg.namespaces, &tokenized, path)?;
        let act = |label: &str, action: DetectorAction| match action {
            DetectorAction::Off => None,
            DetectorAction::Remove => Some(Act::Remove),
            DetectorAction::Mask => Some(Act::Mask),
            DetectorAction::Tokenize => Some(Act::Tokenize(
                namespaces
                    .get(label)
                    .cloned()
                    .unwrap_or_else(|| label.to_string()),
            )),
        };
        let custom = planned
            .into_iter()
            .filter_map(|(label, regex, action)| {
                let action = act(&label, action)?;
                Some(CustomRule {
                    label,
                    regex,
                    action,
                })
            })
            .collect();
        let acts = BUILT_IN.map(|kind| act(kind.name(), builtin_action(cfg, kind)));
        let span_secret = act(
            DetectorKind::GenericSecret.name(),
            builtin_action(cfg, DetectorKind::GenericSecret),
        )
        .or(Some(Act::Mask));
        let mut d = Self {
            custom,
            acts,
            span_secret,
            on: [[false; 11]; 2],
        };
        d.on = [false, true]
            .map(|for_span| std::array::from_fn(|slot| d.act(slot, for_span).is_some()));
        Ok(d)
    }

    /// Confirmed, non-overlapping hits in a forwarded value, ordered by
    /// position.
    pub fn find(&self, text: &str) -> Vec<Hit<'_>> {
        self.find_in(text, false)
    }

    /// [`Detectors::find`] for a value bound for the span record (path
    /// segments, query values, user agent): `generic_secret` always runs.
    pub fn find_for_span(&self, text: &str) -> Vec<Hit<'_>> {
        self.find_in(text, true)
    }

    /// The action of the built-in in [`BUILT_IN`] slot `slot`.
    fn act(&self, slot: usize, for_span: bool) -> Option<&Act> {
        let own = self.acts.get(slot).and_then(Option::as_ref);
        if slot == GENERIC && for_span {
            return own.or(self.span_secret.as_ref());
        }
        own
    }

    fn find_in(&self, text: &str, for_span: bool) -> Vec<Hit<'_>> {
        let mut hits = self.custom_hits(text);
        let base = hits.len();
        self.builtin_hits(text, for_span, &mut hits);
        settle(hits, base)
    }

    /// [`Detectors::find`] and [`Detectors::find_for_span`] of one value
    /// from a single pass: the span's hits are the forwarded ones plus
    /// `generic_secret`'s, whose matcher is independent of the others.
    pub fn find_both(&self, text: &str) -> (Vec<Hit<'_>>, Vec<Hit<'_>>) {
        let mut span = self.custom_hits(text);
        let base = span.len();
        self.builtin_hits(text, true, &mut span);
        let forwarded = if self.act(GENERIC, false).is_some() {
            span.clone()
        } else {
            span.iter()
                .filter(|h| h.kind != DetectorKind::GenericSecret)
                .cloned()
                .collect()
        };
        (settle(forwarded, base), settle(span, base))
    }

    /// The custom regexes' matches, each widening an earlier overlapping
    /// one instead of standing beside it.
    fn custom_hits(&self, text: &str) -> Vec<Hit<'_>> {
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for rule in &self.custom {
            for m in rule.regex.find_iter(text) {
                let (start, end) = (m.start(), m.end());
                if !absorb(&mut hits, start, end) {
                    hits.push(Hit {
                        start,
                        end,
                        kind: DetectorKind::Custom,
                        label: &rule.label,
                        action: &rule.action,
                    });
                }
            }
        }
        hits
    }

    /// Appends the confirmed built-in candidates, unordered.
    fn builtin_hits<'d>(&'d self, text: &str, for_span: bool, hits: &mut Vec<Hit<'d>>) {
        let on = self
            .on
            .get(usize::from(for_span))
            .copied()
            .unwrap_or_default();
        if on.iter().any(|o| *o) {
            candidates(text.as_bytes(), &on, &mut |slot, start, end, label| {
                if let (Some(&kind), Some(action)) = (BUILT_IN.get(slot), self.act(slot, for_span))
                {
                    hits.push(Hit {
                        start,
                        end,
                        kind,
                        label,
                        action,
                    });
                }
            });
        }
    }
}

/// Orders the built-in hits from `base` on by priority, lets each widen an
/// overlapping earlier hit or stay, then merges overlapping neighbours into
/// the earlier one: non-overlapping hits by position.
fn settle(mut hits: Vec<Hit<'_>>, base: usize) -> Vec<Hit<'_>> {
    if hits.len() < 2 {
        return hits;
    }
    if let Some(found) = hits.get_mut(base..) {
        found.sort_by_key(|h| (slot_of(h.kind), h.start));
    }
    keep_unabsorbed(&mut hits, base);
    hits.sort_by_key(|h| h.start);
    hits.dedup_by(|h, last| {
        let overlaps = h.start < last.end;
        if overlaps {
            last.end = last.end.max(h.end);
        }
        overlaps
    });
    hits
}

/// A match overlapping a kept hit widens that hit (which keeps its kind,
/// label and action) instead of being dropped, so no matched byte stays
/// uncovered (`sk_live_…@mail.example` is a Stripe key and an email).
fn absorb(hits: &mut [Hit<'_>], start: usize, end: usize) -> bool {
    let Some(h) = hits.iter_mut().find(|h| start < h.end && h.start < end) else {
        return false;
    };
    h.start = h.start.min(start);
    h.end = h.end.max(end);
    true
}

/// Runs [`absorb`] on each hit from `base` on against the hits kept before
/// it, compacting the survivors in place.
fn keep_unabsorbed(hits: &mut Vec<Hit<'_>>, base: usize) {
    let mut kept = base;
    for i in base..hits.len() {
        let Some(&Hit { start, end, .. }) = hits.get(i) else {
            break;
        };
        if !hits.get_mut(..kept).is_some_and(|k| absorb(k, start, end)) {
            hits.swap(kept, i);
            kept += 1;
        }
    }
    hits.truncate(kept);
}

/// The [`BUILT_IN`] priority slot of a built-in kind.
fn slot_of(kind: DetectorKind) -> usize {
    BUILT_IN
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX)
}

/// Priority slot of each built-in in [`BUILT_IN`].
const CREDENTIAL: usize = 0;
const JWT: usize = 1;
const AWS_KEY: usize = 2;
const EMAIL: usize = 3;
const IBAN: usize = 4;
const CARD: usize = 5;
const SSN: usize = 6;
const IPV6: usize = 7;
const IPV4: usize = 8;
const PHONE: usize = 9;
const GENERIC: usize = 10;

/// Whether the built-in in `slot` can match at all in a value of this
/// shape; the minimums are those of its matcher in
/// [`crate::redact::detect_scan`].
fn admits(shape: &Shape, slot: usize) -> bool {
    match slot {
        JWT => shape.dots >= 2,
        AWS_KEY => shape.len >= 20,
        IBAN => shape.len >= 15 && shape.digits >= 2,
        CARD => shape.digits >= 13,
        SSN => shape.digits >= 9,
        IPV6 => shape.colons >= 2,
        IPV4 => shape.dots >= 3 && shape.digits >= 4,
        PHONE => shape.digits >= 7,
        GENERIC => shape.len >= 20,
        _ => true,
    }
}
/// The one pass: at each byte that can begin a format, the matchers of the
/// detectors that are on, each window confirmed before it is handed to
/// `push` as (priority slot, start, end, label).
fn candidates(t: &[u8], on: &[bool; 11], push: &mut impl FnMut(usize, usize, usize, &'static str)) {
    let shape = Shape::of(t);
    let mut on = *on;
    for (slot, o) in on.iter_mut().enumerate() {
        *o = *o && admits(&shape, slot);
    }
    if !on.iter().any(|o| *o) {
        return;
    }
    // Credential shapes found at a word are 24+ bytes, AWS secrets 40.
    let (word_creds, aws_secrets) = (shape.len >= 24, shape.len >= 40);
    let is_on = |slot: usize| on.get(slot).copied().unwrap_or(false);
    let mut aws_context: Option<bool> = None;
    let mut cred_run_end = 0;
    let mut email_floor = 0;
    let mut generic_until = 0;
    let mut next = 0;
    while let Some(&b) = t.get(next) {
        let i = next;
        // Nothing begins inside a run of letters and digits: skip to its end.
        let alnum = b.is_ascii_alphanumeric();
        next = if alnum {
            scan::run(t, i, |c| c.is_ascii_alphanumeric())
        } else {
            i + 1
        };
        if !alnum && !scan::can_begin(b) {
            continue;
        }
        let p = prev(t, i);
        let word_start = is_word(b) && !p.is_some_and(is_word);
        if is_on(CREDENTIAL) {
            if word_start && (b == b'b' || b == b'B') {
                if let Some(end) = scan::auth_scheme(t, i) {
                    if credential(t.get(i..end).unwrap_or_default()) {
                        push(CREDENTIAL, i, end, "credential");
                    }
                }
            }
            // The value-wide context is one pass, found once; without it no
            // 40-byte run is looked at.
            if aws_secrets && *aws_context.get_or_insert_with(|| creds::aws_context(t)) {
                if let Some(end) = creds::aws_secret(t, i) {
                    push(CREDENTIAL, i, end, "credential:aws_secret");
                }
            }
            if b.is_ascii_alphanumeric() && !p.is_some_and(|c| c.is_ascii_alphanumeric()) {
                // Every word start inside one run of credential bytes
                // shares its end: find it once per run.
                if word_creds && creds::may_start(b) && i >= cred_run_end {
                    cred_run_end = scan::run(t, i, creds::is_body);
                }
                let long = word_creds && creds::may_start(b) && cred_run_end - i >= 24;
                if let Some((end, label)) = word_creds.then(|| creds::at_word(t, i, long)).flatten()
                {
                    push(CREDENTIAL, i, end, label);
                }
            } else if let Some((s, end, label)) = creds::at_punct(t, i) {
                push(CREDENTIAL, s, end, label);
            }
        }
        // A JWT's first segment ends at `.`: a run of letters and digits
        // followed by anything but `.`, `-` or `_` cannot begin one.
        let jwt_may = !alnum || matches!(t.get(next), Some(b'.' | b'-' | b'_'));
        if is_on(JWT)
            && jwt_may
            && scan::is_b64url(b)
            && !p.is_some_and(|c| scan::is_b64url(c) || c == b'.')
        {
            if let Some(end) = scan::jwt(t, i) {
                let after = t
                    .get(end)
                    .is_some_and(|c| scan::is_b64url(*c) || *c == b'.');
                if !after && jwt_header_has_alg(t.get(i..end).unwrap_or_default()) {
                    push(JWT, i, end, "jwt");
                }
            }
        }
        if word_start {
            if b == b'A' && is_on(AWS_KEY) {
                if let Some(end) = scan::aws_key(t, i) {
                    push(AWS_KEY, i, end, "aws_key");
                }
            }
            if b.is_ascii_uppercase() && is_on(IBAN) {
                if let Some(end) = scan::iban(t, i) {
                    push(IBAN, i, end, "iban");
                }
            }
            if b.is_ascii_digit() {
                if is_on(CARD) {
                    if let Some(end) = scan::card(t, i) {
                        if confirm_card(t, i, end) {
                            push(CARD, i, end, "card");
                        }
                    }
                }
                if is_on(SSN) {
                    if let Some(end) = scan::ssn(t, i) {
                        if confirm_ssn(t, i, end) {
                            push(SSN, i, end, "ssn");
                        }
                    }
                }
                if is_on(IPV4) {
                    if let Some(end) = scan::ipv4(t, i) {
                        let m = t.get(i..end).unwrap_or_default();
                        if m.split(|&c| c == b'.').all(|o| number(o) <= 255)
                            && standalone(t, i, end, b".")
                            && !scan::product_version(t, i)
                        {
                            push(IPV4, i, end, "ipv4");
                        }
                    }
                }
            }
        }
        if b == b'@' && is_on(EMAIL) {
            if let Some((s, end)) = scan::email(t, i, email_floor) {
                email_floor = end;
                push(EMAIL, s, end, "email");
            }
        }
        if is_on(IPV6) && (b.is_ascii_hexdigit() || b == b':') && !p.is_some_and(scan::is_ipv6_run)
        {
            if let Some(end) = scan::ipv6(t, i) {
                let m = t.get(i..end).unwrap_or_default();
                if m.iter().any(u8::is_ascii_hexdigit)
                    && std::str::from_utf8(m).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
                {
                    push(IPV6, i, end, "ipv6");
                }
            }
        }
        if is_on(PHONE)
            && (b.is_ascii_digit() || b == b'+' || b == b'(')
            && !glued_before(t, i, b" .-")
        {
            if let Some(end) = scan::phone(t, i) {
                let n = t
                    .get(i..end)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.is_ascii_digit())
                    .count();
                if (7..=15).contains(&n) && standalone(t, i, end, b" .-") {
                    push(PHONE, i, end, "phone");
                }
            }
        }
        if is_on(GENERIC)
            && i >= generic_until
            && scan::is_token_byte(b)
            && !p.is_some_and(scan::is_token_byte)
        {
            let end = scan::run(t, i, scan::is_token_byte);
            generic_until = end;
            if !scan::in_our_token(t, i) && scan::generic_secret(t, i).is_some() {
                push(GENERIC, i, end, "generic_secret");
            }
        }
    }
}

/// The mask for a hit, appended to `out` (no formatting pass, no
/// temporary): `[REDACTED:<label>]`, cards `[REDACTED:card:<last 4>]`.
pub fn push_mask(out: &mut String, hit: &Hit<'_>, text: &str) {
    out.push_str("[REDACTED:");
    if hit.kind == DetectorKind::Card {
        out.push_str("card:");
        let digits = || {
            text.as_bytes()
                .get(hit.start..hit.end)
                .unwrap_or_default()
                .iter()
                .filter(|b| b.is_ascii_digit())
        };
        let skip = digits().count().saturating_sub(4);
        digits().skip(skip).for_each(|b| out.push(char::from(*b)));
    } else {
        out.push_str(hit.label);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// [`push_mask`] into a fresh string.
    fn mask(hit: &Hit<'_>, text: &str) -> String {
        let mut out = String::new();
        push_mask(&mut out, hit, text);
        out
    }

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

    /// Browser and client versions are product tokens, not addresses
    /// (`Chrome/120.0.0.0`); an address in a path or URL still is one.
    #[test]
    fn ipv4_skips_product_versions() {
        let ua = "Mozilla/5.0 (X11) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(one(ua), vec![]);
        assert_eq!(one("Chrome/120.0.0.0"), vec![]);
        assert_eq!(one("agent (x;Foo-Bar/1.2.3.4)"), vec![]);
        assert_eq!(one("/hosts/10.0.0.1"), hit("ipv4", "10.0.0.1"));
        assert_eq!(one("http://10.0.0.1/x"), hit("ipv4", "10.0.0.1"));
        assert_eq!(one("via 10.0.0.1 Chrome/1.2"), hit("ipv4", "10.0.0.1"));
        assert_eq!(one("a.b/10.0.0.1"), hit("ipv4", "10.0.0.1"));
        assert_eq!(one("2fa/10.0.0.1"), hit("ipv4", "10.0.0.1"));
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

    /// Every sample of `tests/data/credentials.txt`, inside a header-like
    /// value, is one `credential:<label>` hit that covers the secret (the
    /// AWS pair is also an `aws_key` hit).
    #[test]
    fn credential_formats() {
        let samples = include_str!("../../tests/data/credentials.txt");
        for line in samples.lines().filter(|l| !l.starts_with('#')) {
            let (label, value) = line.split_once('\t').unwrap();
            let text = format!("k={value}; x");
            let got: Vec<_> = one(&text)
                .into_iter()
                .filter(|(l, _)| l != "aws_key")
                .collect();
            assert_eq!(got.len(), 1, "{line}: {got:?}");
            assert_eq!(got[0].0, format!("credential:{label}"), "{line}");
            assert!(
                got[0].1.starts_with(value) || (value.contains(&got[0].1) && got[0].1.len() >= 16),
                "{line}: {got:?}"
            );
        }
    }

    #[test]
    fn credential_near_misses() {
        let h36 = "C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP";
        assert_eq!(
            one(&format!("ghp_{h36}")),
            hit("credential:github", &format!("ghp_{h36}"))
        );
        for no in [
            &format!("ghp_{}", &h36[1..]),
            "xghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP",
            "sk-this-is-not-a-key-at-all-but-words",
            "AIzaSyA-short",
            "npm_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CPx",
            "SK0123456789abcdef0123456789abcde",
            "key-ABCDEF0123456789abcdef0123456789",
            "-----BEGIN CERTIFICATE-----MIIB-----END CERTIFICATE-----",
            "https://api.example.com/v1/users",
            "https://host:8443/path",
            "sig=abc",
            "xoxb-short",
            "glpat-short",
            "SG.abc.def",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0",
        ] {
            assert_eq!(one(no), vec![], "{no}");
        }
        // The same 40-byte run is an AWS secret once the value names it.
        assert_eq!(
            one("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            hit(
                "credential:aws_secret",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            )
        );
    }

    /// One pass for both uses of a value equals a pass for each, whether
    /// `generic_secret` is off, masked or removed on the wire.
    #[test]
    fn find_both_is_find_and_find_for_span() {
        let samples = include_str!("../../tests/data/near_misses.txt");
        let texts = [
            "MyApp/1.0 (token Zx81kLq0PmN3vB7rT5yW2sD4; alice@example.com)",
            "Zx81kLq0PmN3vB7rT5yW2sD4alice@example.com 10.0.0.1",
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
            "",
        ];
        for cfg in [
            serde_json::json!({"credential": "mask", "iban": "mask"}),
            serde_json::json!({"generic_secret": "mask"}),
            serde_json::json!({"generic_secret": "remove", "email": "off",
                "custom": [{"name": "ord", "regex": "ORD-[0-9]+"}]}),
        ] {
            let cfg: DetectorsConfig = serde_json::from_value(cfg).unwrap();
            let d = Detectors::compile(&cfg, "detectors", false).unwrap();
            for text in texts.into_iter().chain(samples.lines()) {
                assert_eq!(
                    d.find_both(text),
                    (d.find(text), d.find_for_span(text)),
                    "{text}"
                );
            }
        }
    }

    /// `tests/data/near_misses.txt`: ordinary header values and
    /// near-misses of every credential shape are not flagged.
    #[test]
    fn near_misses_are_clean() {
        let samples = include_str!("../../tests/data/near_misses.txt");
        let d = all();
        for line in samples.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(found(&d, line), vec![], "{line}");
        }
    }

    /// Our own tokens are what redaction leaves behind: never a
    /// `generic_secret`, even in span-bound values; a 22-byte run after
    /// another prefix still is one.
    #[test]
    fn own_tokens_are_not_generic_secrets() {
        let d = all();
        for text in [
            "tk.k2.p84PCaUIFbo_9PJ0HNRkcw",
            "/users/tk.k1.RN1-OJO1K2rpPWeLDuUhEw/orders",
            "a=tk.k2.Gr6HcGBzoscrhfbwVHksbg;b=tk.k2.D8ggPvxkns3Zvcqkj8WB1A",
            "tk.Kx9mQ2vL7pR4tY8wZ3nB6cF1.D8ggPvxkns3Zvcqkj8WB1A",
        ] {
            assert_eq!(d.find_for_span(text), vec![], "{text}");
        }
        for text in [
            "D8ggPvxkns3Zvcqkj8WB1A",
            "xtk.k2.D8ggPvxkns3Zvcqkj8WB1A",
            "tk.k2.D8ggPvxkns3Zvcqkj8WB1A9",
            "tq.k2.D8ggPvxkns3Zvcqkj8WB1A",
        ] {
            assert_eq!(d.find_for_span(text)[0].label, "generic_secret", "{text}");
        }
    }

    #[test]
    fn iban_is_pii() {
        assert_eq!(
            one("pay to DE89 3704 0044 0532 0130 00 today"),
            hit("iban", "DE89 3704 0044 0532 0130 00")
        );
        assert_eq!(
            one("GB82WEST12345698765432"),
            hit("iban", "GB82WEST12345698765432")
        );
        for no in ["DE89 3704 0044 0532 0130 01", "DE89370400440532013000X"] {
            assert_eq!(one(no), vec![], "{no}");
        }
    }

    #[test]
    fn generic_secret_only_for_span_unless_configured() {
        let d = all();
        let text = "session=Zx81kLq0PmN3vB7rT5yW2sD4; theme=dark";
        assert_eq!(d.find(text), vec![]);
        let span: Vec<_> = d
            .find_for_span(text)
            .iter()
            .map(|h| (h.label, &text[h.start..h.end]))
            .collect();
        assert_eq!(span, [("generic_secret", "Zx81kLq0PmN3vB7rT5yW2sD4")]);
        let uuid = "123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(d.find_for_span(uuid)[0].label, "generic_secret");
        let cfg: DetectorsConfig =
            serde_json::from_value(serde_json::json!({"generic_secret": "remove"})).unwrap();
        let d = Detectors::compile(&cfg, "detectors", false).unwrap();
        assert_eq!(d.find(text)[0].action, &Act::Remove);
        let cfg: DetectorsConfig =
            serde_json::from_value(serde_json::json!({"credential": "off"})).unwrap();
        let d = Detectors::compile(&cfg, "detectors", false).unwrap();
        assert_eq!(
            found(&d, "ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP"),
            vec![]
        );
    }

    #[test]
    fn credential_masks_name_the_format() {
        let text = "t=npm_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP";
        assert_eq!(
            mask(&all().find(text)[0], text),
            "[REDACTED:credential:npm]"
        );
    }

    /// Found by the `detectors_diff` fuzz target: an email glued to a
    /// Stripe key was dropped as an overlap and its domain stayed.
    #[test]
    fn overlapping_matches_widen_the_earlier_hit() {
        let text = "key sk_live_0123426789t78abca@il.el next";
        assert_eq!(
            one(text),
            hit("credential:stripe", "sk_live_0123426789t78abca@il.el")
        );
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
