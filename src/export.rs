//! Span export from the root context: finished spans are queued by the
//! request contexts, and the root's tick and each answer send what the
//! exporter hands out (`dispatch_http_call` or `dispatch_grpc_call`), so
//! export never blocks a request.

use crate::calls;
use crate::stats::{self, Stats};
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
    /// The tick period last set (zero: none yet).
    tick: Rc<Cell<Duration>>,
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
            tick: Rc::new(Cell::new(Duration::ZERO)),
        }
    }

    /// Queues a finished span; a full queue drops it (counted).
    pub fn push(&self, span: SpanRecord) {
        let mut metrics = Metrics::default();
        match self.exporter.try_borrow_mut() {
            Ok(mut e) => {
                e.push(span, &mut metrics);
                // A batch just filled: shorten the tick (one host call per batch).
                self.set_tick(e.tick_ms());
            }
            Err(_) => metrics.add(tracesafe_filters::Metric::SpansDropped, 1),
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
        self.set_tick(e.tick_ms());
        self.stats.record_metrics(&metrics);
    }

    /// Sets the root's tick to what the exporter asks for, but never longer
    /// than the stats flush period: one tick serves both. A host call only
    /// when the period changes.
    fn set_tick(&self, exporter_ms: u64) {
        let period = Duration::from_millis(exporter_ms).min(stats::FLUSH_PERIOD);
        if period != self.tick.get() {
            self.tick.set(period);
            calls::tick_period(period);
        }
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
