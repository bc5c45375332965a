//! Workload identity for spans: the local and peer SPIFFE IDs, taken only
//! from mTLS or trusted configuration, never from anything a client can
//! forge. Headers that claim identity are stripped from untrusted requests.

pub mod spiffe;
pub mod xfcc;

use crate::error::ConfigError;
use crate::host::Properties;
use crate::http::{header_name, Header, HeaderOp};
use crate::identity::spiffe::SpiffeId;
use crate::metrics::{Metric, Metrics};
use schemars::JsonSchema;
use serde::Deserialize;

/// The header tracesafe may set towards the application with the verified
/// peer identity; any incoming copy is a forgery and is always removed.
pub const PEER_HEADER: &str = "x-tracesafe-peer";
const XFCC: &str = "x-forwarded-client-cert";
const PEER_SAN: &[&str] = &["connection", "uri_san_peer_certificate"];
const LOCAL_SAN: &[&str] = &["connection", "uri_san_local_certificate"];

/// `identity`: where identities come from and which headers are stripped.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Sources in priority order; the first that yields a valid SPIFFE ID
    /// wins, separately for the peer and the local workload.
    #[serde(default = "default_sources")]
    pub sources: Vec<IdentitySource>,
    /// Trust domain for identities built from Istio node metadata.
    #[serde(default)]
    pub trust_domain: Option<String>,
    /// Trust `x-forwarded-client-cert` even from a plaintext downstream
    /// (only behind a proxy you control that sanitizes it).
    #[serde(default)]
    pub trust_xfcc: bool,
    /// Set `x-tracesafe-peer: <peer SPIFFE ID>` on the forwarded request.
    #[serde(default)]
    pub forward_peer_header: bool,
    /// More identity-carrying header names to strip from untrusted requests.
    #[serde(default)]
    pub strip_headers: Vec<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            sources: default_sources(),
            trust_domain: None,
            trust_xfcc: false,
            forward_peer_header: false,
            strip_headers: Vec::new(),
        }
    }
}

fn default_sources() -> Vec<IdentitySource> {
    vec![
        IdentitySource::PeerCertificate,
        IdentitySource::LocalCertificate,
        IdentitySource::Xfcc,
        IdentitySource::NodeMetadata,
    ]
}

/// One identity source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// `["connection","uri_san_peer_certificate"]`: the peer.
    PeerCertificate,
    /// `["connection","uri_san_local_certificate"]`: this workload.
    LocalCertificate,
    /// `x-forwarded-client-cert`: `URI=` is the peer, `By=` this workload;
    /// used only on mTLS downstreams or with `trust_xfcc`.
    Xfcc,
    /// Istio node metadata `NAMESPACE` + `SERVICE_ACCOUNT` with `trust_domain`:
    /// this workload.
    NodeMetadata,
}

impl IdentitySource {
    pub fn name(self) -> &'static str {
        match self {
            IdentitySource::PeerCertificate => "peer_certificate",
            IdentitySource::LocalCertificate => "local_certificate",
            IdentitySource::Xfcc => "xfcc",
            IdentitySource::NodeMetadata => "node_metadata",
        }
    }

    fn metric(self) -> Metric {
        match self {
            IdentitySource::PeerCertificate => Metric::IdentityPeerCertificate,
            IdentitySource::LocalCertificate => Metric::IdentityLocalCertificate,
            IdentitySource::Xfcc => Metric::IdentityXfcc,
            IdentitySource::NodeMetadata => Metric::IdentityNodeMetadata,
        }
    }
}

/// The identity settings, compiled.
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicy {
    cfg: IdentityConfig,
    strip: Vec<String>,
}

/// The identities of one request, with where each came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    pub peer: Option<(SpiffeId, IdentitySource)>,
    pub local: Option<(SpiffeId, IdentitySource)>,
}

