//! Differential: the hand-written detectors against the first engine's
//! regexes ([`tracesafe_fuzz::oracle`]). On any text, every byte the oracle
//! confirms as a hit lies inside a hit of the new engine, and a forwarded
//! scan never finds less because of `generic_secret` (off by default).
//! One documented false-positive fix: a dotted quad that is a product
//! version (`Chrome/120.0.0.0`, [`product_version`]) is no IPv4 address
//! (test `ipv4_skips_product_versions`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tracesafe_filters::redact::detect_scan::product_version;
use tracesafe_filters::redact::detectors::{Detectors, DetectorsConfig};
use tracesafe_filters::DetectorKind;
use tracesafe_fuzz::oracle::Oracle;

fn fixture() -> &'static (Oracle, Detectors) {
    static F: OnceLock<(Oracle, Detectors)> = OnceLock::new();
    F.get_or_init(|| {
        (
            Oracle::new().expect("fixture"),
            Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (oracle, new) = fixture();
    let text = String::from_utf8_lossy(data);
    let hits = new.find(&text);
    for (kind, start, end) in oracle.find(&text) {
        if kind == DetectorKind::Ipv4 && product_version(text.as_bytes(), start) {
            continue;
        }
        for i in start..end {
            assert!(
                hits.iter().any(|h| h.start <= i && i < h.end),
                "{kind:?} {:?} in {text:?} not covered: {hits:?}",
                &text[start..end]
            );
        }
    }
});
