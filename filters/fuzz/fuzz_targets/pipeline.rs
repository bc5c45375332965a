//! The whole request pipeline (`Engine::on_request`, then `on_response` and
//! the span through the OTLP encoder) under four policies, on fuzzed
//! headers and host properties with one secret planted in a carrier the
//! policy covers: a scanned header, `user-agent`, W3C or legacy baggage,
//! tracestate, `x-forwarded-client-cert`, a path segment or a query value.
//!
//! Properties: no panic; the secret appears in no forwarded header (except
//! those forwarded by design: pseudo-headers, including the URL, and trace
//! headers of formats this hop does not write) and nowhere in the exported
//! span; no operation writes CR, LF or NUL; baggage stays within its
//! limits; a written traceparent is valid; the OTLP body is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesafe_filters::cli::explain::apply;
use tracesafe_filters::host::SeededEntropy;
use tracesafe_filters::http::{borrowed, HeaderOp, OwnedHeader};
use tracesafe_filters::redact::baggage::{MAX_BYTES, MAX_MEMBERS};
use tracesafe_filters::redact::pct;
use tracesafe_filters::span::otlp::{self, Resource};
use tracesafe_filters::trace::traceparent::TraceParent;
use tracesafe_filters::{Engine, RequestInput, ResponseInput};
use tracesafe_fuzz::{contains, env, filler, lines, needle, salt, secret, Kind, API_KEY_DETECTOR};

thread_local! {
    // The engine is single-threaded (per VM), like libFuzzer.
    static ENGINES: Vec<Engine> = engines();
}

