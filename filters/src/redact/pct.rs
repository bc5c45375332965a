//! Percent-encoding shared by baggage (W3C), legacy baggage headers and URL
//! sanitization. Decoding works on bytes because clients send anything.

use std::borrow::Cow;

/// Decodes `%XX` escapes. Malformed escapes are kept literally (URLs are
/// forgiving); `plus_as_space` applies `application/x-www-form-urlencoded`
/// rules for query strings. Returns `None` when a malformed escape is found
/// and `strict` is set (W3C baggage values must be well-formed).
pub fn decode(raw: &[u8], plus_as_space: bool, strict: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'%' => match (raw.get(i + 1).and_then(hex), raw.get(i + 2).and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 3;
                    continue;
                }
                _ if strict => return None,
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// [`decode`] then UTF-8 with invalid sequences replaced by U+FFFD.
pub fn decode_lossy(raw: &[u8], plus_as_space: bool) -> String {
    decode_cow(raw, plus_as_space).into_owned()
}

/// [`decode_lossy`] that borrows `raw` when nothing needs decoding or
/// replacing: the common case on the request path, where a copy per
/// segment, parameter and member adds up.
pub fn decode_cow(raw: &[u8], plus_as_space: bool) -> Cow<'_, str> {
    if raw.contains(&b'%') || (plus_as_space && raw.contains(&b'+')) {
        let bytes = decode(raw, plus_as_space, false).unwrap_or_default();
        return Cow::Owned(crate::http::lossy(&bytes).into_owned());
    }
    crate::http::lossy(raw)
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes every byte of `s` for which `safe` is false, plus `%` itself.
pub fn encode(s: &str, safe: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, safe);
    out
}

/// [`encode`], appending to `out` (one buffer for a whole URL or list).
pub fn encode_into(out: &mut String, s: &str, safe: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len());
    for &b in s.as_bytes() {
        if b != b'%' && safe(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                out.push(char::from(*HEX.get(usize::from(nibble)).unwrap_or(&b'0')));
            }
        }
    }
}

/// W3C baggage `baggage-octet`: `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
pub fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Printable ASCII and space: what a rewritten header value keeps as is.
pub fn is_header_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// A tracestate value's characters (printable ASCII but `,` and `=`).
pub fn is_tracestate_text(b: u8) -> bool {
    is_header_text(b) && b != b',' && b != b'='
}

/// Characters left as they are in a sanitized path segment or query value:
/// RFC 3986 unreserved and sub-delims, plus `:`, `@`, `[` and `]` so masks
/// like `[REDACTED:email]` stay readable. `/`, `?`, `#`, `&`, `=`, `+`,
/// space and non-ASCII are encoded.
pub fn is_url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b','
                | b';'
                | b':'
                | b'@'
                | b'['
                | b']'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode(b"a%20b+c", false, true).unwrap(), b"a b+c");
        assert_eq!(decode(b"a%20b+c", true, true).unwrap(), b"a b c");
        assert_eq!(decode(b"%e2%82%AC", false, true).unwrap(), "€".as_bytes());
    }

    #[test]
    fn malformed_escapes_are_literal_unless_strict() {
        assert_eq!(decode(b"100%", false, false).unwrap(), b"100%");
        assert_eq!(decode(b"%zz%4", false, false).unwrap(), b"%zz%4");
        assert_eq!(decode(b"100%", false, true), None);
        assert_eq!(decode(b"%4g", false, true), None);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(decode_lossy(b"a%FFb%C3%28", false), "a\u{FFFD}b\u{FFFD}(");
    }

    #[test]
    fn baggage_round_trip() {
        for s in [
            "plain",
            "with space, comma; semi\\back\"quote",
            "100% é € 😀",
            "=a=b=",
            "",
            "\u{0}\u{7f}",
        ] {
            let enc = encode(s, is_baggage_octet);
            assert!(enc.bytes().all(is_baggage_octet), "{enc}");
            assert_eq!(decode(enc.as_bytes(), false, true).unwrap(), s.as_bytes());
        }
        assert_eq!(encode("a b,c;d%", is_baggage_octet), "a%20b%2Cc%3Bd%25");
        assert_eq!(encode("k=v", is_baggage_octet), "k=v");
    }

    #[test]
    fn url_encoding_keeps_masks_readable() {
        assert_eq!(encode("[REDACTED:email]", is_url_safe), "[REDACTED:email]");
        assert_eq!(
            encode("a b/c?d&e=f+", is_url_safe),
            "a%20b%2Fc%3Fd%26e%3Df%2B"
        );
        let s = "x y/é&=";
        assert_eq!(
            decode(encode(s, is_url_safe).as_bytes(), true, true).unwrap(),
            s.as_bytes()
        );
    }
}
