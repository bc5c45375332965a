//! Span records: what observability gets about a request. Every string in a
//! span is a [`Clean`](crate::redact::Clean) value, which only the sanitizers construct, so raw
//! header bytes cannot reach a span by accident.

pub mod audit;
pub mod export;
pub mod grpc;
pub mod otlp;
pub mod otlp_proto;
pub mod rpc;

use crate::identity::spiffe::SpiffeId;
use crate::identity::Identities;
use crate::metrics::{Metric, Metrics};
use crate::redact::Clean;
use crate::trace::TraceContext;
pub use crate::trace::{Link, SpanKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
}

/// One finished (or in-progress) span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRecord {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    /// W3C trace flags of this span's context.
    pub flags: u8,
    pub name: String,
    pub kind: SpanKind,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<(&'static str, AttrValue)>,
    pub links: Vec<Link>,
    /// OTLP status ERROR (5xx; for gRPC, see `rpc`).
    pub error: bool,
}

/// The sanitized request facts a span is built from.
#[derive(Debug, Clone, Default)]
pub struct SpanFacts {
    pub method: Clean,
    /// The matched route template (`/users/{user}`), when known.
    pub route: Option<Clean>,
    pub path: Option<Clean>,
    pub query: Option<Clean>,
    pub scheme: Option<Clean>,
    pub server_address: Option<Clean>,
    pub user_agent: Option<Clean>,
    pub policy: Clean,
    pub redacted_headers: u64,
    pub redacted_baggage: u64,
    pub tokens: u64,
}

/// Attribute names for identities (no OpenTelemetry convention exists for
/// SPIFFE IDs, so they live under `mesh.`).
pub const PEER_SPIFFE_ID: &str = "mesh.peer.spiffe_id";
pub const LOCAL_SPIFFE_ID: &str = "mesh.local.spiffe_id";
pub const PEER_NAMESPACE: &str = "mesh.peer.namespace";
pub const PEER_SERVICE_ACCOUNT: &str = "mesh.peer.service_account";
pub const LOCAL_SERVICE_ACCOUNT: &str = "mesh.local.service_account";
pub const K8S_NAMESPACE: &str = "k8s.namespace.name";

/// HTTP methods kept verbatim; anything else is `_OTHER`, per the
/// semantic conventions (and so a client cannot smuggle data in it).
const KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// The method as it may appear in a span.
pub fn method(raw: &[u8]) -> Clean {
    Clean::new(
        KNOWN_METHODS
            .iter()
            .find(|m| m.as_bytes() == raw)
            .copied()
            .unwrap_or("_OTHER"),
    )
}

