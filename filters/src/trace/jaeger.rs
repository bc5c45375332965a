//! Jaeger propagation: `uber-trace-id: {trace}:{span}:{parent}:{flags}`.
//!
//! Ids may have their leading zeros omitted and are left-padded. Flags:
//! `0x01` sampled, `0x02` debug (which means sampled). Jaeger clients
//! URL-encode the value in HTTP headers, so `%3A` is read as `:`.

use crate::http::{self, Header, HeaderOp};
use crate::trace::ids::{self, RemoteSpan, SpanId, TraceId};
use crate::trace::traceparent::trim_ows;

pub const HEADER: &str = "uber-trace-id";

const SAMPLED: u8 = 0x01;
const DEBUG: u8 = 0x02;

/// The caller's span from `uber-trace-id`; `None` when absent, repeated or
/// malformed.
pub fn extract(headers: &[Header]) -> Option<RemoteSpan> {
    let fields = http::values(headers, HEADER);
    let [value] = &*fields else {
        return None;
    };
    let decoded = url_decode_colons(trim_ows(value));
    let mut parts = decoded.split(|c| *c == b':');
    let trace_id: TraceId = ids::from_hex_padded(parts.next()?)?;
    let span_id: SpanId = ids::from_hex_padded(parts.next()?)?;
    // The parent span id is deprecated; it must still be well-formed.
    ids::from_hex_padded::<8>(parts.next()?)?;
    let [flags] = ids::from_hex_padded::<1>(parts.next()?)?;
    if parts.next().is_some() || ids::is_zero(&trace_id) || ids::is_zero(&span_id) {
        return None;
    }
    Some(RemoteSpan {
        trace_id,
        span_id,
        sampled: Some(flags & (SAMPLED | DEBUG) != 0),
    })
}

/// `uber-trace-id: {trace}:{span}:0:{flags}` for this hop's span; the
/// deprecated parent field is always `0`.
pub fn inject(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> HeaderOp {
    HeaderOp::Set(
        HEADER.into(),
        format!(
            "{}:{}:0:{}",
            ids::to_hex(trace_id),
            ids::to_hex(span_id),
            if sampled { "01" } else { "00" }
        )
        .into_bytes(),
    )
}

/// Replaces `%3A`/`%3a` with `:`; nothing else is percent-encoded in a
/// valid value.
fn url_decode_colons(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut rest = v;
    while let Some((&c, tail)) = rest.split_first() {
        match tail {
            [b'3', b'A' | b'a', after @ ..] if c == b'%' => {
                out.push(b':');
                rest = after;
            }
            _ => {
                out.push(c);
                rest = tail;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const T128: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const SPAN: &str = "e457b5a2e4d86bd1";

    fn extract_value(v: &str) -> Option<RemoteSpan> {
        extract(&[(HEADER, v.as_bytes())])
    }

    fn span(trace: &str, span: &str, sampled: bool) -> RemoteSpan {
        RemoteSpan {
            trace_id: ids::from_hex(trace.as_bytes()).unwrap(),
            span_id: ids::from_hex(span.as_bytes()).unwrap(),
            sampled: Some(sampled),
        }
    }

    #[test]
    fn extracts_full_and_short_ids() {
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:0:1")),
            Some(span(T128, SPAN, true))
        );
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:0:0")),
            Some(span(T128, SPAN, false))
        );
        assert_eq!(
            extract_value("80f198ee56343ba8:abc:0:01"),
            Some(span(
                "000000000000000080f198ee56343ba8",
                "0000000000000abc",
                true
            ))
        );
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:05e3ac9a4f6e3b90:1")),
            Some(span(T128, SPAN, true))
        );
    }

    #[test]
    fn debug_means_sampled_and_other_bits_do_not() {
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:0:2")),
            Some(span(T128, SPAN, true))
        );
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:0:03")),
            Some(span(T128, SPAN, true))
        );
        assert_eq!(
            extract_value(&format!("{T128}:{SPAN}:0:4")),
            Some(span(T128, SPAN, false))
        );
    }

    #[test]
    fn url_encoded_separators() {
        assert_eq!(
            extract_value(&format!("{T128}%3A{SPAN}%3a0%3A1")),
            Some(span(T128, SPAN, true))
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for v in [
            String::new(),
            format!("{T128}:{SPAN}:0"),
            format!("{T128}:{SPAN}:0:1:x"),
            format!("{T128}0:{SPAN}:0:1"),
            format!("{T128}:{SPAN}0:0:1"),
            format!("{}:{SPAN}:0:1", T128.to_uppercase()),
            format!("{T128}:{SPAN}:0:100"),
            format!("{T128}:{SPAN}::1"),
            format!("0:{SPAN}:0:1"),
            format!("{T128}:0:0:1"),
            format!("{T128}-{SPAN}-0-1"),
            format!("{T128}%3{SPAN}:0:1"),
        ] {
            assert_eq!(extract_value(&v), None, "{v:?}");
        }
        let v = format!("{T128}:{SPAN}:0:1");
        let h = (HEADER, v.as_bytes());
        assert_eq!(extract(&[h, h]), None);
    }

    #[test]
    fn injects_full_ids_and_two_digit_flags() {
        let t: TraceId = ids::from_hex(T128.as_bytes()).unwrap();
        let s: SpanId = ids::from_hex(SPAN.as_bytes()).unwrap();
        assert_eq!(
            inject(&t, &s, true),
            HeaderOp::Set(HEADER.into(), format!("{T128}:{SPAN}:0:01").into_bytes())
        );
        assert_eq!(
            inject(&t, &s, false),
            HeaderOp::Set(HEADER.into(), format!("{T128}:{SPAN}:0:00").into_bytes())
        );
    }
}
