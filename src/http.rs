//! The per-request context: read, decide (in `tracesafe_filters`), apply.

use crate::export::{now_ns, SpanSink};
use crate::host::{HostProperties, PropertyCache, WasiEntropy};
use crate::stats::Stats;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;
use tracesafe_filters::span::audit::AuditRecord;
use tracesafe_filters::span::SpanRecord;
use tracesafe_filters::{Engine, HeaderOp, RequestInput, ResponseInput, TraceContext};

pub struct Request {
    engine: Rc<Engine>,
    stats: Rc<Stats>,
    sink: Option<SpanSink>,
    properties: HostProperties,
    /// The policy the request got; the response gets the same one.
    policy: usize,
    /// The request's tenant, so response tokens use the same key.
    tenant: Option<Vec<u8>>,
    /// This hop's span, between request headers and the end of the stream.
    span: Option<SpanRecord>,
    /// This hop's trace context, for the response (`traceresponse`).
    trace: Option<TraceContext>,
    status: Option<u16>,
    /// The audit record, written as filter state once the response's
    /// counts are in.
    audit: Option<AuditRecord>,
}

impl Request {
    pub fn new(
        engine: Rc<Engine>,
        stats: Rc<Stats>,
        sink: Option<SpanSink>,
        properties: Rc<PropertyCache>,
    ) -> Self {
        Self {
            engine,
            stats,
            sink,
            properties: HostProperties::new(properties),
            policy: 0,
            tenant: None,
            span: None,
            trace: None,
            status: None,
            audit: None,
        }
    }

    /// Carries out the engine's header ops through one of the host's
    /// header-map setters (request headers, response headers, trailers).
    fn apply(&self, ops: &[HeaderOp], set: fn(&Self, &str, Option<&[u8]>)) {
        for op in ops {
            match op {
                HeaderOp::Remove(name) => set(self, name, None),
                HeaderOp::Set(name, value) => set(self, name, Some(value)),
            }
        }
    }
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes getters: a client may send non-UTF-8 values, and the String
        // getters would trap on them. One call fetches the whole map.
        let headers = self.get_http_request_headers_bytes();
        #[cfg(feature = "test-trap")]
        crate::test_trap::on_request(&headers);
        let outcome = self.engine.on_request(
            &RequestInput {
                headers: &headers,
                properties: &self.properties,
                now_ns: now_ns(),
            },
            &mut WasiEntropy,
        );
        // A set replaces every field of that name (Envoy's replace-header),
        // which is how duplicate traceparent/tracestate fields collapse.
        self.apply(&outcome.ops, Self::set_http_request_header_bytes);
        for (key, value) in outcome.filter_state() {
            // One path element: Envoy joins elements with NUL, so the key
            // must already be the dotted filter-state name.
            let _ = hostcalls::set_property(vec![key], Some(value.as_bytes()));
        }
        self.stats.record(&outcome);
        self.policy = outcome.policy.index;
        self.tenant = outcome.tenant;
        self.trace = outcome.trace;
        self.audit = outcome.audit;
        if self.sink.is_some() {
            self.span = outcome.span;
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_response_headers_bytes();
        let outcome = self.engine.on_response(
            &ResponseInput {
                headers: &headers,
                tenant: self.tenant.as_deref(),
                policy: self.policy,
                trace: self.trace.as_ref(),
                properties: &self.properties,
            },
            self.span.as_mut(),
        );
        self.apply(&outcome.ops, Self::set_http_response_header_bytes);
        self.status = outcome.status;
        if let Some(record) = self.audit.take().and_then(|a| a.finish(&outcome.metrics)) {
            // Read by the access log: %FILTER_STATE(wasm.tracesafe.audit:PLAIN)%.
            let _ = hostcalls::set_property(vec!["tracesafe.audit"], Some(record.as_bytes()));
        }
        self.stats.record_metrics(&outcome.metrics);
        Action::Continue
    }

    /// gRPC puts its status (and may put `grpc-message` and metadata) in
    /// trailers: they get the response header policy, and the span reads
    /// the status from the original values.
    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        let trailers = self.get_http_response_trailers_bytes();
        let outcome = self.engine.on_response_trailers(
            &ResponseInput {
                headers: &trailers,
                tenant: self.tenant.as_deref(),
                policy: self.policy,
                trace: self.trace.as_ref(),
                properties: &self.properties,
            },
            self.span.as_mut(),
        );
        self.apply(&outcome.ops, Self::set_http_response_trailer_bytes);
        self.stats.record_metrics(&outcome.metrics);
        Action::Continue
    }

    fn on_log(&mut self) {
        if let (Some(mut span), Some(sink)) = (self.span.take(), &self.sink) {
            span.finish(self.status, now_ns());
            sink.push(span);
        }
    }
}
