//! tracesafe proxy-wasm adapter: host calls only. It reads headers and
//! properties, hands them to `tracesafe_filters`, and applies the result.

mod calls;
mod export;
mod host;
#[cfg(feature = "host-call-count")]
mod host_calls;
mod http;
mod stats;
#[cfg(feature = "test-trap")]
mod test_trap;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel, MapType};
use std::rc::Rc;
use tracesafe_filters::span::export::{Exporter, MAX_ANSWER_BYTES};
use tracesafe_filters::span::otlp::Resource;
use tracesafe_filters::Engine;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: tracesafe_filters::alloc::Pool = tracesafe_filters::alloc::Pool::new();

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Root context: owns the compiled configuration, the stat ids and the
/// span exporter.
#[derive(Default)]
struct Root {
    engine: Option<Rc<Engine>>,
    stats: Rc<stats::Stats>,
    sink: Option<export::SpanSink>,
    /// Properties fixed for this root context (see `host::PropertyCache`).
    properties: Rc<host::PropertyCache>,
    /// Random bytes for every request of this root (see `host::WasiEntropy`).
    entropy: host::WasiEntropy,
}

impl Context for Root {
    /// The VM is going away: hand over what the last tick did not.
    fn on_done(&mut self) -> bool {
        self.stats.flush();
        true
    }

    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        body: usize,
        _trailers: usize,
    ) {
        let header = |name: &str| {
            calls::header(MapType::HttpCallResponseHeaders, name)
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let status = header(":status").and_then(|s| u16::try_from(s).ok());
        let retry_after = header("retry-after");
        let body = if body > 0 {
            calls::buffer(BufferType::HttpCallResponseBody, body.min(MAX_ANSWER_BYTES))
        } else {
            Vec::new()
        };
        if let Some(sink) = &self.sink {
            sink.on_http_answer(token, status, retry_after, &body);
        }
    }

    fn on_grpc_call_response(&mut self, token: u32, status: u32, size: usize) {
        // Only an OK answer has a message to read (partial success).
        let message = if status == 0 && size > 0 {
            calls::buffer(BufferType::GrpcReceiveBuffer, size.min(MAX_ANSWER_BYTES))
        } else {
            Vec::new()
        };
        if let Some(sink) = &self.sink {
            sink.on_grpc_answer(token, status, &message);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = calls::buffer(BufferType::PluginConfiguration, usize::MAX);
        #[cfg(feature = "test-trap")]
        let bytes = test_trap::take_flag(bytes);
        // Keys come from the VM environment (Envoy `host_env_keys`), never
        // from the plugin configuration.
        match Engine::from_json_with_env(&bytes, &|name| std::env::var(name).ok()) {
            Ok(engine) => {
                // A previous configuration's counts still go to its ids.
                self.stats.flush();
                self.stats = Rc::new(stats::Stats::define(engine.policy_names()));
                self.sink = engine.export().map(|cfg| {
                    let resource = Resource::for_workload(
                        engine.service(),
                        &host::HostProperties::new(self.properties.clone()),
                    );
                    let exporter =
                        Exporter::new(cfg.clone(), resource, engine.export_headers().clone());
                    let sink = export::SpanSink::new(exporter, self.stats.clone());
                    sink.flush();
                    sink
                });
                // Without export the tick is the stats flush's alone (the
                // sink sets it otherwise, capped at the same period).
                if self.sink.is_none() {
                    calls::tick_period(stats::FLUSH_PERIOD);
                }
                self.engine = Some(Rc::new(engine));
                true
            }
            Err(err) => {
                // Refuse to load: a half-applied redaction policy is worse than none.
                calls::log_error(&format!("tracesafe: {err}"));
                false
            }
        }
    }

    /// Sends due span batches, then hands the summed counter increments
    /// to Envoy (after the sink, so its own counts go in the same flush).
    fn on_tick(&mut self) {
        if let Some(sink) = &self.sink {
            sink.flush();
        }
        self.stats.flush();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let engine = self.engine.clone()?;
        let request = http::Request::new(
            engine,
            self.stats.clone(),
            self.sink.clone(),
            self.properties.clone(),
            self.entropy.clone(),
        );
        #[cfg(feature = "host-call-count")]
        let request = host_calls::Counted::new(request);
        Some(Box::new(request))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
