//! Span export from the root context: finished spans are queued by the
//! request contexts, and the root's tick and each answer send what the
//! exporter hands out (`dispatch_http_call` or `dispatch_grpc_call`), so
//! export never blocks a request.

use crate::calls;
use crate::stats::Stats;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracesafe_filters::span::export::{Call, Exporter};
use tracesafe_filters::span::SpanRecord;
use tracesafe_filters::Metrics;

/// The exporter shared by the root context and its request contexts (one
/// VM is single-threaded).
#[derive(Clone)]
pub struct SpanSink {
    exporter: Rc<RefCell<Exporter>>,
    stats: Rc<Stats>,
    /// The tick period last set (0: none yet).
    tick_ms: Rc<Cell<u64>>,
}

pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// Host time (`proxy_get_current_time_nanoseconds`).
pub fn now_ns() -> u64 {
    calls::now()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl SpanSink {
    pub fn new(exporter: Exporter, stats: Rc<Stats>) -> Self {
        Self {
            exporter: Rc::new(RefCell::new(exporter)),
            stats,
            tick_ms: Rc::new(Cell::new(0)),
        }
    }

    /// Queues a finished span; a full queue drops it (counted).
    pub fn push(&self, span: SpanRecord) {
        let mut metrics = Metrics::default();
        let tick = match self.exporter.try_borrow_mut() {
            Ok(mut e) => {
                e.push(span, &mut metrics);
                e.tick_ms()
            }
            Err(_) => {
                metrics.add(tracesafe_filters::Metric::SpansDropped, 1);
                self.tick_ms.get()
            }
        };
        // A batch just filled: shorten the tick (one host call per batch).
        if tick != self.tick_ms.get() {
            self.tick_ms.set(tick);
            calls::tick_period(Duration::from_millis(tick));
        }
        self.stats.record_metrics(&metrics);
    }

    /// Called on the root tick and after each answer: makes every call the
    /// exporter has due, then applies the tick period it asks for.
    pub fn flush(&self) {
        let Ok(mut e) = self.exporter.try_borrow_mut() else {
            return;
        };
        let now = now_ms();
        let mut metrics = Metrics::default();
        loop {
            let (id, token) = {
                let Some(out) = e.next(now) else {
                    break;
                };
                let timeout = Duration::from_millis(out.timeout_ms);
                let token = match out.call {
                    Call::Http { cluster, headers } => {
                        calls::dispatch_http(cluster, headers, out.body, timeout)
                    }
                    Call::Grpc {
                        upstream,
                        service,
                        method,
                        metadata,
                    } => {
                        calls::dispatch_grpc(upstream, service, method, metadata, out.body, timeout)
                    }
                };
                (out.id, token.ok())
            };
            e.dispatched(id, token, now, &mut metrics);
        }
        let tick = e.tick_ms();
        if tick != self.tick_ms.get() {
            self.tick_ms.set(tick);
            calls::tick_period(Duration::from_millis(tick));
        }
        self.stats.record_metrics(&metrics);
    }

    /// An OTLP/HTTP answer (`status` `None`: no response).
    pub fn on_http_answer(
        &self,
        token: u32,
        status: Option<u16>,
        retry_after_s: Option<u64>,
        body: &[u8],
    ) {
        let mut metrics = Metrics::default();
        if let Ok(mut e) = self.exporter.try_borrow_mut() {
            e.on_http_answer(token, status, retry_after_s, body, now_ms(), &mut metrics);
        }
        self.stats.record_metrics(&metrics);
        self.flush();
    }

    /// An OTLP/gRPC answer: its status and, when OK, the response message.
    pub fn on_grpc_answer(&self, token: u32, status: u32, message: &[u8]) {
        let mut metrics = Metrics::default();
        if let Ok(mut e) = self.exporter.try_borrow_mut() {
            e.on_grpc_answer(token, status, message, now_ms(), &mut metrics);
        }
        self.stats.record_metrics(&metrics);
        self.flush();
    }
}
