//! The first detector engine (one regex-lite pattern per built-in detector
//! plus its confirming check), kept verbatim as the oracle of the
//! `detectors_diff` target: the hand-written engine must cover every hit
//! this one confirms. The confirming checks themselves (Luhn, JWT header,
//! credential shape) are the plugin's: the target compares matching, not
//! checksums.

use regex_lite::Regex;
use tracesafe_filters::redact::detect_confirm::{credential, jwt_header_has_alg, luhn, number};
use tracesafe_filters::DetectorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
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

/// The compiled oracle: every built-in at once, all on.
pub struct Oracle(Vec<(DetectorKind, Check, Regex)>);

impl Oracle {
    /// Compiles every regex; the error names the pattern that failed.
    pub fn new() -> Result<Self, String> {
        BUILT_IN
            .iter()
            .map(|&(k, c, p)| Ok((k, c, Regex::new(p).map_err(|e| format!("{p}: {e}"))?)))
            .collect::<Result<_, String>>()
            .map(Self)
    }

    /// Confirmed, non-overlapping `(kind, start, end)` hits, as the first
    /// engine found them.
    pub fn find(&self, text: &str) -> Vec<(DetectorKind, usize, usize)> {
        let mut hits: Vec<(DetectorKind, usize, usize)> = Vec::new();
        for (kind, check, regex) in &self.0 {
            for m in regex.find_iter(text) {
                let (start, end) = (m.start(), m.end());
                if hits.iter().any(|h| start < h.2 && h.1 < end) {
                    continue;
                }
                if check.confirm(text.as_bytes(), start, end) {
                    hits.push((*kind, start, end));
                }
            }
        }
        hits.sort_by_key(|h| h.1);
        hits
    }
}

impl Check {
    fn confirm(self, text: &[u8], start: usize, end: usize) -> bool {
        let m = text.get(start..end).unwrap_or_default();
        match self {
            Check::Email | Check::AwsKey => true,
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
