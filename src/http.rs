//! The per-request context: read, decide (in `tracesafe_filters`), apply.

use crate::host::{HostProperties, PropertyCache, WasiEntropy};
use crate::stats::Stats;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;
use tracesafe_filters::{Engine, HeaderOp, RequestInput};

pub struct Request {
    engine: Rc<Engine>,
    stats: Rc<Stats>,
    properties: HostProperties,
}

impl Request {
    pub fn new(engine: Rc<Engine>, stats: Rc<Stats>, properties: Rc<PropertyCache>) -> Self {
        Self {
            engine,
            stats,
            properties: HostProperties::new(properties),
        }
    }
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes getters: a client may send non-UTF-8 values, and the String
        // getters would trap on them. One call fetches the whole map.
        let headers = self.get_http_request_headers_bytes();
        let outcome = self.engine.on_request(
            &RequestInput {
                headers: &headers,
                properties: &self.properties,
            },
            &mut WasiEntropy,
        );
        for op in &outcome.ops {
            match op {
                HeaderOp::Remove(name) => self.set_http_request_header(name, None),
                HeaderOp::Set(name, value) => self.set_http_request_header_bytes(name, Some(value)),
            }
        }
        self.stats.record(&outcome.metrics);
        Action::Continue
    }
}
