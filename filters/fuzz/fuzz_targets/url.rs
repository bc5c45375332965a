//! URL sanitization (path templates, automatic ids, query actions, the
//! detectors) and `forward_query_remove`: no panic under three policies;
//! sanitizing the sanitized URL again changes nothing (`url.path` and
//! `url.query` are stable; checked when the detectors found nothing, since
//! a mask changes the context of its neighbours, e.g. `]::1` is an IPv6
//! address where `com::1` was not); `http.route` is a template, an
//! id-shaped path or absent; the forwarded `:path` loses exactly the
//! listed parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tracesafe_filters::http::{borrowed, Header, HeaderOp};
use tracesafe_filters::redact::detectors::Detectors;
use tracesafe_filters::redact::pct;
use tracesafe_filters::redact::token::Keyring;
use tracesafe_filters::redact::url::{UrlConfig, UrlPolicy};
use tracesafe_filters::{Metrics, Redactions, Redactor, SanitizedUrl};
use tracesafe_fuzz::{detectors, keyring, lines};

const FORWARD_REMOVE: &[&str] = &["api_key", "token"];

struct Fixture {
    policies: Vec<(UrlPolicy, Vec<&'static str>)>,
    detectors: Detectors,
    keyring: Keyring,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let compile = |v: serde_json::Value| {
            let cfg: UrlConfig = serde_json::from_value(v).unwrap();
            UrlPolicy::compile(&cfg, "url", true).unwrap()
        };
        let templates = vec!["/users/{user}/orders/{order}", "/files/{name}", "/v1/{kind}/{id}"];
        Fixture {
            policies: vec![
                (
                    compile(serde_json::json!({
                        "templates": [
                            {"template": templates[0], "params": {"user": "tokenize", "order": "redact"}},
                            {"template": templates[1]},
                            {"template": templates[2], "params": {"kind": "keep", "id": "tokenize"}, "namespaces": {"id": "user"}}
                        ],
                        "auto_ids": "tokenize",
                        "query": {"params": {"email": "drop", "token": "tokenize", "q": "keep"}},
                        "forward_query_remove": FORWARD_REMOVE
                    })),
                    templates,
                ),
                (compile(serde_json::json!({"auto_ids": "redact", "query": {"default": "redact"}})), vec![]),
                (compile(serde_json::json!({"query": {"default": "tokenize"}, "scan": false})), vec![]),
            ],
            detectors: detectors("mask").expect("fixture"),
            keyring: keyring("k1").expect("fixture"),
        }
    })
}

fn sanitize(
    f: &Fixture,
    policy: &UrlPolicy,
    h: &[Header],
) -> (Option<SanitizedUrl>, Option<HeaderOp>, u64) {
    let redactor = || {
        Redactor::new(
            &f.detectors,
            Some(f.keyring.minter(None)),
            Metrics::default(),
        )
    };
    let mut r = redactor();
    let (url, op) = policy.sanitize(h, &mut r, true);
    // Without a span only `forward_query_remove` applies: the same rewrite.
    assert_eq!(
        policy.sanitize(h, &mut redactor(), false),
        (None, op.clone())
    );
    (
        url,
        op,
        Redactions::from_metrics(&r.into_metrics()).detector_hits,
    )
}

fn query_names(q: &[u8]) -> Vec<String> {
    q.split(|&b| b == b'&')
        .map(|p| pct::decode_lossy(p.split(|&b| b == b'=').next().unwrap_or_default(), true))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let owned = lines(data).headers;
    let h = borrowed(&owned);
    let raw_path = h
        .iter()
        .find(|(n, _)| *n == ":path")
        .map(|(_, v)| v.to_vec());
    // Envoy answers 400 to a request target with a fragment before any
    // filter runs; the span still cuts at `#`, the forwarded path does not.
    let fragment = raw_path.as_ref().is_some_and(|p| p.contains(&b'#'));
    for (i, (policy, templates)) in f.policies.iter().enumerate() {
        let (url, op, hits) = sanitize(f, policy, &h);
        let Some(url) = url else {
            assert!(raw_path.is_none());
            continue;
        };
        if let Some(route) = &url.route {
            assert!(
                templates.contains(&route.as_str()) || route.starts_with('/'),
                "{route:?}"
            );
        }
        if let Some(HeaderOp::Set(name, forwarded)) = &op {
            assert_eq!(name, ":path");
            assert_eq!(i, 0);
            let raw = raw_path.as_deref().unwrap();
            let cut = raw.iter().position(|&b| b == b'?').unwrap();
            assert!(forwarded.starts_with(&raw[..cut]));
            if let Some(q) = forwarded.get(cut + 1..) {
                for name in query_names(q) {
                    assert!(
                        !FORWARD_REMOVE.iter().any(|n| n.eq_ignore_ascii_case(&name)),
                        "{name:?} forwarded"
                    );
                }
            }
        }
        // The sanitized URL, sent again, comes out the same.
        if url.path.starts_with('/') && hits == 0 && !fragment {
            let target = match &url.query {
                Some(q) => format!("{}?{q}", url.path),
                None => url.path.clone(),
            };
            let mut again: Vec<Header> = h.iter().filter(|(n, _)| *n != ":path").copied().collect();
            again.push((":path", target.as_bytes()));
            let (second, _, _) = sanitize(f, policy, &again);
            let second = second.unwrap();
            assert_eq!(
                (&second.path, &second.query),
                (&url.path, &url.query),
                "policy {i} on {url:?}"
            );
        }
    }
});
