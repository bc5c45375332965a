//! tracesafe proxy-wasm adapter: host calls only. It reads headers and
//! properties, hands them to `tracesafe_filters`, and applies the result.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use tracesafe_filters::{Engine, HeaderOp};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Root context: owns the compiled configuration.
#[derive(Default)]
struct Root {
    engine: Option<Rc<Engine>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Engine::from_json(&bytes) {
            Ok(engine) => {
                self.engine = Some(Rc::new(engine));
                true
            }
            Err(err) => {
                // Refuse to load: a half-applied redaction policy is worse than none.
                log::error!("tracesafe: {err}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let engine = self.engine.clone()?;
        Some(Box::new(Request { engine }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Per-request context.
struct Request {
    engine: Rc<Engine>,
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes getters: a client may send non-UTF-8 values, and the String
        // getters would trap on them.
        let headers = self.get_http_request_headers_bytes();
        let outcome = self.engine.on_request_headers(&headers);
        for op in &outcome.ops {
            match op {
                HeaderOp::Remove(name) => self.set_http_request_header(name, None),
                HeaderOp::Set(name, value) => self.set_http_request_header_bytes(name, Some(value)),
            }
        }
        Action::Continue
    }
}
