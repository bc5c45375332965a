//! OTLP/gRPC export: the unary `TraceService/Export` call, the Envoy
//! `GrpcService` it goes through, and which gRPC statuses are retried.

use crate::span::otlp_proto::Writer;

pub const SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
pub const METHOD: &str = "Export";

/// gRPC status codes (`google.rpc.Code`).
pub const OK: u32 = 0;
const CANCELLED: u32 = 1;
const DEADLINE_EXCEEDED: u32 = 4;
const ABORTED: u32 = 10;
const OUT_OF_RANGE: u32 = 11;
const UNAVAILABLE: u32 = 14;
const DATA_LOSS: u32 = 15;

/// Whether an OTLP/gRPC export that failed with `code` may be retried, per
/// the OTLP specification's table. RESOURCE_EXHAUSTED is retryable only
/// with a `RetryInfo` detail, which travels in the trailers, and Envoy's
/// unary gRPC callout does not hand trailers to the plugin: so it is not
/// retried here.
pub fn retryable(code: u32) -> bool {
    matches!(
        code,
        CANCELLED | DEADLINE_EXCEEDED | ABORTED | OUT_OF_RANGE | UNAVAILABLE | DATA_LOSS
    )
}

/// The upstream of `dispatch_grpc_call` as a serialized Envoy
/// `GrpcService { envoy_grpc { cluster_name = 1; authority = 2 } }`. A bare
/// cluster name is first tried as such a message by Envoy, and a name that
/// happens to parse makes the call fail; the encoded form cannot. `None`
/// when it would not be ASCII (the host call takes a string): each part
/// must stay under 128 bytes, which `ExportConfig::validate` checks.
pub fn upstream(cluster: &str, authority: Option<&str>) -> Option<String> {
    let mut w = Writer::default();
    w.message(1, |w| {
        w.string(1, cluster);
        if let Some(a) = authority {
            w.string(2, a);
        }
    });
    String::from_utf8(w.into_bytes())
        .ok()
        .filter(|s| s.is_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn retryable_statuses_follow_the_otlp_table() {
        let retried: Vec<u32> = (0..=16).filter(|c| retryable(*c)).collect();
        assert_eq!(retried, vec![1, 4, 10, 11, 14, 15]);
        assert!(!retryable(8), "RESOURCE_EXHAUSTED without RetryInfo");
        assert!(!retryable(OK));
    }

    #[test]
    fn upstream_is_a_grpc_service_message() {
        assert_eq!(upstream("otel", None).unwrap(), "\x0a\x06\x0a\x04otel");
        assert_eq!(
            upstream("c", Some("collector:4317")).unwrap(),
            "\x0a\x13\x0a\x01c\x12\x0ecollector:4317"
        );
        assert_eq!(upstream(&"c".repeat(130), None), None);
    }
}
