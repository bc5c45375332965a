//! The proxy-wasm header-map serialization, read in place.
//!
//! `proxy_get_header_map_pairs` hands over one buffer: a little-endian u32
//! pair count, then a (name length, value length) u32 pair per field, then
//! each name and each value followed by a NUL byte. Reading it in place lets
//! the engine borrow every name and value from that one allocation instead
//! of copying each into a `String` and a `Vec<u8>` (the SDK's getters).

use crate::http::Header;
use crate::metrics::{Metric, Metrics};

/// The fields of one header map, borrowed from the host's buffer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HeaderMap<'a> {
    /// Readable fields, in the host's order.
    pub headers: Vec<Header<'a>>,
    /// What could not be read: each field whose name is not UTF-8 (dropped;
    /// HTTP names are ASCII tokens and Envoy's codecs refuse others, so no
    /// rule could name it), or 1 for a malformed buffer (read as no fields).
    pub invalid: u64,
}

impl<'a> HeaderMap<'a> {
    /// Reads a serialized map. Never panics: a buffer that does not follow
    /// the format yields no fields and `invalid: 1`. Bytes after the last
    /// field are ignored, as the SDK does.
    pub fn parse(buf: &'a [u8]) -> Self {
        fields(buf).unwrap_or_else(Self::unreadable)
    }

    /// No fields, counted once: a malformed buffer, or a host call that
    /// failed.
    pub fn unreadable() -> Self {
        HeaderMap {
            headers: Vec::new(),
            invalid: 1,
        }
    }

    /// `host_headers_invalid`, for the adapter's counters.
    pub fn metrics(&self) -> Metrics {
        let mut m = Metrics::default();
        m.add(Metric::HostHeadersInvalid, self.invalid);
        m
    }
}

/// `None` when the buffer is malformed. An empty buffer is an empty map
/// (what the host returns for a map without fields).
fn fields(buf: &[u8]) -> Option<HeaderMap<'_>> {
    if buf.is_empty() {
        return Some(HeaderMap::default());
    }
    let count = u32_at(buf, 0)?;
    // Checked before allocating: the sizes alone must fit in the buffer.
    let sizes_end = count.checked_mul(8)?.checked_add(4)?;
    let sizes = buf.get(4..sizes_end)?;
    let mut data = sizes_end;
    let mut map = HeaderMap {
        headers: Vec::with_capacity(count),
        invalid: 0,
    };
    for pair in sizes.chunks_exact(8) {
        let name = field(buf, &mut data, u32_at(pair, 0)?)?;
        let value = field(buf, &mut data, u32_at(pair, 4)?)?;
        match std::str::from_utf8(name) {
            Ok(name) => map.headers.push((name, value)),
            Err(_) => map.invalid += 1,
        }
    }
    Some(map)
}

/// The `len` bytes at `*at`, which must be followed by a NUL; moves `*at`
/// past the NUL.
fn field<'a>(buf: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let bytes = buf.get(*at..end)?;
    if *buf.get(end)? != 0 {
        return None;
    }
    *at = end.checked_add(1)?;
    Some(bytes)
}

