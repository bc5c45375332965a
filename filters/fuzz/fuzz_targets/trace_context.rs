//! traceparent, tracestate, B3 (single and multi), uber-trace-id,
//! X-Amzn-Trace-Id and the response's traceresponse: no panic on any input,
//! every value the module accepts survives its own serializer (parse ->
//! serialize -> parse gives the same context), and every traceresponse mode
//! leaves the response with nothing but a valid value or none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesafe_filters::cli::explain;
use tracesafe_filters::http::{self as headers, borrowed, Header, HeaderOp};
use tracesafe_filters::redact::ScanOutcome;
use tracesafe_filters::trace::config::{PropagationFormat, TraceResponseMode};
use tracesafe_filters::trace::traceparent::{TraceParent, KNOWN_FLAGS};
use tracesafe_filters::trace::tracestate::{self, TraceState, MAX_MEMBERS};
use tracesafe_filters::trace::{b3, jaeger, traceresponse, xray};
use tracesafe_filters::{Metric, Metrics, Origin, SpanKind, TraceContext};
use tracesafe_fuzz::lines;

fn as_headers(ops: &[HeaderOp]) -> Vec<Header<'_>> {
    ops.iter()
        .filter_map(|op| match op {
            HeaderOp::Set(n, v) => Some((n.as_str(), v.as_slice())),
            HeaderOp::Remove(_) => None,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let owned = lines(data).headers;
    let h = borrowed(&owned);

    let tp_fields = headers::values(&h, "traceparent");
    for field in tp_fields.iter() {
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

    if let Ok(mut ts) = TraceState::from_fields(&headers::values(&h, "tracestate")) {
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
        let ops = [b3::inject_single(&rs.trace_id, &rs.span_id, sampled)];
        let out = as_headers(&ops);
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
        let forwarded = explain::apply(&h, &ops);
        assert!(
            !headers::has(&borrowed(&forwarded), b3::PARENT_SPAN_ID)
                && !headers::has(&borrowed(&forwarded), b3::FLAGS)
        );
    }
    if let Some(rs) = jaeger::extract(&h) {
        let sampled = rs.sampled.unwrap_or(false);
        let ops = [jaeger::inject(&rs.trace_id, &rs.span_id, sampled)];
        let out = as_headers(&ops);
        let again = jaeger::extract(&out).expect("uber-trace-id round trip");
        assert_eq!(
            (again.trace_id, again.span_id, again.sampled),
            (rs.trace_id, rs.span_id, Some(sampled))
        );
    }

    xray_round_trip(&h);
    traceresponse_modes(&h);
});

/// An accepted X-Amzn-Trace-Id re-injected with all its extra fields reads
/// back the same; kept fields after a scan that masks or drops values
/// still give a valid header.
fn xray_round_trip(h: &[Header]) {
    let Some(x) = xray::extract(h) else {
        return;
    };
    let (t, s) = (x.span.trace_id, x.span.span_id);
    let sampled = x.span.sampled.unwrap_or(false);
    let ops = [xray::inject(&t, &s, sampled, &x.fields)];
    let out = as_headers(&ops);
    let again = xray::extract(&out).expect("x-amzn-trace-id round trip");
    assert_eq!(
        (again.span.trace_id, again.span.span_id, again.span.sampled),
        (t, s, Some(sampled))
    );
    assert_eq!(again.fields, x.fields);
    let keep: Vec<String> = x
        .fields
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    let mut n = 0;
    let kept = xray::kept_fields(h, &keep, |v| {
        n += 1;
        match n % 4 {
            0 => ScanOutcome::Clean,
            1 => ScanOutcome::Replace(format!("[REDACTED:{}]", v.len())),
            2 => ScanOutcome::Replace("a;b=c".into()),
            _ => ScanOutcome::Remove,
        }
    });
    let ops = [xray::inject(&t, &s, sampled, &kept)];
    let out = as_headers(&ops);
    assert_eq!(
        xray::extract(&out).expect("kept fields stay valid").fields,
        kept
    );
}

/// The input's headers as a response: `strip` leaves no traceresponse,
/// `pass` at most one valid field (counting what it removed), `emit` on a
/// SERVER hop exactly this hop's span.
fn traceresponse_modes(h: &[Header]) {
    let ctx = TraceContext {
        trace_id: [0x4b; 16],
        span_id: [0x11; 8],
        parent_span_id: None,
        flags: 0x01,
        trace_state: None,
        kind: SpanKind::Server,
        origin: Origin::Continued(PropagationFormat::TraceContext),
        link: None,
    };
    let after = |mode, trace: Option<&TraceContext>| {
        let mut m = Metrics::default();
        let ops = traceresponse::apply(mode, h, trace, &mut m);
        let out = explain::apply(h, &ops);
        let values: Vec<Vec<u8>> = headers::values(&borrowed(&out), traceresponse::HEADER)
            .iter()
            .map(|v| v.to_vec())
            .collect();
        (values, m.get(Metric::TraceresponseInvalid))
    };
    let incoming = headers::values(h, traceresponse::HEADER);
    assert_eq!(after(TraceResponseMode::Strip, Some(&ctx)), (vec![], 0));
    let (passed, invalid) = after(TraceResponseMode::Pass, None);
    match TraceParent::from_fields(&incoming) {
        Ok(_) => assert_eq!((passed.len(), invalid), (incoming.len(), 0)),
        Err(_) => assert_eq!((passed.len(), invalid), (0, 1)),
    }
    let (emitted, invalid) = after(TraceResponseMode::Emit, Some(&ctx));
    assert_eq!((emitted, invalid), (vec![traceresponse::value(&ctx)], 0));
    assert!(TraceParent::parse(&traceresponse::value(&ctx)).is_some());
}
