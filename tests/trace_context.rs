//! Trace context at every hop, through real Envoy:
//! client → inbound listener (tracesafe) → app → outbound listener
//! (tracesafe) → callee. The app copies trace headers onto its two outbound
//! calls, as mesh apps must.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::echo::Received;
use common::mesh::Sidecar;
use common::support::traceparent as tp;
use serde_json::{json, Value};

const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const P: &str = "00f067aa0ba902b7";

/// Both sides `direction`-tagged, `trace` applied to both.
fn sides(trace: &Value) -> (Value, Value) {
    (
        json!({"direction": "inbound", "trace": trace}),
        json!({"direction": "outbound", "trace": trace}),
    )
}

/// The plain mesh: no Envoy tracer, `trace` on both sides.
fn both(trace: Value) -> Sidecar {
    let (inbound, outbound) = sides(&trace);
    Sidecar::start(&inbound, &outbound, None)
}

/// Both HCMs with Envoy's OpenTelemetry tracer, `trace` on both sides;
/// `propagate: false` sets `no_context_propagation` (Envoy records spans,
/// tracesafe writes the headers).
fn with_envoy_tracer(trace: Value, propagate: bool) -> Sidecar {
    let mut tracing = json!({
        "provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service": {"envoy_grpc": {"cluster_name": "otel_collector"}, "timeout": "0.25s"},
                "service_name": "mesh-app"
            }
        }
    });
    if !propagate {
        tracing["no_context_propagation"] = json!(true);
    }
    let (inbound, outbound) = sides(&trace);
    Sidecar::start(&inbound, &outbound, Some(&tracing))
}

/// A traceparent the request carries exactly once, split into
/// (trace-id, parent-id, flags) after checking it is valid version 00.
fn traceparent(r: &Received) -> (String, String, String) {
    let all = r.all("traceparent");
    assert_eq!(all.len(), 1, "one traceparent field expected: {r:#?}");
    let v = std::str::from_utf8(all[0]).unwrap();
    let parts: Vec<&str> = v.split('-').collect();
    assert_eq!(v.len(), 55, "{v}");
    assert_eq!(parts.len(), 4, "{v}");
    assert_eq!(parts[0], "00", "{v}");
    let hex = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    };
    assert!(parts[1..].iter().all(|p| hex(p)), "{v}");
    assert_ne!(parts[1], "0".repeat(32));
    assert_ne!(parts[2], "0".repeat(16));
    (parts[1].into(), parts[2].into(), parts[3].into())
}

