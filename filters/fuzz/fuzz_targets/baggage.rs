//! W3C baggage and the legacy `uberctx-`/`ot-baggage-` carriers through a
//! policy that drops, tokenizes and scans: no panic; the forwarded baggage
//! never exceeds 64 members / 8192 bytes, whether rewritten or passed
//! through; a rewritten header parses back to the same members (nothing
//! invalid, nothing over the limits) and the policy leaves it unchanged;
//! legacy values stay percent-encoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tracesafe_filters::http::{self, borrowed, HeaderOp};
use tracesafe_filters::redact::baggage::{
    Baggage, BaggageConfig, BaggagePolicy, MAX_BYTES, MAX_MEMBERS,
};
use tracesafe_filters::redact::detectors::Detectors;
use tracesafe_filters::redact::pct;
use tracesafe_filters::redact::token::Keyring;
use tracesafe_filters::{Metrics, Redactor};
use tracesafe_fuzz::{detectors, keyring, lines};

struct Fixture {
    policy: BaggagePolicy,
    /// Changes nothing but invalid members and the limits.
    noop: BaggagePolicy,
    detectors: Detectors,
    keyring: Keyring,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let compile = |v: serde_json::Value| {
            let cfg: BaggageConfig = serde_json::from_value(v).unwrap();
            BaggagePolicy::compile(&cfg, "baggage", true).unwrap()
        };
        Fixture {
            policy: compile(serde_json::json!({
                "drop_keys": ["session.*", "*.secret"],
                "tokenize_keys": ["user.id"],
                "namespaces": {"user.id": "user"}
            })),
            noop: compile(serde_json::json!({"scan": false, "legacy": false})),
            detectors: detectors("mask").expect("fixture"),
            keyring: keyring("k2").expect("fixture"),
        }
    })
}

fn w3c(ops: &[HeaderOp]) -> Option<&HeaderOp> {
    ops.iter()
        .find(|op| matches!(op, HeaderOp::Set(n, _) | HeaderOp::Remove(n) if n == "baggage"))
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let owned = lines(data).headers;
    let h = borrowed(&owned);
    let bag = Baggage::parse(&h);
    let mut r = Redactor::new(
        &f.detectors,
        Some(f.keyring.minter(None)),
        Metrics::default(),
    );
    let ops = f.policy.apply(&bag, &|_| false, &mut r);
    let fields = http::values(&h, "baggage");
    match w3c(&ops) {
        Some(HeaderOp::Set(_, value)) => {
            assert!(value.len() <= MAX_BYTES, "{} bytes", value.len());
            assert!(value.split(|&b| b == b',').count() <= MAX_MEMBERS);
            let again = Baggage::parse(&[("baggage", value.as_slice())]);
            let mut r = Redactor::new(
                &f.detectors,
                Some(f.keyring.minter(None)),
                Metrics::default(),
            );
            assert_eq!(
                f.noop.apply(&again, &|_| false, &mut r),
                vec![],
                "round trip of {value:?}"
            );
            assert_eq!(r.into_metrics(), Metrics::default());
            let mut r = Redactor::new(
                &f.detectors,
                Some(f.keyring.minter(None)),
                Metrics::default(),
            );
            let twice = f.policy.apply(&again, &|_| false, &mut r);
            assert_eq!(w3c(&twice), None, "policy applied twice changes {value:?}");
        }
        Some(HeaderOp::Remove(_)) => {}
        None => {
            // Passed through byte for byte: then it was within the limits.
            let bytes: usize =
                fields.iter().map(|f| f.len()).sum::<usize>() + fields.len().saturating_sub(1);
            assert!(
                bytes <= MAX_BYTES,
                "{bytes} bytes of baggage forwarded unchanged"
            );
            let members = fields
                .iter()
                .flat_map(|f| f.split(|&b| b == b','))
                .filter(|m| m.iter().any(|&b| b != b' ' && b != b'\t'))
                .count();
            assert!(
                members <= MAX_MEMBERS,
                "{members} members forwarded unchanged"
            );
        }
    }
    for op in &ops {
        if let HeaderOp::Set(name, value) = op {
            if name != "baggage" {
                assert!(
                    value.iter().all(|&b| b == b'%' || pct::is_baggage_octet(b)),
                    "{name}: {value:?}"
                );
            }
        }
    }
});
