//! Counters a request produces. The adapter turns them into Envoy stats
//! (`tracesafe.<name>`); names never contain request data.

/// What a detector found; also the metric `detector_hits.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectorKind {
    Email,
    Card,
    Jwt,
    /// `Bearer`/`Basic` credentials and vendor tokens, keys and secrets
    /// (sub-labels such as `credential:github`).
    Credential,
    AwsKey,
    Ipv4,
    Ipv6,
    Ssn,
    Phone,
    Iban,
    /// Long high-entropy letter+digit runs and UUIDs.
    GenericSecret,
    /// Any detector from `detectors.custom` (one counter for all of them:
    /// metric names never depend on configuration).
    Custom,
}

impl DetectorKind {
    pub const ALL: [DetectorKind; 12] = [
        DetectorKind::Email,
        DetectorKind::Card,
        DetectorKind::Jwt,
        DetectorKind::Credential,
        DetectorKind::AwsKey,
        DetectorKind::Ipv4,
        DetectorKind::Ipv6,
        DetectorKind::Ssn,
        DetectorKind::Phone,
        DetectorKind::Iban,
        DetectorKind::GenericSecret,
        DetectorKind::Custom,
    ];

    /// The config field, mask label and default token namespace.
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Email => "email",
            DetectorKind::Card => "card",
            DetectorKind::Jwt => "jwt",
            DetectorKind::Credential => "credential",
            DetectorKind::AwsKey => "aws_key",
            DetectorKind::Ipv4 => "ipv4",
            DetectorKind::Ipv6 => "ipv6",
            DetectorKind::Ssn => "ssn",
            DetectorKind::Phone => "phone",
            DetectorKind::Iban => "iban",
            DetectorKind::GenericSecret => "generic_secret",
            DetectorKind::Custom => "custom",
        }
    }
}

/// One counter. Names are stable: dashboards and alerts depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Requests the filter processed.
    Requests,
    /// Request header fields removed by policy (lists, defaults, allow-list,
    /// or a `remove` detector hit).
    HeadersRemoved,
    /// Requests whose peer or local identity came from each source.
    IdentityPeerCertificate,
    IdentityLocalCertificate,
    IdentityXfcc,
    IdentityNodeMetadata,
    /// Requests that carried identity headers from an untrusted source.
    SpoofingStripped,
    /// Malformed SPIFFE IDs ignored.
    SpiffeInvalid,
    /// Unparseable `x-forwarded-client-cert` values.
    XfccInvalid,
    /// Spans the collector accepted.
    SpansExported,
    /// Spans dropped because the export queue was full.
    SpansDropped,
    /// Spans given up on (non-retryable answer or retries exhausted).
    SpansFailed,
    /// Spans the collector refused in an accepted export (OTLP partial
    /// success, `rejected_spans`).
    SpansRejected,
    /// Export attempts retried.
    ExportRetries,
    /// New traces: no usable incoming context (absent or invalid).
    TracesStarted,
    /// Incoming contexts continued with a new span id.
    TracesContinued,
    /// Valid incoming contexts replaced by a new trace (`restart_trace`).
    TracesRestarted,
    /// Requests whose traceparent was malformed or repeated.
    TraceparentInvalid,
    /// Continued traces whose tracestate was invalid and dropped.
    TracestateInvalid,
    /// tracestate members dropped because an earlier member had their key.
    TracestateDuplicatesDropped,
    /// Response `traceresponse` fields removed as invalid (`pass` mode).
    TraceresponseInvalid,
    /// x-request-id values generated (`request_id: generate`).
    RequestIdsGenerated,
    /// Ids not generated because the host's randomness failed; the request
    /// then goes on with its trace headers untouched.
    IdGenerationFailures,
    /// Route metadata named a policy that is not configured; the rules
    /// decided instead.
    UnknownRoutePolicy,
    /// Response header fields removed by policy.
    ResponseHeadersRemoved,
    /// Header fields whose value was replaced by its token.
    HeadersTokenized,
    /// Baggage members (W3C or legacy) that did not parse, dropped.
    BaggageInvalid,
    /// Baggage members dropped by `drop_keys`/`allow_keys` or a `remove`
    /// detector hit.
    BaggageDropped,
    /// Baggage members whose value was replaced by its token.
    BaggageTokenized,
    /// W3C baggage members dropped from the end to meet 64 members / 8192
    /// bytes.
    BaggageOverLimit,
    /// Query parameters removed from the forwarded `:path`.
    ForwardQueryRemoved,
    /// Tokens minted (values that already were tokens are not counted).
    TokensMinted,
    /// Header maps from the host that were malformed (read as empty), and
    /// fields whose name is not UTF-8 (dropped).
    HostHeadersInvalid,
    /// Detector hits, per kind (`detector_hits.<kind>`).
    DetectorHits(DetectorKind),
}