#[test]
fn every_outbound_call_keeps_the_trace_id_with_its_own_parent_id() {
    let mesh = both(json!({}));
    let hops = mesh.send(
        "cont",
        &[
            ("traceparent", &tp(T, P, "01")),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    );
    let (trace, server_span, flags) = traceparent(&hops.app);
    assert_eq!((trace.as_str(), flags.as_str()), (T, "01"));
    assert_ne!(server_span, P);
    assert_eq!(hops.app.all("tracestate"), vec![&b"congo=t61rcWkgMzE"[..]]);

    let mut client_spans = Vec::new();
    for call in &hops.calls {
        let (trace, span, flags) = traceparent(call);
        assert_eq!((trace.as_str(), flags.as_str()), (T, "01"));
        assert_eq!(call.all("tracestate"), vec![&b"congo=t61rcWkgMzE"[..]]);
        client_spans.push(span);
    }
    assert_ne!(client_spans[0], client_spans[1]);
    for span in &client_spans {
        assert_ne!(span, &server_span);
        assert_ne!(span, P);
    }
    assert_eq!(mesh.envoy.counter("traces_continued"), 3);
    assert_eq!(mesh.envoy.counter("traces_started"), 0);
    mesh.envoy.assert_no_trap();
}

#[test]
fn a_request_without_context_starts_one_trace_for_all_hops() {
    let mesh = both(json!({}));
    let hops = mesh.send("new", &[]);
    let (trace, server_span, flags) = traceparent(&hops.app);
    assert_eq!(flags, "03", "sampled, random trace-id");
    let spans: Vec<String> = hops
        .calls
        .iter()
        .map(|c| {
            let (t, s, f) = traceparent(c);
            assert_eq!((t.as_str(), f.as_str()), (trace.as_str(), "03"));
            s
        })
        .collect();
    assert_ne!(spans[0], spans[1]);
    assert!(!spans.contains(&server_span));
    assert_eq!(mesh.envoy.counter("traces_started"), 1);
    assert_eq!(mesh.envoy.counter("traces_continued"), 2);
}

#[test]
fn invalid_traceparent_restarts_the_trace_and_drops_tracestate() {
    let mesh = both(json!({}));
    let cases: [(&str, Vec<(&str, String)>); 4] = [
        (
            "upper",
            vec![("traceparent", tp(&T.to_uppercase(), P, "01"))],
        ),
        ("ff", vec![("traceparent", format!("ff-{T}-{P}-01"))]),
        (
            "long",
            vec![("traceparent", format!("{}-x", tp(T, P, "01")))],
        ),
        (
            "twice",
            vec![
                ("traceparent", tp(T, P, "01")),
                (
                    "traceparent",
                    tp("12345678901234567890123456789012", P, "01"),
                ),
            ],
        ),
    ];
    for (id, tps) in &cases {
        let mut headers: Vec<(&str, &str)> = tps.iter().map(|(n, v)| (*n, v.as_str())).collect();
        headers.push(("tracestate", "congo=t61rcWkgMzE"));
        let hops = mesh.send(id, &headers);
        let (trace, _, flags) = traceparent(&hops.app);
        assert_ne!(trace, T, "{id}");
        assert_ne!(trace, "12345678901234567890123456789012", "{id}");
        assert_eq!(flags, "03", "{id}");
        assert!(!hops.app.has("tracestate"), "{id}: {:#?}", hops.app);
        for call in &hops.calls {
            assert_eq!(traceparent(call).0, trace, "{id}");
            assert!(!call.has("tracestate"), "{id}");
        }
    }
    let n = cases.len() as u64;
    assert_eq!(mesh.envoy.counter("traceparent_invalid"), n);
    assert_eq!(mesh.envoy.counter("traces_started"), n);
    assert_eq!(mesh.envoy.counter("traces_continued"), 2 * n);
}

#[test]
fn invalid_tracestate_is_dropped_whole() {
    let mesh = both(json!({}));
    let hops = mesh.send(
        "ts",
        &[
            ("traceparent", &tp(T, P, "01")),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("tracestate", "@rojo=00f067aa0ba902b7"),
        ],
    );
    assert_eq!(traceparent(&hops.app).0, T);
    assert!(!hops.app.has("tracestate"));
    assert_eq!(mesh.envoy.counter("tracestate_invalid"), 1);
}

#[test]
fn b3_only_input_becomes_a_valid_traceparent_with_a_padded_trace_id() {
    let mesh = both(json!({}));
    let hops = mesh.send("b3", &[("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1")]);
    let (trace, span, flags) = traceparent(&hops.app);
    assert_eq!(trace, "000000000000000080f198ee56343ba8");
    assert_eq!(flags, "01", "sampled; a padded id is not vouched random");
    assert_ne!(span, "e457b5a2e4d86bd1");
    for call in &hops.calls {
        assert_eq!(traceparent(call).0, trace);
    }
}

#[test]
fn every_configured_format_carries_the_same_ids() {
    let mesh = both(json!({"propagation": ["tracecontext", "b3", "b3multi", "jaeger"]}));
    let hops = mesh.send(
        "multi",
        &[
            ("x-b3-traceid", T),
            ("x-b3-spanid", P),
            ("x-b3-parentspanid", "1111111111111111"),
            ("x-b3-sampled", "1"),
        ],
    );
    for r in std::iter::once(&hops.app).chain(&hops.calls) {
        let (trace, span, flags) = traceparent(r);
        assert_eq!((trace.as_str(), flags.as_str()), (T, "01"));
        assert_eq!(r.text("b3"), Some(format!("{T}-{span}-1")));
        assert_eq!(r.text("x-b3-traceid").as_deref(), Some(T));
        assert_eq!(r.text("x-b3-spanid"), Some(span.clone()));
        assert_eq!(r.text("x-b3-sampled").as_deref(), Some("1"));
        assert!(!r.has("x-b3-parentspanid"));
        assert_eq!(r.text("uber-trace-id"), Some(format!("{T}:{span}:0:01")));
    }
}

#[test]
fn restart_mode_starts_a_new_trace_at_the_front_gate() {
    let mesh = Sidecar::start(
        &json!({"direction": "inbound", "trace": {"restart_trace": true}}),
        &json!({"direction": "outbound"}),
        None,
    );
    let hops = mesh.send(
        "restart",
        &[
            ("traceparent", &tp(T, P, "00")),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    );
    let (trace, _, flags) = traceparent(&hops.app);
    assert_ne!(trace, T);
    assert_eq!(
        flags, "03",
        "the caller's sampled=0 does not bind a restart"
    );
    assert!(!hops.app.has("tracestate"));
    for call in &hops.calls {
        assert_eq!(traceparent(call).0, trace);
    }
    assert_eq!(mesh.envoy.counter("traces_restarted"), 1);
    assert_eq!(mesh.envoy.counter("traces_continued"), 2);
}

#[test]
fn sampling_override_per_policy() {
    let mesh = Sidecar::start(
        &json!({"direction": "inbound", "trace": {"sampling": "never"}}),
        &json!({"direction": "outbound", "trace": {"sampling": "always"}}),
        None,
    );
    let hops = mesh.send("override", &[("traceparent", &tp(T, P, "03"))]);
    assert_eq!(
        traceparent(&hops.app).2,
        "02",
        "never: sampled cleared, random kept"
    );
    for call in &hops.calls {
        assert_eq!(
            traceparent(call).2,
            "03",
            "always: sampled whatever the parent said"
        );
    }
}

#[test]
fn request_id_is_generated_once_and_kept_downstream() {
    let mesh = both(json!({"request_id": "generate"}));
    let hops = mesh.send("rid", &[]);
    let id = hops.app.text("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(&id[14..15], "4", "UUID version 4: {id}");
    for call in &hops.calls {
        assert_eq!(call.all("x-request-id"), vec![id.as_bytes()]);
    }
    let hops = mesh.send("rid-kept", &[("x-request-id", "client-chosen-1")]);
    assert_eq!(
        hops.app.text("x-request-id").as_deref(),
        Some("client-chosen-1")
    );
    for call in &hops.calls {
        assert_eq!(
            call.text("x-request-id").as_deref(),
            Some("client-chosen-1")
        );
    }
    assert_eq!(mesh.envoy.counter("request_ids_generated"), 1);
}

/// Setup 1: Envoy's OpenTelemetry tracer records spans with
/// `no_context_propagation: true`; the headers are tracesafe's.
#[test]
fn tracesafe_owns_propagation_next_to_envoy_tracing() {
    let trace = json!({"tracestate_key": "tracesafe"});
    let mesh = with_envoy_tracer(trace, false);
    let hops = mesh.send(
        "own",
        &[("traceparent", &tp(T, P, "01")), ("tracestate", "congo=1")],
    );
    for r in std::iter::once(&hops.app).chain(&hops.calls) {
        let (trace, span, _) = traceparent(r);
        assert_eq!(trace, T);
        // Only tracesafe writes this entry, so the headers are tracesafe's.
        assert_eq!(
            r.text("tracestate"),
            Some(format!("tracesafe={span},congo=1"))
        );
    }
    assert_eq!(mesh.envoy.counter("traces_continued"), 3);
    // Envoy's tracer did trace every request.
    assert_eq!(mesh.envoy.stat("http.inbound.tracing.random_sampling"), 1);
    assert_eq!(mesh.envoy.stat("http.outbound.tracing.random_sampling"), 2);
}

/// Why the two setups exist: with Envoy's tracer propagating, whatever a
/// filter writes to traceparent/tracestate is overwritten in the router.
#[test]
fn envoy_tracer_overwrites_what_tracesafe_writes() {
    let trace = json!({"tracestate_key": "tracesafe"});
    let mesh = with_envoy_tracer(trace, true);
    let hops = mesh.send(
        "overwritten",
        &[("traceparent", &tp(T, P, "01")), ("tracestate", "congo=1")],
    );
    assert_eq!(traceparent(&hops.app).0, T);
    assert_eq!(hops.app.text("tracestate").as_deref(), Some("congo=1"));
    assert_eq!(mesh.envoy.counter("traces_continued"), 3);
}

/// Setup 2: Envoy's OpenTelemetry tracer propagates; tracesafe runs with
/// `trace_context: envoy` and leaves every trace header alone.
#[test]
fn envoy_tracer_owns_propagation() {
    let mesh = with_envoy_tracer(json!({"trace_context": "envoy"}), true);
    let b3 = "80f198ee56343ba8-e457b5a2e4d86bd1-1";
    let hops = mesh.send(
        "envoy",
        &[
            ("traceparent", &tp(T, P, "01")),
            ("tracestate", "congo=1"),
            ("b3", b3),
        ],
    );
    let (trace, server_span, _) = traceparent(&hops.app);
    assert_eq!(trace, T);
    assert_ne!(server_span, P, "Envoy's span is the parent now");
    assert_eq!(hops.app.text("tracestate").as_deref(), Some("congo=1"));
    let mut spans = Vec::new();
    for call in &hops.calls {
        let (t, s, _) = traceparent(call);
        assert_eq!(t, T);
        assert_ne!(s, server_span);
        spans.push(s);
        assert_eq!(
            call.text("b3").as_deref(),
            Some(b3),
            "tracesafe left b3 alone"
        );
    }
    assert_ne!(spans[0], spans[1]);
    assert_eq!(mesh.envoy.counter("requests"), 3);
    for c in ["traces_started", "traces_continued", "traces_restarted"] {
        assert_eq!(mesh.envoy.counter(c), 0, "{c}");
    }
}

#[test]
fn tracestate_duplicates_keep_the_first_member() {
    let mesh = both(json!({}));
    let hops = mesh.send(
        "dup",
        &[
            ("traceparent", &tp(T, P, "01")),
            (
                "tracestate",
                "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,congo=2",
            ),
            ("tracestate", "rojo=3,lime=1"),
        ],
    );
    let want = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,lime=1";
    assert_eq!(traceparent(&hops.app).0, T);
    assert_eq!(hops.app.texts("tracestate"), vec![want]);
    for call in &hops.calls {
        assert_eq!(traceparent(call).0, T);
        assert_eq!(call.texts("tracestate"), vec![want]);
    }
    // Two dropped at the inbound hop; the app forwards a clean list.
    assert_eq!(mesh.envoy.counter("tracestate_duplicates_dropped"), 2);
    assert_eq!(mesh.envoy.counter("tracestate_invalid"), 0);
    mesh.envoy.assert_no_trap();
}

const XROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const XT: &str = "5759e988bd862e3fe1be46a994272793";
const XP: &str = "53995c3f42cd8ad8";

/// The one `x-amzn-trace-id` of a request, split into (Root, Parent,
/// Sampled) after checking it has exactly these three fields in order.
fn xray(r: &Received) -> (String, String, String) {
    let all = r.texts("x-amzn-trace-id");
    assert_eq!(all.len(), 1, "one x-amzn-trace-id expected: {r:#?}");
    let fields: Vec<(String, String)> = all[0]
        .split(';')
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Root", "Parent", "Sampled"], "{}", all[0]);
    (
        fields[0].1.clone(),
        fields[1].1.clone(),
        fields[2].1.clone(),
    )
}

#[test]
fn xray_in_and_out_at_every_hop() {
    let mesh = both(json!({"propagation": ["tracecontext", "xray"]}));
    let hops = mesh.send(
        "xray",
        &[(
            "X-Amzn-Trace-Id",
            &format!("Root={XROOT};Parent={XP};Sampled=1;Lineage=a87bd80c:1;Self=x"),
        )],
    );
    let (trace, server_span, flags) = traceparent(&hops.app);
    // The W3C id is Root without dashes, never vouched random.
    assert_eq!((trace.as_str(), flags.as_str()), (XT, "01"));
    assert_ne!(server_span, XP);
    // Lineage and Self are dropped: no policy keeps them.
    assert_eq!(
        hops.app.texts("x-amzn-trace-id"),
        vec![format!("Root={XROOT};Parent={server_span};Sampled=1")]
    );
    let mut spans = Vec::new();
    for call in &hops.calls {
        let (t, span, f) = traceparent(call);
        assert_eq!((t.as_str(), f.as_str()), (XT, "01"));
        assert_eq!(xray(call), (XROOT.into(), span.clone(), "1".into()));
        spans.push(span);
    }
    assert_ne!(spans[0], spans[1]);
    assert!(!spans.contains(&server_span));
    assert_eq!(mesh.envoy.counter("traces_continued"), 3);
    mesh.envoy.assert_no_trap();
}

#[test]
fn xray_kept_fields_ride_along_when_a_policy_lists_them() {
    let mesh = both(json!({"propagation": ["xray"], "xray_keep_fields": ["lineage"]}));
    let hops = mesh.send(
        "xray-keep",
        &[(
            "x-amzn-trace-id",
            &format!("Self=x;Root={XROOT};Parent={XP};Sampled=0;Lineage=a87bd80c:1"),
        )],
    );
    assert!(!hops.app.has("traceparent"));
    let app = hops.app.texts("x-amzn-trace-id");
    assert_eq!(app.len(), 1);
    let parent = app[0]
        .strip_prefix(&format!("Root={XROOT};Parent="))
        .and_then(|rest| rest.strip_suffix(";Sampled=0;Lineage=a87bd80c:1"))
        .unwrap_or_else(|| panic!("{}", app[0]));
    assert_ne!(parent, XP);
    for call in &hops.calls {
        let v = call.text("x-amzn-trace-id").unwrap();
        assert!(
            v.starts_with(&format!("Root={XROOT};Parent="))
                && v.ends_with(";Sampled=0;Lineage=a87bd80c:1")
                && !v.contains(parent),
            "{v}"
        );
    }
}

#[test]
fn xray_sampled_question_mark_leaves_the_decision_to_this_hop() {
    // Ratio 0 samples no trace whose caller left the decision open, and
    // honours a caller that decided.
    let mesh = Sidecar::start(
        &json!({"direction": "inbound", "trace": {"propagation": ["tracecontext", "xray"], "sampling": 0}}),
        &json!({"direction": "outbound", "trace": {"propagation": ["tracecontext", "xray"]}}),
        None,
    );
    for (id, sampled, want) in [("q", "?", "0"), ("one", "1", "1"), ("none", "", "0")] {
        let header = if sampled.is_empty() {
            format!("Root={XROOT};Parent={XP}")
        } else {
            format!("Root={XROOT};Parent={XP};Sampled={sampled}")
        };
        let hops = mesh.send(id, &[("x-amzn-trace-id", &header)]);
        let (trace, span, flags) = traceparent(&hops.app);
        assert_eq!(
            (trace.as_str(), flags.as_str()),
            (XT, &*format!("0{want}")),
            "{id}"
        );
        assert_eq!(xray(&hops.app), (XROOT.into(), span, want.into()), "{id}");
        for call in &hops.calls {
            let (_, span, _) = traceparent(call);
            assert_eq!(xray(call), (XROOT.into(), span, want.into()), "{id}");
        }
    }
}

#[test]
fn a_new_trace_gets_an_epoch_dated_xray_root() {
    let mesh = both(json!({"propagation": ["xray", "tracecontext"]}));
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hops = mesh.send("xray-new", &[]);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (trace, span, flags) = traceparent(&hops.app);
    // The right-most 12 bytes stay random, so W3C's random flag holds.
    assert_eq!(flags, "03");
    let (root, parent, sampled) = xray(&hops.app);
    assert_eq!(
        (root.clone(), parent, sampled),
        (
            format!("1-{}-{}", &trace[..8], &trace[8..]),
            span,
            "1".into()
        )
    );
    let epoch = u64::from_str_radix(&trace[..8], 16).unwrap();
    assert!(
        (before..=after).contains(&epoch),
        "{epoch} not in {before}..={after}"
    );
    for call in &hops.calls {
        let (t, span, _) = traceparent(call);
        assert_eq!(t, trace);
        assert_eq!(xray(call), (root.clone(), span, "1".into()));
    }
    assert_eq!(mesh.envoy.counter("traces_started"), 1);
}

const TRACERESPONSE: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The `traceresponse` fields of the response the client got.
fn traceresponses(hops: &common::mesh::Hops) -> Vec<String> {
    hops.response
        .headers
        .iter()
        .filter(|(n, _)| n == "traceresponse")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn traceresponse_pass_forwards_only_a_valid_value() {
    let mesh = both(json!({}));
    let valid = mesh.send("tr-valid", &[("x-test-traceresponse", TRACERESPONSE)]);
    assert_eq!(traceresponses(&valid), vec![TRACERESPONSE]);
    let upper = TRACERESPONSE.to_uppercase();
    let invalid = mesh.send("tr-upper", &[("x-test-traceresponse", &upper)]);
    assert_eq!(traceresponses(&invalid), Vec::<String>::new());
    let twice = mesh.send(
        "tr-twice",
        &[
            ("x-test-traceresponse", TRACERESPONSE),
            ("x-test-traceresponse", TRACERESPONSE),
        ],
    );
    assert_eq!(traceresponses(&twice), Vec::<String>::new());
    let none = mesh.send("tr-none", &[]);
    assert_eq!(traceresponses(&none), Vec::<String>::new());
    assert_eq!(mesh.envoy.counter("traceresponse_invalid"), 2);
    mesh.envoy.assert_no_trap();
}

#[test]
fn traceresponse_strip_removes_every_value() {
    let mesh = Sidecar::start(
        &json!({"direction": "inbound", "trace": {"traceresponse": "strip"}}),
        &json!({"direction": "outbound"}),
        None,
    );
    for (id, v) in [
        ("tr-strip", TRACERESPONSE),
        ("tr-strip-junk", "alice@example.com"),
    ] {
        let hops = mesh.send(id, &[("x-test-traceresponse", v)]);
        assert_eq!(traceresponses(&hops), Vec::<String>::new(), "{id}");
    }
    assert_eq!(mesh.envoy.counter("traceresponse_invalid"), 0);
}

#[test]
fn traceresponse_emit_names_this_server_hops_span() {
    let mesh = both(json!({"traceresponse": "emit"}));
    let hops = mesh.send(
        "tr-emit",
        &[
            ("traceparent", &tp(T, P, "01")),
            ("x-test-traceresponse", "junk"),
        ],
    );
    let (trace, server_span, flags) = traceparent(&hops.app);
    assert_eq!(trace, T);
    assert_eq!(
        traceresponses(&hops),
        vec![format!("00-{T}-{server_span}-{flags}")]
    );
    // A new trace: the id this hop started.
    let hops = mesh.send("tr-emit-new", &[]);
    let (trace, server_span, flags) = traceparent(&hops.app);
    assert_eq!(
        traceresponses(&hops),
        vec![format!("00-{trace}-{server_span}-{flags}")]
    );
    assert_eq!(mesh.envoy.counter("traceresponse_invalid"), 0);
    mesh.envoy.assert_no_trap();
}
