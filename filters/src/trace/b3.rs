//! Zipkin B3 propagation, single (`b3`) and multi-header (`x-b3-*`).
//!
//! 64-bit trace ids are left-padded to 128 bits. Debug means sampled. This
//! hop never sends a parent span id: the span id it sends is its own, and
//! the receiver's parent is that span.

use crate::http::{self, Header, HeaderOp};
use crate::trace::ids::{self, RemoteSpan, SpanId, TraceId};
use crate::trace::traceparent::trim_ows;

pub const SINGLE: &str = "b3";
pub const TRACE_ID: &str = "x-b3-traceid";
pub const SPAN_ID: &str = "x-b3-spanid";
pub const PARENT_SPAN_ID: &str = "x-b3-parentspanid";
pub const SAMPLED: &str = "x-b3-sampled";
pub const FLAGS: &str = "x-b3-flags";

/// The single `b3` header: `{traceid}-{spanid}[-{1|0|d}[-{parentspanid}]]`.
/// A sampling-only value (`0`, `1`, `d`) carries no ids and yields `None`,
/// as does anything malformed or more than one field.
pub fn extract_single(headers: &[Header]) -> Option<RemoteSpan> {
    let fields = http::values(headers, SINGLE);
    let [value] = &*fields else {
        return None;
    };
    let mut parts = trim_ows(value).split(|c| *c == b'-');
    let trace_id = trace_id(parts.next()?)?;
    let span_id = span_id(parts.next()?)?;
    let sampled = match parts.next() {
        None => None,
        Some(s) => Some(sampling_state(s)?),
    };
    if let Some(parent) = parts.next() {
        ids::from_hex::<8>(parent)?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(RemoteSpan {
        trace_id,
        span_id,
        sampled,
    })
}

/// The `x-b3-*` headers. Trace and span id are required; a missing
/// `x-b3-sampled` defers the decision; `x-b3-flags: 1` (debug) means
/// sampled. Any repeated or malformed header makes the set unusable.
pub fn extract_multi(headers: &[Header]) -> Option<RemoteSpan> {
    let trace_id = trace_id(one(headers, TRACE_ID)??)?;
    let span_id = span_id(one(headers, SPAN_ID)??)?;
    let mut sampled = match one(headers, SAMPLED)? {
        None => None,
        // Older tracers sent true/false; the B3 text asks to accept them.
        Some(b"1" | b"true") => Some(true),
        Some(b"0" | b"false") => Some(false),
        Some(_) => return None,
    };
    match one(headers, FLAGS)? {
        None | Some(b"0") => {}
        Some(b"1") => sampled = Some(true),
        Some(_) => return None,
    }
    Some(RemoteSpan {
        trace_id,
        span_id,
        sampled,
    })
}

/// `b3: {traceid}-{spanid}-{1|0}` for this hop's span.
pub fn inject_single(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> HeaderOp {
    HeaderOp::Set(
        SINGLE.into(),
        format!(
            "{}-{}-{}",
            ids::to_hex(trace_id),
            ids::to_hex(span_id),
            u8::from(sampled)
        )
        .into_bytes(),
    )
}

/// `x-b3-traceid`, `x-b3-spanid` and `x-b3-sampled` for this hop's span;
/// an incoming parent span id or debug flag is removed, since neither
/// describes the span now being sent.
pub fn inject_multi(
    headers: &[Header],
    trace_id: &TraceId,
    span_id: &SpanId,
    sampled: bool,
) -> Vec<HeaderOp> {
    let mut ops = vec![
        HeaderOp::Set(TRACE_ID.into(), ids::to_hex(trace_id).into_bytes()),
        HeaderOp::Set(SPAN_ID.into(), ids::to_hex(span_id).into_bytes()),
        HeaderOp::Set(SAMPLED.into(), vec![if sampled { b'1' } else { b'0' }]),
    ];
    for name in [PARENT_SPAN_ID, FLAGS] {
        if http::has(headers, name) {
            ops.push(HeaderOp::Remove(name.into()));
        }
    }
    ops
}

/// `Some(None)` when absent, `Some(Some(v))` for exactly one field, `None`
/// when repeated.
fn one<'a>(headers: &'a [Header], name: &str) -> Option<Option<&'a [u8]>> {
    match &*http::values(headers, name) {
        [] => Some(None),
        [v] => Some(Some(trim_ows(v))),
        _ => None,
    }
}

/// 16 or 32 lowercase hex digits, not all zero; 64-bit ids are left-padded.
fn trace_id(s: &[u8]) -> Option<TraceId> {
    if s.len() != 16 && s.len() != 32 {
        return None;
    }
    let id: TraceId = ids::from_hex_padded(s)?;
    (!ids::is_zero(&id)).then_some(id)
}

fn span_id(s: &[u8]) -> Option<SpanId> {
    let id: SpanId = ids::from_hex(s)?;
    (!ids::is_zero(&id)).then_some(id)
}

