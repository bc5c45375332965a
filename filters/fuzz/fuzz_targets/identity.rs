//! `x-forwarded-client-cert` and SPIFFE IDs: no panic; what the XFCC parser
//! returns survives a reference encoder (every value quoted and escaped);
//! an accepted SPIFFE ID re-parses to itself, is printable ASCII without
//! whitespace, and splits into exactly its trust domain and path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesafe_filters::identity::spiffe::SpiffeId;
use tracesafe_filters::identity::xfcc::{self, XfccElement};

/// Envoy's format with every value quoted; an element without known keys
/// gets an unknown one, which the parser skips.
fn encode(elements: &[XfccElement]) -> String {
    let q = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = Vec::new();
    for e in elements {
        let mut pairs = Vec::new();
        pairs.extend(e.by.iter().map(|v| format!("By={}", q(v))));
        pairs.extend(e.hash.iter().map(|v| format!("Hash={}", q(v))));
        pairs.extend(e.subject.iter().map(|v| format!("Subject={}", q(v))));
        pairs.extend(e.uri.iter().map(|v| format!("URI={}", q(v))));
        pairs.extend(e.dns.iter().map(|v| format!("DNS={}", q(v))));
        if pairs.is_empty() {
            pairs.push("Cert=\"\"".to_string());
        }
        out.push(pairs.join(";"));
    }
    out.join(",")
}

fn check_spiffe(s: &str) {
    let Ok(id) = SpiffeId::parse(s) else {
        return;
    };
    assert_eq!(id.as_str(), s);
    assert_eq!(id.to_string(), s);
    assert_eq!(SpiffeId::parse(id.as_str()), Ok(id.clone()));
    assert_eq!(format!("spiffe://{}{}", id.trust_domain(), id.path()), s);
    assert!(s.len() <= 2048);
    assert!(s.bytes().all(|b| b.is_ascii_graphic()), "{s:?}");
    if let Some((ns, sa)) = id.namespace_and_account() {
        assert_eq!(id.path(), format!("/ns/{ns}/sa/{sa}"));
        let again = SpiffeId::from_parts(id.trust_domain(), ns, sa).unwrap();
        assert_eq!(again, id);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(elements) = xfcc::parse(data) {
        let text = encode(&elements);
        assert_eq!(
            xfcc::parse(text.as_bytes()),
            Ok(elements.clone()),
            "round trip of {text:?}"
        );
        for e in &elements {
            e.by.iter().chain(&e.uri).for_each(|v| check_spiffe(v));
        }
    }
    let text = String::from_utf8_lossy(data);
    check_spiffe(&text);
    // `from_parts` with arbitrary pieces: either a valid ID with exactly
    // those parts, or an error.
    let mut parts = text.splitn(3, '\n');
    let (td, ns, sa) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if let Ok(id) = SpiffeId::from_parts(td, ns, sa) {
        assert_eq!(id.as_str(), format!("spiffe://{td}/ns/{ns}/sa/{sa}"));
        assert_eq!(id.namespace_and_account(), Some((ns, sa)));
        check_spiffe(id.as_str());
    }
});
