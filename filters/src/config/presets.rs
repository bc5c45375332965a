//! Built-in presets: policy objects kept as JSON files in `filters/presets/`
//! and compiled into the plugin, so `"extends": ["secrets"]` needs no file
//! on the proxy. A preset is written like any policy and may itself use
//! `extends` (only with other presets).

use crate::error::ConfigError;
use serde_json::Value;

/// Name and JSON text of every preset, sorted by name.
const PRESETS: &[(&str, &str)] = &[
    (
        "egress-strict",
        include_str!("../../presets/egress-strict.json"),
    ),
    ("minimal", include_str!("../../presets/minimal.json")),
    ("pci", include_str!("../../presets/pci.json")),
    ("pii", include_str!("../../presets/pii.json")),
    ("secrets", include_str!("../../presets/secrets.json")),
];

/// The JSON text of a preset.
pub fn get(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Every preset name, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}

/// Adds to an error in policy `policy_path` (`` or `policies.<name>`)
/// which of the presets it builds on (`used`) set the field, so a problem
/// inherited through `extends` (say, `pii` tokenizing without `keys`)
/// points at its cause. Only field-level errors are annotated: an error at
/// a list entry (`remove[3]`) is in the policy's own entries, since presets
/// are valid on their own.
pub fn annotate(err: &mut ConfigError, policy_path: &str, used: &[&'static str]) {
    let field = match policy_path {
        "" => Some(err.path.as_str()),
        base => err
            .path
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('.')),
    };
    let Some(field) = field.filter(|f| !f.is_empty() && !f.contains('[')) else {
        return;
    };
    let from: Vec<String> = used
        .iter()
        .filter(|name| {
            get(name)
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .is_some_and(|preset| sets(&preset, field))
        })
        .map(|name| format!("`{name}`"))
        .collect();
    if from.is_empty() {
        return;
    }
    let noun = if from.len() == 1 { "preset" } else { "presets" };
    err.message = format!(
        "{}; `{field}` is set by {noun} {} (through `extends`): override it in this policy (`null` resets it to its default)",
        err.message,
        from.join(", ")
    );
}

