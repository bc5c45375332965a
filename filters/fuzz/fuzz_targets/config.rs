//! Configuration parsing and compilation (`Engine::from_json_with_env`, as
//! `on_configure` runs it, and `tracesafe check`): no panic on any bytes;
//! both agree on valid vs invalid; key material never shows in an error or
//! in the engine's `Debug` output; a configuration that loads handles a
//! request and a response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesafe_filters::host::{SeededEntropy, StaticProperties};
use tracesafe_filters::http::borrowed;
use tracesafe_filters::{check, explain, Engine, RequestInput, ResponseInput};
use tracesafe_fuzz::{contains, env, lines, K1, K2};

/// Key material as it could leak: the variables' values.
const KEYS: &[&str] = &[K1, K2, "c2hvcnQta2V5LTE2Ynl0ZQ=="];

const REQUEST: &[u8] = b":method: GET\n:path: /users/42/orders/7?email=a@example.com&sig=x\n:authority: shop\n:scheme: http\n\
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\ntracestate: congo=t61rcWkgMzE\n\
baggage: user.id=42,session.id=s,mail=a%40example.com\nuberctx-user.id: 42\nx-user-id: 42\nx-tenant-id: acme\n\
authorization: Bearer abcdefghijklmnop1\ncookie: s=1\nx-note: 4111 1111 1111 1111\n@xds.route_name: api";

fn no_keys(data: &[u8], text: &str) {
    for k in KEYS {
        assert!(
            !text.contains(k) || contains(data, k.as_bytes()),
            "key material in {text:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let loaded = Engine::from_json_with_env(data, &env);
    let checked = check::check(data, &env);
    assert_eq!(loaded.is_ok(), checked.is_ok());
    match &checked {
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            diagnostics
                .iter()
                .for_each(|d| no_keys(data, &d.to_string()));
        }
        Ok(engine) => no_keys(data, &format!("{engine:?}")),
    }
    let engine = match loaded {
        Err(e) => return no_keys(data, &e.to_string()),
        Ok(engine) => engine,
    };
    no_keys(data, &format!("{engine:?}"));
    let req = lines(REQUEST);
    let props = req
        .properties
        .clone()
        .with(&["xds", "listener_direction"], 1u64.to_le_bytes().to_vec());
    for props in [&props, &StaticProperties::default()] {
        let out = engine.on_request(
            &RequestInput {
                headers: &borrowed(&req.headers),
                properties: props,
                now_ns: 1,
            },
            &mut SeededEntropy(7),
        );
        let resp = lines(b":status: 200\nset-cookie: a=1\nx-user-id: 42");
        engine.on_response(
            &ResponseInput {
                headers: &borrowed(&resp.headers),
                tenant: out.tenant.as_deref(),
                policy: out.policy.index,
                trace: out.trace.as_ref(),
                properties: props,
            },
            None,
        );
    }
    let _ = explain::explain(
        &engine,
        br#"{"path": "/users/42?email=a@example.com", "headers": {"baggage": "a=1"}}"#,
    );
});