/// `1` accept, `0` deny, `d` debug (which means sampled).
fn sampling_state(s: &[u8]) -> Option<bool> {
    match s {
        b"1" | b"d" => Some(true),
        b"0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const T128: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const T64: &str = "80f198ee56343ba8";
    const PADDED: &str = "000000000000000080f198ee56343ba8";
    const SPAN: &str = "e457b5a2e4d86bd1";

    fn hs<'a>(list: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        list.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    fn single(v: &str) -> Option<RemoteSpan> {
        extract_single(&hs(&[("b3", v)]))
    }

    fn span(trace: &str, sampled: Option<bool>) -> RemoteSpan {
        RemoteSpan {
            trace_id: ids::from_hex(trace.as_bytes()).unwrap(),
            span_id: ids::from_hex(SPAN.as_bytes()).unwrap(),
            sampled,
        }
    }

    #[test]
    fn single_header_forms() {
        assert_eq!(single(&format!("{T128}-{SPAN}")), Some(span(T128, None)));
        assert_eq!(
            single(&format!("{T128}-{SPAN}-1")),
            Some(span(T128, Some(true)))
        );
        assert_eq!(
            single(&format!("{T128}-{SPAN}-0")),
            Some(span(T128, Some(false)))
        );
        assert_eq!(
            single(&format!("{T128}-{SPAN}-d")),
            Some(span(T128, Some(true)))
        );
        assert_eq!(
            single(&format!("{T128}-{SPAN}-1-05e3ac9a4f6e3b90")),
            Some(span(T128, Some(true)))
        );
        assert_eq!(
            single(&format!(" {T128}-{SPAN}-1 ")),
            Some(span(T128, Some(true)))
        );
    }

    #[test]
    fn single_64_bit_trace_id_is_left_padded() {
        assert_eq!(
            single(&format!("{T64}-{SPAN}-1")),
            Some(span(PADDED, Some(true)))
        );
    }

    #[test]
    fn single_header_rejects_malformed_values() {
        for v in [
            "0".to_string(),
            "1".into(),
            "d".into(),
            String::new(),
            T128.to_string(),
            format!("{T128}-{SPAN}-2"),
            format!("{T128}-{SPAN}-true"),
            format!("{T128}-{SPAN}-1-xyz"),
            format!("{T128}-{SPAN}-1-05e3ac9a4f6e3b90-extra"),
            format!("{}-{SPAN}-1", T128.to_uppercase()),
            format!("{}-{SPAN}-1", &T128[..20]),
            format!("{T128}-{}-1", &SPAN[..8]),
            format!("00000000000000000000000000000000-{SPAN}-1"),
            format!("{T128}-0000000000000000-1"),
        ] {
            assert_eq!(single(&v), None, "{v:?}");
        }
        let v = format!("{T128}-{SPAN}-1");
        let two = hs(&[("b3", &v), ("b3", &v)]);
        assert_eq!(extract_single(&two), None);
    }

    #[test]
    fn multi_header_forms() {
        let base = [("x-b3-traceid", T128), ("x-b3-spanid", SPAN)];
        let with = |extra: &[(&str, &str)]| {
            let mut l = base.to_vec();
            l.extend_from_slice(extra);
            extract_multi(&hs(&l))
        };
        assert_eq!(with(&[]), Some(span(T128, None)));
        assert_eq!(with(&[("x-b3-sampled", "1")]), Some(span(T128, Some(true))));
        assert_eq!(
            with(&[("x-b3-sampled", "0")]),
            Some(span(T128, Some(false)))
        );
        assert_eq!(
            with(&[("x-b3-sampled", "true")]),
            Some(span(T128, Some(true)))
        );
        assert_eq!(with(&[("x-b3-flags", "1")]), Some(span(T128, Some(true))));
        assert_eq!(
            with(&[("x-b3-sampled", "0"), ("x-b3-flags", "1")]),
            Some(span(T128, Some(true)))
        );
        assert_eq!(
            with(&[
                ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
                ("x-b3-sampled", "1")
            ]),
            Some(span(T128, Some(true)))
        );
        assert_eq!(with(&[("x-b3-sampled", "yes")]), None);
        assert_eq!(with(&[("x-b3-flags", "2")]), None);
        assert_eq!(with(&[("x-b3-sampled", "1"), ("x-b3-sampled", "1")]), None);
        assert_eq!(with(&[("x-b3-traceid", T128)]), None);
    }

    #[test]
    fn multi_header_needs_both_ids_and_pads_64_bit() {
        let got = extract_multi(&hs(&[
            ("X-B3-TraceId", T64),
            ("X-B3-SpanId", SPAN),
            ("X-B3-Sampled", "1"),
        ]));
        assert_eq!(got, Some(span(PADDED, Some(true))));
        assert_eq!(extract_multi(&hs(&[("x-b3-traceid", T128)])), None);
        assert_eq!(extract_multi(&hs(&[("x-b3-spanid", SPAN)])), None);
        assert_eq!(
            extract_multi(&hs(&[("x-b3-traceid", "abc"), ("x-b3-spanid", SPAN)])),
            None
        );
    }

    #[test]
    fn injects_without_parent_span_id() {
        let t: TraceId = ids::from_hex(T128.as_bytes()).unwrap();
        let s: SpanId = ids::from_hex(SPAN.as_bytes()).unwrap();
        assert_eq!(
            inject_single(&t, &s, true),
            HeaderOp::Set("b3".into(), format!("{T128}-{SPAN}-1").into_bytes())
        );
        assert_eq!(
            inject_single(&t, &s, false),
            HeaderOp::Set("b3".into(), format!("{T128}-{SPAN}-0").into_bytes())
        );
        let incoming = hs(&[
            ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
            ("x-b3-flags", "1"),
        ]);
        assert_eq!(
            inject_multi(&incoming, &t, &s, false),
            vec![
                HeaderOp::Set("x-b3-traceid".into(), T128.into()),
                HeaderOp::Set("x-b3-spanid".into(), SPAN.into()),
                HeaderOp::Set("x-b3-sampled".into(), b"0".to_vec()),
                HeaderOp::Remove("x-b3-parentspanid".into()),
                HeaderOp::Remove("x-b3-flags".into()),
            ]
        );
        assert_eq!(inject_multi(&[], &t, &s, true).len(), 3);
    }
}