impl IdentityPolicy {
    pub fn compile(cfg: &IdentityConfig, path: &str) -> Result<Self, ConfigError> {
        if let Some(td) = &cfg.trust_domain {
            // A trust domain only: a path would end up in every local ID.
            SpiffeId::parse(&format!("spiffe://{td}"))
                .ok()
                .filter(|id| id.path().is_empty())
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("{path}.trust_domain"),
                        "not a valid SPIFFE trust domain",
                    )
                })?;
        } else if cfg.sources.contains(&IdentitySource::NodeMetadata) && cfg.sources.len() == 1 {
            return Err(ConfigError::new(
                format!("{path}.trust_domain"),
                "required when node_metadata is the only identity source",
            ));
        }
        let mut strip = vec![PEER_HEADER.to_string()];
        for (i, name) in cfg.strip_headers.iter().enumerate() {
            strip.push(header_name(name, &format!("{path}.strip_headers[{i}]"))?);
        }
        Ok(Self {
            cfg: cfg.clone(),
            strip,
        })
    }

    /// Resolves identities and decides which identity headers to strip.
    pub fn resolve(
        &self,
        headers: &[Header],
        props: &dyn Properties,
        metrics: &mut Metrics,
    ) -> (Identities, Vec<HeaderOp>) {
        let xfcc_values: Vec<&[u8]> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(XFCC))
            .map(|(_, v)| *v)
            .collect();
        let present: Vec<&String> = self
            .strip
            .iter()
            .filter(|name| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
            .collect();
        // The connection is only asked about when a header's fate depends on it.
        let needs_trust = !xfcc_values.is_empty() || present.iter().any(|n| *n != PEER_HEADER);
        let trusted = self.cfg.trust_xfcc || (needs_trust && downstream_mtls(props));
        let mut ops = Vec::new();
        for name in &present {
            if *name == PEER_HEADER || !trusted {
                ops.push(HeaderOp::Remove((*name).clone()));
            }
        }
        if !trusted && !xfcc_values.is_empty() {
            ops.push(HeaderOp::Remove(XFCC.to_string()));
        }
        if !ops.is_empty() {
            metrics.add(Metric::SpoofingStripped, 1);
        }

        let mut ids = Identities::default();
        for &source in &self.cfg.sources {
            let (want_peer, want_local) = (ids.peer.is_none(), ids.local.is_none());
            if !want_peer && !want_local {
                break;
            }
            let tag = |id: Option<SpiffeId>| id.map(|id| (id, source));
            match source {
                IdentitySource::PeerCertificate if want_peer => {
                    ids.peer = tag(Self::read_property(props, PEER_SAN, metrics));
                }
                IdentitySource::LocalCertificate if want_local => {
                    ids.local = tag(Self::read_property(props, LOCAL_SAN, metrics));
                }
                IdentitySource::Xfcc if trusted => {
                    let (peer, local) = Self::read_xfcc(&xfcc_values, metrics);
                    if want_peer {
                        ids.peer = tag(peer);
                    }
                    if want_local {
                        ids.local = tag(local);
                    }
                }
                IdentitySource::NodeMetadata if want_local => {
                    ids.local = tag(self.read_node(props, metrics));
                }
                _ => {}
            }
        }
        for (_, source) in ids.peer.iter().chain(ids.local.iter()) {
            metrics.add(source.metric(), 1);
        }
        if let (true, Some((peer, _))) = (self.cfg.forward_peer_header, &ids.peer) {
            ops.push(HeaderOp::Set(
                PEER_HEADER.to_string(),
                peer.as_str().as_bytes().to_vec(),
            ));
        }
        (ids, ops)
    }

    fn read_property(
        props: &dyn Properties,
        path: &[&str],
        metrics: &mut Metrics,
    ) -> Option<SpiffeId> {
        let raw = props.property(path)?;
        parse_counted(std::str::from_utf8(&raw).ok()?, metrics)
    }

    /// The last element is the one the nearest proxy added: its `URI` is our
    /// direct peer and its `By` is us.
    fn read_xfcc(values: &[&[u8]], metrics: &mut Metrics) -> (Option<SpiffeId>, Option<SpiffeId>) {
        let Some(last_value) = values.last() else {
            return (None, None);
        };
        let Ok(elements) = xfcc::parse(last_value) else {
            metrics.add(Metric::XfccInvalid, 1);
            return (None, None);
        };
        let Some(last) = elements.last() else {
            return (None, None);
        };
        let first_spiffe = |uris: &[String], metrics: &mut Metrics| {
            uris.iter()
                .filter(|u| u.starts_with("spiffe://"))
                .find_map(|u| parse_counted(u, metrics))
        };
        (
            first_spiffe(&last.uri, metrics),
            first_spiffe(&last.by, metrics),
        )
    }

    fn read_node(&self, props: &dyn Properties, metrics: &mut Metrics) -> Option<SpiffeId> {
        let td = self.cfg.trust_domain.as_deref()?;
        let ns = props.property(&["xds", "node", "metadata", "NAMESPACE"])?;
        let sa = props.property(&["xds", "node", "metadata", "SERVICE_ACCOUNT"])?;
        let (ns, sa) = (
            std::str::from_utf8(&ns).ok()?,
            std::str::from_utf8(&sa).ok()?,
        );
        match SpiffeId::from_parts(td, ns, sa) {
            Ok(id) => Some(id),
            Err(_) => {
                metrics.add(Metric::SpiffeInvalid, 1);
                None
            }
        }
    }
}