fn peer_attributes(attributes: &mut Vec<(&'static str, AttrValue)>, peer: &SpiffeId) {
    attributes.push((PEER_SPIFFE_ID, AttrValue::Str(peer.to_string())));
    if let Some((ns, sa)) = peer.namespace_and_account() {
        attributes.push((PEER_NAMESPACE, AttrValue::Str(ns.to_string())));
        attributes.push((PEER_SERVICE_ACCOUNT, AttrValue::Str(sa.to_string())));
    }
}

/// `server.address` from `:authority`: the host only (no userinfo, no
/// port), and only if it looks like a host name or IP literal, since the
/// authority is client-controlled.
pub fn server_address(authority: &[u8]) -> Option<Clean> {
    let text = std::str::from_utf8(authority).ok()?;
    let host_port = text.rsplit_once('@').map_or(text, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']').map(|(h, _)| h)?
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
    ok.then(|| Clean::new(host.to_ascii_lowercase()))
}

/// `url.scheme`: only the two schemes HTTP has.
pub fn scheme(raw: &[u8]) -> Option<Clean> {
    match raw {
        b"http" | b"https" => Some(Clean::new(String::from_utf8_lossy(raw))),
        _ => None,
    }
}

impl SpanRecord {
    /// Starts this hop's span at request headers: its ids are the ones
    /// forwarded in traceparent, its parent the incoming context, and a
    /// restarted trace links to the discarded one.
    pub fn start(
        ctx: &TraceContext,
        start_ns: u64,
        facts: SpanFacts,
        identities: &Identities,
    ) -> Self {
        let method = facts.method.as_str();
        let name = match &facts.route {
            Some(route) => [method, " ", route.as_str()].concat(),
            None => method.to_string(),
        };
        let mut attributes: Vec<(&'static str, AttrValue)> = Vec::with_capacity(20);
        attributes.push((
            "http.request.method",
            AttrValue::Str(facts.method.into_string()),
        ));
        let optional = [
            ("http.route", facts.route),
            ("url.path", facts.path),
            ("url.query", facts.query),
            ("url.scheme", facts.scheme),
            ("server.address", facts.server_address),
            ("user_agent.original", facts.user_agent),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                attributes.push((k, AttrValue::Str(v.into_string())));
            }
        }
        if let Some((peer, _)) = &identities.peer {
            peer_attributes(&mut attributes, peer);
        }
        let mut s = |k: &'static str, v: &str| attributes.push((k, AttrValue::Str(v.to_string())));
        if let Some((local, _)) = &identities.local {
            s(LOCAL_SPIFFE_ID, local.as_str());
            if let Some((ns, sa)) = local.namespace_and_account() {
                s(K8S_NAMESPACE, ns);
                s(LOCAL_SERVICE_ACCOUNT, sa);
            }
        }
        attributes.push((
            "tracesafe.policy",
            AttrValue::Str(facts.policy.into_string()),
        ));
        let counts = [
            ("tracesafe.redacted.headers", facts.redacted_headers),
            ("tracesafe.redacted.baggage", facts.redacted_baggage),
            ("tracesafe.redacted.tokens", facts.tokens),
        ];
        for (k, n) in counts {
            attributes.push((k, AttrValue::Int(i64::try_from(n).unwrap_or(i64::MAX))));
        }
        SpanRecord {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            parent_span_id: ctx.parent_span_id,
            flags: ctx.flags,
            name,
            kind: ctx.kind,
            start_ns,
            end_ns: start_ns,
            attributes,
            links: ctx.link.into_iter().collect(),
            error: false,
        }
    }

    /// Stamps the server's identity on a CLIENT span: the URI SAN of the
    /// upstream certificate, known once the upstream mTLS handshake is done
    /// (`["upstream","uri_san_peer_certificate"]`). Malformed ids are
    /// counted and ignored.
    pub fn set_upstream_peer(&mut self, raw: &[u8], metrics: &mut Metrics) {
        let has_peer = self.attributes.iter().any(|(k, _)| *k == PEER_SPIFFE_ID);
        if self.kind != SpanKind::Client || has_peer || raw.is_empty() {
            return;
        }
        match std::str::from_utf8(raw).ok().map(SpiffeId::parse) {
            Some(Ok(peer)) => peer_attributes(&mut self.attributes, &peer),
            _ => metrics.add(Metric::SpiffeInvalid, 1),
        }
    }

    /// Ends the span with the response status (`None` when the stream ended
    /// without a response, which is an error too).
    pub fn finish(&mut self, status: Option<u16>, end_ns: u64) {
        self.end_ns = end_ns.max(self.start_ns);
        match status {
            Some(code) => {
                self.attributes
                    .push(("http.response.status_code", AttrValue::Int(i64::from(code))));
                self.error = code >= 500;
            }
            None => self.error = true,
        }
        if let Some(error) = self.grpc_error() {
            self.error = error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::spiffe::SpiffeId;
    use crate::identity::IdentitySource;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ctx(kind: SpanKind) -> TraceContext {
        TraceContext {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: Some([3; 8]),
            flags: 1,
            trace_state: None,
            kind,
            origin: crate::trace::Origin::Started,
            link: None,
        }
    }

    #[test]
    fn server_address_and_scheme() {
        assert_eq!(
            server_address(b"Shop.Example:8443").unwrap().as_str(),
            "shop.example"
        );
        assert_eq!(server_address(b"user:pw@host").unwrap().as_str(), "host");
        assert_eq!(server_address(b"[::1]:80").unwrap().as_str(), "::1");
        assert_eq!(server_address(b"a b"), None);
        assert_eq!(server_address(b"a/b"), None);
        assert_eq!(scheme(b"https").unwrap().as_str(), "https");
        assert_eq!(scheme(b"javascript"), None);
    }

    #[test]
    fn method_normalisation() {
        assert_eq!(method(b"GET").as_str(), "GET");
        assert_eq!(method(b"get").as_str(), "_OTHER");
        assert_eq!(method(b"SECRET-alice@example.com").as_str(), "_OTHER");
    }

    #[test]
    fn builds_attributes_and_name() {
        let facts = SpanFacts {
            method: method(b"POST"),
            route: Some(Clean::new("/users/{user}")),
            path: Some(Clean::new("/users/tk.k1.abc")),
            policy: Clean::new("default"),
            redacted_headers: 2,
            ..SpanFacts::default()
        };
        let identities = Identities {
            peer: Some((
                SpiffeId::parse("spiffe://td/ns/shop/sa/frontend").unwrap(),
                IdentitySource::PeerCertificate,
            )),
            local: Some((
                SpiffeId::parse("spiffe://td/ns/shop/sa/backend").unwrap(),
                IdentitySource::LocalCertificate,
            )),
        };
        let mut span = SpanRecord::start(&ctx(SpanKind::Server), 10, facts, &identities);
        span.finish(Some(503), 25);
        assert_eq!(span.name, "POST /users/{user}");
        assert!(span.error);
        assert_eq!(span.end_ns, 25);
        let get = |k: &str| {
            span.attributes
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            get("url.path"),
            Some(AttrValue::Str("/users/tk.k1.abc".into()))
        );
        assert_eq!(
            get(PEER_SPIFFE_ID),
            Some(AttrValue::Str("spiffe://td/ns/shop/sa/frontend".into()))
        );
        assert_eq!(
            get(PEER_SERVICE_ACCOUNT),
            Some(AttrValue::Str("frontend".into()))
        );
        assert_eq!(get(K8S_NAMESPACE), Some(AttrValue::Str("shop".into())));
        assert_eq!(get("http.response.status_code"), Some(AttrValue::Int(503)));
        assert_eq!(get("tracesafe.redacted.headers"), Some(AttrValue::Int(2)));
        assert_eq!(get("url.query"), None);
    }

    #[test]
    fn client_spans_get_the_upstream_peer() {
        let facts = SpanFacts::default();
        let mut m = Metrics::default();
        let mut client = SpanRecord::start(
            &ctx(SpanKind::Client),
            1,
            facts.clone(),
            &Identities::default(),
        );
        client.set_upstream_peer(b"spiffe://td/ns/shop/sa/backend", &mut m);
        client.set_upstream_peer(b"spiffe://td/ns/other/sa/x", &mut m);
        let peers: Vec<_> = client
            .attributes
            .iter()
            .filter(|(k, _)| *k == PEER_SPIFFE_ID)
            .collect();
        assert_eq!(peers.len(), 1, "first verified peer wins");
        assert_eq!(
            peers[0].1,
            AttrValue::Str("spiffe://td/ns/shop/sa/backend".into())
        );
        let mut server = SpanRecord::start(
            &ctx(SpanKind::Server),
            1,
            facts.clone(),
            &Identities::default(),
        );
        server.set_upstream_peer(b"spiffe://td/ns/shop/sa/backend", &mut m);
        assert!(!server.attributes.iter().any(|(k, _)| *k == PEER_SPIFFE_ID));
        let mut bad = SpanRecord::start(&ctx(SpanKind::Client), 1, facts, &Identities::default());
        bad.set_upstream_peer(b"spiffe://BAD/x", &mut m);
        assert_eq!(m.get(Metric::SpiffeInvalid), 1);
    }

    #[test]
    fn name_without_route_is_the_method() {
        let facts = SpanFacts {
            method: method(b"GET"),
            ..SpanFacts::default()
        };
        let mut span = SpanRecord::start(&ctx(SpanKind::Client), 10, facts, &Identities::default());
        span.finish(Some(404), 5);
        assert_eq!(span.name, "GET");
        assert!(!span.error);
        assert_eq!(span.end_ns, 10, "end never precedes start");
        span.finish(None, 11);
        assert!(span.error);
    }
}
