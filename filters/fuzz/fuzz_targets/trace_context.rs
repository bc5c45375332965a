//! traceparent, tracestate, B3 (single and multi) and uber-trace-id: no
//! panic on any input, and every value the module accepts survives its own
//! serializer: parse -> serialize -> parse gives the same context.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesafe_filters::http::{self, Header, HeaderOp};
use tracesafe_filters::redact::ScanOutcome;
use tracesafe_filters::trace::traceparent::{TraceParent, KNOWN_FLAGS};
use tracesafe_filters::trace::tracestate::{self, TraceState, MAX_MEMBERS};
use tracesafe_filters::trace::{b3, jaeger};
use tracesafe_fuzz::lines;

fn as_headers(ops: &[HeaderOp]) -> Vec<Header> {
    ops.iter()
        .filter_map(|op| match op {
            HeaderOp::Set(n, v) => Some((n.clone(), v.clone())),
            HeaderOp::Remove(_) => None,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let h = lines(data).headers;

    let tp_fields = http::values(&h, "traceparent");
    for field in &tp_fields {
        if let Some(tp) = TraceParent::parse(field) {
            let out = tp.to_header();
            assert_eq!(out.len(), 55);
            assert!(out.starts_with(b"00-"));
            assert_eq!(tp.flags & !KNOWN_FLAGS, 0);
            assert_eq!(TraceParent::parse(&out), Some(tp), "round trip of {out:?}");
        }
    }
    if tp_fields.len() > 1 {
        assert!(TraceParent::from_fields(&tp_fields).is_err());
    }

    if let Ok(mut ts) = TraceState::from_fields(&http::values(&h, "tracestate")) {
        assert!(ts.len() <= MAX_MEMBERS);
        let out = ts.to_header();
        assert_eq!(
            TraceState::from_fields(&[&out]),
            Ok(ts.clone()),
            "round trip of {out:?}"
        );
        // Masking values (as the detectors do) keeps the list valid.
        let mut n = 0;
        ts.scan_values(|v| {
            n += 1;
            match n % 3 {
                0 => ScanOutcome::Clean,
                1 => ScanOutcome::Replace(format!("[REDACTED:{}]", v.len())),
                _ => ScanOutcome::Remove,
            }
        });
        ts.put_first("tracesafe", "00f067aa0ba902b7".into());
        assert!(ts.len() <= MAX_MEMBERS);
        assert_eq!(ts.get("tracesafe"), Some("00f067aa0ba902b7"));
        let out = ts.to_header();
        assert_eq!(
            TraceState::from_fields(&[&out]),
            Ok(ts),
            "after edits: {out:?}"
        );
        for member in out.split(|&b| b == b',') {
            let (k, v) = member.split_at(member.iter().position(|&b| b == b'=').unwrap());
            assert!(tracestate::is_valid_key(k) && tracestate::is_valid_value(&v[1..]));
        }
    }

    if let Some(rs) = b3::extract_single(&h) {
        let sampled = rs.sampled.unwrap_or(false);
        let out = as_headers(&[b3::inject_single(&rs.trace_id, &rs.span_id, sampled)]);
        let again = b3::extract_single(&out).expect("b3 round trip");
        assert_eq!(
            (again.trace_id, again.span_id, again.sampled),
            (rs.trace_id, rs.span_id, Some(sampled))
        );
    }
    if let Some(rs) = b3::extract_multi(&h) {
        let sampled = rs.sampled.unwrap_or(false);
        let ops = b3::inject_multi(&h, &rs.trace_id, &rs.span_id, sampled);
        let out = as_headers(&ops);
        let again = b3::extract_multi(&out).expect("x-b3-* round trip");
        assert_eq!(
            (again.trace_id, again.span_id, again.sampled),
            (rs.trace_id, rs.span_id, Some(sampled))
        );
        // A parent span id or debug flag is never forwarded.
        let forwarded = tracesafe_filters::cli::explain::apply(&h, &ops);
        assert!(!http::has(&forwarded, b3::PARENT_SPAN_ID) && !http::has(&forwarded, b3::FLAGS));
    }
    if let Some(rs) = jaeger::extract(&h) {
        let sampled = rs.sampled.unwrap_or(false);
        let out = as_headers(&[jaeger::inject(&rs.trace_id, &rs.span_id, sampled)]);
        let again = jaeger::extract(&out).expect("uber-trace-id round trip");
        assert_eq!(
            (again.trace_id, again.span_id, again.sampled),
            (rs.trace_id, rs.span_id, Some(sampled))
        );
    }
});