/// `["connection","mtls"]`: a serialized bool.
fn downstream_mtls(props: &dyn Properties) -> bool {
    props
        .property(&["connection", "mtls"])
        .is_some_and(|v| v.iter().any(|b| *b != 0) && v.as_slice() != b"false")
}

/// Parses a SPIFFE ID, counting (never logging) a malformed one.
fn parse_counted(s: &str, metrics: &mut Metrics) -> Option<SpiffeId> {
    if s.is_empty() {
        return None;
    }
    match SpiffeId::parse(s) {
        Ok(id) => Some(id),
        Err(_) => {
            metrics.add(Metric::SpiffeInvalid, 1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::StaticProperties;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy(json: &str) -> IdentityPolicy {
        let cfg: IdentityConfig = serde_json::from_str(json).unwrap();
        IdentityPolicy::compile(&cfg, "identity").unwrap()
    }

    fn h<'a>(n: &'a str, v: &'a str) -> Header<'a> {
        (n, v.as_bytes())
    }

    const FRONTEND: &str = "spiffe://test.local/ns/shop/sa/frontend";
    const BACKEND: &str = "spiffe://test.local/ns/shop/sa/backend";

    fn mtls_props() -> StaticProperties {
        StaticProperties::default()
            .with(&["connection", "mtls"], vec![1])
            .with(&["connection", "uri_san_peer_certificate"], FRONTEND)
            .with(&["connection", "uri_san_local_certificate"], BACKEND)
    }

    #[test]
    fn certificates_give_peer_and_local() {
        let mut m = Metrics::default();
        let (ids, ops) = policy("{}").resolve(&[], &mtls_props(), &mut m);
        assert_eq!(ids.peer.as_ref().unwrap().0.as_str(), FRONTEND);
        assert_eq!(
            ids.peer.as_ref().unwrap().1,
            IdentitySource::PeerCertificate
        );
        assert_eq!(ids.local.as_ref().unwrap().0.as_str(), BACKEND);
        assert!(ops.is_empty());
        assert_eq!(m.get(Metric::IdentityPeerCertificate), 1);
        assert_eq!(m.get(Metric::IdentityLocalCertificate), 1);
    }

    #[test]
    fn xfcc_from_plaintext_is_stripped_and_ignored() {
        let mut m = Metrics::default();
        let spoof = format!("By={BACKEND};URI=spiffe://test.local/ns/admin/sa/root");
        let headers = [
            h(XFCC, &spoof),
            h(PEER_HEADER, "spiffe://evil/x"),
            h("x-custom-id", "me"),
        ];
        let p = policy(r#"{"strip_headers":["X-Custom-Id"]}"#);
        let (ids, ops) = p.resolve(&headers, &StaticProperties::default(), &mut m);
        assert_eq!(ids.peer, None);
        assert_eq!(ids.local, None);
        assert_eq!(
            ops,
            vec![
                HeaderOp::Remove(PEER_HEADER.into()),
                HeaderOp::Remove("x-custom-id".into()),
                HeaderOp::Remove(XFCC.into()),
            ]
        );
        assert_eq!(m.get(Metric::SpoofingStripped), 1);
    }

    #[test]
    fn xfcc_on_mtls_is_used_after_certificates() {
        let mut m = Metrics::default();
        let xfcc = format!("By=spiffe://other/x;URI=spiffe://other/y,By={BACKEND};Hash=ab;Subject=\"CN=a,O=b\";URI={FRONTEND}");
        let p = policy(r#"{"sources":["xfcc","peer_certificate"]}"#);
        let props = StaticProperties::default().with(&["connection", "mtls"], vec![1]);
        let (ids, ops) = p.resolve(&[h(XFCC, &xfcc)], &props, &mut m);
        assert_eq!(ids.peer.as_ref().unwrap().0.as_str(), FRONTEND);
        assert_eq!(ids.peer.as_ref().unwrap().1, IdentitySource::Xfcc);
        assert_eq!(ids.local.as_ref().unwrap().0.as_str(), BACKEND);
        assert!(ops.is_empty());
    }

    #[test]
    fn trusted_xfcc_without_mtls() {
        let mut m = Metrics::default();
        let p = policy(r#"{"trust_xfcc":true}"#);
        let (ids, ops) = p.resolve(
            &[h(XFCC, &format!("URI={FRONTEND}"))],
            &StaticProperties::default(),
            &mut m,
        );
        assert_eq!(ids.peer.unwrap().0.as_str(), FRONTEND);
        assert!(ops.is_empty());
    }

    #[test]
    fn node_metadata_with_trust_domain() {
        let mut m = Metrics::default();
        let p = policy(r#"{"trust_domain":"cluster.local","sources":["node_metadata"]}"#);
        let props = StaticProperties::default()
            .with(&["xds", "node", "metadata", "NAMESPACE"], "shop")
            .with(&["xds", "node", "metadata", "SERVICE_ACCOUNT"], "cart");
        let (ids, _) = p.resolve(&[], &props, &mut m);
        assert_eq!(
            ids.local.unwrap().0.as_str(),
            "spiffe://cluster.local/ns/shop/sa/cart"
        );
        assert_eq!(m.get(Metric::IdentityNodeMetadata), 1);
    }

    #[test]
    fn malformed_ids_are_ignored_and_counted() {
        let mut m = Metrics::default();
        let props = StaticProperties::default()
            .with(&["connection", "mtls"], vec![1])
            .with(
                &["connection", "uri_san_peer_certificate"],
                "spiffe://BAD/x",
            )
            .with(&["connection", "uri_san_local_certificate"], BACKEND);
        let (ids, _) = policy("{}").resolve(&[], &props, &mut m);
        assert_eq!(ids.peer, None);
        assert_eq!(m.get(Metric::SpiffeInvalid), 1);
        let (_, _) = policy("{}").resolve(&[h(XFCC, "URI=\"open")], &props, &mut m);
        assert_eq!(m.get(Metric::XfccInvalid), 1);
    }

    #[test]
    fn forwards_verified_peer() {
        let mut m = Metrics::default();
        let p = policy(r#"{"forward_peer_header":true}"#);
        let (_, ops) = p.resolve(
            &[h(PEER_HEADER, "spiffe://forged/x")],
            &mtls_props(),
            &mut m,
        );
        assert_eq!(
            ops,
            vec![
                HeaderOp::Remove(PEER_HEADER.into()),
                HeaderOp::Set(PEER_HEADER.into(), FRONTEND.as_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn config_errors() {
        let cfg: IdentityConfig = serde_json::from_str(r#"{"trust_domain":"Bad TD"}"#).unwrap();
        assert_eq!(
            IdentityPolicy::compile(&cfg, "identity").unwrap_err().path,
            "identity.trust_domain"
        );
        let cfg: IdentityConfig =
            serde_json::from_str(r#"{"trust_domain":"cluster.local/ns/admin"}"#).unwrap();
        assert_eq!(
            IdentityPolicy::compile(&cfg, "identity").unwrap_err().path,
            "identity.trust_domain"
        );
        let cfg: IdentityConfig = serde_json::from_str(r#"{"sources":["node_metadata"]}"#).unwrap();
        assert_eq!(
            IdentityPolicy::compile(&cfg, "identity").unwrap_err().path,
            "identity.trust_domain"
        );
        assert!(serde_json::from_str::<IdentityConfig>(r#"{"sources":["header"]}"#).is_err());
    }
}
