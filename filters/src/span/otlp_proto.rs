//! OTLP protobuf encoding of span batches (`ExportTraceServiceRequest`, for
//! `http/protobuf` and `grpc`), written by hand: a few dozen lines instead of
//! a protobuf runtime in the plugin. The field numbers are those of
//! `opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto`;
//! the span-to-OTLP mapping is the JSON encoder's (`otlp`), so both carry
//! the same spans. Also reads `partial_success.rejected_spans` back.

use crate::span::otlp::{self, Resource};
use crate::span::{AttrValue, SpanRecord};

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// A protobuf writer. Nested messages are written in place: one byte is
/// kept for the length, which fits most messages here (attributes); a
/// longer body is shifted once. Nothing is allocated per message, which
/// matters in the VM, where each allocation and `memory.copy` is a call.
#[derive(Default)]
pub(crate) struct Writer(Vec<u8>);

/// `v` as a varint: the bytes and how many of them are used.
fn varint_bytes(mut v: u64) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut n = 0;
    for slot in out.iter_mut() {
        n += 1;
        if v < 0x80 {
            *slot = v as u8;
            break;
        }
        *slot = (v & 0x7f) as u8 | 0x80;
        v >>= 7;
    }
    (out, n)
}

impl Writer {
    /// An empty writer with room for `bytes`.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self(Vec::with_capacity(bytes))
    }

    fn varint(&mut self, v: u64) {
        // Keys and most lengths: one byte, no copy call.
        if v < 0x80 {
            self.0.push(v as u8);
            return;
        }
        let (bytes, n) = varint_bytes(v);
        self.0.extend_from_slice(bytes.get(..n).unwrap_or_default());
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    pub(crate) fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A string field; proto3 leaves empty ones out.
    pub(crate) fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, VARINT);
            self.varint(v);
        }
    }

    fn fixed32(&mut self, field: u32, v: u32) {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A nested message written by `body`.
    pub(crate) fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        self.key(field, LEN);
        let at = self.0.len();
        self.0.push(0);
        body(self);
        let end = self.0.len();
        let (len, n) = varint_bytes((end - at - 1) as u64);
        if n > 1 {
            self.0.resize(end + n - 1, 0);
            self.0.copy_within(at + 1..end, at + n);
        }
        if let (Some(dst), Some(src)) = (self.0.get_mut(at..at + n), len.get(..n)) {
            dst.copy_from_slice(src);
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string_value = 1;
/// int_value = 3 }`.
fn key_value(w: &mut Writer, field: u32, key: &str, value: &AttrValue) {
    w.message(field, |w| {
        w.string(1, key);
        w.message(2, |w| match value {
            AttrValue::Str(s) => w.bytes(1, s.as_bytes()),
            AttrValue::Int(i) => {
                w.key(3, VARINT);
                w.varint(u64::from_ne_bytes(i.to_ne_bytes()));
            }
        });
    });
}

fn span(w: &mut Writer, s: &SpanRecord) {
    w.message(2, |w| {
        w.bytes(1, &s.trace_id);
        w.bytes(2, &s.span_id);
        if let Some(parent) = &s.parent_span_id {
            w.bytes(4, parent);
        }
        w.string(5, &s.name);
        w.uint(6, u64::from(otlp::kind_code(s.kind)));
        w.fixed64(7, s.start_ns);
        w.fixed64(8, s.end_ns);
        for (k, v) in &s.attributes {
            key_value(w, 9, k, v);
        }
        for l in &s.links {
            w.message(13, |w| {
                w.bytes(1, &l.trace_id);
                w.bytes(2, &l.span_id);
                w.fixed32(6, otlp::link_flags(l));
            });
        }
        // Status { code = 3 }: an empty message when UNSET.
        w.message(15, |w| w.uint(3, u64::from(otlp::status_code(s))));
        w.fixed32(16, otlp::span_flags(s));
    });
}

/// Encodes one `ExportTraceServiceRequest`.
pub fn encode(resource: &Resource, spans: &[SpanRecord]) -> Vec<u8> {
    // About 600 bytes per span of the benchmark's request: one allocation
    // per batch in the common case instead of a doubling series.
    let mut w = Writer::with_capacity(1024 + spans.len() * 640);
    w.message(1, |w| {
        w.message(1, |w| {
            for (k, v) in &resource.attributes {
                w.message(1, |w| {
                    w.string(1, k);
                    w.message(2, |w| w.bytes(1, v.as_bytes()));
                });
            }
        });
        w.message(2, |w| {
            w.message(1, |w| {
                w.string(1, otlp::SCOPE_NAME);
                w.string(2, otlp::SCOPE_VERSION);
            });
            for s in spans {
                span(w, s);
            }
        });
    });
    w.into_bytes()
}

/// One field of a protobuf message: its number and, for varints, the value;
/// for length-delimited fields, the bytes.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Reads the fields of one message; stops at the first malformed byte.
fn fields(mut buf: &[u8]) -> impl Iterator<Item = (u32, Field<'_>)> {
    std::iter::from_fn(move || {
        let key = read_varint(&mut buf)?;
        let field = u32::try_from(key >> 3).ok()?;
        let value = match key & 7 {
            0 => Field::Varint(read_varint(&mut buf)?),
            2 => {
                let len = usize::try_from(read_varint(&mut buf)?).ok()?;
                let (b, rest) = (buf.get(..len)?, buf.get(len..)?);
                buf = rest;
                Field::Bytes(b)
            }
            1 => {
                buf = buf.get(8..)?;
                Field::Fixed
            }
            5 => {
                buf = buf.get(4..)?;
                Field::Fixed
            }
            _ => return None,
        };
        Some((field, value))
    })
}

fn read_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *buf = buf.get(i + 1..)?;
            return Some(v);
        }
    }
    None
}