impl Metric {
    /// Every metric, so the adapter can define them all in `on_configure`.
    pub const ALL: &'static [Metric] = &[
        Metric::Requests,
        Metric::HeadersRemoved,
        Metric::IdentityPeerCertificate,
        Metric::IdentityLocalCertificate,
        Metric::IdentityXfcc,
        Metric::IdentityNodeMetadata,
        Metric::SpoofingStripped,
        Metric::SpiffeInvalid,
        Metric::XfccInvalid,
        Metric::SpansExported,
        Metric::SpansDropped,
        Metric::SpansFailed,
        Metric::SpansRejected,
        Metric::ExportRetries,
        Metric::TracesStarted,
        Metric::TracesContinued,
        Metric::TracesRestarted,
        Metric::TraceparentInvalid,
        Metric::TracestateInvalid,
        Metric::TracestateDuplicatesDropped,
        Metric::TraceresponseInvalid,
        Metric::RequestIdsGenerated,
        Metric::IdGenerationFailures,
        Metric::UnknownRoutePolicy,
        Metric::ResponseHeadersRemoved,
        Metric::HeadersTokenized,
        Metric::BaggageInvalid,
        Metric::BaggageDropped,
        Metric::BaggageTokenized,
        Metric::BaggageOverLimit,
        Metric::ForwardQueryRemoved,
        Metric::TokensMinted,
        Metric::HostHeadersInvalid,
        Metric::DetectorHits(DetectorKind::Email),
        Metric::DetectorHits(DetectorKind::Card),
        Metric::DetectorHits(DetectorKind::Jwt),
        Metric::DetectorHits(DetectorKind::Credential),
        Metric::DetectorHits(DetectorKind::AwsKey),
        Metric::DetectorHits(DetectorKind::Ipv4),
        Metric::DetectorHits(DetectorKind::Ipv6),
        Metric::DetectorHits(DetectorKind::Ssn),
        Metric::DetectorHits(DetectorKind::Phone),
        Metric::DetectorHits(DetectorKind::Iban),
        Metric::DetectorHits(DetectorKind::GenericSecret),
        Metric::DetectorHits(DetectorKind::Custom),
    ];

    /// The stat name, without the `tracesafe.` prefix.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Requests => "requests",
            Metric::HeadersRemoved => "headers_removed",
            Metric::IdentityPeerCertificate => "identity_source.peer_certificate",
            Metric::IdentityLocalCertificate => "identity_source.local_certificate",
            Metric::IdentityXfcc => "identity_source.xfcc",
            Metric::IdentityNodeMetadata => "identity_source.node_metadata",
            Metric::SpoofingStripped => "spoofing_stripped",
            Metric::SpiffeInvalid => "spiffe_invalid",
            Metric::XfccInvalid => "xfcc_invalid",
            Metric::SpansExported => "spans_exported",
            Metric::SpansDropped => "spans_dropped",
            Metric::SpansFailed => "spans_failed",
            Metric::SpansRejected => "spans_rejected",
            Metric::ExportRetries => "export_retries",
            Metric::TracesStarted => "traces_started",
            Metric::TracesContinued => "traces_continued",
            Metric::TracesRestarted => "traces_restarted",
            Metric::TraceparentInvalid => "traceparent_invalid",
            Metric::TracestateInvalid => "tracestate_invalid",
            Metric::TracestateDuplicatesDropped => "tracestate_duplicates_dropped",
            Metric::TraceresponseInvalid => "traceresponse_invalid",
            Metric::RequestIdsGenerated => "request_ids_generated",
            Metric::IdGenerationFailures => "id_generation_failures",
            Metric::UnknownRoutePolicy => "route_policy_unknown",
            Metric::ResponseHeadersRemoved => "response_headers_removed",
            Metric::HeadersTokenized => "headers_tokenized",
            Metric::BaggageInvalid => "baggage_invalid",
            Metric::BaggageDropped => "baggage_dropped",
            Metric::BaggageTokenized => "baggage_tokenized",
            Metric::BaggageOverLimit => "baggage_over_limit",
            Metric::ForwardQueryRemoved => "forward_query_removed",
            Metric::TokensMinted => "tokens_minted",
            Metric::HostHeadersInvalid => "host_headers_invalid",
            Metric::DetectorHits(kind) => match kind {
                DetectorKind::Email => "detector_hits.email",
                DetectorKind::Card => "detector_hits.card",
                DetectorKind::Jwt => "detector_hits.jwt",
                DetectorKind::Credential => "detector_hits.credential",
                DetectorKind::AwsKey => "detector_hits.aws_key",
                DetectorKind::Ipv4 => "detector_hits.ipv4",
                DetectorKind::Ipv6 => "detector_hits.ipv6",
                DetectorKind::Ssn => "detector_hits.ssn",
                DetectorKind::Phone => "detector_hits.phone",
                DetectorKind::Iban => "detector_hits.iban",
                DetectorKind::GenericSecret => "detector_hits.generic_secret",
                DetectorKind::Custom => "detector_hits.custom",
            },
        }
    }
}

/// Counts gathered while processing one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics(Vec<(Metric, u64)>);

impl Metrics {
    /// Room for `n` counters: a request touches a dozen or so, and growing
    /// the list one push at a time costs a reallocation each doubling.
    pub fn with_capacity(n: usize) -> Self {
        Metrics(Vec::with_capacity(n))
    }

    pub fn add(&mut self, metric: Metric, n: u64) {
        if n == 0 {
            return;
        }
        match self.0.iter_mut().find(|(m, _)| *m == metric) {
            Some((_, v)) => *v += n,
            None => self.0.push((metric, n)),
        }
    }

    pub fn get(&self, metric: Metric) -> u64 {
        self.0
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(0, |(_, v)| *v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Metric, u64)> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn adds_up_and_skips_zero() {
        let mut m = Metrics::default();
        m.add(Metric::HeadersRemoved, 2);
        m.add(Metric::HeadersRemoved, 1);
        m.add(Metric::Requests, 0);
        assert_eq!(m.get(Metric::HeadersRemoved), 3);
        assert_eq!(m.iter().count(), 1);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }

    #[test]
    fn every_detector_kind_has_a_counter() {
        for kind in DetectorKind::ALL {
            let m = Metric::DetectorHits(kind);
            assert!(Metric::ALL.contains(&m));
            assert_eq!(m.name(), format!("detector_hits.{}", kind.name()));
        }
    }
}
