//! Redaction and keyed tokens through real Envoy: header policy in both
//! directions, detectors, W3C and legacy baggage, `forward_query_remove`,
//! tokens (fixed vectors from the README), key rotation ids, tenants, and
//! keys that must come from `host_env_keys`.
// Test helpers outside #[test] functions fail the test on error too.
#![allow(clippy::unwrap_used)]

mod common;

use common::echo::Received;
use common::support::{keys, ENV, ENV_K1, K1, K1_VAR, K2_VAR, USER_42};
use common::{Echo, Envoy, Plugin, Request, Started};
use serde_json::{json, Value};

/// Published vectors (README) next to `USER_42`: with the tenant keys of
/// `acme` and `globex`, and with key k1.
const USER_42_ACME: &str = "tk.k2.Gr6HcGBzoscrhfbwVHksbg";
const USER_42_GLOBEX: &str = "tk.k2.D8ggPvxkns3Zvcqkj8WB1A";
const USER_42_K1: &str = "tk.k1.RN1-OJO1K2rpPWeLDuUhEw";

/// Headers Envoy itself adds on the way to the upstream.
const ENVOY_ADDED: &[&str] = &[
    "x-forwarded-proto",
    "x-request-id",
    "x-envoy-expected-rq-timeout-ms",
];

/// The names the upstream received, minus what Envoy adds.
fn names(got: &Received) -> Vec<&str> {
    got.headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !ENVOY_ADDED.contains(n))
        .collect()
}

/// `envoy/redaction.yaml`: listeners `a` and `b` with their own policies.
fn two_listeners(echo: &Echo, a: &Value, b: &Value, env: &[(&str, &str)]) -> Envoy {
    Envoy::builder("redaction.yaml")
        .upstream(echo.port)
        .with(Plugin::new(a).at("TRACESAFE_A"))
        .with(Plugin::new(b).at("TRACESAFE_B"))
        .env(env)
        .start()
}

fn ok(req: Request, port: u16) {
    let resp = req.send(port).unwrap();
    assert_eq!(resp.status, 200, "{} {:?}", resp.body_text(), resp.headers);
}

#[test]
fn upstream_receives_no_removed_header() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {
            "defaults": "credentials",
            "remove": ["X-Drop-Me"],
            "remove_prefixes": ["x-internal-"],
            "remove_regex": ["^x-debug-[0-9]+$"]
        }}))
        .start();
    ok(
        Request::get("/")
            .header("x-test-id", "rm")
            .header("Authorization", "Bearer SECRET")
            .header("proxy-authorization", "Basic SECRET")
            .header("cookie", "a=SECRET")
            .header("cookie", "b=SECRET")
            .header("x-api-key", "SECRET")
            .header("x-amz-security-token", "SECRET")
            .header("x-drop-me", "SECRET")
            .header("x-internal-a", "SECRET")
            .header("x-internal-b", "SECRET")
            .header("x-debug-1", "SECRET")
            .header("x-debug-x", "kept")
            .header("x-keep", "kept"),
        envoy.port("ingress"),
    );
    let got = echo.by_test_id("rm");
    assert_eq!(
        names(&got),
        // tracesafe adds this hop's traceparent.
        [
            "host",
            "x-test-id",
            "x-debug-x",
            "x-keep",
            "content-length",
            "traceparent"
        ]
    );
    assert_eq!(got.texts("x-keep"), ["kept"]);
    assert_eq!(envoy.counter("headers_removed"), 10, "{}", envoy.stats());
}

