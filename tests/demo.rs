//! `./build.sh demo`: starts real Envoy with tracesafe in front of an echo
//! upstream, sends requests carrying secrets, and prints what the client
//! sent next to what the upstream received.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ready_filter_envoy, Echo, Request};

fn main() {
    let policy_path = common::envoy::repo_root().join("examples/policies/demo.json");
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy_path).unwrap()).unwrap();
    let echo = Echo::start();
    let envoy = ready_filter_envoy(&echo, &policy, &[]);
    println!(
        "tracesafe demo: Envoy 1.40 with {} in front of an echo upstream",
        policy_path.display()
    );
    println!("policy: {policy}\n");

    let requests = [
        Request::get("/orders/42?user=alice@example.com")
            .header("x-test-id", "1")
            .header(
                "authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
            )
            .header("cookie", "session=7f3a9c0d2b1e; theme=dark")
            .header("x-api-key", "ak_live_51HqLyjWDarjtT1zdp7dc")
            .header("user-agent", "demo-client/1.0"),
        Request::get("/health")
            .header("x-test-id", "2")
            .header("Proxy-Authorization", "Basic YWxpY2U6czNjcjN0")
            .header("accept", "application/json"),
    ];
    for req in &requests {
        let resp = req.send(envoy.port("ingress")).unwrap();
        let id = String::from_utf8_lossy(&req.headers[0].1).into_owned();
        let got = echo.by_test_id(&id);
        println!("{} {}  -> {}", req.method, req.path, resp.status);
        println!("  {:<48} {}", "client sent", "upstream received");
        for (name, value) in &req.headers {
            let sent = format!("{name}: {}", short(value));
            let lower = name.to_ascii_lowercase();
            let recv = match got.get(&lower) {
                Some(v) => format!("{lower}: {}", short(v)),
                None => "(stripped by tracesafe)".to_string(),
            };
            println!("  {sent:<48} {recv}");
        }
        println!();
    }
    envoy.assert_no_trap();
}

fn short(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.chars().count() > 34 {
        format!("{}…", s.chars().take(33).collect::<String>())
    } else {
        s.into_owned()
    }
}
