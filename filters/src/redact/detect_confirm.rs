//! Confirming checks for the windows the matchers of
//! [`crate::redact::detect_scan`] propose: Luhn for cards, a JSON header
//! with `alg` for JWTs, the SSA rules for SSNs, `Basic`/`Bearer` shapes,
//! and the "not glued to a longer number" rule shared by the digit
//! detectors. Kept apart from the engine so each stays small.

use crate::redact::detect_scan::is_word;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

pub fn confirm_card(text: &[u8], start: usize, end: usize) -> bool {
    // A card has at most 19 digits: gather them without allocating.
    let mut digits = [0u8; 19];
    let mut n = 0;
    for b in text.get(start..end).unwrap_or_default() {
        if b.is_ascii_digit() {
            match digits.get_mut(n) {
                Some(d) => *d = b - b'0',
                None => return false,
            }
            n += 1;
        }
    }
    n >= 13 && luhn(digits.get(..n).unwrap_or_default()) && standalone(text, start, end, b" -.")
}

pub fn confirm_ssn(text: &[u8], start: usize, end: usize) -> bool {
    let m = text.get(start..end).unwrap_or_default();
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

/// Glued to a word before `start`, or one piece of a longer number
/// (`1.2.3.4.5`, `123-45-6789-0`): digit runs joined by `seps` are one
/// number.
pub fn glued_before(text: &[u8], start: usize, seps: &[u8]) -> bool {
    let before = |back: usize| start.checked_sub(back).and_then(|i| text.get(i)).copied();
    before(1).is_some_and(is_word)
        || (before(1).is_some_and(|b| seps.contains(&b))
            && before(2).is_some_and(|b| b.is_ascii_digit()))
}

/// Not glued to a word or a longer number on either side.
pub fn standalone(text: &[u8], start: usize, end: usize, seps: &[u8]) -> bool {
    let after = |fwd: usize| text.get(end + fwd).copied();
    let glued_after = after(0).is_some_and(is_word)
        || (after(0).is_some_and(|b| seps.contains(&b))
            && after(1).is_some_and(|b| b.is_ascii_digit()));
    !glued_before(text, start, seps) && !glued_after
}

/// Decimal value of a short digit run (saturating; the regexes bound it).
pub fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |n, d| {
        n.saturating_mul(10)
            .saturating_add(u32::from(d.wrapping_sub(b'0')))
    })
}

/// The Luhn checksum over digit values (0-9).
pub fn luhn(digits: &[u8]) -> bool {
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
pub fn jwt_header_has_alg(m: &[u8]) -> bool {
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
pub(crate) const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `Basic <base64 of user:pass>`, or `Bearer <token>` where the token looks
/// generated (16+ characters with a digit or symbol), so prose such as
/// "basic information" or "bearer of bad news" does not match.
pub fn credential(m: &[u8]) -> bool {
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
