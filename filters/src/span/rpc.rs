//! gRPC calls on spans, per the OpenTelemetry RPC conventions: a gRPC
//! request (HTTP/2, `content-type: application/grpc…`, path
//! `/{package.Service}/{Method}`) gets `rpc.*` attributes and the span name
//! `{service}/{method}`, and its status comes from `grpc-status`, since gRPC
//! answers HTTP 200 whatever the outcome. (`span::grpc` is unrelated: the
//! OTLP export's own gRPC framing.)

use crate::host::Properties;
use crate::http::{values, Header};
use crate::redact::{Redactor, ScanOutcome, REDACTED};
use crate::span::{AttrValue, Clean, SpanKind, SpanRecord};

pub const RPC_SYSTEM: &str = "rpc.system";
pub const RPC_SERVICE: &str = "rpc.service";
pub const RPC_METHOD: &str = "rpc.method";
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";

/// Longest service or method name taken from a path.
const MAX_NAME: usize = 256;
/// The highest gRPC status code (UNAUTHENTICATED); others read as UNKNOWN.
const MAX_CODE: i64 = 16;
const UNKNOWN: i64 = 2;
/// Codes that make a SERVER span an error: UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. The others are the
/// caller's problem, so only CLIENT spans count them.
const SERVER_ERRORS: &[i64] = &[2, 4, 12, 13, 14, 15];

/// A recognized gRPC call; both names went through the detectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcCall {
    pub service: Clean,
    pub method: Clean,
}

/// `application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...
pub fn is_grpc_content_type(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"application/grpc") else {
        return false;
    };
    matches!(rest.first(), None | Some(b'+' | b';'))
}

/// `[A-Za-z_][A-Za-z0-9_.]*`: a gRPC service or method name.
fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first && s.len() <= MAX_NAME && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.".contains(&b))
}

/// `(service, method)` from `/{service}/{method}`; any other path is not a
/// gRPC call (and is treated like any URL path).
pub fn parse_path(path: &[u8]) -> Option<(&str, &str)> {
    let path = std::str::from_utf8(path).ok()?.strip_prefix('/')?;
    let (service, method) = path.split_once('/')?;
    (is_identifier(service) && is_identifier(method)).then_some((service, method))
}

/// The gRPC call this request makes, if it is one. The protocol property
/// is read only for gRPC content types, so other requests pay nothing.
/// The names go through the span detectors and the secret check: a hit
/// masks (or, for `remove`, replaces) the name.
pub fn recognize(
    headers: &[Header],
    props: &dyn Properties,
    r: &mut Redactor<'_>,
) -> Option<GrpcCall> {
    let first = |name| values(headers, name).first().copied();
    if !is_grpc_content_type(first("content-type")?) {
        return None;
    }
    let (service, method) = parse_path(first(":path")?)?;
    if props.property(&["request", "protocol"]).as_deref() != Some(b"HTTP/2") {
        return None;
    }
    let mut clean = |name: &str| match r.scan_for_span(name) {
        ScanOutcome::Clean => Clean::new(name),
        ScanOutcome::Replace(v) => Clean::new(v),
        ScanOutcome::Remove => Clean::new(REDACTED),
    };
    Some(GrpcCall {
        service: clean(service),
        method: clean(method),
    })
}

/// The status in `grpc-status`, if the headers carry one; a value that is
/// not a known code reads as UNKNOWN, as a gRPC client would.
fn grpc_status(headers: &[Header]) -> Option<i64> {
    let raw = values(headers, "grpc-status").first().copied()?;
    let code = std::str::from_utf8(raw.trim_ascii())
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|c| (0..=MAX_CODE).contains(c));
    Some(code.unwrap_or(UNKNOWN))
}

impl SpanRecord {
    /// Makes this span a gRPC span: name `{service}/{method}` and the
    /// `rpc.*` attributes, which replace the URL path and route (the URL
    /// rules would read a mixed-case service name as an id).
    pub fn set_grpc(&mut self, call: &GrpcCall) {
        self.name = format!("{}/{}", call.service.as_str(), call.method.as_str());
        self.attributes
            .retain(|(k, _)| !matches!(*k, "url.path" | "http.route"));
        let mut s = |k, v: &Clean| self.attributes.push((k, AttrValue::Str(v.as_str().into())));
        s(RPC_SYSTEM, &Clean::new("grpc"));
        s(RPC_SERVICE, &call.service);
        s(RPC_METHOD, &call.method);
    }

    fn is_grpc(&self) -> bool {
        self.attributes
            .iter()
            .any(|(k, v)| *k == RPC_SYSTEM && *v == AttrValue::Str("grpc".into()))
    }

    fn grpc_code(&self) -> Option<i64> {
        self.attributes.iter().find_map(|(k, v)| match v {
            AttrValue::Int(code) if *k == RPC_GRPC_STATUS_CODE => Some(*code),
            _ => None,
        })
    }

    /// Records `rpc.grpc.status_code` from response headers (a
    /// trailers-only response) or trailers, whichever carries it first.
    /// Not a gRPC span: nothing.
    pub fn observe_grpc_status(&mut self, headers: &[Header]) {
        if !self.is_grpc() || self.grpc_code().is_some() {
            return;
        }
        if let Some(code) = grpc_status(headers) {
            self.attributes
                .push((RPC_GRPC_STATUS_CODE, AttrValue::Int(code)));
        }
    }

