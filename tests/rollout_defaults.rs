//! A mesh-wide rollout with `{}` breaks no login: through real Envoy, with
//! `{}` on the inbound and the outbound listener of a sidecar, the app and
//! its callee receive `authorization`, `cookie`, `x-api-key` and baggage
//! unchanged, while the trace is continued at each hop.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::echo::Received;
use common::mesh::Sidecar;
use common::support::traceparent;
use serde_json::json;

const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const P: &str = "00f067aa0ba902b7";
const JWT: &str = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl";
const COOKIE: &str = "sid=s%3A9f8e7d6c5b4a; theme=dark";
const API_KEY: &str = "k-3f9a1c7e2b8d4f60";
const BAGGAGE: &str = "plan=pro,region=eu";

/// The request's credentials and baggage arrived byte for byte, once each.
fn assert_untouched(r: &Received) {
    for (name, value) in [
        ("authorization", JWT),
        ("cookie", COOKIE),
        ("x-api-key", API_KEY),
        ("baggage", BAGGAGE),
    ] {
        assert_eq!(r.texts(name), [value], "{name}: {r:#?}");
    }
}

/// The span id of a continued `traceparent` of trace `T`, sampled.
fn continued_span(r: &Received) -> String {
    let all = r.texts("traceparent");
    assert_eq!(all.len(), 1, "{r:#?}");
    let span = all[0]
        .strip_prefix(&format!("00-{T}-"))
        .and_then(|rest| rest.strip_suffix("-01"))
        .unwrap_or_else(|| panic!("not continued: {}", all[0]));
    assert_eq!(span.len(), 16);
    assert_ne!(span, P);
    span.to_string()
}

#[test]
fn empty_config_keeps_credentials_and_continues_the_trace() {
    let mesh = Sidecar::start(&json!({}), &json!({}), None);
    let hops = mesh.send(
        "defaults",
        &[
            ("authorization", JWT),
            ("cookie", COOKIE),
            ("x-api-key", API_KEY),
            ("baggage", BAGGAGE),
            ("traceparent", &traceparent(T, P, "01")),
        ],
    );
    assert_untouched(&hops.app);
    let server = continued_span(&hops.app);
    for call in &hops.calls {
        assert_untouched(call);
        assert_ne!(continued_span(call), server);
    }
    assert_eq!(mesh.envoy.counter("headers_removed"), 0);
    assert_eq!(mesh.envoy.counter("traces_continued"), 3);
    mesh.envoy.assert_no_trap();
}