#[test]
fn allow_only_lets_through_listed_pseudo_and_trace_headers() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml").upstream(echo.port).plugin(&json!({"request_headers": {"defaults": "external", "allow_only": ["accept", "x-test-id"]}})).start();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ok(
        Request::get("/p")
            .header("x-test-id", "allow")
            .header("accept", "*/*")
            .header("user-agent", "curl/8")
            .header("x-forwarded-client-cert", "By=spiffe://x")
            .header("x-envoy-peer-metadata", "internal")
            .header("traceparent", traceparent)
            .header("baggage", "a=1")
            .header("uberctx-b", "2")
            .header("x-custom", "no"),
        envoy.port("ingress"),
    );
    let got = echo.by_test_id("allow");
    // x-forwarded-proto (the router needs it) and x-request-id (a trace
    // header) are kept; the router adds its timeout header after the filter.
    let all: Vec<&str> = got.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        all,
        [
            "host",
            "x-test-id",
            "accept",
            "baggage",
            "uberctx-b",
            "content-length",
            "x-forwarded-proto",
            "x-request-id",
            // Continued with this hop's span id (a replaced field goes last).
            "traceparent",
            "x-envoy-expected-rq-timeout-ms"
        ]
    );
    let forwarded = got.texts("traceparent");
    assert_eq!(forwarded.len(), 1);
    assert!(forwarded[0].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(forwarded[0].ends_with("-01"));
    assert_ne!(forwarded[0], traceparent);
    // user-agent, x-envoy-peer-metadata, x-custom; Envoy itself already
    // sanitized x-forwarded-client-cert (forward_client_cert_details).
    assert_eq!(envoy.counter("headers_removed"), 3);
}

#[test]
fn tokens_replace_user_id_header_and_baggage() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({
            "keys": keys(),
            "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}},
            "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}}
        }))
        .env(ENV)
        .start();
    let port = envoy.port("ingress");
    ok(
        Request::get("/")
            .header("x-test-id", "tok")
            .header("x-user-id", "42")
            .header("baggage", "user.id=42;ttl=60")
            .header("baggage", "plan=pro")
            .header("uberctx-user.id", "42"),
        port,
    );
    let got = echo.by_test_id("tok");
    assert_eq!(got.texts("x-user-id"), [USER_42]);
    assert_eq!(
        got.texts("baggage"),
        [format!("user.id={USER_42};ttl=60,plan=pro")]
    );
    assert_eq!(got.texts("uberctx-user.id"), [USER_42]);
    assert_eq!(envoy.counter("tokens_minted"), 3);
    assert_eq!(envoy.counter("headers_tokenized"), 1);
    assert_eq!(envoy.counter("baggage_tokenized"), 2);

    // A token minted upstream (key k1, still configured) passes unchanged:
    // no token of a token, and nothing rewritten.
    ok(
        Request::get("/")
            .header("x-test-id", "again")
            .header("x-user-id", USER_42_K1)
            .header("baggage", format!("user.id={USER_42}")),
        port,
    );
    let got = echo.by_test_id("again");
    assert_eq!(got.texts("x-user-id"), [USER_42_K1]);
    assert_eq!(got.texts("baggage"), [format!("user.id={USER_42}")]);
    assert_eq!(envoy.counter("tokens_minted"), 3);
}

#[test]
fn same_namespace_same_token_across_listeners_other_tenant_differs() {
    let echo = Echo::start();
    let tenant = json!({"header": "x-tenant-id"});
    let a = json!({
        "keys": keys(), "tenant": tenant,
        "request_headers": {"tokenize": ["x-user-id"], "namespaces": {"x-user-id": "user"}}
    });
    let b = json!({
        "keys": keys(), "tenant": tenant,
        "baggage": {"tokenize_keys": ["user.id"], "namespaces": {"user.id": "user"}}
    });
    let envoy = two_listeners(&echo, &a, &b, ENV);
    let (pa, pb) = (envoy.port("a"), envoy.port("b"));
    ok(
        Request::get("/")
            .header("x-test-id", "a")
            .header("x-user-id", "42"),
        pa,
    );
    ok(
        Request::get("/")
            .header("x-test-id", "b")
            .header("baggage", "user.id=42"),
        pb,
    );
    assert_eq!(echo.by_test_id("a").texts("x-user-id"), [USER_42]);
    assert_eq!(
        echo.by_test_id("b").texts("baggage"),
        [format!("user.id={USER_42}")]
    );
    for (id, tenant, port, expected) in [
        ("a-acme", "acme", pa, USER_42_ACME),
        ("b-acme", "acme", pb, USER_42_ACME),
        ("b-globex", "globex", pb, USER_42_GLOBEX),
    ] {
        let req = Request::get("/")
            .header("x-test-id", id)
            .header("x-tenant-id", tenant)
            .header("x-user-id", "42")
            .header("baggage", "user.id=42");
        ok(req, port);
        let got = echo.by_test_id(id);
        // The tenant header itself is not redacted by this policy.
        assert_eq!(got.texts("x-tenant-id"), [tenant]);
        let token = if port == pa {
            got.texts("x-user-id")
        } else {
            got.texts("baggage")
                .iter()
                .map(|b| b.trim_start_matches("user.id=").to_string())
                .collect()
        };
        assert_eq!(token, [expected], "{id}");
    }
    assert_ne!(USER_42_ACME, USER_42_GLOBEX);
}