    /// The span status of a gRPC span (`None`: not one). A call that ended
    /// without `grpc-status` failed.
    pub(crate) fn grpc_error(&self) -> Option<bool> {
        if !self.is_grpc() {
            return None;
        }
        Some(match (self.grpc_code(), self.kind) {
            (None, _) => true,
            (Some(code), SpanKind::Client) => code != 0,
            (Some(code), _) => SERVER_ERRORS.contains(&code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::StaticProperties;
    use crate::identity::Identities;
    use crate::metrics::Metrics;
    use crate::redact::detectors::{Detectors, DetectorsConfig};
    use crate::span::SpanFacts;
    use crate::trace::{Origin, TraceContext};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn hs<'a>(list: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        list.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    fn h2() -> StaticProperties {
        StaticProperties::default().with(&["request", "protocol"], "HTTP/2")
    }

    fn call(headers: &[(&str, &str)], props: &StaticProperties) -> Option<(String, String)> {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        let mut r = Redactor::new(&d, None, Metrics::default());
        recognize(&hs(headers), props, &mut r)
            .map(|c| (c.service.as_str().into(), c.method.as_str().into()))
    }

    #[test]
    fn recognizes_grpc_over_http2_only() {
        let grpc = [
            ("content-type", "application/grpc+proto"),
            (":path", "/shop.v1.Orders/Get"),
        ];
        assert_eq!(
            call(&grpc, &h2()),
            Some(("shop.v1.Orders".into(), "Get".into()))
        );
        let http11 = StaticProperties::default().with(&["request", "protocol"], "HTTP/1.1");
        assert_eq!(call(&grpc, &http11), None);
        assert_eq!(
            call(&[("content-type", "application/grpc-web"), grpc[1]], &h2()),
            None
        );
        assert_eq!(
            call(&[("content-type", "application/json"), grpc[1]], &h2()),
            None
        );
        for path in ["/shop.v1.Orders/Get/x", "/shop/1Get", "/Orders", "/a b/Get"] {
            assert_eq!(call(&[grpc[0], (":path", path)], &h2()), None, "{path}");
        }
    }

    #[test]
    fn names_go_through_the_detectors() {
        let path = "/shop.v1.Orders/ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP";
        assert_eq!(
            call(
                &[("content-type", "application/grpc"), (":path", path)],
                &h2()
            ),
            Some((
                "shop.v1.Orders".into(),
                "[REDACTED:credential:github]".into()
            ))
        );
    }

    fn plain(kind: SpanKind) -> SpanRecord {
        let ctx = TraceContext {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: None,
            flags: 1,
            trace_state: None,
            kind,
            origin: Origin::Started,
            link: None,
        };
        SpanRecord::start(&ctx, 1, SpanFacts::default(), &Identities::default())
    }

    fn span(kind: SpanKind) -> SpanRecord {
        let mut s = plain(kind);
        s.set_grpc(&GrpcCall {
            service: Clean::new("shop.v1.Orders"),
            method: Clean::new("Get"),
        });
        s
    }

    fn finished(kind: SpanKind, headers: &[(&str, &str)], trailers: &[(&str, &str)]) -> SpanRecord {
        let mut s = span(kind);
        s.observe_grpc_status(&hs(headers));
        s.observe_grpc_status(&hs(trailers));
        s.finish(Some(200), 2);
        s
    }

    #[test]
    fn status_from_trailers_or_trailers_only_headers() {
        let s = finished(
            SpanKind::Server,
            &[(":status", "200")],
            &[("grpc-status", "14")],
        );
        assert_eq!(s.name, "shop.v1.Orders/Get");
        assert_eq!(s.grpc_code(), Some(14));
        assert!(s.error);
        let only = finished(
            SpanKind::Server,
            &[("grpc-status", "5")],
            &[("grpc-status", "14")],
        );
        assert_eq!(only.grpc_code(), Some(5), "headers first");
        assert!(!only.error, "NOT_FOUND is the caller's problem on a server");
        assert!(finished(SpanKind::Client, &[("grpc-status", "5")], &[]).error);
        assert!(!finished(SpanKind::Client, &[], &[("grpc-status", "0")]).error);
        let none = finished(SpanKind::Server, &[(":status", "200")], &[]);
        assert_eq!(none.grpc_code(), None);
        assert!(none.error);
        let junk = finished(SpanKind::Client, &[], &[("grpc-status", "99")]);
        assert_eq!(junk.grpc_code(), Some(UNKNOWN));
    }

    #[test]
    fn server_error_codes() {
        for code in 0..=MAX_CODE {
            let s = finished(SpanKind::Server, &[], &[("grpc-status", &code.to_string())]);
            assert_eq!(s.error, [2, 4, 12, 13, 14, 15].contains(&code), "{code}");
        }
    }

    #[test]
    fn plain_http_spans_ignore_grpc_status() {
        let mut s = plain(SpanKind::Client);
        s.observe_grpc_status(&hs(&[("grpc-status", "14")]));
        s.finish(Some(200), 2);
        assert!(!s.error);
        assert!(!s.attributes.iter().any(|(k, _)| *k == RPC_GRPC_STATUS_CODE));
    }
}
