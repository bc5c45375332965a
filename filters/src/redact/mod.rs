//! The per-request redaction context shared by every carrier (headers,
//! baggage, URL, and tracestate values): the policy's detectors, the token
//! minter (scoped to the request's tenant) and the request's counters.

pub mod baggage;
pub mod detect_config;
pub mod detect_confirm;
pub mod detect_credentials;
pub mod detect_formats;
pub mod detect_scan;
pub mod detectors;
pub mod headers;
pub mod metadata;
pub mod pct;
pub mod token;
pub mod url;

use crate::metrics::{Metric, Metrics};
use crate::redact::detectors::{push_mask, Act, DetectorKind, Detectors, Hit};
use crate::redact::token::Minter;

/// A value that went through a sanitizer (URL, detectors, method
/// normalisation). Constructed only inside this crate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clean(String);

impl Clean {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Clean(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hands the sanitized text over without a copy (span attributes).
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// The replacement for values a policy redacts outright.
pub const REDACTED: &str = "REDACTED";

/// What the detectors decided for one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    /// No hit: forward the value as it was.
    Clean,
    /// A `remove` detector hit: drop the carrier (header field, baggage
    /// member, query parameter, tracestate entry).
    Remove,
    /// Hits were masked or tokenized in place.
    Replace(String),
}

/// How much a request was redacted: totals of its counters, for the span
/// record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redactions {
    /// Header fields removed or tokenized.
    pub headers: u64,
    /// Baggage members dropped (policy, invalid, over limit) or tokenized.
    pub baggage: u64,
    /// Tokens minted.
    pub tokens: u64,
    /// Detector hits, all kinds.
    pub detector_hits: u64,
}

impl Redactions {
    pub fn from_metrics(m: &Metrics) -> Self {
        Self {
            headers: m.get(Metric::HeadersRemoved) + m.get(Metric::HeadersTokenized),
            baggage: m.get(Metric::BaggageDropped)
                + m.get(Metric::BaggageTokenized)
                + m.get(Metric::BaggageInvalid)
                + m.get(Metric::BaggageOverLimit),
            tokens: m.get(Metric::TokensMinted),
            detector_hits: DetectorKind::ALL
                .iter()
                .map(|k| m.get(Metric::DetectorHits(*k)))
                .sum(),
        }
    }
}

pub struct Redactor<'a> {
    detectors: &'a Detectors,
    minter: Option<Minter<'a>>,
    metrics: Metrics,
    /// The one forwarded value that also feeds the span ([`Redactor::also_for_span`]),
    /// as (address, length) of the request's own bytes.
    span_bound: Option<(usize, usize)>,
    /// Its span-bound hits, found with its forwarded ones.
    span_hits: Option<Vec<Hit<'a>>>,
}

/// Identifies a value by where it lives: the request's bytes stay borrowed
/// for the whole request, so no other value can share the address.
fn slice_key(value: &str) -> (usize, usize) {
    (value.as_ptr() as usize, value.len())
}

impl<'a> Redactor<'a> {
    /// `minter` is `None` when no keys are configured; policies that
    /// tokenize are then rejected at configuration time.
    pub fn new(detectors: &'a Detectors, minter: Option<Minter<'a>>, metrics: Metrics) -> Self {
        Self {
            detectors,
            minter,
            metrics,
            span_bound: None,
            span_hits: None,
        }
    }

    /// `value`, borrowed from the request, will be scanned forwarded and
    /// then for the span (the user agent): the forwarded scan finds both
    /// sets of hits in one pass. Scans of other values are unaffected.
    pub fn also_for_span(&mut self, value: &str) {
        self.span_bound = Some(slice_key(value));
    }

    pub fn count(&mut self, metric: Metric, n: u64) {
        self.metrics.add(metric, n);
    }

    pub fn into_metrics(self) -> Metrics {
        self.metrics
    }

    /// The token of `value` in `namespace`. A value that already is one of
    /// our tokens (minted by an earlier hop) passes through unchanged.
    pub fn token(&mut self, namespace: &str, value: &[u8]) -> String {
        match &self.minter {
            Some(m) if m.keyring().is_token(value) => String::from_utf8_lossy(value).into_owned(),
            Some(m) => {
                self.metrics.add(Metric::TokensMinted, 1);
                m.mint(namespace, value)
            }
            None => REDACTED.to_string(),
        }
    }

    /// A header value for the span record (the user agent): clean or
    /// redacted as the span-bound detectors say ([`Redactor::scan_raw`],
    /// with `generic_secret`), `None` when a `remove` detector hit.
    pub fn clean(&mut self, value: &str) -> Option<Clean> {
        match self.scan_raw_with(value, pct::is_header_text, true) {
            ScanOutcome::Clean => Some(Clean::new(value)),
            ScanOutcome::Replace(v) => Some(Clean::new(v)),
            ScanOutcome::Remove => None,
        }
    }

