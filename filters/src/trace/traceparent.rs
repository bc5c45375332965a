//! W3C Trace Context Level 2 `traceparent`: parsing exactly per the spec
//! (including the future-version rule) and version-00 serialization.

use crate::trace::ids::{self, SpanId, TraceId};

/// trace-flags bit 0: the caller may have recorded trace data.
pub const FLAG_SAMPLED: u8 = 0x01;
/// trace-flags bit 1 (Level 2): the right-most 7 bytes of the trace-id are
/// random.
pub const FLAG_RANDOM: u8 = 0x02;
/// Flags this implementation knows; every other bit is cleared on output.
pub const KNOWN_FLAGS: u8 = FLAG_SAMPLED | FLAG_RANDOM;

/// Length of a version-00 value, and the minimum of any version.
const V00_LEN: usize = 55;

/// A valid traceparent. `flags` keeps only the known bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub flags: u8,
}

impl TraceParent {
    /// Parses one header field value. Surrounding spaces and tabs (OWS) are
    /// allowed; everything else follows the Level 2 text:
    /// - the version is two lowercase hex digits followed by `-`, never `ff`;
    /// - version `00` is exactly 55 characters;
    /// - a higher version needs at least 55 characters, and a `-` right after
    ///   the flags if it is longer; only the known fields are read;
    /// - all hex is lowercase; trace-id and parent-id are not all zero.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let v = trim_ows(value);
        let version = v.get(..2)?;
        if v.get(2) != Some(&b'-') {
            return None;
        }
        match version {
            b"ff" => return None,
            b"00" if v.len() != V00_LEN => return None,
            _ => {
                ids::from_hex::<1>(version)?;
                if v.len() < V00_LEN || (v.len() > V00_LEN && v.get(V00_LEN) != Some(&b'-')) {
                    return None;
                }
            }
        }
        if v.get(35) != Some(&b'-') || v.get(52) != Some(&b'-') {
            return None;
        }
        let trace_id: TraceId = ids::from_hex(v.get(3..35)?)?;
        let parent_id: SpanId = ids::from_hex(v.get(36..52)?)?;
        let [flags] = ids::from_hex::<1>(v.get(53..55)?)?;
        if ids::is_zero(&trace_id) || ids::is_zero(&parent_id) {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags: flags & KNOWN_FLAGS,
        })
    }

    /// The traceparent of a request: more than one field is invalid, like a
    /// malformed one. `Ok(None)` when there is none.
    pub fn from_fields(fields: &[&[u8]]) -> Result<Option<Self>, Invalid> {
        match fields {
            [] => Ok(None),
            [one] => Self::parse(one).map(Some).ok_or(Invalid),
            _ => Err(Invalid),
        }
    }

    /// Version `00`, the highest this implementation knows, with unknown
    /// flag bits cleared.
    pub fn to_header(&self) -> Vec<u8> {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        ids::push_hex(&mut out, &self.trace_id);
        out.push('-');
        ids::push_hex(&mut out, &self.parent_id);
        out.push('-');
        ids::push_hex(&mut out, &[self.flags & KNOWN_FLAGS]);
        out.into_bytes()
    }
}

/// A traceparent was present but unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// HTTP optional whitespace is space and horizontal tab only.
pub fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|c| !is_ows(*c)).unwrap_or(v.len());
    let end = v.iter().rposition(|c| !is_ows(*c)).map_or(start, |i| i + 1);
    v.get(start..end).unwrap_or_default()
}

fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const TRACE: &str = "12345678901234567890123456789012";
    const PARENT: &str = "1234567890123456";

    fn ok(v: &str) -> TraceParent {
        TraceParent::parse(v.as_bytes()).unwrap_or_else(|| panic!("{v:?} should be valid"))
    }

    fn bad(v: &str) {
        assert_eq!(
            TraceParent::parse(v.as_bytes()),
            None,
            "{v:?} should be invalid"
        );
    }

    #[test]
    fn spec_examples_are_valid() {
        let tp = ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(
            ids::to_hex(&tp.trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(ids::to_hex(&tp.parent_id), "00f067aa0ba902b7");
        assert_eq!(tp.flags, FLAG_SAMPLED);
        assert_eq!(
            ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").flags,
            0
        );
        assert_eq!(
            ok("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03").flags,
            3
        );
    }

    #[test]
    fn version_00_is_exactly_55_characters() {
        ok(&format!("00-{TRACE}-{PARENT}-01"));
        bad(&format!("00-{TRACE}-{PARENT}-01."));
        bad(&format!(
            "00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
        ));
        bad(&format!("00-{TRACE}-{PARENT}-01-"));
    }

    #[test]
    fn future_versions_follow_the_versioning_rule() {
        let tp = ok(&format!("cc-{TRACE}-{PARENT}-01"));
        assert_eq!(ids::to_hex(&tp.trace_id), TRACE);
        assert_eq!(
            ok(&format!(
                "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
            ))
            .trace_id,
            tp.trace_id
        );
        ok(&format!("01-{TRACE}-{PARENT}-01-"));
        bad(&format!(
            "cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"
        ));
        bad(&format!("cc-{TRACE}-{PARENT}-0"));
        bad(&format!("cc-{TRACE}-{PARENT}"));
        // Future versions are re-emitted as 00 with only the known fields.
        assert_eq!(
            ok(&format!(
                "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
            ))
            .to_header(),
            format!("00-{TRACE}-{PARENT}-01").into_bytes()
        );
    }

    #[test]
    fn version_ff_and_malformed_versions_are_invalid() {
        bad(&format!("ff-{TRACE}-{PARENT}-01"));
        bad(&format!(".0-{TRACE}-{PARENT}-01"));
        bad(&format!("0.-{TRACE}-{PARENT}-01"));
        bad(&format!("000-{TRACE}-{PARENT}-01"));
        bad(&format!("0000-{TRACE}-{PARENT}-01"));
        bad(&format!("0-{TRACE}-{PARENT}-01"));
        bad(&format!("CC-{TRACE}-{PARENT}-01"));
        bad("");
        bad("00");
        bad("00-");
    }

    #[test]
    fn uppercase_hex_is_invalid() {
        bad("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
        bad("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01");
        bad("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A");
    }

    #[test]
    fn all_zero_ids_are_invalid() {
        bad(&format!("00-00000000000000000000000000000000-{PARENT}-01"));
        bad(&format!("00-{TRACE}-0000000000000000-01"));
        bad(&format!("cc-00000000000000000000000000000000-{PARENT}-01"));
    }

    #[test]
    fn wrong_lengths_and_characters_are_invalid() {
        bad(&format!("00-.2345678901234567890123456789012-{PARENT}-01"));
        bad(&format!("00-1234567890123456789012345678901.-{PARENT}-01"));
        bad(&format!("00-123456789012345678901234567890123-{PARENT}-01"));
        bad(&format!("00-1234567890123456789012345678901-{PARENT}-01"));
        bad(&format!("00-{TRACE}-.234567890123456-01"));
        bad(&format!("00-{TRACE}-123456789012345.-01"));
        bad(&format!("00-{TRACE}-12345678901234567-01"));
        bad(&format!("00-{TRACE}-123456789012345-01"));
        bad(&format!("00-{TRACE}-{PARENT}-.0"));
        bad(&format!("00-{TRACE}-{PARENT}-0."));
        bad(&format!("00-{TRACE}-{PARENT}-001"));
        bad(&format!("00-{TRACE}-{PARENT}-1"));
        bad(&format!("00_{TRACE}-{PARENT}-01"));
        bad(&format!("00-{TRACE}_{PARENT}-01"));
        bad(&format!("00-{TRACE}-{PARENT}_01"));
    }

    #[test]
    fn surrounding_ows_is_allowed_other_whitespace_is_not() {
        for v in [
            format!(" 00-{TRACE}-{PARENT}-01"),
            format!("\t00-{TRACE}-{PARENT}-01"),
            format!("00-{TRACE}-{PARENT}-01 "),
            format!("00-{TRACE}-{PARENT}-01\t"),
            format!("\t 00-{TRACE}-{PARENT}-01 \t"),
        ] {
            assert_eq!(ids::to_hex(&ok(&v).trace_id), TRACE);
        }
        bad(&format!("\n00-{TRACE}-{PARENT}-01"));
        bad(&format!("00 -{TRACE}-{PARENT}-01"));
        bad(&format!("00-{TRACE} -{PARENT}-01"));
    }

    #[test]
    fn non_utf8_is_invalid_not_a_trap() {
        let mut v = format!("00-{TRACE}-{PARENT}-01").into_bytes();
        v[10] = 0xff;
        assert_eq!(TraceParent::parse(&v), None);
        assert_eq!(TraceParent::parse(&[0xc3, 0x28, b'-']), None);
    }

    #[test]
    fn flags_are_a_mask_and_unknown_bits_are_cleared() {
        let tp = ok(&format!("00-{TRACE}-{PARENT}-ff"));
        assert_eq!(tp.flags, FLAG_SAMPLED | FLAG_RANDOM);
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-09")).flags, FLAG_SAMPLED);
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-04")).flags, 0);
        assert_eq!(
            tp.to_header(),
            format!("00-{TRACE}-{PARENT}-03").into_bytes()
        );
        let raw = TraceParent { flags: 0xfd, ..tp };
        assert_eq!(
            raw.to_header(),
            format!("00-{TRACE}-{PARENT}-01").into_bytes()
        );
    }

    #[test]
    fn more_than_one_field_is_invalid() {
        let a = format!("00-{TRACE}-{PARENT}-01");
        let b = format!("00-12345678901234567890123456789011-{PARENT}-01");
        assert_eq!(TraceParent::from_fields(&[]), Ok(None));
        assert_eq!(
            TraceParent::from_fields(&[a.as_bytes()])
                .unwrap()
                .map(|t| t.flags),
            Some(1)
        );
        assert_eq!(
            TraceParent::from_fields(&[a.as_bytes(), b.as_bytes()]),
            Err(Invalid)
        );
        assert_eq!(
            TraceParent::from_fields(&[a.as_bytes(), a.as_bytes()]),
            Err(Invalid)
        );
        assert_eq!(TraceParent::from_fields(&[b"junk"]), Err(Invalid));
    }

    #[test]
    fn round_trips_version_00() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(ok(v).to_header(), v.as_bytes());
    }

    #[test]
    fn trims_only_space_and_tab() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"\na\r"), b"\na\r");
    }
}
