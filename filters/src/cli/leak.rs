//! The forms in which a secret can leak, shared by `tracesafe test`
//! (`never`) and the leak audit (tests/leak_audit.rs), so both look for
//! the same encodings.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every form in which `s` could leak, with its name: verbatim,
/// percent-encoded (either case), and the base64 and base64url characters
/// that only `s` determines, at each of the three alignments inside a
/// longer encoded text.
pub fn encodings(s: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("verbatim", s.to_string()),
        ("percent-encoded", pct(s)),
        ("percent-encoded", pct(s).to_ascii_lowercase()),
    ];
    for align in 0..3 {
        let mut bytes = vec![b'x'; align];
        bytes.extend_from_slice(s.as_bytes());
        for (form, enc) in [
            ("base64", STANDARD.encode(&bytes)),
            ("base64url", URL_SAFE_NO_PAD.encode(&bytes)),
        ] {
            let enc = enc.trim_end_matches('=');
            let skip = if align == 0 { 0 } else { 4 };
            let keep = enc.len().saturating_sub(skip + 4);
            let part = enc.get(skip..skip + keep).unwrap_or_default();
            // Too short a secret determines no base64 character of its own.
            if !part.is_empty() {
                out.push((form, part.to_string()));
            }
        }
    }
    // The first name wins for a text several encodings share.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(_, e)| seen.insert(e.clone()));
    out
}

/// The name of the first form of `s` found in `hay`.
pub fn found(hay: &[u8], s: &str) -> Option<&'static str> {
    encodings(s)
        .into_iter()
        .find(|(_, e)| hay.windows(e.len()).any(|w| w == e.as_bytes()))
        .map(|(form, _)| form)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn finds_each_form() {
        let s = "4111 1111 1111 1111";
        assert_eq!(found(s.as_bytes(), s), Some("verbatim"));
        assert_eq!(
            found(b"q=4111%201111%201111%201111", s),
            Some("percent-encoded")
        );
        assert_eq!(
            found(STANDARD.encode(format!("x{s}y")).as_bytes(), s),
            Some("base64")
        );
        let tilde = "~~~~~~~~~~~~";
        assert_eq!(
            found(
                URL_SAFE_NO_PAD.encode(format!("ab{tilde}")).as_bytes(),
                tilde
            ),
            Some("base64url")
        );
        assert_eq!(found(b"card [REDACTED:card:1111]", s), None);
        assert_eq!(pct("a b/é"), "a%20b%2F%C3%A9");
    }
}