fn engines() -> Vec<Engine> {
    {
        let base = |detectors: &str| {
            let mut d: serde_json::Value = serde_json::json!({"custom": [serde_json::from_str::<serde_json::Value>(API_KEY_DETECTOR).unwrap()]});
            for k in [
                "email",
                "card",
                "jwt",
                "credential",
                "aws_key",
                "ipv4",
                "ipv6",
                "ssn",
                "phone",
            ] {
                d[k] = detectors.into();
            }
            d["custom"][0]["action"] = detectors.into();
            serde_json::json!({
                "keys": {"active": "k2", "env": {"k1": "K1", "k2": "K2"}},
                "tenant": {"header": "x-tenant-id"},
                "export": {"cluster": "collector"},
                "identity": {"forward_peer_header": true},
                "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}, "scan": ["*"]},
                "response_headers": {"scan": ["*"]},
                "detectors": d,
                "baggage": {"drop_keys": ["session.*"], "tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}},
                "url": {
                    "templates": [{"template": "/users/{user}/orders/{order}", "params": {"user": "tokenize", "order": "redact"}}],
                    "auto_ids": "tokenize",
                    "query": {"params": {"email": "drop"}},
                    "forward_query_remove": ["api_key"]
                },
                "trace": {"propagation": ["tracecontext", "b3", "b3multi", "jaeger"], "tracestate_key": "tracesafe", "request_id": "generate"}
            })
        };
        let mut remove = base("remove");
        remove["policies"] = serde_json::json!({"strict": {"extends": ["default", "egress-strict"], "trace": {"restart_trace": true}}});
        remove["rules"] =
            serde_json::json!([{"match": {"path_prefix": "/strict"}, "policy": "strict"}]);
        let mut allow = base("mask");
        allow["request_headers"]["allow_only"] =
            serde_json::json!(["accept", "x-note", "user-agent", "x-user-id"]);
        allow["trace"] = serde_json::json!({"sampling": 0.5, "propagation": ["tracecontext"]});
        allow["url"] = serde_json::json!({"query": {"default": "keep"}});
        [base("mask"), base("tokenize"), remove, allow]
            .iter()
            .map(|c| Engine::from_json_with_env(c.to_string().as_bytes(), &env).unwrap())
            .collect()
    }
}

/// Forwarded as they came by design: the URL and the other pseudo-headers,
/// and trace headers a policy may leave to their format.
fn by_design(name: &str) -> bool {
    name.starts_with(':')
        || name.starts_with("x-b3-")
        || ["b3", "uber-trace-id", "x-request-id"].contains(&name)
}

/// Puts `planted` (with fuzzed text around it) into carrier `which`.
fn plant(
    headers: &mut Vec<OwnedHeader>,
    which: u8,
    raw: bool,
    pre: &[u8],
    planted: &str,
    post: &[u8],
) {
    let around = |structural: &[u8], encode: Option<fn(u8) -> bool>| -> Vec<u8> {
        let text = [
            &filler(pre, structural)[..],
            format!("; {planted} ;").as_bytes(),
            &filler(post, structural),
        ]
        .concat();
        match encode {
            Some(safe) => pct::encode(&String::from_utf8_lossy(&text), safe).into_bytes(),
            None => text,
        }
    };
    let path = headers.iter().position(|(n, _)| n == ":path");
    let old_path = path
        .map(|i| headers.remove(i).1)
        .unwrap_or_else(|| b"/".to_vec());
    let mut new_path = old_path.clone();
    let url = if raw {
        None
    } else {
        Some(pct::is_url_safe as fn(u8) -> bool)
    };
    match which % 9 {
        0 => headers.push(("x-note".into(), around(b"", None))),
        1 => headers.push(("user-agent".into(), around(b"", None))),
        2 => {
            let value = if raw {
                // Raw fuzz bytes around an encoded secret; separators that
                // would turn it into a key or a property are left out.
                let s = pct::encode(&format!("; {planted} ;"), pct::is_baggage_octet);
                [
                    &filler(pre, b",;=")[..],
                    s.as_bytes(),
                    &filler(post, b",;="),
                ]
                .concat()
            } else {
                around(b"", Some(pct::is_baggage_octet))
            };
            headers.push(("baggage".into(), [b"note=".as_slice(), &value].concat()));
        }
        3 => headers.push((
            "uberctx-note".into(),
            around(
                b"",
                (!raw).then_some(pct::is_baggage_octet as fn(u8) -> bool),
            ),
        )),
        4 => headers.push((
            "ot-baggage-note".into(),
            around(
                b"",
                (!raw).then_some(pct::is_baggage_octet as fn(u8) -> bool),
            ),
        )),
        5 => headers.push((
            "tracestate".into(),
            [b"vnd=".as_slice(), &around(b",=", None)].concat(),
        )),
        6 => {
            let value = around(b"\"\\", None);
            headers.push((
                "x-forwarded-client-cert".into(),
                [b"Hash=ab;Subject=\"".as_slice(), &value, b"\""].concat(),
            ))
        }
        7 => {
            new_path = [
                b"/p/".as_slice(),
                &around(b"?#", url),
                b"/",
                old_path.strip_prefix(b"/").unwrap_or(&old_path),
            ]
            .concat();
        }
        _ => {
            let sep = if old_path.contains(&b'?') { b"&" } else { b"?" };
            new_path = [&old_path[..], sep, b"q=", &around(b"&#", url)].concat();
        }
    }
    headers.push((":path".into(), new_path));
}

fn check_ops(ops: &[HeaderOp]) {
    for op in ops {
        let (HeaderOp::Set(name, _) | HeaderOp::Remove(name)) = op;
        assert!(
            !name.is_empty() && name.bytes().all(|b| !b.is_ascii_uppercase()),
            "{name:?}"
        );
        if let HeaderOp::Set(name, value) = op {
            assert!(
                !value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)),
                "{name}: {value:?}"
            );
            match name.as_str() {
                "baggage" => {
                    assert!(value.len() <= MAX_BYTES);
                    assert!(value.split(|&b| b == b',').count() <= MAX_MEMBERS);
                }
                "traceparent" => assert!(TraceParent::parse(value).is_some(), "{value:?}"),
                _ => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [variant, carrier, kind, flags, split, rest @ ..] = data else {
        return;
    };
    ENGINES.with(|engines| {
        run(
            &engines[usize::from(*variant) % engines.len()],
            data,
            *carrier,
            *kind,
            *flags,
            *split,
            rest,
        )
    });
});

fn run(engine: &Engine, data: &[u8], carrier: u8, kind: u8, flags: u8, split: u8, rest: &[u8]) {
    let input = lines(rest);
    let mut headers = input.headers;
    let fill = headers
        .iter()
        .position(|(n, _)| n == "x-fill")
        .map(|i| headers.remove(i).1)
        .unwrap_or_default();
    let at = usize::from(split) % (fill.len() + 1);
    let (kind, salt) = (Kind::pick(kind), salt(data));
    let (planted, needle) = (secret(kind, salt), needle(kind, salt));
    plant(
        &mut headers,
        carrier,
        flags & 1 == 1,
        &fill[..at],
        &planted,
        &fill[at..],
    );

    let out = engine.on_request(
        &RequestInput {
            headers: &borrowed(&headers),
            properties: &input.properties,
            now_ns: 1_000,
        },
        &mut SeededEntropy(u64::from(flags)),
    );
    check_ops(&out.ops);
    let forwarded = apply(&borrowed(&headers), &out.ops);
    for (name, value) in &forwarded {
        assert!(
            by_design(name) || !contains(value, needle.as_bytes()),
            "{needle:?} of {planted:?} forwarded in {name}: {value:?}"
        );
    }
    for (key, value) in out.filter_state() {
        assert!(!value.contains(&needle), "{key}: {value}");
    }
    if let Some(mut span) = out.span.clone() {
        span.finish(Some(200), 2_000);
        let body = otlp::encode(&Resource::default(), &[span]);
        assert!(
            serde_json::from_str::<serde_json::Value>(&body).is_ok(),
            "{body}"
        );
        assert!(
            !body.contains(&needle),
            "{needle:?} of {planted:?} in the span: {body}"
        );
    }

    // The same fields as response headers.
    let mut response = vec![(":status".to_string(), b"200".to_vec())];
    response.extend(headers.iter().filter(|(n, _)| !n.starts_with(':')).cloned());
    let resp = engine.on_response(
        &ResponseInput {
            headers: &borrowed(&response),
            tenant: out.tenant.as_deref(),
            policy: out.policy.index,
            trace: out.trace.as_ref(),
            properties: &input.properties,
        },
        None,
    );
    check_ops(&resp.ops);
    if matches!(carrier % 9, 0 | 1 | 6) {
        for (name, value) in apply(&borrowed(&response), &resp.ops) {
            assert!(
                name.starts_with(':') || !contains(&value, needle.as_bytes()),
                "{needle:?} of {planted:?} in response {name}"
            );
        }
    }
}
