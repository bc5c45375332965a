//! Keyed tokens: any namespace, value and tenant give `tk.<key id>.` and 22
//! base64url characters that the keyring recognises; the same input gives
//! the same token; tenants and namespaces separate; and a token never
//! contains its input (inputs of 12+ bytes: shorter ones can match a few
//! characters of the MAC by chance).
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tracesafe_filters::redact::detectors::Detectors;
use tracesafe_filters::redact::token::Keyring;
use tracesafe_filters::{Metrics, Redactor};
use tracesafe_fuzz::{contains, keyring};

const MIN_LEN: usize = 12;

fn fixture() -> &'static (Keyring, Keyring) {
    static F: OnceLock<(Keyring, Keyring)> = OnceLock::new();
    F.get_or_init(|| {
        (
            keyring("k1").expect("fixture"),
            keyring("k2").expect("fixture"),
        )
    })
}

fn check_format(token: &str, id: &str) {
    let mac = token
        .strip_prefix(&format!("tk.{id}."))
        .unwrap_or_else(|| panic!("{token:?}"));
    assert_eq!(mac.len(), 22);
    assert_eq!(URL_SAFE_NO_PAD.decode(mac).map(|b| b.len()), Ok(16));
}

fuzz_target!(|data: &[u8]| {
    let (k1, k2) = fixture();
    // namespace \n tenant \n value
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let ns = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let tenant = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default();

    let plain = k1.minter(None).mint(&ns, value);
    let scoped = k1.minter(Some(tenant)).mint(&ns, value);
    check_format(&plain, "k1");
    check_format(&scoped, "k1");
    assert!(k1.is_token(plain.as_bytes()) && k2.is_token(plain.as_bytes()));
    assert_eq!(plain, k1.minter(None).mint(&ns, value));
    assert_ne!(
        plain, scoped,
        "a tenant's key must differ from the master key"
    );
    assert_ne!(plain, k1.minter(None).mint(&format!("{ns}x"), value));
    assert_ne!(
        plain,
        k2.minter(None).mint(&ns, value)[..].replace("tk.k2.", "tk.k1.")
    );
    if value.len() >= MIN_LEN {
        for t in [&plain, &scoped] {
            assert!(!contains(t.as_bytes(), value), "{t:?} contains its input");
        }
    }

    // Through the redactor: a token passes unchanged, anything else is
    // replaced by a different string.
    let detectors = Detectors::default();
    let mut r = Redactor::new(&detectors, Some(k2.minter(None)), Metrics::default());
    let out = r.token(&ns, value);
    if k2.is_token(value) {
        assert_eq!(out.as_bytes(), value);
    } else {
        assert_ne!(out.as_bytes(), value);
        check_format(&out, "k2");
    }
});
