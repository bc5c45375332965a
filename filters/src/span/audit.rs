//! Audit records for a SIEM: one compact JSON object per request, which the
//! adapter stores as filter state `wasm.tracesafe.audit` and Envoy's access
//! log ships (`%FILTER_STATE(wasm.tracesafe.audit:PLAIN)%`). A record holds
//! counts, names and ids only: never a header, baggage or query value, and
//! no path except the route template, so shipping it cannot leak what the
//! filter removed. Schema: docs/audit.schema.json.

use crate::identity::Identities;
use crate::metrics::{Metric, Metrics};
use crate::redact::detectors::DetectorKind;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// `audit`: whether requests get an audit record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    #[serde(default)]
    pub mode: AuditMode,
}

/// `audit.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditMode {
    /// No records.
    #[default]
    Off,
    /// Only requests with a detector hit, stripped identity headers
    /// (spoofing) or invalid trace context, baggage or identity input.
    Findings,
    /// Every request.
    Always,
}

/// Where a detector found something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Carrier {
    TraceContext,
    RequestHeaders,
    Baggage,
    Url,
    ResponseHeaders,
}

impl Carrier {
    pub fn name(self) -> &'static str {
        match self {
            Carrier::TraceContext => "trace_context",
            Carrier::RequestHeaders => "request_headers",
            Carrier::Baggage => "baggage",
            Carrier::Url => "url",
            Carrier::ResponseHeaders => "response_headers",
        }
    }
}

/// Detector hits per carrier: the request is redacted carrier by carrier,
/// and each [`CarrierHits::mark`] attributes the hits counted since the
/// previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarrierHits {
    seen: Vec<(DetectorKind, u64)>,
    hits: Vec<(Carrier, DetectorKind, u64)>,
}

impl CarrierHits {
    /// Attributes to `carrier` the detector hits in `metrics` not yet
    /// attributed.
    pub fn mark(&mut self, carrier: Carrier, metrics: &Metrics) {
        for kind in DetectorKind::ALL {
            let total = metrics.get(Metric::DetectorHits(kind));
            let before = self
                .seen
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(0, |(_, n)| *n);
            if total > before {
                self.hits.push((carrier, kind, total - before));
                self.seen.retain(|(k, _)| *k != kind);
                self.seen.push((kind, total));
            }
        }
    }
}

/// Counters copied into the record, by field name.
const COUNTS: &[(&str, Metric)] = &[
    ("tokens_minted", Metric::TokensMinted),
    ("headers_removed", Metric::HeadersRemoved),
    ("baggage_dropped", Metric::BaggageDropped),
    ("response_headers_removed", Metric::ResponseHeadersRemoved),
    ("spoofing_stripped", Metric::SpoofingStripped),
];

/// Invalid input, by field name of `invalid`.
const INVALID: &[(&str, Metric)] = &[
    ("traceparent", Metric::TraceparentInvalid),
    ("tracestate", Metric::TracestateInvalid),
    ("traceresponse", Metric::TraceresponseInvalid),
    ("baggage", Metric::BaggageInvalid),
    ("xfcc", Metric::XfccInvalid),
    ("spiffe_id", Metric::SpiffeInvalid),
];

/// A request's record, built at request headers and completed with the
/// response's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRecord {
    mode: AuditMode,
    trace_id: Option<String>,
    policy: String,
    direction: Option<&'static str>,
    route: Option<String>,
    peer: Option<String>,
    local: Option<String>,
    hits: CarrierHits,
    metrics: Metrics,
}