#[test]
fn missing_or_short_key_refuses_the_plugin() {
    let echo = Echo::start();
    let config = json!({"keys": keys(), "request_headers": {"tokenize": ["x-user-id"]}});
    match Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&config)
        .env(ENV_K1)
        .try_start()
    {
        Started::Ready(envoy) => panic!("envoy served without key k2:\n{}", envoy.log()),
        Started::Exited { code, log } => {
            assert_ne!(code, Some(0));
            assert!(
                log.contains(
                    "tracesafe: config error at keys.env.k2: environment variable TRACESAFE_KEY_K2 is not set (list it in vm_config.environment_variables.host_env_keys)"
                ),
                "{log}"
            );
        }
    }
    // 16 bytes: too short. The log names the field and the variable, never
    // the value.
    let short = "c2hvcnQta2V5LTE2Ynl0ZQ==";
    match Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&config)
        .env(&[(K1_VAR, K1), (K2_VAR, short)])
        .try_start()
    {
        Started::Ready(envoy) => panic!("envoy served with a short key:\n{}", envoy.log()),
        Started::Exited { log, .. } => {
            assert!(
                log.contains(
                    "tracesafe: config error at keys.env.k2: environment variable TRACESAFE_KEY_K2 decodes to 16 bytes; keys need at least 32"
                ),
                "{log}"
            );
            assert!(!log.contains(short) && !log.contains(K1), "{log}");
        }
    }
}

#[test]
fn tokenize_without_keys_refuses_the_plugin() {
    let echo = Echo::start();
    match Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"baggage": {"tokenize_keys": ["user.id"]}}))
        .try_start()
    {
        Started::Ready(envoy) => panic!("envoy served:\n{}", envoy.log()),
        Started::Exited { log, .. } => assert!(
            log.contains(
                "tracesafe: config error at baggage.tokenize_keys: tokenize needs HMAC keys"
            ),
            "{log}"
        ),
    }
}

#[test]
fn secret_in_every_carrier_is_absent_upstream_as_the_policy_says() {
    const SECRET: &str = "sk_live_Q3V5dGhpc2lz";
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({
            "keys": keys(),
            "detectors": {"custom": [{"name": "api_secret", "regex": "sk_live_[A-Za-z0-9]{8,}"}]},
            "request_headers": {
                "defaults": "credentials",
                "tokenize": ["x-user-id"],
                "namespaces": {"x-user-id": "user"},
                "scan": ["*"]
            },
            "baggage": {
                "drop_keys": ["session.*"],
                "tokenize_keys": ["user.id"],
                "namespaces": {"user.id": "user"}
            },
            "url": {"forward_query_remove": ["api_key"]}
        }))
        .env(ENV)
        .start();
    let path = format!("/v1/items/{SECRET}?api_key={SECRET}&page=2");
    ok(
        Request::get(&path)
            .header("x-test-id", "carriers")
            .header("authorization", format!("Bearer {SECRET}"))
            .header("cookie", format!("session={SECRET}"))
            .header("x-api-key", SECRET)
            .header("x-user-id", SECRET)
            .header("x-note", format!("key {SECRET} here"))
            .header(
                "baggage",
                format!("user.id={SECRET},note=key%20{SECRET},session.token={SECRET},plan=pro"),
            )
            .header("uberctx-user.id", SECRET)
            .header("ot-baggage-note", format!("key%20{SECRET}"))
            .header("uberctx-session.token", SECRET),
        envoy.port("ingress"),
    );
    let got = echo.by_test_id("carriers");
    let token = got.texts("x-user-id");
    assert!(
        token[0].starts_with("tk.k2.") && token[0].len() == 28,
        "{token:?}"
    );
    assert_eq!(got.texts("x-note"), ["key [REDACTED:api_secret] here"]);
    assert_eq!(
        got.texts("baggage"),
        [format!(
            "user.id={},note=key%20[REDACTED:api_secret],plan=pro",
            token[0]
        )]
    );
    assert_eq!(got.texts("uberctx-user.id"), token);
    assert_eq!(
        got.texts("ot-baggage-note"),
        ["key%20[REDACTED:api_secret]"]
    );
    for gone in [
        "authorization",
        "cookie",
        "x-api-key",
        "uberctx-session.token",
    ] {
        assert!(!got.has(gone), "{gone} reached the upstream");
    }
    for (name, value) in &got.headers {
        let v = String::from_utf8_lossy(value);
        assert!(!v.contains(SECRET), "{name}: {v} leaked");
    }
    // The URL is forwarded as the application sent it, except the query
    // parameter named in forward_query_remove; only the span record gets
    // the sanitized path.
    assert_eq!(got.path, format!("/v1/items/{SECRET}?page=2"));
    assert_eq!(envoy.counter("forward_query_removed"), 1);
    // x-note, baggage note, ot-baggage-note. The path is sanitized only for
    // a span record, and this policy exports none.
    assert_eq!(envoy.counter("detector_hits.custom"), 3);
    assert_eq!(envoy.counter("baggage_dropped"), 2);
    envoy.assert_no_trap();
}

