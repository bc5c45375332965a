//! tracesafe's OTLP JSON, decoded by the official `opentelemetry-proto`
//! serde types: field names, hex ids, integer enums and string int64s.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tracesafe_filters::otlp::{encode, Resource};
use tracesafe_filters::span::{AttrValue, Link, SpanKind, SpanRecord};

#[test]
fn official_types_decode_our_json() {
    let span = SpanRecord {
        trace_id: [0xab; 16],
        span_id: [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        parent_span_id: Some([0x11; 8]),
        flags: 3,
        name: "GET /users/{user}".into(),
        kind: SpanKind::Client,
        start_ns: 1_763_000_000_123_456_789,
        end_ns: 1_763_000_000_223_456_789,
        attributes: vec![
            ("url.path", AttrValue::Str("/users/tk.k1.x".into())),
            ("http.response.status_code", AttrValue::Int(502)),
        ],
        links: vec![Link {
            trace_id: [0xcd; 16],
            span_id: [0x22; 8],
            flags: 1,
        }],
        error: true,
    };
    let resource = Resource {
        attributes: vec![("service.name".into(), "frontend".into())],
    };
    let body = encode(&resource, &[span]);
    let req: ExportTraceServiceRequest = serde_json::from_str(&body).unwrap();
    let rs = &req.resource_spans[0];
    let res_attr = &rs.resource.as_ref().unwrap().attributes[0];
    assert_eq!(res_attr.key, "service.name");
    let s = &rs.scope_spans[0].spans[0];
    assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "tracesafe");
    assert_eq!(s.trace_id, vec![0xab; 16]);
    assert_eq!(s.span_id, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(s.parent_span_id, vec![0x11; 8]);
    assert_eq!(s.flags, 0x303);
    assert_eq!(s.kind, 3);
    assert_eq!(s.start_time_unix_nano, 1_763_000_000_123_456_789);
    assert_eq!(s.end_time_unix_nano, 1_763_000_000_223_456_789);
    assert_eq!(s.status.as_ref().unwrap().code, 2);
    assert_eq!(s.links[0].trace_id, vec![0xcd; 16]);
    let attr = |k: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key == k)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    assert_eq!(
        attr("url.path"),
        Some(Value::StringValue("/users/tk.k1.x".into()))
    );
    assert_eq!(
        attr("http.response.status_code"),
        Some(Value::IntValue(502))
    );
}