fn u32_at(buf: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(bytes)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Entropy, SeededEntropy};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The host's side of the format (test only: the plugin never writes
    /// maps, it sets fields one by one).
    fn serialize(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
        let len = |n: usize| u32::try_from(n).unwrap().to_le_bytes();
        let mut out = len(fields.len()).to_vec();
        for (n, v) in fields {
            out.extend(len(n.len()));
            out.extend(len(v.len()));
        }
        for (n, v) in fields {
            for part in [n, v] {
                out.extend_from_slice(part);
                out.push(0);
            }
        }
        out
    }

    fn malformed() -> HeaderMap<'static> {
        HeaderMap::unreadable()
    }

    #[test]
    fn reads_fields_in_order_with_repeats_and_empty_values() {
        let buf = serialize(&[
            (b":path", b"/a?b=1"),
            (b"tracestate", b"a=1"),
            (b"x-empty", b""),
            (b"tracestate", b"b=2"),
        ]);
        let map = HeaderMap::parse(&buf);
        assert_eq!(
            map.headers,
            vec![
                (":path", &b"/a?b=1"[..]),
                ("tracestate", &b"a=1"[..]),
                ("x-empty", &b""[..]),
                ("tracestate", &b"b=2"[..]),
            ]
        );
        assert_eq!(map.invalid, 0);
        assert_eq!(map.metrics(), Metrics::default());
    }

    #[test]
    fn empty_buffer_and_zero_count_are_empty_maps() {
        assert_eq!(HeaderMap::parse(b""), HeaderMap::default());
        assert_eq!(HeaderMap::parse(&serialize(&[])), HeaderMap::default());
    }

    #[test]
    fn values_keep_any_byte_but_names_must_be_utf8() {
        let buf = serialize(&[
            (b"x-bin", b"\xff\x00\x01"),
            (b"x-\xff", b"dropped"),
            (b"accept", b"*/*"),
        ]);
        let map = HeaderMap::parse(&buf);
        assert_eq!(
            map.headers,
            vec![("x-bin", &b"\xff\x00\x01"[..]), ("accept", &b"*/*"[..])]
        );
        assert_eq!(map.invalid, 1);
        assert_eq!(map.metrics().get(Metric::HostHeadersInvalid), 1);
    }

    #[test]
    fn malformed_buffers_are_read_as_no_fields() {
        let good = serialize(&[(b"a", b"1"), (b"bb", b"22")]);
        // Every truncation, including inside the count and the sizes.
        for end in 1..good.len() {
            assert_eq!(HeaderMap::parse(&good[..end]), malformed(), "{end}");
        }
        // A missing NUL terminator.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() = b'x';
        assert_eq!(HeaderMap::parse(&bad), malformed());
        // Counts and lengths far beyond the buffer, up to u32::MAX.
        for count in [3u32, 1 << 28, u32::MAX] {
            let mut bad = good.clone();
            bad[..4].copy_from_slice(&count.to_le_bytes());
            assert_eq!(HeaderMap::parse(&bad), malformed(), "{count}");
        }
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(HeaderMap::parse(&bad), malformed());
        // Trailing bytes after the last field are ignored.
        let mut padded = good.clone();
        padded.extend(b"\0\0junk");
        assert_eq!(HeaderMap::parse(&padded).headers.len(), 2);
    }

    #[test]
    fn property_round_trips_and_never_panics() {
        let mut rng = SeededEntropy(11);
        let mut byte = || {
            let mut b = [0u8; 1];
            rng.fill(&mut b);
            b[0]
        };
        for _ in 0..2_000 {
            let mut owned: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for _ in 0..byte() % 6 {
                let name: Vec<u8> = (0..byte() % 8).map(|_| b'a' + byte() % 26).collect();
                let value: Vec<u8> = (0..byte() % 12).map(|_| byte()).collect();
                owned.push((name, value));
            }
            let fields: Vec<(&[u8], &[u8])> = owned
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect();
            let buf = serialize(&fields);
            let map = HeaderMap::parse(&buf);
            assert_eq!(map.invalid, 0);
            let got: Vec<(&[u8], &[u8])> = map
                .headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), *v))
                .collect();
            assert_eq!(got, fields);
            // Any corruption: the result is a map or "malformed", never a
            // panic, and every field read lies inside the buffer.
            let mut bad = buf.clone();
            for _ in 0..1 + byte() % 4 {
                let at = usize::from(byte()) % bad.len();
                bad[at] = byte();
            }
            bad.truncate(bad.len() - usize::from(byte()) % 3);
            let map = HeaderMap::parse(&bad);
            let range = bad.as_ptr_range();
            for (n, v) in &map.headers {
                assert!(range.contains(&n.as_ptr()) || n.is_empty());
                assert!(range.contains(&v.as_ptr()) || v.is_empty());
            }
        }
    }
}
