//! Trace and span ids: lowercase hex in and out, and random generation.
//! Shared by every propagation format so they all agree on the bytes.

use crate::host::Entropy;

/// A 16-byte trace id (W3C trace-id, 128-bit B3/Jaeger id).
pub type TraceId = [u8; 16];
/// An 8-byte span id (W3C parent-id, B3/Jaeger span id).
pub type SpanId = [u8; 8];

/// A caller's span as the B3 and Jaeger formats carry it: no random flag,
/// and the sampling decision may be deferred to this hop (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: Option<bool>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex, the only spelling W3C and B3 allow on the wire.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// [`to_hex`], appending to `out`: headers are built in one buffer.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&c) = HEX.get(usize::from(nibble)) {
                out.push(char::from(c));
            }
        }
    }
}

/// One lowercase hex digit; uppercase is invalid in every format we read.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Exactly `2 * N` lowercase hex digits.
pub fn from_hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    from_hex_padded(s)
}

/// 1 to `2 * N` lowercase hex digits, left-padded with zeros: 64-bit B3
/// ids and Jaeger ids with their leading zeros omitted.
pub fn from_hex_padded<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.is_empty() || s.len() > 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Walk from the right: the last digit is the low nibble of the last byte.
    for (i, &c) in s.iter().rev().enumerate() {
        let v = nibble(c)?;
        let slot = out.get_mut(N - 1 - i / 2)?;
        *slot |= if i % 2 == 0 { v } else { v << 4 };
    }
    Some(out)
}

pub fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0)
}

/// Random bytes that are not all zero and differ from `avoid` (the
/// incoming span id, which must never be reused as this hop's). `None` when
/// the host's entropy keeps failing: callers then leave the request alone
/// rather than emit a predictable id.
pub fn random_id<const N: usize>(entropy: &mut dyn Entropy, avoid: &[[u8; N]]) -> Option<[u8; N]> {
    const ATTEMPTS: usize = 4;
    for _ in 0..ATTEMPTS {
        let mut id = [0u8; N];
        entropy.fill(&mut id);
        if !is_zero(&id) && !avoid.contains(&id) {
            return Some(id);
        }
    }
    None
}

/// An RFC 9562 version-4 UUID from 16 random bytes, the form Envoy itself
/// gives `x-request-id`.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let hex = to_hex(&bytes);
    let mut out = String::with_capacity(36);
    for (i, c) in hex.chars().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::SeededEntropy;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Hands out the same bytes every time.
    struct Fixed(u8);
    impl Entropy for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn hex_round_trip() {
        let id: TraceId = from_hex(b"4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(to_hex(&id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0]), "000fa0");
    }

    #[test]
    fn hex_is_lowercase_and_exact() {
        assert_eq!(
            from_hex::<8>(b"00f067aa0ba902b7"),
            Some([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        assert_eq!(from_hex::<8>(b"00F067AA0BA902B7"), None);
        assert_eq!(from_hex::<8>(b"00f067aa0ba902b"), None);
        assert_eq!(from_hex::<8>(b"00f067aa0ba902b70"), None);
        assert_eq!(from_hex::<8>(b"00f067aa0ba902.7"), None);
        assert_eq!(from_hex::<8>(b"00f067aa0ba902\xc3\xa9"), None);
    }

    #[test]
    fn padded_hex_fills_from_the_right() {
        let id: TraceId = from_hex_padded(b"80f198ee56343ba8").unwrap();
        assert_eq!(to_hex(&id), "000000000000000080f198ee56343ba8");
        let id: SpanId = from_hex_padded(b"abc").unwrap();
        assert_eq!(to_hex(&id), "0000000000000abc");
        assert_eq!(from_hex_padded::<8>(b""), None);
        assert_eq!(from_hex_padded::<8>(b"00000000000000001"), None);
    }

    #[test]
    fn uuid_v4_sets_version_and_variant() {
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4([0x00; 16]), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn random_ids_are_never_zero_nor_the_avoided_id() {
        assert_eq!(random_id::<8>(&mut Fixed(0), &[]), None);
        assert_eq!(random_id::<8>(&mut Fixed(7), &[[7; 8]]), None);
        assert_eq!(random_id::<8>(&mut Fixed(7), &[]), Some([7; 8]));
        let mut e = SeededEntropy(3);
        let a: TraceId = random_id(&mut e, &[]).unwrap();
        let b: TraceId = random_id(&mut e, &[]).unwrap();
        assert_ne!(a, b);
    }
}
