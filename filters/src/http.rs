//! HTTP as the filters see it: header I/O and lookup, RFC 9110 names,
//! the hop's direction and the request input. A leaf, so every concern can
//! read headers without importing another concern.

use crate::error::ConfigError;
use crate::host::Properties;
use std::borrow::Cow;

/// One header as the host hands it over: a (lowercase) name and raw value
/// bytes, borrowed from the host's buffer so values no rule touches are never
/// copied. Values are bytes because clients may send anything.
pub type Header<'a> = (&'a str, &'a [u8]);

/// A header list that owns its bytes: for callers that build or edit lists
/// (the CLI, tests); [`borrowed`] lends it to the engine.
pub type OwnedHeader = (String, Vec<u8>);

/// An owned list as the engine takes it.
pub fn borrowed(headers: &[OwnedHeader]) -> Vec<Header<'_>> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect()
}

/// A change to apply to the host's header map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Remove every field with this name.
    Remove(String),
    /// Replace every field with this name by one field with this value.
    Set(String, Vec<u8>),
}

/// Header bytes as text, invalid UTF-8 replaced by U+FFFD. Valid input is
/// borrowed after one fast check: std's lossy conversion walks the bytes
/// chunk by chunk even when they are valid, and this runs on every value
/// the filter reads as text.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// `name` lowercased, copied only when it has an uppercase letter: Envoy
/// hands over lowercase names, and baggage keys usually are.
pub fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// Every value of a header, in order: the host's list keeps repeated fields
/// apart, and some formats must see all of them (two `traceparent` fields
/// are invalid, `tracestate` fields are joined).
/// A name sent once (the usual case) borrows its field: no list is built.
pub fn values<'h, 'a>(headers: &'h [Header<'a>], name: &str) -> Cow<'h, [&'a [u8]]> {
    let same = |(n, _): &&Header| n.eq_ignore_ascii_case(name);
    let Some(i) = headers.iter().position(|h| same(&h)) else {
        return Cow::Borrowed(&[]);
    };
    let from = headers.get(i..).unwrap_or_default();
    match from.split_first() {
        Some((one, rest)) if !rest.iter().any(|h| same(&h)) => {
            Cow::Borrowed(std::slice::from_ref(&one.1))
        }
        _ => Cow::Owned(from.iter().filter(same).map(|(_, v)| *v).collect()),
    }
}

/// Sets `name` to `value`, unless the request already has exactly that: one
/// field with these bytes. Each set is a host call that costs Envoy a few
/// thousand instructions, and an unchanged `tracestate` is the common case.
pub fn set_if_changed(headers: &[Header], name: &str, value: Vec<u8>) -> Option<HeaderOp> {
    match values(headers, name).as_ref() {
        [one] if *one == value.as_slice() => None,
        _ => Some(HeaderOp::Set(name.into(), value)),
    }
}

/// Whether any field of this name is present.
pub fn has(headers: &[Header], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Checks an RFC 9110 field name and lowercases it, since HTTP/2 and Envoy's
/// header map use lowercase names.
pub fn header_name(name: &str, path: &str) -> Result<String, ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new(
            path,
            "expected a header name, got an empty string",
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(ConfigError::new(
            path,
            format!("{name:?} is not a valid header name (character {bad:?} is not allowed)"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// An RFC 9110 token (header names, methods).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_tchar)
}

/// RFC 9110 `tchar`.
pub fn is_tchar(c: char) -> bool {
    // A match, not a search of the list: this runs for every byte of every
    // baggage key and header name.
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '-'
                | '.'
                | '^'
                | '_'
                | '`'
                | '|'
                | '~'
        )
}

/// Which side of the workload this hop is: it decides SERVER vs CLIENT spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    /// Envoy's `listener_direction` property: an enum number
    /// (`core.v3.TrafficDirection`: 1 INBOUND, 2 OUTBOUND) as a little-endian
    /// integer, or its name.
    pub fn from_property(raw: &[u8]) -> Option<Self> {
        match raw {
            b"INBOUND" | b"inbound" => return Some(Direction::Inbound),
            b"OUTBOUND" | b"outbound" => return Some(Direction::Outbound),
            _ => {}
        }
        let mut le = [0u8; 8];
        for (dst, src) in le.iter_mut().zip(raw.iter().take(8)) {
            *dst = *src;
        }
        match u64::from_le_bytes(le) {
            1 => Some(Direction::Inbound),
            2 => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// One request as the host sees it.
pub struct RequestInput<'a> {
    pub headers: &'a [Header<'a>],
    pub properties: &'a dyn Properties,
    /// Host time at request headers, in Unix nanoseconds: the span start.
    pub now_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9110: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
    /// "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`, nothing else.
    #[test]
    fn tchar_is_exactly_the_rfc_set() {
        for c in (0u8..=255).map(char::from) {
            let want = c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            assert_eq!(is_tchar(c), want, "{c:?}");
        }
    }

    #[test]
    fn values_keeps_every_field_in_order() {
        let hs: [Header; 3] = [("TraceState", b"a=1"), ("x", b"0"), ("tracestate", b"b=2")];
        assert_eq!(values(&hs, "tracestate"), vec![&b"a=1"[..], &b"b=2"[..]]);
        assert!(values(&hs, "traceparent").is_empty());
        // A field sent once is borrowed, not copied into a list.
        let one = values(&hs, "X");
        assert_eq!(*one, [&b"0"[..]]);
        assert!(matches!(one, Cow::Borrowed(_)));
        assert!(matches!(values(&hs, "tracestate"), Cow::Owned(_)));
        assert!(has(&hs, "TRACESTATE"));
        assert!(!has(&hs, "traceparent"));
    }
}
