//! The per-request context: read, decide (in `tracesafe_filters`), apply.

use crate::calls;
use crate::export::{now_ns, SpanSink};
use crate::host::{HostProperties, PropertyCache, WasiEntropy};
use crate::stats::Stats;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};
use std::rc::Rc;
use tracesafe_filters::header_map::HeaderMap;
use tracesafe_filters::span::audit::AuditRecord;
use tracesafe_filters::span::SpanRecord;
use tracesafe_filters::{
    Engine, Header, HeaderOp, RequestInput, ResponseInput, ResponseOutcome, ResponseRead,
    TraceContext,
};

/// [`Engine::on_response`] or [`Engine::on_response_trailers`].
type ResponsePhase = fn(&Engine, &ResponseInput<'_>, Option<&mut SpanRecord>) -> ResponseOutcome;

pub struct Request {
    engine: Rc<Engine>,
    stats: Rc<Stats>,
    sink: Option<SpanSink>,
    properties: HostProperties,
    entropy: WasiEntropy,
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
        entropy: WasiEntropy,
    ) -> Self {
        Self {
            engine,
            stats,
            sink,
            properties: HostProperties::new(properties),
            entropy,
            policy: 0,
            tenant: None,
            span: None,
            trace: None,
            status: None,
            audit: None,
        }
    }

    /// Carries out the engine's header ops on one of the host's header
    /// maps (request headers, response headers, trailers).
    fn apply(ops: &[HeaderOp], map: MapType) {
        for op in ops {
            match op {
                HeaderOp::Remove(name) => calls::set_header(map, name, None),
                HeaderOp::Set(name, value) => calls::set_header(map, name, Some(value)),
            }
        }
    }

    /// Runs one of the engine's response phases (headers or trailers) on
    /// `headers`, with what the request left for the response, and applies
    /// its header ops to `map`.
    fn response_phase(
        &mut self,
        headers: &[Header],
        phase: ResponsePhase,
        map: MapType,
    ) -> ResponseOutcome {
        let outcome = phase(
            &self.engine,
            &ResponseInput {
                headers,
                tenant: self.tenant.as_deref(),
                policy: self.policy,
                trace: self.trace.as_ref(),
                properties: &self.properties,
            },
            self.span.as_mut(),
        );
        Self::apply(&outcome.ops, map);
        outcome
    }

    /// The engine's response phase on the response headers it asked for.
    fn respond(&mut self, headers: &[Header]) {
        let outcome =
            self.response_phase(headers, Engine::on_response, MapType::HttpResponseHeaders);
        self.status = outcome.status;
        if let Some(record) = self.audit.take().and_then(|a| a.finish(&outcome.metrics)) {
            // Read by the access log: %FILTER_STATE(wasm.tracesafe.audit:PLAIN)%.
            calls::set_property("tracesafe.audit", record.as_bytes());
        }
        self.stats.record_metrics(&outcome.metrics);
    }
}

/// The fields of one map, counting what could not be read.
fn read_headers<'a>(buf: &'a Option<Vec<u8>>, stats: &Stats) -> HeaderMap<'a> {
    let map = buf
        .as_deref()
        .map_or_else(HeaderMap::unreadable, HeaderMap::parse);
    if map.invalid > 0 {
        stats.record_metrics(&map.metrics());
    }
    map
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // One call fetches the whole map into one buffer; the engine
        // borrows names and values from it. Values stay bytes: a client may
        // send non-UTF-8 values.
        let buf = calls::header_map(MapType::HttpRequestHeaders);
        let map = read_headers(&buf, &self.stats);
        #[cfg(feature = "test-trap")]
        crate::test_trap::on_request(&map.headers);
        let outcome = self.engine.on_request(
            &RequestInput {
                headers: &map.headers,
                properties: &self.properties,
                now_ns: now_ns(),
            },
            &mut self.entropy,
        );
        // A set replaces every field of that name (Envoy's replace-header),
        // which is how duplicate traceparent/tracestate fields collapse.
        Self::apply(&outcome.ops, MapType::HttpRequestHeaders);
        for (key, value) in outcome.filter_state() {
            // One path element: Envoy joins elements with NUL, so the key
            // must already be the dotted filter-state name.
            calls::set_property(key, value.as_bytes());
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
        // Fetching the map is the costly host call: only when the engine
        // will look at it.
        let present = |name| calls::header(MapType::HttpResponseHeaders, name).is_some();
        match self.engine.response_read(self.policy, self.span.as_ref()) {
            ResponseRead::IfPresent(probe) if !present(probe) => {}
            ResponseRead::Probe(probe) if !present(probe) => self.respond(&[]),
            _ => {
                let buf = calls::header_map(MapType::HttpResponseHeaders);
                self.respond(&read_headers(&buf, &self.stats).headers);
            }
        }
        Action::Continue
    }

    /// gRPC puts its status (and may put `grpc-message` and metadata) in
    /// trailers: they get the response header policy, and the span reads
    /// the status from the original values.
    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        if !self.engine.reads_trailers(self.policy, self.span.as_ref()) {
            return Action::Continue;
        }
        let buf = calls::header_map(MapType::HttpResponseTrailers);
        let map = read_headers(&buf, &self.stats);
        let outcome = self.response_phase(
            &map.headers,
            Engine::on_response_trailers,
            MapType::HttpResponseTrailers,
        );
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
