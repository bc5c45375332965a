//! Bad input through real Envoy: non-UTF-8 values, oversized headers,
//! baggage and query strings, 40 tracestate fields, duplicate traceparent,
//! broken percent-encoding, mixed-case names, NUL and control bytes. Each is
//! handled per policy (exact forwarded bytes), the VM never traps, Envoy's
//! wasm counters stay clean, and the next request still works. Requests a
//! client library would refuse go out as raw bytes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::collector::Collector;
use common::echo::Received;
use common::http::send_raw;
use common::support::{key, ENV_K2, USER_42};
use common::{Echo, Envoy, Plugin, Request};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::json;
use std::time::Duration;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Envoy, its upstream and its collector.
struct Proxy {
    envoy: Envoy,
    echo: Echo,
    collector: Collector,
    /// V8 VMs created at start: a trap or reload would create more.
    vms: u64,
}

impl Proxy {
    fn start() -> Proxy {
        let echo = Echo::start();
        let collector = Collector::start();
        let config = json!({
            "keys": key("k2"),
            "request_headers": {"defaults": "credentials", "tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}, "scan": ["*"]},
            "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
            "url": {"query": {"params": {"email": "drop"}}, "forward_query_remove": ["api_key"]},
            "export": {"cluster": "collector", "flush_interval_ms": 100}
        });
        let envoy = Envoy::builder("hostile.yaml")
            .upstream(echo.port)
            .var("COLLECTOR_PORT", collector.port)
            .with(Plugin::new(&config).failure_policy("FAIL_CLOSED"))
            .env(ENV_K2)
            .start();
        let vms = envoy.stat("wasm.envoy.wasm.runtime.v8.created");
        Proxy {
            envoy,
            echo,
            collector,
            vms,
        }
    }

    fn port(&self) -> u16 {
        self.envoy.port("ingress")
    }

    /// Sends `req` with `x-test-id: id`; returns what the upstream got.
    fn send(&self, id: &str, req: Request) -> Received {
        let resp = req.header("x-test-id", id).send(self.port()).unwrap();
        assert_eq!(resp.status, 200, "{id}: {}", resp.body_text());
        self.echo.by_test_id(id)
    }

    /// The VM survived: no trap in the log, no new VM, no wasm failure
    /// counter, and a plain request after the hostile ones is filtered.
    fn assert_healthy(&self, after: &str) {
        self.envoy.assert_no_trap();
        assert_eq!(
            self.envoy.stat("wasm.envoy.wasm.runtime.v8.created"),
            self.vms
        );
        for line in self.envoy.stats().lines() {
            if line.starts_with("wasm.") && (line.contains("fail") || line.contains("reload")) {
                assert!(line.ends_with(": 0"), "{line}");
            }
        }
        let got = self.send(
            after,
            Request::get("/after")
                .header("x-user-id", "42")
                .header("authorization", "Bearer s3cr3t-t0ken-value"),
        );
        assert_eq!(got.texts("x-user-id"), [USER_42]);
        assert!(!got.has("authorization"));
    }

    /// The exported span whose `url.path` is `path`.
    fn span(&self, path: &str) -> Span {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .collector
                .spans()
                .into_iter()
                .map(|(_, s)| s)
                .find(|s| attr(s, "url.path").as_deref() == Some(path));
            if let Some(s) = found {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no span for {path}: {:#?}",
                self.collector.spans()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        })
}

fn bytes(got: &Received, name: &str) -> Vec<Vec<u8>> {
    got.all(name).into_iter().map(<[u8]>::to_vec).collect()
}

#[test]
fn non_utf8_values_in_every_carrier() {
    let p = Proxy::start();
    let got = p.send(
        "bin",
        Request::get("/bin")
            .header("x-binary", [0xff, 0xfe])
            .header("x-note", b"caf\xe9 alice@example.com")
            .header("x-user-id", b"\xff42")
            .header("traceparent", TRACEPARENT)
            .header("tracestate", b"congo=t61r\xffcWkgMzE")
            .header("baggage", b"a=1,b=\xff,c=3")
            .header("uberctx-note", b"\xff alice@example.com")
            .header("user-agent", b"\xffbot alice@example.com")
            .header("x-forwarded-client-cert", b"URI=spiffe://td/\xff"),
    );
    // Clean values pass byte for byte; values the detectors rewrite are
    // rewritten from their lossy UTF-8 reading (invalid bytes become U+FFFD).
    assert_eq!(bytes(&got, "x-binary"), [b"\xff\xfe".to_vec()]);
    assert_eq!(
        bytes(&got, "x-note"),
        [b"caf\xef\xbf\xbd [REDACTED:email]".to_vec()]
    );
    assert_eq!(got.texts("uberctx-note"), ["%EF%BF%BD%20[REDACTED:email]"]);
    assert_eq!(
        bytes(&got, "user-agent"),
        [b"\xef\xbf\xbdbot [REDACTED:email]".to_vec()]
    );
    // A token of the raw bytes, not of a lossy reading.
    let token = got.texts("x-user-id");
    assert!(
        token[0].starts_with("tk.k2.") && token[0].len() == 28,
        "{token:?}"
    );
    assert_ne!(token[0], USER_42);
    // The trace continues; the tracestate with a non-ASCII byte is invalid
    // and dropped whole; the baggage member with it is dropped.
    let tp = got.texts("traceparent");
    assert!(tp[0].starts_with(&format!("00-{TRACE}-")), "{tp:?}");
    assert!(!got.has("tracestate"));
    assert_eq!(got.texts("baggage"), ["a=1,c=3"]);
    // Envoy itself sanitizes x-forwarded-client-cert from a plaintext
    // client (forward_client_cert_details: SANITIZE) before the filter runs;
    // tracesafe would strip it too (tests/identity.rs).
    assert!(!got.has("x-forwarded-client-cert"));
    for (name, n) in [
        ("tracestate_invalid", 1),
        ("baggage_invalid", 1),
        ("traces_continued", 1),
        // x-note, uberctx-note, user-agent, and user-agent again for the span.
        ("detector_hits.email", 4),
    ] {
        assert_eq!(p.envoy.counter(name), n, "{name}");
    }
    assert_eq!(
        attr(&p.span("/bin"), "user_agent.original").as_deref(),
        Some("\u{fffd}bot [REDACTED:email]")
    );
    p.assert_healthy("bin-after");
}

#[test]
fn oversized_inputs_are_cut_to_the_limits() {
    let p = Proxy::start();
    // A 60 KB header (Envoy's default limit for all headers together is
    // 60 KB; envoy/hostile.yaml raises it to 96 KB), scanned to its end.
    let tail = " alice@example.com";
    let big = format!("{}{tail}", "x".repeat(60 * 1024 - tail.len()));
    let got = p.send("big", Request::get("/big").header("x-note", &big));
    assert_eq!(
        got.texts("x-note"),
        [format!(
            "{} [REDACTED:email]",
            "x".repeat(60 * 1024 - tail.len())
        )]
    );

    // 5,000 baggage members (48 KB): the first 64 pass, whole.
    let members: Vec<String> = (0..5000).map(|i| format!("m{i}=v{i}")).collect();
    let got = p.send(
        "bag5000",
        Request::get("/bag").header("baggage", members.join(",")),
    );
    assert_eq!(got.texts("baggage"), [members[..64].join(",")]);
    assert_eq!(p.envoy.counter("baggage_over_limit"), 5000 - 64);

    // 40 tracestate fields. 40 members are more than 32: the list is
    // invalid and dropped whole. 30 members in 40 fields (10 of them empty
    // lists) are valid: joined in order into one field.
    let mut req = Request::get("/ts40").header("traceparent", TRACEPARENT);
    for i in 0..40 {
        req = req.header("tracestate", format!("v{i}=x{i}"));
    }
    let got = p.send("ts40", req);
    assert!(!got.has("tracestate"));
    assert_eq!(p.envoy.counter("tracestate_invalid"), 1);
    let mut req = Request::get("/ts30").header("traceparent", TRACEPARENT);
    for i in 0..40 {
        let v = if i % 4 == 3 {
            " , ".to_string()
        } else {
            format!("v{i}=x{i}")
        };
        req = req.header("tracestate", v);
    }
    let got = p.send("ts30", req);
    let expected: Vec<String> = (0..40)
        .filter(|i| i % 4 != 3)
        .map(|i| format!("v{i}=x{i}"))
        .collect();
    assert_eq!(got.texts("tracestate"), [expected.join(",")]);
    assert_eq!(p.envoy.counter("tracestate_invalid"), 1);

    // A 16 KB query string: the forwarded URL loses only `api_key`; the
    // span's query drops `email` and masks what the detectors find.
    let q = "x".repeat(16 * 1024);
    let got = p.send(
        "q16k",
        Request::get(&format!(
            "/search?q={q}&email=alice@example.com&api_key=k-123&note=bob@example.com"
        )),
    );
    assert_eq!(
        got.path,
        format!("/search?q={q}&email=alice@example.com&note=bob@example.com")
    );
    let span = p.span("/search");
    assert_eq!(
        attr(&span, "url.query"),
        Some(format!("q={q}&note=[REDACTED:email]"))
    );
    assert_eq!(p.envoy.counter("forward_query_removed"), 1);
    p.assert_healthy("big-after");
}

#[test]
fn duplicates_broken_encoding_and_mixed_case_names() {
    let p = Proxy::start();
    // Two traceparent fields are invalid: a new trace, and the tracestate
    // that came with them is dropped.
    let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let got = p.send(
        "dup",
        Request::get("/dup")
            .header("traceparent", TRACEPARENT)
            .header("traceparent", other)
            .header("tracestate", "congo=t61rcWkgMzE"),
    );
    let tp = got.texts("traceparent");
    assert_eq!(tp.len(), 1);
    assert!(!tp[0].contains(TRACE) && !tp[0].contains("0af7651916cd43dd8448eb211c80319c"));
    assert!(!got.has("tracestate"));
    assert_eq!(p.envoy.counter("traceparent_invalid"), 1);
    assert_eq!(p.envoy.counter("traces_started"), 1);

    // Broken percent-encoding: invalid W3C baggage members are dropped; a
    // legacy value is taken literally; the URL is forwarded as it came.
    let got = p.send(
        "pct",
        Request::get("/files/%zz/%E0%A4%A?q=%&r=%G1&api_key=%zz")
            .header("baggage", "a=%zz,b=%4,c=ok%41,d=%")
            .header("uberctx-x", "%zz%4"),
    );
    assert_eq!(got.texts("baggage"), ["c=ok%41"]);
    assert_eq!(got.texts("uberctx-x"), ["%zz%4"]);
    assert_eq!(got.path, "/files/%zz/%E0%A4%A?q=%&r=%G1");
    assert_eq!(p.envoy.counter("baggage_invalid"), 3);
    let span = p.span("/files/%zz/%E0%A4%A");
    assert_eq!(attr(&span, "url.query").as_deref(), Some("q=%&r=%G1"));

    // HTTP/1 header names are case-insensitive; Envoy lowercases them and
    // the policy applies to every spelling.
    let got = p.send(
        "case",
        Request::get("/case")
            .header("TraceParent", TRACEPARENT)
            .header("BAGGAGE", "User.Id=42")
            .header("X-User-Id", "42")
            .header("UberCtx-User.Id", "42")
            .header("Authorization", "Bearer s3cr3t-t0ken-value"),
    );
    assert_eq!(got.texts("x-user-id"), [USER_42]);
    assert_eq!(got.texts("baggage"), [format!("User.Id={USER_42}")]);
    assert_eq!(got.texts("uberctx-user.id"), [USER_42]);
    assert!(!got.has("authorization"));
    assert!(got.texts("traceparent")[0].starts_with(&format!("00-{TRACE}-")));
    p.assert_healthy("dup-after");
}

/// NUL and control bytes. Envoy 1.40's HTTP/1 parser refuses NUL and
/// the other control bytes (except HTAB) in header values and any control
/// or non-ASCII byte in the path, so the filter never sees them. It lets
/// through HTAB and obs-text (0x80-0xFF), drops a bare CR from a value,
/// and unfolds obs-fold into a space: those reach the filter and are
/// forwarded as they came, or scanned like any other value.
#[test]
fn nul_and_control_bytes() {
    let p = Proxy::start();
    let raw = |id: &str, path: &str, header: &[u8]| -> u16 {
        let mut req = format!("GET {path} HTTP/1.1\r\nhost: t\r\nx-test-id: {id}\r\n").into_bytes();
        req.extend_from_slice(header);
        req.extend_from_slice(b"connection: close\r\n\r\n");
        send_raw(p.port(), &req).unwrap().status
    };
    for (id, path, header) in [
        ("nul", "/ctl", b"x-c: a\x00b\r\n".as_slice()),
        ("soh", "/ctl", b"x-c: a\x01b\r\n"),
        ("esc", "/ctl", b"x-c: \x1b[31malice@example.com\r\n"),
        ("vt", "/ctl", b"x-c: a\x0bb\r\n"),
        ("ff", "/ctl", b"x-c: a\x0cb\r\n"),
        ("del", "/ctl", b"x-c: a\x7fb\r\n"),
        ("path-soh", "/a\x01b", b""),
        ("path-nul", "/a\x00b", b""),
    ] {
        assert_eq!(raw(id, path, header), 400, "{id}");
    }
    assert_eq!(p.envoy.counter("requests"), 0);

    assert_eq!(
        raw(
            "tab",
            "/ctl",
            b"x-tab: a\tb\r\nx-mail: \talice@example.com\tz\r\n"
        ),
        200
    );
    let got = p.echo.by_test_id("tab");
    assert_eq!(bytes(&got, "x-tab"), [b"a\tb".to_vec()]);
    assert_eq!(bytes(&got, "x-mail"), [b"[REDACTED:email]\tz".to_vec()]);
    assert_eq!(raw("obs", "/ctl", b"x-obs: a\x80\x9f\xffb\r\n"), 200);
    assert_eq!(
        bytes(&p.echo.by_test_id("obs"), "x-obs"),
        [b"a\x80\x9f\xffb".to_vec()]
    );
    // A bare CR cannot split an email past the detectors: the parser drops
    // it before the filter runs.
    assert_eq!(raw("cr", "/ctl", b"x-c: alice@exa\rmple.com\r\n"), 200);
    assert_eq!(p.echo.by_test_id("cr").texts("x-c"), ["[REDACTED:email]"]);
    assert_eq!(
        raw("fold", "/ctl", b"x-c: see\r\n alice@example.com\r\n"),
        200
    );
    assert_eq!(
        p.echo.by_test_id("fold").texts("x-c"),
        ["see [REDACTED:email]"]
    );
    assert_eq!(p.envoy.counter("detector_hits.email"), 3);

    // A percent-encoded NUL is just text to the filter.
    let got = p.send("pctnul", Request::get("/a%00b?x=%00"));
    assert_eq!(got.path, "/a%00b?x=%00");
    assert_eq!(
        attr(&p.span("/a%00b"), "url.query").as_deref(),
        Some("x=%00")
    );
    p.assert_healthy("ctl-after");
}