/// Whether `value` sets the dotted `field`; keys may contain dots
/// (`baggage.namespaces.user.id`).
fn sets(value: &Value, field: &str) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    map.iter()
        .any(|(key, inner)| match field.strip_prefix(key.as_str()) {
            Some("") => true,
            Some(rest) => rest.strip_prefix('.').is_some_and(|rest| sets(inner, rest)),
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::explain::apply;
    use crate::engine::{Engine, RequestOutcome, ResponseInput};
    use crate::host::{SeededEntropy, StaticProperties};
    use crate::http::{Header, HeaderOp};
    use crate::metrics::Metric;
    use crate::redact::token::test_keys;
    use crate::trace::Origin;
    use crate::RequestInput;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Tokens of the README vectors: key k1 (bytes 0..32).
    const USER_42: &str = "tk.k1.RN1-OJO1K2rpPWeLDuUhEw";
    const EMAIL_ALICE: &str = "tk.k1.DTMW4PiH9-84IbsrkLbOXg";
    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    /// A JWT whose header is `{"alg":"HS256","typ":"JWT"}`.
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXNpZw";

    /// An engine for `config` with key `k1` (the README's) active.
    fn engine(mut config: serde_json::Value) -> Engine {
        config["keys"] = json!({"active": "k1", "env": {"k1": "K1"}});
        // Every span recorded, so the sanitized URL is computed too.
        Engine::from_json_with_env(config.to_string().as_bytes(), &test_keys::env)
            .unwrap_or_else(|e| panic!("{e}"))
            .recording_every_span()
    }

    fn hs<'a>(list: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        list.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    fn request(engine: &Engine, headers: &[Header]) -> RequestOutcome {
        engine.on_request(
            &RequestInput {
                headers,
                properties: &StaticProperties::default(),
                now_ns: 0,
            },
            &mut SeededEntropy(7),
        )
    }

    /// The headers the upstream receives, as text.
    fn forwarded(headers: &[Header], out: &RequestOutcome) -> Vec<(String, String)> {
        apply(headers, &out.ops)
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8(v).unwrap()))
            .collect()
    }

    fn value<'a>(fwd: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fwd.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn header_names(fwd: &[(String, String)]) -> Vec<&str> {
        fwd.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn every_preset_compiles_and_extends_only_presets() {
        for name in names_of_presets() {
            let text = get(name).unwrap();
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            for parent in value
                .get("extends")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
            {
                assert!(get(parent.as_str().unwrap()).is_some(), "{name}: {parent}");
            }
            engine(json!({ "extends": [name] }));
        }
        let mut sorted: Vec<_> = names_of_presets();
        sorted.sort();
        assert_eq!(sorted, names_of_presets());
    }

    fn names_of_presets() -> Vec<&'static str> {
        super::names().collect()
    }

    #[test]
    fn annotations_find_fields_and_skip_list_entries() {
        let pii = serde_json::from_str::<Value>(get("pii").unwrap()).unwrap();
        assert!(sets(&pii, "baggage.namespaces.user.id"));
        assert!(sets(&pii, "url.auto_ids"));
        assert!(!sets(&pii, "url.templates"));
        let annotated = |path: &str, policy: &str| {
            let mut err = ConfigError::new(path, "bad");
            annotate(&mut err, policy, &["secrets", "pii"]);
            err.message
        };
        assert_eq!(
            annotated("policies.p.baggage.scan", "policies.p"),
            "bad; `baggage.scan` is set by presets `secrets`, `pii` (through `extends`): \
             override it in this policy (`null` resets it to its default)"
        );
        assert_eq!(annotated("request_headers.remove[2]", ""), "bad");
        assert_eq!(annotated("trace.sampling", ""), "bad");
        assert_eq!(annotated("policies.q.url.auto_ids", "policies.p"), "bad");
    }

    #[test]
    fn secrets_removes_credentials_in_every_carrier() {
        let e = engine(json!({"extends": ["secrets"]}));
        let referer = format!("https://app.example/login#id_token={JWT}");
        let headers = hs(&[
            (":method", "GET"),
            (":path", "/cb?access_token=abc123&sig=s1&q=shoes"),
            ("authorization", "Bearer abcdefghijklmnop1"),
            ("cookie", "session=s3cr3t"),
            ("x-amzn-oidc-data", JWT),
            ("x-vault-token", "hvs.abc"),
            ("referer", &referer),
            (
                "baggage",
                "plan=pro,session=Bearer%20abcdefghijklmnop1,k=AKIAIOSFODNN7EXAMPLE",
            ),
            ("accept", "*/*"),
        ]);
        let out = request(&e, &headers);
        let fwd = forwarded(&headers, &out);
        assert_eq!(
            header_names(&fwd),
            vec![":method", ":path", "baggage", "accept", "traceparent"]
        );
        assert_eq!(value(&fwd, "baggage"), Some("plan=pro"));
        assert_eq!(
            value(&fwd, ":path"),
            Some("/cb?access_token=abc123&sig=s1&q=shoes"),
            "the app still gets its URL"
        );
        let url = out.url.unwrap();
        assert_eq!(
            url.query.as_deref(),
            Some("access_token=REDACTED&sig=REDACTED&q=shoes")
        );
        assert_eq!(out.metrics.get(Metric::HeadersRemoved), 5);
        assert_eq!(out.metrics.get(Metric::BaggageDropped), 2);

        let resp = e.on_response(
            &ResponseInput {
                headers: &hs(&[
                    (":status", "200"),
                    ("set-cookie", "a=1"),
                    ("set-cookie2", "b=2"),
                    ("x-auth-token", "t"),
                    ("content-type", "text/plain"),
                ]),
                tenant: None,
                policy: 0,
                trace: None,
                properties: &StaticProperties::default(),
            },
            None,
        );
        assert_eq!(
            resp.ops,
            vec![
                HeaderOp::Remove("set-cookie".into()),
                HeaderOp::Remove("set-cookie2".into()),
                HeaderOp::Remove("x-auth-token".into()),
            ]
        );
    }

    #[test]
    fn secrets_holds_without_the_default_set() {
        let e = engine(json!({
            "extends": ["secrets"],
            "request_headers": {"defaults": "none"},
            "response_headers": {"defaults": "none"}
        }));
        let headers = hs(&[("authorization", "Basic dTpw"), ("x-api-key", "k")]);
        let out = request(&e, &headers);
        assert_eq!(
            header_names(&forwarded(&headers, &out)),
            vec!["traceparent"]
        );
        let resp = e.on_response(
            &ResponseInput {
                headers: &hs(&[("set-cookie", "a=1")]),
                tenant: None,
                policy: 0,
                trace: None,
                properties: &StaticProperties::default(),
            },
            None,
        );
        assert_eq!(resp.ops, vec![HeaderOp::Remove("set-cookie".into())]);
    }

    #[test]
    fn pii_tokenizes_ids_in_shared_namespaces_and_masks_the_rest() {
        let e = engine(json!({"extends": ["pii"]}));
        let minter = test_keys::keyring("k1");
        let account_7 = minter.minter(None).mint("account", b"7");
        let headers = hs(&[
            (":method", "GET"),
            (":path", "/orders/12345/items?note=alice@example.com"),
            ("x-user-id", "42"),
            ("x-account-id", "7"),
            ("from", "alice@example.com"),
            ("referer", "https://shop.example/help?ssn=123-45-6789"),
            (
                "baggage",
                "user.id=42,enduser.id=42,account.id=7,email=alice%40example.com,note=call%20%2B14155552671,plan=pro",
            ),
            ("uberctx-user.id", "42"),
        ]);
        let out = request(&e, &headers);
        let fwd = forwarded(&headers, &out);
        assert_eq!(value(&fwd, "x-user-id"), Some(USER_42));
        assert_eq!(value(&fwd, "x-account-id"), Some(account_7.as_str()));
        assert_eq!(value(&fwd, "uberctx-user.id"), Some(USER_42));
        assert_eq!(value(&fwd, "from"), Some("[REDACTED:email]"));
        assert_eq!(
            value(&fwd, "referer"),
            Some("https://shop.example/help?ssn=[REDACTED:ssn]")
        );
        assert_eq!(
            value(&fwd, "baggage").unwrap(),
            format!(
                "user.id={USER_42},enduser.id={USER_42},account.id={account_7},email={EMAIL_ALICE},note=call%20[REDACTED:phone],plan=pro"
            )
        );
        let url = out.url.unwrap();
        assert_eq!(url.route.as_deref(), Some("/orders/{id}/items"));
        let id = minter.minter(None).mint("id", b"12345");
        assert_eq!(url.path, format!("/orders/{id}/items"));
        assert_eq!(url.query.as_deref(), Some("note=[REDACTED:email]"));
        assert_eq!(out.metrics.get(Metric::HeadersTokenized), 2);
        assert_eq!(out.metrics.get(Metric::BaggageTokenized), 5);
    }

    #[test]
    fn pii_without_keys_names_the_field_and_the_preset() {
        let err = Engine::from_json(br#"{"extends": ["pii"]}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.tokenize");
        assert_eq!(
            err.message,
            "tokenize needs HMAC keys: add `keys` (environment variables holding base64 keys); \
             `request_headers.tokenize` is set by preset `pii` (through `extends`): override it \
             in this policy (`null` resets it to its default)"
        );
        let err = Engine::from_json(br#"{"policies": {"users": {"extends": ["default", "pii"]}}}"#)
            .unwrap_err();
        assert_eq!(err.path, "policies.users.request_headers.tokenize");
        assert!(err.message.contains("preset `pii`"), "{}", err.message);
        // Own settings are not blamed on a preset.
        let err =
            Engine::from_json(br#"{"extends": ["secrets"], "baggage": {"tokenize_keys": ["u"]}}"#)
                .unwrap_err();
        assert_eq!(err.path, "baggage.tokenize_keys");
        assert!(!err.message.contains("preset"), "{}", err.message);
    }

    #[test]
    fn pci_masks_cards_keeping_the_last_four() {
        let e = engine(json!({"extends": ["pci"]}));
        let headers = hs(&[
            (":method", "POST"),
            (":path", "/pay?pan=4111111111111111&order=4111111111111112"),
            (
                "referer",
                "https://shop.example/checkout?card=5555-5555-5555-4444",
            ),
            (
                "baggage",
                "card=4111%201111%201111%201111,ref=1234567890123456",
            ),
        ]);
        let out = request(&e, &headers);
        let fwd = forwarded(&headers, &out);
        assert_eq!(
            value(&fwd, "referer"),
            Some("https://shop.example/checkout?card=[REDACTED:card:4444]")
        );
        assert_eq!(
            value(&fwd, "baggage"),
            Some("card=[REDACTED:card:1111],ref=1234567890123456"),
            "a Luhn-invalid number is not a card"
        );
        assert_eq!(
            out.url.unwrap().query.as_deref(),
            Some("pan=[REDACTED:card:1111]&order=4111111111111112")
        );
        assert_eq!(
            out.metrics
                .get(Metric::DetectorHits(crate::DetectorKind::Card)),
            3
        );
    }

    #[test]
    fn pci_turns_scanning_back_on_after_minimal() {
        let e = engine(json!({"extends": ["minimal", "pci"]}));
        let headers = hs(&[("baggage", "card=4111111111111111,mail=a@example.com")]);
        let out = request(&e, &headers);
        assert_eq!(
            value(&forwarded(&headers, &out), "baggage"),
            Some("card=[REDACTED:card:1111],mail=a@example.com"),
            "only the card detector is back on"
        );
    }

    #[test]
    fn egress_strict_allows_a_short_list_and_restarts_the_trace() {
        let e = engine(json!({"extends": ["egress-strict"]}));
        let headers = hs(&[
            (":method", "POST"),
            (":path", "/v1/charges"),
            (":authority", "api.partner.example"),
            ("traceparent", TRACEPARENT),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("baggage", "user.id=42,tenant.id=acme"),
            ("uberctx-user.id", "42"),
            ("ot-baggage-plan", "pro"),
            ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"),
            ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
            (
                "uber-trace-id",
                "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1",
            ),
            (
                "x-amzn-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Lineage=a:1",
            ),
            ("x-request-id", "7f2c-internal"),
            ("authorization", "Bearer abcdefghijklmnop1"),
            ("x-forwarded-client-cert", "By=spiffe://td/ns/a/sa/b"),
            ("x-envoy-peer-metadata", "abc"),
            ("x-internal-team", "payments"),
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("accept", "application/json"),
            ("user-agent", "checkout/1.0"),
            ("idempotency-key", "k-1"),
        ]);
        let out = request(&e, &headers);
        let fwd = forwarded(&headers, &out);
        assert_eq!(
            header_names(&fwd),
            vec![
                ":method",
                ":path",
                ":authority",
                "traceparent",
                "content-type",
                "content-length",
                "accept",
                "user-agent",
                "idempotency-key",
            ]
        );
        let ctx = out.trace.unwrap();
        assert!(matches!(ctx.origin, Origin::Restarted(_)));
        let tp = value(&fwd, "traceparent").unwrap();
        assert!(!tp.contains("0af7651916cd43dd8448eb211c80319c"), "{tp}");
        assert_eq!(
            ctx.link.map(|l| crate::trace::ids::to_hex(&l.trace_id)),
            Some("0af7651916cd43dd8448eb211c80319c".to_string()),
            "the old trace survives only as a span link"
        );
        assert_eq!(out.metrics.get(Metric::TracesRestarted), 1);
        assert_eq!(out.metrics.get(Metric::BaggageDropped), 4);
        // No trace id of this mesh goes back to the external caller.
        let resp = e.on_response(
            &ResponseInput {
                headers: &hs(&[(":status", "200"), ("traceresponse", TRACEPARENT)]),
                tenant: None,
                policy: 0,
                trace: Some(&ctx),
                properties: &StaticProperties::default(),
            },
            None,
        );
        assert_eq!(resp.ops, vec![HeaderOp::Remove("traceresponse".into())]);
    }

    #[test]
    fn egress_strict_can_let_chosen_headers_and_baggage_through() {
        let e = engine(json!({
            "extends": ["egress-strict"],
            "request_headers": {"defaults": "none", "allow_only": ["authorization"]},
            "baggage": {"allow_keys": ["tenant.id"]}
        }));
        let headers = hs(&[
            ("authorization", "Bearer abcdefghijklmnop1"),
            ("baggage", "user.id=42,tenant.id=acme"),
            ("x-envoy-peer-metadata", "abc"),
        ]);
        let out = request(&e, &headers);
        let fwd = forwarded(&headers, &out);
        assert_eq!(
            header_names(&fwd),
            vec!["authorization", "baggage", "traceparent"]
        );
        assert_eq!(value(&fwd, "baggage"), Some("tenant.id=acme"));
    }

    #[test]
    fn minimal_only_propagates_the_trace() {
        let e = engine(json!({"extends": ["minimal"]}));
        let headers = hs(&[
            (":method", "GET"),
            (":path", "/healthz?email=a@example.com"),
            ("traceparent", TRACEPARENT),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("authorization", "Bearer abcdefghijklmnop1"),
            ("cookie", "a=1"),
            ("baggage", "email=alice%40example.com,user.id=42"),
            ("x-user-id", "42"),
        ]);
        let out = request(&e, &headers);
        let ctx = out.trace.clone().unwrap();
        assert!(matches!(ctx.origin, Origin::Continued(_)));
        let tp = format!(
            "00-0af7651916cd43dd8448eb211c80319c-{}-01",
            crate::trace::ids::to_hex(&ctx.span_id)
        );
        assert_eq!(
            out.ops,
            vec![
                HeaderOp::Set("traceparent".into(), tp.into_bytes()),
                // tracestate is forwarded as received: no set.
            ]
        );
        assert_eq!(
            out.url.unwrap().query.as_deref(),
            Some("email=a@example.com"),
            "no detectors, even in the span"
        );
        let resp = e.on_response(
            &ResponseInput {
                headers: &hs(&[("set-cookie", "a=1")]),
                tenant: None,
                policy: 0,
                trace: None,
                properties: &StaticProperties::default(),
            },
            None,
        );
        assert!(resp.ops.is_empty());
    }
}
