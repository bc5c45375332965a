//! tracesafe proxy-wasm adapter: host calls only. It reads headers and
//! properties, hands them to `tracesafe_filters`, and applies the result.

mod host;
mod http;
mod stats;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use std::rc::Rc;
use tracesafe_filters::Engine;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Root context: owns the compiled configuration, the stat ids and the
/// properties that are fixed for it.
#[derive(Default)]
struct Root {
    engine: Option<Rc<Engine>>,
    stats: Rc<stats::Stats>,
    properties: Rc<host::PropertyCache>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Engine::from_json(&bytes) {
            Ok(engine) => {
                self.engine = Some(Rc::new(engine));
                self.stats = Rc::new(stats::Stats::define());
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
        Some(Box::new(http::Request::new(
            engine,
            self.stats.clone(),
            self.properties.clone(),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