#[test]
fn response_headers_are_filtered_towards_the_client() {
    let echo = Echo::start();
    let policy =
        json!({"response_headers": {"defaults": "credentials", "remove": ["x-debug-token"]}});
    let envoy = two_listeners(&echo, &policy, &policy, &[]);
    let resp = Request::get("/")
        .header("x-test-id", "resp")
        .send(envoy.port("a"))
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-served-by"), Some(&b"echo"[..]));
    assert_eq!(resp.header("set-cookie"), None);
    assert_eq!(resp.header("x-debug-token"), None);
    assert!(!String::from_utf8_lossy(&resp.body).contains("SECRET"));
    assert_eq!(envoy.counter("response_headers_removed"), 2);
}

#[test]
fn baggage_is_parsed_filtered_and_limited() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"baggage": {"drop_keys": ["internal.*"]}}))
        .start();
    let port = envoy.port("ingress");
    // Nothing to change: both fields arrive byte for byte.
    ok(
        Request::get("/")
            .header("x-test-id", "same")
            .header("baggage", "a = 1 ;p, b=%41")
            .header("baggage", "c=3"),
        port,
    );
    assert_eq!(
        echo.by_test_id("same").texts("baggage"),
        ["a = 1 ;p, b=%41", "c=3"]
    );
    // Invalid members and policy drops: one re-serialized field, masks
    // percent-encoded.
    ok(
        Request::get("/")
            .header("x-test-id", "mixed")
            .header("baggage", "a=1,broken,internal.x=2")
            .header("baggage", "mail=alice%40example.com;p=1,bad key=3"),
        port,
    );
    assert_eq!(
        echo.by_test_id("mixed").texts("baggage"),
        ["a=1,mail=[REDACTED:email];p=1"]
    );
    assert_eq!(envoy.counter("baggage_invalid"), 2);
    assert_eq!(envoy.counter("baggage_dropped"), 1);
    assert_eq!(envoy.counter("detector_hits.email"), 1);
    // 70 members: the first 64 pass.
    let members: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
    ok(
        Request::get("/")
            .header("x-test-id", "many")
            .header("baggage", members.join(",")),
        port,
    );
    assert_eq!(
        echo.by_test_id("many").texts("baggage"),
        [members[..64].join(",")]
    );
    assert_eq!(envoy.counter("baggage_over_limit"), 6);
}

