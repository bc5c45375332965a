//! W3C Trace Context Level 2 `tracestate`: all fields joined in order,
//! strict validation (an invalid list is dropped whole; a repeated key
//! keeps its first member), the privacy deny-list, and this hop's own entry
//! on the left.

use crate::redact::ScanOutcome;
use crate::trace::traceparent::trim_ows;

/// The most list members a tracestate may carry.
pub const MAX_MEMBERS: usize = 32;
/// Key and value length limits from the Level 2 grammar.
const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 256;

/// A valid tracestate: members in order, keys unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Vec<(String, String)>,
}

/// The tracestate fields did not form a valid list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

impl TraceState {
    /// Joins all header fields in order with `,` (RFC 9110 field order) and
    /// parses the list. Empty and whitespace-only members are allowed; any
    /// invalid member or more than 32 members invalidates the whole list.
    /// A repeated key keeps its first (left-most) member.
    pub fn from_fields(fields: &[&[u8]]) -> Result<Self, Invalid> {
        Self::from_fields_counted(fields).map(|(ts, _)| ts)
    }

    /// [`TraceState::from_fields`], also returning how many later members
    /// of a repeated key were dropped (the spec lets a vendor de-duplicate;
    /// losing every vendor's entry over one repeat would break correlation).
    pub fn from_fields_counted(fields: &[&[u8]]) -> Result<(Self, usize), Invalid> {
        let mut members: Vec<(String, String)> = Vec::new();
        let mut dropped = 0;
        for field in fields {
            for raw in field.split(|c| *c == b',') {
                let member = trim_ows(raw);
                if member.is_empty() {
                    continue;
                }
                let (key, value) = parse_member(member).ok_or(Invalid)?;
                if members.iter().any(|(k, _)| *k == key) {
                    dropped += 1;
                    continue;
                }
                members.push((key, value));
                if members.len() > MAX_MEMBERS {
                    return Err(Invalid);
                }
            }
        }
        Ok((Self { members }, dropped))
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Deletes the members whose key is listed; returns how many.
    pub fn remove_keys(&mut self, keys: &[String]) -> usize {
        let before = self.members.len();
        self.members.retain(|(k, _)| !keys.contains(k));
        before - self.members.len()
    }

    /// Runs every value through the detectors: a `remove` hit drops the
    /// member, a mask or token replaces the value (dropping the member if
    /// the replacement is not a valid tracestate value).
    pub fn scan_values(&mut self, mut scan: impl FnMut(&str) -> ScanOutcome) {
        self.members.retain_mut(|(_, value)| match scan(value) {
            ScanOutcome::Clean => true,
            ScanOutcome::Remove => false,
            ScanOutcome::Replace(new) if is_valid_value(new.as_bytes()) => {
                *value = new;
                true
            }
            ScanOutcome::Replace(_) => false,
        });
    }

    /// Puts this hop's entry on the left, replacing an older entry with the
    /// same key; drops the right-most member when the list would exceed 32.
    /// `key` and `value` must already be valid (checked at config time).
    pub fn put_first(&mut self, key: &str, value: String) {
        self.members.retain(|(k, _)| k != key);
        self.members.insert(0, (key.to_string(), value));
        self.members.truncate(MAX_MEMBERS);
    }

    /// A single field, members joined by `,` without optional whitespace.
    pub fn to_header(&self) -> Vec<u8> {
        let len = self.members.iter().map(|(k, v)| k.len() + v.len() + 2);
        let mut out = Vec::with_capacity(len.sum());
        for (i, (k, v)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
        out
    }
}

/// `key "=" value`, already trimmed of surrounding whitespace. The value
/// keeps its leading spaces (they are part of it); trailing ones were OWS.
fn parse_member(member: &[u8]) -> Option<(String, String)> {
    let eq = member.iter().position(|c| *c == b'=')?;
    let key = member.get(..eq)?;
    let value = member.get(eq + 1..)?;
    if !is_valid_key(key) || !is_valid_value(value) {
        return None;
    }
    // Both are ASCII by now.
    Some((
        crate::http::lossy(key).into_owned(),
        crate::http::lossy(value).into_owned(),
    ))
}

/// Level 2 key: `( lcalpha / DIGIT ) 0*255( keychar )`, keychar being
/// `lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`.
pub fn is_valid_key(key: &[u8]) -> bool {
    match key.split_first() {
        Some((first, rest)) => {
            key.len() <= MAX_KEY
                && (first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest
                    .iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-*/@".contains(c))
        }
        None => false,
    }
}

/// `0*255( chr ) nblk-chr`: 1 to 256 printable ASCII characters other than
/// `,` and `=`, not ending in a space.
pub fn is_valid_value(value: &[u8]) -> bool {
    let printable = |c: &u8| (0x20..=0x7e).contains(c) && *c != b',' && *c != b'=';
    !value.is_empty()
        && value.len() <= MAX_VALUE
        && value.iter().all(printable)
        && value.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn parse(fields: &[&str]) -> Result<TraceState, Invalid> {
        let f: Vec<&[u8]> = fields.iter().map(|s| s.as_bytes()).collect();
        TraceState::from_fields(&f)
    }

    fn header(ts: &TraceState) -> String {
        String::from_utf8(ts.to_header()).unwrap()
    }

    fn members(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}{i:02}={i:02}")).collect()
    }

    #[test]
    fn spec_examples() {
        let ts = parse(&["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]).unwrap();
        assert_eq!(ts.get("rojo"), Some("00f067aa0ba902b7"));
        assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
        assert_eq!(header(&ts), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    }

    #[test]
    fn multiple_fields_join_in_order() {
        let ts = parse(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).unwrap();
        assert_eq!(header(&ts), "foo=1,bar=2,rojo=1,congo=2,baz=3");
    }

    #[test]
    fn empty_members_fields_and_ows_are_allowed() {
        assert!(parse(&[""]).unwrap().is_empty());
        assert!(parse(&[]).unwrap().is_empty());
        assert!(parse(&[" , \t ,"]).unwrap().is_empty());
        assert_eq!(header(&parse(&["foo=1", ""]).unwrap()), "foo=1");
        assert_eq!(header(&parse(&["", "foo=1"]).unwrap()), "foo=1");
        assert_eq!(
            header(&parse(&["foo=1 \t , \t bar=2, \t baz=3"]).unwrap()),
            "foo=1,bar=2,baz=3"
        );
        assert_eq!(
            header(&parse(&["foo=1\t \t,\t \tbar=2,\t \tbaz=3"]).unwrap()),
            "foo=1,bar=2,baz=3"
        );
        for v in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
            assert_eq!(parse(&[v]).unwrap().get("foo"), Some("1"), "{v:?}");
        }
    }

    #[test]
    fn leading_spaces_of_a_value_are_kept() {
        let ts = parse(&["foo=  a b"]).unwrap();
        assert_eq!(ts.get("foo"), Some("  a b"));
    }

    #[test]
    fn thirty_two_members_ok_thirty_three_invalid() {
        let m32 = members("bar", 32);
        let ts = parse(&[&m32[..10].join(","), &m32[10..].join(",")]).unwrap();
        assert_eq!(ts.len(), 32);
        assert_eq!(ts.get("bar01"), Some("01"));
        let m33 = members("bar", 33);
        assert_eq!(parse(&[&m33.join(",")]), Err(Invalid));
        assert_eq!(parse(&[&m32.join(","), "bar33=33"]), Err(Invalid));
    }

    #[test]
    fn key_length_limit_is_256() {
        let k256 = "z".repeat(256);
        let k257 = "z".repeat(257);
        assert_eq!(parse(&["foo=1", &format!("{k256}=1")]).unwrap().len(), 2);
        assert_eq!(parse(&["foo=1", &format!("{k257}=1")]), Err(Invalid));
    }

    #[test]
    fn value_length_limit_is_256() {
        let v256 = "v".repeat(256);
        assert!(parse(&[&format!("foo={v256}")]).is_ok());
        assert_eq!(parse(&[&format!("foo={v256}v")]), Err(Invalid));
    }

    #[test]
    fn level_2_key_grammar() {
        // Level 2 allows `@` anywhere after the first character.
        for k in [
            "foo@bar",
            "foo@",
            "foo@@bar",
            "foo@bar@baz",
            "0abc",
            "a_-*/@z",
        ] {
            assert!(is_valid_key(k.as_bytes()), "{k}");
        }
        for k in [
            "@foo", "_foo", "-foo", "*foo", "/foo", "FOO", "fOo", "foo.bar", "foo ", " foo", "",
        ] {
            assert!(!is_valid_key(k.as_bytes()), "{k:?}");
        }
        assert_eq!(parse(&["@foo=1,bar=2"]), Err(Invalid));
        assert_eq!(parse(&["foo =1"]), Err(Invalid));
        assert_eq!(parse(&["FOO=1"]), Err(Invalid));
        assert_eq!(parse(&["foo.bar=1"]), Err(Invalid));
        assert!(parse(&["foo@bar=1,bar=2"]).is_ok());
    }

    #[test]
    fn all_allowed_characters() {
        let key: String = ('a'..='z')
            .chain('0'..='9')
            .chain("_-*/@".chars())
            .collect();
        let value: String = (0x20u8..=0x7e)
            .filter(|c| *c != b',' && *c != b'=')
            .map(char::from)
            .collect();
        let ts = parse(&[&format!("{key}={value}")]).unwrap();
        assert_eq!(ts.get(&key), Some(value.as_str()));
    }

    #[test]
    fn invalid_values_invalidate_the_list() {
        assert_eq!(parse(&["foo="]), Err(Invalid));
        assert_eq!(parse(&["foo=,bar=3"]), Err(Invalid));
        assert_eq!(parse(&["foo=bar=baz"]), Err(Invalid));
        assert_eq!(parse(&["foo"]), Err(Invalid));
        assert_eq!(parse(&["foo=a\tb"]), Err(Invalid));
        assert_eq!(parse(&["=1"]), Err(Invalid));
        assert_eq!(TraceState::from_fields(&[b"foo=\xff"]), Err(Invalid));
        assert_eq!(TraceState::from_fields(&[b"f\xc3\xa9=1"]), Err(Invalid));
    }

    #[test]
    fn duplicate_keys_keep_the_first_member() {
        let counted = |fields: &[&str]| {
            let f: Vec<&[u8]> = fields.iter().map(|s| s.as_bytes()).collect();
            TraceState::from_fields_counted(&f).map(|(ts, n)| (header(&ts), n))
        };
        assert_eq!(counted(&["foo=1,foo=1"]), Ok(("foo=1".into(), 1)));
        assert_eq!(
            counted(&["foo=1,bar=2,foo=2"]),
            Ok(("foo=1,bar=2".into(), 1))
        );
        assert_eq!(
            counted(&["foo=1", "bar=2,foo=3", "foo=4,baz=5"]),
            Ok(("foo=1,bar=2,baz=5".into(), 2))
        );
        assert_eq!(counted(&["foo=1,bar=2"]), Ok(("foo=1,bar=2".into(), 0)));
        // Otherwise invalid lists are still dropped whole.
        assert_eq!(counted(&["foo=1,foo=2,@bad=3"]), Err(Invalid));
        assert_eq!(counted(&["foo=1,foo="]), Err(Invalid));
        // 32 distinct keys plus repeats is still a valid list.
        let m32 = members("bar", 32);
        assert_eq!(counted(&[&m32.join(","), "bar01=x"]).map(|(_, n)| n), Ok(1));
    }

    #[test]
    fn own_entry_goes_left_and_drops_the_rightmost_beyond_32() {
        let mut ts = parse(&["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]).unwrap();
        ts.put_first("congo", "ucfJifl5GOE".into());
        assert_eq!(header(&ts), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");

        let m32 = members("bar", 32);
        let mut ts = parse(&[&m32.join(",")]).unwrap();
        ts.put_first("mine", "x".into());
        assert_eq!(ts.len(), 32);
        assert!(header(&ts).starts_with("mine=x,bar01=01,"));
        assert!(header(&ts).ends_with(",bar31=31"));
        assert_eq!(ts.get("bar32"), None);

        // Replacing an existing key at 32 members drops nothing else.
        let mut ts = parse(&[&m32.join(",")]).unwrap();
        ts.put_first("bar32", "new".into());
        assert_eq!(ts.len(), 32);
        assert!(header(&ts).starts_with("bar32=new,bar01=01,"));
        assert!(header(&ts).ends_with(",bar31=31"));
    }

    #[test]
    fn deny_list_removes_keys() {
        let mut ts = parse(&["a=1,secret=2,b=3,pii@v=4"]).unwrap();
        let n = ts.remove_keys(&["secret".into(), "pii@v".into(), "absent".into()]);
        assert_eq!(n, 2);
        assert_eq!(header(&ts), "a=1,b=3");
    }
}
