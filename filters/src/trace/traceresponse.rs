//! W3C Trace Context Level 2 `traceresponse` on the response going
//! downstream: forward only a valid value (`pass`), remove it (`strip`, so
//! internal trace ids do not reach external clients), or set it to this
//! hop's span on SERVER hops (`emit`). Its grammar is traceparent's.

use crate::http::{self as headers, Header, HeaderOp};
use crate::metrics::{Metric, Metrics};
use crate::trace::config::TraceResponseMode;
use crate::trace::traceparent::TraceParent;
use crate::trace::{SpanKind, TraceContext};

pub const HEADER: &str = "traceresponse";

/// The ops for one response. `trace` is the request's context at this hop;
/// without one (or on a CLIENT hop) `emit` acts as `pass`.
pub fn apply(
    mode: TraceResponseMode,
    headers: &[Header],
    trace: Option<&TraceContext>,
    metrics: &mut Metrics,
) -> Vec<HeaderOp> {
    match (mode, trace) {
        (TraceResponseMode::Strip, _) => strip(headers),
        (TraceResponseMode::Emit, Some(ctx)) if ctx.kind == SpanKind::Server => {
            vec![HeaderOp::Set(HEADER.into(), value(ctx))]
        }
        (TraceResponseMode::Emit | TraceResponseMode::Pass, _) => {
            match TraceParent::from_fields(&headers::values(headers, HEADER)) {
                Ok(_) => Vec::new(),
                Err(_) => {
                    metrics.add(Metric::TraceresponseInvalid, 1);
                    vec![HeaderOp::Remove(HEADER.into())]
                }
            }
        }
    }
}

fn strip(headers: &[Header]) -> Vec<HeaderOp> {
    if headers::has(headers, HEADER) {
        vec![HeaderOp::Remove(HEADER.into())]
    } else {
        Vec::new()
    }
}

/// `00-{trace-id}-{this hop's span id}-{flags}`.
pub fn value(ctx: &TraceContext) -> Vec<u8> {
    TraceParent {
        trace_id: ctx.trace_id,
        parent_id: ctx.span_id,
        flags: ctx.flags,
    }
    .to_header()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::config::PropagationFormat;
    use crate::trace::Origin;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn ctx(kind: SpanKind) -> TraceContext {
        TraceContext {
            trace_id: [0x4b; 16],
            span_id: [0x11; 8],
            parent_span_id: None,
            flags: 0x03,
            trace_state: None,
            kind,
            origin: Origin::Continued(PropagationFormat::TraceContext),
            link: None,
        }
    }

    fn run(
        mode: TraceResponseMode,
        values: &[&str],
        trace: Option<&TraceContext>,
    ) -> (Vec<HeaderOp>, u64) {
        let hs: Vec<Header> = values.iter().map(|v| (HEADER, v.as_bytes())).collect();
        let mut m = Metrics::default();
        let ops = apply(mode, &hs, trace, &mut m);
        (ops, m.get(Metric::TraceresponseInvalid))
    }

    fn removed() -> Vec<HeaderOp> {
        vec![HeaderOp::Remove(HEADER.into())]
    }

    #[test]
    fn pass_forwards_only_a_valid_value() {
        use TraceResponseMode::Pass;
        assert_eq!(run(Pass, &[VALID], None), (vec![], 0));
        assert_eq!(run(Pass, &[], None), (vec![], 0));
        // A higher version with more fields is valid Level 2.
        let v01 = format!("01{}-extra", &VALID[2..]);
        assert_eq!(run(Pass, &[&v01], None), (vec![], 0));
        for bad in [
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "alice@example.com",
            "",
        ] {
            assert_eq!(run(Pass, &[bad], None), (removed(), 1), "{bad:?}");
        }
        assert_eq!(run(Pass, &[VALID, VALID], None), (removed(), 1));
    }

    #[test]
    fn strip_removes_any_value() {
        use TraceResponseMode::Strip;
        assert_eq!(run(Strip, &[VALID], None), (removed(), 0));
        assert_eq!(run(Strip, &["junk"], None), (removed(), 0));
        assert_eq!(run(Strip, &[], None), (vec![], 0));
    }

    #[test]
    fn emit_sets_this_server_hops_span() {
        use TraceResponseMode::Emit;
        let server = ctx(SpanKind::Server);
        let want = vec![HeaderOp::Set(
            HEADER.into(),
            b"00-4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b-1111111111111111-03".to_vec(),
        )];
        assert_eq!(run(Emit, &[VALID], Some(&server)), (want.clone(), 0));
        assert_eq!(run(Emit, &["junk"], Some(&server)), (want, 0));
        // A CLIENT hop or no context: as `pass`.
        let client = ctx(SpanKind::Client);
        assert_eq!(run(Emit, &[VALID], Some(&client)), (vec![], 0));
        assert_eq!(run(Emit, &["junk"], Some(&client)), (removed(), 1));
        assert_eq!(run(Emit, &["junk"], None), (removed(), 1));
    }
}