/// `ExportTraceServiceResponse.partial_success (1).rejected_spans (1)`;
/// 0 when absent or unreadable.
pub fn rejected_spans(body: &[u8]) -> u64 {
    fields(body)
        .filter_map(|(n, f)| match (n, f) {
            (1, Field::Bytes(partial)) => Some(partial),
            _ => None,
        })
        .flat_map(fields)
        .filter_map(|(n, f)| match (n, f) {
            (1, Field::Varint(v)) => Some(v),
            _ => None,
        })
        .last()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::SpanKind;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn hex(b: &[u8]) -> String {
        crate::trace::ids::to_hex(b)
    }

    #[test]
    fn varints() {
        let mut w = Writer::default();
        w.varint(1);
        w.varint(300);
        w.varint(u64::MAX);
        assert_eq!(
            hex(&w.into_bytes()),
            "01ac02ffffffffffffffffff01".to_string()
        );
    }

    /// A sampled SERVER span `GET` from 1 to 2 ns with these ids and attributes.
    fn get_span(
        trace_id: [u8; 16],
        span_id: [u8; 8],
        attributes: Vec<(&'static str, AttrValue)>,
    ) -> SpanRecord {
        SpanRecord {
            trace_id,
            span_id,
            parent_span_id: None,
            flags: 1,
            name: "GET".into(),
            kind: SpanKind::Server,
            start_ns: 1,
            end_ns: 2,
            attributes,
            links: vec![],
            error: false,
        }
    }

    #[test]
    fn exact_span_bytes() {
        let s = get_span([0xab; 16], [0xcd; 8], vec![("n", AttrValue::Int(-1))]);
        let mut w = Writer::default();
        span(&mut w, &s);
        let expected = [
            "124f",                                 // ScopeSpans.spans, 79 bytes
            "0a10abababababababababababababababab", // trace_id
            "1208cdcdcdcdcdcdcdcd",                 // span_id
            "2a03474554",                           // name "GET"
            "3002",                                 // kind SERVER
            "390100000000000000",                   // start_time_unix_nano
            "410200000000000000",                   // end_time_unix_nano
            "4a10",
            "0a016e",
            "120b",
            "18ffffffffffffffffff01", // n = -1
            "7a00",                   // status UNSET
            "850101010000",           // flags 0x101
        ]
        .concat();
        assert_eq!(hex(&w.into_bytes()), expected);
    }

    /// The protobuf and the JSON body, each decoded by the official
    /// `opentelemetry-proto` types, are the same request.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn same_request_as_json() {
        use crate::span::Link;
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;
        let spans = [
            SpanRecord {
                trace_id: [0x4b; 16],
                span_id: [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
                parent_span_id: Some([1; 8]),
                flags: 1,
                name: "GET /x".into(),
                kind: SpanKind::Server,
                start_ns: 1_700_000_000_000_000_000,
                end_ns: 1_700_000_000_000_000_500,
                attributes: vec![
                    ("http.request.method", AttrValue::Str("GET".into())),
                    ("http.response.status_code", AttrValue::Int(500)),
                    ("big", AttrValue::Int(i64::MIN)),
                ],
                links: vec![Link {
                    trace_id: [2; 16],
                    span_id: [3; 8],
                    flags: 1,
                }],
                error: true,
            },
            SpanRecord {
                trace_id: [7; 16],
                span_id: [8; 8],
                parent_span_id: None,
                flags: 0,
                name: "POST".into(),
                kind: SpanKind::Client,
                start_ns: 5,
                end_ns: 6,
                attributes: vec![("url.path", AttrValue::Str("/é".into()))],
                links: vec![],
                error: false,
            },
        ];
        let resource = Resource {
            attributes: vec![
                ("service.name".into(), "shop".into()),
                ("k8s.pod.name".into(), "shop-1".into()),
            ],
        };
        let from_proto =
            ExportTraceServiceRequest::decode(encode(&resource, &spans).as_slice()).unwrap();
        let from_json: ExportTraceServiceRequest =
            serde_json::from_str(&otlp::encode(&resource, &spans)).unwrap();
        assert_eq!(from_proto, from_json);
        let decoded = &from_proto.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(decoded.trace_id, vec![0x4b; 16]);
        assert_eq!(decoded.flags, 0x301);
        assert_eq!(decoded.attributes.len(), 3);
    }

    /// Lengths of one, two and three varint bytes: the body of a nested
    /// message is shifted after it is written when its length needs more
    /// than the one byte kept for it.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn nested_lengths_of_every_width_decode() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        use prost::Message;
        let values = ["a".repeat(100), "b".repeat(200), "c".repeat(20_000)];
        let spans: Vec<SpanRecord> = values
            .iter()
            .map(|v| {
                let attributes = vec![("v", AttrValue::Str(v.clone())), ("n", AttrValue::Int(7))];
                get_span([1; 16], [2; 8], attributes)
            })
            .collect();
        let resource = Resource {
            attributes: vec![("service.name".into(), "shop".into())],
        };
        let decoded =
            ExportTraceServiceRequest::decode(encode(&resource, &spans).as_slice()).unwrap();
        let got: Vec<(String, i64)> = decoded.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| {
                let value = |i: usize| s.attributes[i].value.clone().unwrap().value.unwrap();
                match (value(0), value(1)) {
                    (Value::StringValue(v), Value::IntValue(n)) => (v, n),
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        let want: Vec<(String, i64)> = values.iter().map(|v| (v.clone(), 7)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn reads_rejected_spans() {
        // partial_success { rejected_spans: 3, error_message: "x" }
        assert_eq!(
            rejected_spans(&[0x0a, 0x05, 0x08, 0x03, 0x12, 0x01, b'x']),
            3
        );
        assert_eq!(rejected_spans(&[]), 0);
        assert_eq!(rejected_spans(&[0x0a, 0x00]), 0);
        assert_eq!(rejected_spans(&[0x0a, 0x09, 0x08]), 0, "truncated");
    }
}
