//! AWS X-Ray propagation: `X-Amzn-Trace-Id: Root=1-{8 hex}-{24 hex};
//! Parent={16 hex};Sampled={0|1|?}` plus other `key=value` fields.
//!
//! The W3C trace id is Root's 32 hex digits without the dashes; its first
//! 8 are the epoch seconds the trace began, so X-Ray ids are never random
//! in the W3C sense. Where the AWS text is silent this follows the
//! OpenTelemetry AWS X-Ray propagator (a Parent is required, fields are
//! `;`-separated, spaces around keys and values are ignored). Unlike it,
//! `Sampled=?` (and a missing Sampled) defer the decision to this hop,
//! keys match in any case, and a repeated Root, Parent or Sampled makes
//! the header unusable rather than letting the last one win.

use crate::http::{self as headers, Header, HeaderOp};
use crate::redact::ScanOutcome;
use crate::trace::ids::{self, RemoteSpan, SpanId, TraceId};

pub const HEADER: &str = "x-amzn-trace-id";

const ROOT: &str = "root";
const PARENT: &str = "parent";
const SAMPLED: &str = "sampled";
/// Longest kept field value; AWS's own fields are far shorter.
const MAX_VALUE: usize = 256;

/// A parsed `X-Amzn-Trace-Id`: the caller's span and the other fields in
/// their order, names as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrayHeader {
    pub span: RemoteSpan,
    pub fields: Vec<(String, String)>,
}

/// The caller's X-Ray context; `None` when absent, repeated or malformed.
pub fn extract(headers: &[Header]) -> Option<XrayHeader> {
    match &*headers::values(headers, HEADER) {
        [value] => parse(value),
        _ => None,
    }
}

/// One header value. Root and Parent are required; empty segments (a
/// trailing `;`) are allowed.
pub fn parse(value: &[u8]) -> Option<XrayHeader> {
    let mut trace_id = None;
    let mut span_id = None;
    let mut sampled = None;
    let mut fields = Vec::new();
    for segment in value.split(|c| *c == b';') {
        let segment = segment.trim_ascii();
        if segment.is_empty() {
            continue;
        }
        let eq = segment.iter().position(|c| *c == b'=')?;
        let key = segment.get(..eq)?.trim_ascii();
        let value = segment.get(eq + 1..)?.trim_ascii();
        if !is_valid_key(key) || !is_valid_value(value) {
            return None;
        }
        // Both are printable ASCII by now.
        let key = String::from_utf8_lossy(key).into_owned();
        let lower = key.to_ascii_lowercase();
        let slot_taken = match lower.as_str() {
            ROOT => trace_id.replace(root(value)?).is_some(),
            PARENT => span_id.replace(parent(value)?).is_some(),
            SAMPLED => sampled.replace(sampling(value)?).is_some(),
            _ => {
                fields.push((key, String::from_utf8_lossy(value).into_owned()));
                false
            }
        };
        if slot_taken {
            return None;
        }
    }
    Some(XrayHeader {
        span: RemoteSpan {
            trace_id: trace_id?,
            span_id: span_id?,
            sampled: sampled.flatten(),
        },
        fields,
    })
}