impl AuditRecord {
    /// The request side. `route` is the matched URL template, the only
    /// part of the URL a record may hold.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mode: AuditMode,
        trace_id: Option<String>,
        policy: &str,
        direction: Option<&'static str>,
        route: Option<String>,
        identities: &Identities,
        hits: CarrierHits,
        metrics: &Metrics,
    ) -> Self {
        Self {
            mode,
            trace_id,
            policy: policy.to_string(),
            direction,
            route,
            peer: identities.peer.as_ref().map(|(id, _)| id.to_string()),
            local: identities.local.as_ref().map(|(id, _)| id.to_string()),
            hits,
            metrics: metrics.clone(),
        }
    }

    /// Adds the response's counters (response header detector hits,
    /// removals, invalid traceresponse).
    pub fn respond(&mut self, response: &Metrics) {
        for (metric, n) in response.iter() {
            self.metrics.add(metric, n);
        }
        self.hits.mark(Carrier::ResponseHeaders, &self.metrics);
    }

    /// The record with the response's counters, as the adapter writes it;
    /// `None` when the mode says this request gets none.
    pub fn finish(mut self, response: &Metrics) -> Option<String> {
        self.respond(response);
        self.to_json()
    }

    /// Whether this request is worth a record under `findings`.
    fn has_findings(&self) -> bool {
        !self.hits.hits.is_empty()
            || self.metrics.get(Metric::SpoofingStripped) > 0
            || INVALID.iter().any(|(_, m)| self.metrics.get(*m) > 0)
    }

    /// The record's JSON (compact, one line), or `None` when the mode says
    /// this request gets none.
    pub fn to_json(&self) -> Option<String> {
        let write = match self.mode {
            AuditMode::Off => false,
            AuditMode::Findings => self.has_findings(),
            AuditMode::Always => true,
        };
        write.then(|| self.value().to_string())
    }

    fn value(&self) -> Value {
        let mut hits: Map<String, Value> = Map::new();
        for (carrier, kind, n) in &self.hits.hits {
            let per = hits
                .entry(carrier.name())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(per) = per {
                let now = per.get(kind.name()).and_then(Value::as_u64).unwrap_or(0);
                per.insert(kind.name().into(), json!(now + n));
            }
        }
        let mut identities = Map::new();
        if let Some(peer) = &self.peer {
            identities.insert("peer".into(), json!(peer));
        }
        if let Some(local) = &self.local {
            identities.insert("local".into(), json!(local));
        }
        let invalid: Map<String, Value> = INVALID
            .iter()
            .filter(|(_, m)| self.metrics.get(*m) > 0)
            .map(|(name, m)| ((*name).to_string(), json!(self.metrics.get(*m))))
            .collect();
        let mut out = json!({
            "version": 1,
            "trace_id": self.trace_id,
            "policy": self.policy,
            "direction": self.direction,
            "route": self.route,
            "identities": identities,
            "detector_hits": hits,
            "invalid": invalid,
        });
        if let Value::Object(map) = &mut out {
            for (name, metric) in COUNTS {
                map.insert((*name).into(), json!(self.metrics.get(*metric)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn record(mode: AuditMode, metrics: &Metrics, hits: CarrierHits) -> AuditRecord {
        AuditRecord::new(
            mode,
            Some("0af7651916cd43dd8448eb211c80319c".into()),
            "default",
            Some("inbound"),
            None,
            &Identities::default(),
            hits,
            metrics,
        )
    }

    #[test]
    fn hits_are_attributed_to_the_carrier_that_was_scanned() {
        let mut m = Metrics::default();
        let mut hits = CarrierHits::default();
        m.add(Metric::DetectorHits(DetectorKind::Email), 1);
        hits.mark(Carrier::RequestHeaders, &m);
        hits.mark(Carrier::Baggage, &m);
        m.add(Metric::DetectorHits(DetectorKind::Email), 2);
        m.add(Metric::DetectorHits(DetectorKind::Card), 1);
        hits.mark(Carrier::Url, &m);
        let mut r = record(AuditMode::Always, &m, hits);
        let mut resp = Metrics::default();
        resp.add(Metric::DetectorHits(DetectorKind::Card), 1);
        resp.add(Metric::ResponseHeadersRemoved, 1);
        r.respond(&resp);
        let v: Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({
                "version": 1, "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "policy": "default", "direction": "inbound", "route": null,
                "identities": {},
                "detector_hits": {
                    "request_headers": {"email": 1},
                    "url": {"email": 2, "card": 1},
                    "response_headers": {"card": 1}
                },
                "invalid": {},
                "tokens_minted": 0, "headers_removed": 0, "baggage_dropped": 0,
                "response_headers_removed": 1, "spoofing_stripped": 0
            })
        );
    }

    #[test]
    fn findings_mode_writes_only_requests_with_findings() {
        let quiet = Metrics::default();
        assert_eq!(
            record(AuditMode::Findings, &quiet, CarrierHits::default()).to_json(),
            None
        );
        assert!(record(AuditMode::Always, &quiet, CarrierHits::default())
            .to_json()
            .is_some());
        assert_eq!(
            record(AuditMode::Off, &quiet, CarrierHits::default()).to_json(),
            None
        );
        for metric in [
            Metric::SpoofingStripped,
            Metric::TraceparentInvalid,
            Metric::BaggageInvalid,
        ] {
            let mut m = Metrics::default();
            m.add(metric, 1);
            assert!(record(AuditMode::Findings, &m, CarrierHits::default())
                .to_json()
                .is_some());
        }
        let mut m = Metrics::default();
        m.add(Metric::TokensMinted, 3);
        assert_eq!(
            record(AuditMode::Findings, &m, CarrierHits::default()).to_json(),
            None
        );
    }
}