    /// The counters gathered so far (trace context adds its own).
    pub fn metrics(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    /// [`Redactor::scan`] for a value as it is on the wire (a header value,
    /// a tracestate entry), where percent-escapes must not hide anything
    /// (`Referer: …?email=alice%40example.com`): a value with escapes is
    /// scanned decoded, and on a hit the decoded text is rewritten with `%`
    /// and every byte `safe` rejects escaped again (so a decoded CR/LF
    /// never reaches a header).
    pub fn scan_raw(&mut self, value: &str, safe: fn(u8) -> bool) -> ScanOutcome {
        self.scan_raw_with(value, safe, false)
    }

    fn scan_raw_with(&mut self, value: &str, safe: fn(u8) -> bool, for_span: bool) -> ScanOutcome {
        if !value.contains('%') {
            return self.scan_with(value, for_span);
        }
        let decoded = pct::decode_lossy(value.as_bytes(), false);
        if decoded == value {
            return self.scan_with(value, for_span);
        }
        match self.scan_with(&decoded, for_span) {
            ScanOutcome::Replace(v) => ScanOutcome::Replace(pct::encode(&v, safe)),
            other => other,
        }
    }

    /// Runs the detectors over one (decoded) forwarded value and applies
    /// their actions; hits are counted per kind.
    pub fn scan(&mut self, value: &str) -> ScanOutcome {
        self.scan_with(value, false)
    }

    /// [`Redactor::scan`] for a value bound for the span record only (path
    /// segments, query values): `generic_secret` runs too.
    pub fn scan_for_span(&mut self, value: &str) -> ScanOutcome {
        self.scan_with(value, true)
    }

    fn scan_with(&mut self, value: &str, for_span: bool) -> ScanOutcome {
        let detectors = self.detectors;
        let bound = Some(slice_key(value)) == self.span_bound;
        let hits = if for_span {
            match self.span_hits.take_if(|_| bound) {
                Some(hits) => hits,
                None => detectors.find_for_span(value),
            }
        } else if bound {
            let (forwarded, span) = detectors.find_both(value);
            self.span_hits = Some(span);
            forwarded
        } else {
            detectors.find(value)
        };
        if hits.is_empty() {
            return ScanOutcome::Clean;
        }
        for h in &hits {
            self.metrics.add(Metric::DetectorHits(h.kind), 1);
        }
        if hits.iter().any(|h| *h.action == Act::Remove) {
            return ScanOutcome::Remove;
        }
        let mut out = String::with_capacity(value.len());
        let mut pos = 0;
        for h in &hits {
            out.push_str(value.get(pos..h.start).unwrap_or_default());
            match h.action {
                Act::Tokenize(ns) => {
                    let matched = value.get(h.start..h.end).unwrap_or_default();
                    let token = self.token(ns, matched.as_bytes());
                    out.push_str(&token);
                }
                Act::Mask | Act::Remove => push_mask(&mut out, h, value),
            }
            pos = h.end;
        }
        out.push_str(value.get(pos..).unwrap_or_default());
        ScanOutcome::Replace(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::detectors::DetectorsConfig;
    use crate::redact::token::test_keys::keyring;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn detectors(v: serde_json::Value) -> Detectors {
        let cfg: DetectorsConfig = serde_json::from_value(v).unwrap();
        Detectors::compile(&cfg, "detectors", true).unwrap()
    }

    #[test]
    fn masks_in_place_and_counts_by_kind() {
        let d = detectors(serde_json::json!({}));
        let mut r = Redactor::new(&d, None, Metrics::default());
        assert_eq!(r.scan("nothing here"), ScanOutcome::Clean);
        assert_eq!(
            r.scan("mail a@example.com or b@example.com from 10.0.0.1"),
            ScanOutcome::Replace(
                "mail [REDACTED:email] or [REDACTED:email] from [REDACTED:ipv4]".into()
            )
        );
        let m = r.into_metrics();
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Email)), 2);
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Ipv4)), 1);
    }

    /// Found by the leak audit: a Referer carrying `email=alice%40example.com`
    /// passed the detectors, which saw `%40` where the email has `@`.
    #[test]
    fn percent_escapes_do_not_hide_values_on_the_wire() {
        let d = detectors(serde_json::json!({}));
        let mut r = Redactor::new(&d, None, Metrics::default());
        assert_eq!(
            r.scan_raw(
                "https://shop.example/a?email=alice%40example.com&x=%0d%0a%25",
                pct::is_header_text
            ),
            ScanOutcome::Replace(
                "https://shop.example/a?email=[REDACTED:email]&x=%0D%0A%25".into()
            )
        );
        // Escapes alone change nothing; neither does a literal `%`.
        assert_eq!(r.scan_raw("a%20b", pct::is_header_text), ScanOutcome::Clean);
        assert_eq!(
            r.scan_raw("100% a@example.com", pct::is_header_text),
            ScanOutcome::Replace("100% [REDACTED:email]".into())
        );
        assert_eq!(
            r.clean("app (bob%40example.com)")
                .map(|c| c.as_str().to_string()),
            Some("app ([REDACTED:email])".into())
        );
    }

    #[test]
    fn span_bound_values_also_mask_generic_secrets() {
        let d = detectors(serde_json::json!({}));
        let mut r = Redactor::new(&d, None, Metrics::default());
        let ua = "MyApp/1.0 (token Zx81kLq0PmN3vB7rT5yW2sD4) curl/8.5.0";
        assert_eq!(
            r.clean(ua).map(|c| c.as_str().to_string()),
            Some("MyApp/1.0 (token [REDACTED:generic_secret]) curl/8.5.0".into())
        );
        assert_eq!(r.scan(ua), ScanOutcome::Clean);
        assert_eq!(
            r.scan_for_span("ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP"),
            ScanOutcome::Replace("[REDACTED:credential:github]".into())
        );
        let m = r.into_metrics();
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::GenericSecret)), 1);
        assert_eq!(m.get(Metric::DetectorHits(DetectorKind::Credential)), 1);
    }

    /// A value scanned forwarded and then for the span (the user agent)
    /// gets both outcomes and counts from one pass, exactly as from two;
    /// the span hits stay with that value, not with one scanned between.
    #[test]
    fn one_pass_for_forwarded_and_span_is_the_same_as_two() {
        let d = detectors(serde_json::json!({"credential": "mask"}));
        let owned = "MyApp/1.0 (token Zx81kLq0PmN3vB7rT5yW2sD4; alice@example.com)".to_string();
        let ua = owned.as_str();
        let copy = owned.clone();
        let run = |bound: bool| {
            let mut r = Redactor::new(&d, None, Metrics::default());
            if bound {
                r.also_for_span(ua);
            }
            let forwarded = r.scan(ua);
            let between = r.scan_for_span(&copy);
            let span = r.scan_for_span(ua);
            (forwarded, between, span, r.into_metrics())
        };
        let (one, two) = (run(true), run(false));
        assert_eq!(
            one.0,
            ScanOutcome::Replace(
                "MyApp/1.0 (token Zx81kLq0PmN3vB7rT5yW2sD4; [REDACTED:email])".into()
            )
        );
        assert_eq!(
            one.2,
            ScanOutcome::Replace(
                "MyApp/1.0 (token [REDACTED:generic_secret]; [REDACTED:email])".into()
            )
        );
        assert_eq!((&one.0, &one.1, &one.2), (&two.0, &two.1, &two.2));
        assert_eq!(one.3.get(Metric::DetectorHits(DetectorKind::Email)), 3);
        assert_eq!(
            one.3.get(Metric::DetectorHits(DetectorKind::GenericSecret)),
            2
        );
        assert_eq!(
            Redactions::from_metrics(&one.3),
            Redactions::from_metrics(&two.3)
        );
    }

    #[test]
    fn remove_wins_over_mask() {
        let d = detectors(serde_json::json!({"ssn": "remove"}));
        let mut r = Redactor::new(&d, None, Metrics::default());
        assert_eq!(r.scan("a@example.com 123-45-6789"), ScanOutcome::Remove);
    }

    #[test]
    fn tokenizes_matches_and_passes_tokens_through() {
        let d = detectors(serde_json::json!({"email": "tokenize"}));
        let k = keyring("k2");
        let mut r = Redactor::new(&d, Some(k.minter(None)), Metrics::default());
        assert_eq!(
            r.scan("to alice@example.com"),
            ScanOutcome::Replace("to tk.k2.VDx-xIlGJYqJDpkxd_1rrA".into())
        );
        assert_eq!(
            r.token("user", b"tk.k2.VDx-xIlGJYqJDpkxd_1rrA"),
            "tk.k2.VDx-xIlGJYqJDpkxd_1rrA"
        );
        assert_eq!(r.token("user", b"42"), "tk.k2.p84PCaUIFbo_9PJ0HNRkcw");
        assert_eq!(r.into_metrics().get(Metric::TokensMinted), 2);
    }
}