/// `Root=…;Parent=…;Sampled=…` for this hop's span, then the kept fields.
pub fn inject(
    trace_id: &TraceId,
    span_id: &SpanId,
    sampled: bool,
    kept: &[(String, String)],
) -> HeaderOp {
    let hex = ids::to_hex(trace_id);
    let (epoch, unique) = hex.split_at(8);
    let mut out = format!(
        "Root=1-{epoch}-{unique};Parent={};Sampled={}",
        ids::to_hex(span_id),
        u8::from(sampled)
    );
    for (k, v) in kept {
        out.push(';');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    HeaderOp::Set(HEADER.into(), out.into_bytes())
}

/// The incoming fields listed in `keep` (lowercase), each value run through
/// `scan`: a `remove` hit drops the field, a replacement that is no longer
/// a valid value drops it too.
pub fn kept_fields(
    headers: &[Header],
    keep: &[String],
    mut scan: impl FnMut(&str) -> ScanOutcome,
) -> Vec<(String, String)> {
    let Some(incoming) = extract(headers) else {
        return Vec::new();
    };
    incoming
        .fields
        .into_iter()
        .filter(|(k, _)| keep.contains(&k.to_ascii_lowercase()))
        .filter_map(|(k, v)| match scan(&v) {
            ScanOutcome::Clean => Some((k, v)),
            ScanOutcome::Replace(new) if is_valid_value(new.as_bytes()) => Some((k, new)),
            ScanOutcome::Replace(_) | ScanOutcome::Remove => None,
        })
        .collect()
}

/// A new trace id X-Ray accepts: the first 4 bytes are the epoch seconds
/// (big-endian), the other 12 stay random.
pub fn with_epoch(mut trace_id: TraceId, now_ns: u64) -> TraceId {
    let secs = u32::try_from(now_ns / 1_000_000_000).unwrap_or(u32::MAX);
    for (dst, src) in trace_id.iter_mut().zip(secs.to_be_bytes()) {
        *dst = src;
    }
    trace_id
}

/// A field name: 1 to 64 ASCII letters, digits, `-` or `_`. Root, Parent
/// and Sampled are always handled and so cannot be "kept".
pub fn is_valid_key(key: &[u8]) -> bool {
    (1..=64).contains(&key.len())
        && key
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// Whether `key` names a field this module always writes itself.
pub fn is_core_key(key: &str) -> bool {
    [ROOT, PARENT, SAMPLED].contains(&key.to_ascii_lowercase().as_str())
}

/// A field value: printable ASCII without `;`, `=` or surrounding spaces.
fn is_valid_value(value: &[u8]) -> bool {
    value.len() <= MAX_VALUE
        && value
            .iter()
            .all(|c| (0x21..=0x7e).contains(c) && *c != b';' && *c != b'=')
}

/// `1-{8 hex}-{24 hex}`, lowercase, not all zero.
fn root(v: &[u8]) -> Option<TraceId> {
    let [b'1', b'-', rest @ ..] = v else {
        return None;
    };
    let (epoch, unique) = (rest.get(..8)?, rest.get(8..)?);
    let [b'-', unique @ ..] = unique else {
        return None;
    };
    let mut hex = epoch.to_vec();
    hex.extend_from_slice(unique);
    let id: TraceId = ids::from_hex(&hex)?;
    (!ids::is_zero(&id)).then_some(id)
}

fn parent(v: &[u8]) -> Option<SpanId> {
    let id: SpanId = ids::from_hex(v)?;
    (!ids::is_zero(&id)).then_some(id)
}

/// `Some(None)` for `?`: the caller left the decision to this hop.
fn sampling(v: &[u8]) -> Option<Option<bool>> {
    match v {
        b"1" => Some(Some(true)),
        b"0" => Some(Some(false)),
        b"?" => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const ROOT_V: &str = "1-5759e988-bd862e3fe1be46a994272793";
    const TRACE: &str = "5759e988bd862e3fe1be46a994272793";
    const SPAN: &str = "53995c3f42cd8ad8";

    fn span(sampled: Option<bool>) -> RemoteSpan {
        RemoteSpan {
            trace_id: ids::from_hex(TRACE.as_bytes()).unwrap(),
            span_id: ids::from_hex(SPAN.as_bytes()).unwrap(),
            sampled,
        }
    }

    fn p(v: &str) -> Option<XrayHeader> {
        parse(v.as_bytes())
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn aws_documented_forms() {
        let h = p(&format!("Root={ROOT_V};Parent={SPAN};Sampled=1")).unwrap();
        assert_eq!(h.span, span(Some(true)));
        assert!(h.fields.is_empty());
        assert_eq!(
            p(&format!("Root={ROOT_V};Parent={SPAN};Sampled=0"))
                .unwrap()
                .span,
            span(Some(false))
        );
        // Any order, any key case, spaces, a trailing `;`, extra fields.
        let h = p(&format!(
            " sampled=? ; Self=1-67891234-12456789abcdef012345678;PARENT={SPAN}; root = {ROOT_V};Lineage=a87bd80c:1|68fd508a:5;"
        ))
        .unwrap();
        assert_eq!(h.span, span(None));
        assert_eq!(
            h.fields,
            fields(&[
                ("Self", "1-67891234-12456789abcdef012345678"),
                ("Lineage", "a87bd80c:1|68fd508a:5")
            ])
        );
        // No Sampled: deferred, like `?`.
        assert_eq!(
            p(&format!("Root={ROOT_V};Parent={SPAN}")).unwrap().span,
            span(None)
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for v in [
            String::new(),
            format!("Root={ROOT_V}"),
            format!("Parent={SPAN};Sampled=1"),
            format!("Root={ROOT_V};Parent={SPAN};Sampled=2"),
            format!("Root={ROOT_V};Parent={SPAN};Sampled=true"),
            format!("Root=2-5759e988-bd862e3fe1be46a994272793;Parent={SPAN}"),
            format!("Root=1-5759e988bd862e3fe1be46a994272793;Parent={SPAN}"),
            format!("Root=1-5759E988-bd862e3fe1be46a994272793;Parent={SPAN}"),
            format!("Root=1-5759e988-bd862e3fe1be46a99427279;Parent={SPAN}"),
            format!("Root=1-00000000-000000000000000000000000;Parent={SPAN}"),
            format!("Root={ROOT_V};Parent=0000000000000000"),
            format!("Root={ROOT_V};Parent={SPAN}0"),
            format!("Root={ROOT_V};Parent={SPAN};Root={ROOT_V}"),
            format!("Root={ROOT_V};Parent={SPAN};Sampled=1;Sampled=1"),
            format!("Root={ROOT_V};Parent={SPAN};Lineage"),
            format!("Root={ROOT_V};Parent={SPAN};Lineage=a=b"),
            format!("Root={ROOT_V};Parent={SPAN};Line age=1"),
            format!("Root={ROOT_V},Parent={SPAN}"),
        ] {
            assert_eq!(p(&v), None, "{v:?}");
        }
        let v = format!("Root={ROOT_V};Parent={SPAN}");
        let one = (HEADER, v.as_bytes());
        assert!(extract(&[one]).is_some());
        assert_eq!(extract(&[one, one]), None);
    }

    #[test]
    fn injects_root_parent_sampled_then_kept_fields() {
        let t: TraceId = ids::from_hex(TRACE.as_bytes()).unwrap();
        let s: SpanId = ids::from_hex(SPAN.as_bytes()).unwrap();
        assert_eq!(
            inject(&t, &s, true, &[]),
            HeaderOp::Set(
                HEADER.into(),
                format!("Root={ROOT_V};Parent={SPAN};Sampled=1").into_bytes()
            )
        );
        assert_eq!(
            inject(&t, &s, false, &fields(&[("Lineage", "a87bd80c:1")])),
            HeaderOp::Set(
                HEADER.into(),
                format!("Root={ROOT_V};Parent={SPAN};Sampled=0;Lineage=a87bd80c:1").into_bytes()
            )
        );
    }

    #[test]
    fn keeps_only_listed_fields_after_the_scan() {
        let v = format!("Root={ROOT_V};Parent={SPAN};Lineage=a:1;Self=x;Tenant=alice;Note=n");
        let hs = [("X-Amzn-Trace-Id", v.as_bytes())];
        let keep = ["lineage".to_string(), "tenant".into(), "note".into()];
        let got = kept_fields(&hs, &keep, |v| match v {
            "alice" => ScanOutcome::Replace("[REDACTED]".into()),
            "n" => ScanOutcome::Remove,
            _ => ScanOutcome::Clean,
        });
        assert_eq!(got, fields(&[("Lineage", "a:1"), ("Tenant", "[REDACTED]")]));
        assert!(kept_fields(&hs, &[], |_| ScanOutcome::Clean).is_empty());
        // A replacement that is not a valid value drops the field.
        let got = kept_fields(&hs, &keep[..1], |_| ScanOutcome::Replace("a;b".into()));
        assert!(got.is_empty());
    }

    #[test]
    fn new_trace_ids_start_with_the_epoch_seconds() {
        let id = with_epoch([0xab; 16], 1_700_000_000_123_456_789);
        assert_eq!(ids::to_hex(&id), "6553f100abababababababababababab");
        assert_eq!(&ids::to_hex(&id)[..8], format!("{:08x}", 1_700_000_000u32));
    }

    #[test]
    fn field_keys() {
        for k in ["Lineage", "Self", "x-custom_1"] {
            assert!(is_valid_key(k.as_bytes()), "{k}");
        }
        for k in ["", "a b", "a;b", "a=b", &"k".repeat(65)] {
            assert!(!is_valid_key(k.as_bytes()), "{k:?}");
        }
        assert!(is_core_key("ROOT") && is_core_key("parent") && is_core_key("Sampled"));
        assert!(!is_core_key("Lineage"));
    }
}
