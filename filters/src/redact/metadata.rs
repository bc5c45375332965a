//! gRPC metadata rules for the header policy. gRPC carries metadata as
//! HTTP/2 headers (and trailers) with two twists: names starting `grpc-`
//! are the protocol's own, and `-bin` values are base64 of arbitrary bytes,
//! which a text mask would corrupt (the call then fails with INTERNAL).

use crate::http::HeaderOp;
use crate::metrics::Metric;
use crate::redact::detect_confirm::BASIC_BASE64;
use crate::redact::{Redactor, ScanOutcome};
use base64::Engine as _;

/// `grpc-message` is free text a server wrote (often with user data), so a
/// header policy may scan or remove it like any other header.
const GRPC_MESSAGE: &str = "grpc-message";

/// A gRPC-reserved header (`grpc-status`, `grpc-timeout`, `grpc-encoding`,
/// `grpc-status-details-bin`, ...): the protocol breaks without it, so no
/// header policy touches it. `grpc-message` is not reserved here.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with("grpc-") && name != GRPC_MESSAGE
}

/// A binary metadata header (`-bin`): base64 of arbitrary bytes.
pub fn is_binary(name: &str) -> bool {
    name.ends_with("-bin")
}

/// Decodes a `-bin` value (standard alphabet, padding optional, as gRPC
/// sends it); `None` when it is not base64.
fn decode(value: &[u8]) -> Option<Vec<u8>> {
    BASIC_BASE64.decode(value.trim_ascii()).ok()
}

/// Tokenizes each `-bin` value whole: the token of the decoded bytes,
/// base64-encoded so the value stays valid binary metadata (the receiver
/// decodes it to the token text). A value that is not base64 is tokenized
/// as it is. `None` when every value already was a token.
pub fn tokenize(name: &str, ns: &str, values: &[&[u8]], r: &mut Redactor<'_>) -> Option<HeaderOp> {
    let mut changed = 0;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(values.len());
    for v in values {
        let bytes = decode(v).unwrap_or_else(|| v.trim_ascii().to_vec());
        let token = r.token(ns, &bytes);
        if token.as_bytes() != bytes {
            changed += 1;
        }
        out.push(BASIC_BASE64.encode(token).into_bytes());
    }
    if changed == 0 {
        return None;
    }
    r.count(Metric::HeadersTokenized, changed);
    Some(HeaderOp::Set(name.to_string(), out.join(&b","[..])))
}

/// Runs the detectors over the decoded bytes of each `-bin` value; any hit,
/// or a value that does not decode (and so cannot be checked), removes the
/// header whole: binary metadata is never partly masked.
pub fn scan(
    name: &str,
    values: &[&[u8]],
    r: &mut Redactor<'_>,
    removed: Metric,
) -> Option<HeaderOp> {
    let hit = values.iter().any(|v| match decode(v) {
        Some(bytes) => r.scan(&String::from_utf8_lossy(&bytes)) != ScanOutcome::Clean,
        None => true,
    });
    if !hit {
        return None;
    }
    r.count(removed, values.len() as u64);
    Some(HeaderOp::Remove(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::redact::detectors::{Detectors, DetectorsConfig};
    use crate::redact::token::test_keys::keyring;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reserved_and_binary_names() {
        for n in ["grpc-status", "grpc-timeout", "grpc-status-details-bin"] {
            assert!(is_reserved(n), "{n}");
        }
        assert!(!is_reserved("grpc-message"));
        assert!(!is_reserved("x-grpc-status"));
        assert!(is_binary("x-blob-bin"));
        assert!(!is_binary("x-binary"));
    }

    #[test]
    fn tokenized_binary_values_stay_base64() {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let k = keyring("k2");
        let mut r = Redactor::new(&d, Some(k.minter(None)), Metrics::default());
        // "42" as binary metadata, padded and unpadded: one token.
        let op = tokenize("x-user-bin", "user", &[b"NDI=", b"NDI"], &mut r).unwrap();
        let HeaderOp::Set(_, value) = op else {
            panic!("{op:?}")
        };
        let token = BASIC_BASE64.encode("tk.k2.p84PCaUIFbo_9PJ0HNRkcw");
        assert_eq!(value, format!("{token},{token}").into_bytes());
        // The next hop sees its own token and leaves it alone.
        assert_eq!(
            tokenize("x-user-bin", "user", &[token.as_bytes()], &mut r),
            None
        );
        assert_eq!(r.into_metrics().get(Metric::HeadersTokenized), 2);
    }

    #[test]
    fn scanning_decodes_and_removes_whole() {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let mut r = Redactor::new(&d, None, Metrics::default());
        let email = BASIC_BASE64.encode("\x00\x01alice@example.com\x7f");
        assert_eq!(
            scan(
                "x-a-bin",
                &[email.as_bytes()],
                &mut r,
                Metric::HeadersRemoved
            ),
            Some(HeaderOp::Remove("x-a-bin".into()))
        );
        // Base64 text that looks like a card number decodes to bytes that
        // are not one: kept byte-for-byte.
        let card_like = b"////4111111111111111////";
        assert_eq!(
            scan("x-a-bin", &[card_like], &mut r, Metric::HeadersRemoved),
            None
        );
        assert_eq!(
            scan("x-a-bin", &[b"not base64!"], &mut r, Metric::HeadersRemoved),
            Some(HeaderOp::Remove("x-a-bin".into()))
        );
        assert_eq!(r.into_metrics().get(Metric::HeadersRemoved), 2);
    }
}