#[test]
fn scanned_header_values_are_masked_and_counted() {
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&json!({"request_headers": {"scan": ["x-note"]}, "detectors": {"ssn": "remove"}}))
        .start();
    let port = envoy.port("ingress");
    ok(
        Request::get("/")
            .header("x-test-id", "scan")
            .header("x-note", "alice@example.com paid 4111 1111 1111 1111")
            .header("x-other", "bob@example.com"),
        port,
    );
    let got = echo.by_test_id("scan");
    assert_eq!(
        got.texts("x-note"),
        ["[REDACTED:email] paid [REDACTED:card:1111]"]
    );
    assert_eq!(got.texts("x-other"), ["bob@example.com"]);
    ok(
        Request::get("/")
            .header("x-test-id", "ssn")
            .header("x-note", "ssn 123-45-6789"),
        port,
    );
    assert!(!echo.by_test_id("ssn").has("x-note"));
    assert_eq!(envoy.counter("detector_hits.email"), 1);
    assert_eq!(envoy.counter("detector_hits.card"), 1);
    assert_eq!(envoy.counter("detector_hits.ssn"), 1);
    assert_eq!(envoy.counter("headers_removed"), 1);
}

/// `scan: ["*"]` leaves logins alone unless they are named: a masked Bearer
/// token or session cookie is a logged-out user. Named, they are scanned.
#[test]
fn scan_all_leaves_login_headers_alone_unless_named() {
    const JWT: &str = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    const COOKIE: &str = "who=alice@example.com; theme=dark";
    let echo = Echo::start();
    echo.reply_headers("logins", vec![("set-cookie".into(), COOKIE.into())]);
    echo.reply_headers("named", vec![("set-cookie".into(), COOKIE.into())]);
    let all = json!({"request_headers": {"scan": ["*"]}, "response_headers": {"scan": ["*"]}});
    let named = json!({
        "request_headers": {"scan": ["*", "authorization", "cookie"]},
        "response_headers": {"scan": ["*", "set-cookie"]}
    });
    let envoy = two_listeners(&echo, &all, &named, &[]);
    let send = |id: &str, listener: &str| {
        let resp = Request::get("/")
            .header("x-test-id", id)
            .header("authorization", JWT)
            .header("cookie", COOKIE)
            .header("x-note", "alice@example.com")
            .send(envoy.port(listener))
            .unwrap();
        assert_eq!(resp.status, 200);
        (echo.by_test_id(id), resp)
    };
    let (got, resp) = send("logins", "a");
    assert_eq!(got.texts("authorization"), [JWT]);
    assert_eq!(got.texts("cookie"), [COOKIE]);
    assert_eq!(got.texts("x-note"), ["[REDACTED:email]"]);
    assert_eq!(resp.header("set-cookie"), Some(COOKIE.as_bytes()));
    let (got, resp) = send("named", "b");
    assert_eq!(got.texts("authorization"), ["[REDACTED:credential]"]);
    assert_eq!(got.texts("cookie"), ["who=[REDACTED:email]; theme=dark"]);
    assert_eq!(got.texts("x-note"), ["[REDACTED:email]"]);
    assert_eq!(
        resp.header("set-cookie"),
        Some(&b"who=[REDACTED:email]; theme=dark"[..])
    );
}

/// The example policy of docs/redaction-and-tokens.md loads in Envoy and does what it says.
#[test]
fn readme_example_policy_works() {
    let readme =
        std::fs::read_to_string(common::envoy::repo_root().join("docs/redaction-and-tokens.md"))
            .unwrap();
    let section = readme.split("# Redaction and tokens").nth(1).unwrap();
    let json = section
        .split("```json")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let policy: Value = serde_json::from_str(json).unwrap();
    let echo = Echo::start();
    let envoy = Envoy::builder("filter.yaml")
        .upstream(echo.port)
        .plugin(&policy)
        .env(ENV)
        .start();
    ok(
        Request::get("/users/42/orders/7?api_key=x&page=1")
            .header("x-test-id", "readme")
            .header("x-tenant-id", "acme")
            .header("x-user-id", "42")
            .header("x-internal-route", "blue")
            .header("baggage", "user.id=42,session.id=abc"),
        envoy.port("ingress"),
    );
    let got = echo.by_test_id("readme");
    assert_eq!(got.texts("x-user-id"), [USER_42_ACME]);
    assert_eq!(got.texts("baggage"), [format!("user.id={USER_42_ACME}")]);
    assert!(!got.has("x-internal-route"));
    assert_eq!(got.path, "/users/42/orders/7?page=1");
}
