//! Span export from the root context: finished spans are queued by the
//! request contexts, and the root's tick sends batches with
//! `dispatch_http_call`, so export never blocks a request.

use crate::stats::Stats;
use proxy_wasm::hostcalls;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracesafe_filters::span::export::Exporter;
use tracesafe_filters::span::SpanRecord;
use tracesafe_filters::Metrics;

/// The exporter shared by the root context and its request contexts (one
/// VM is single-threaded).
#[derive(Clone)]
pub struct SpanSink {
    exporter: Rc<RefCell<Exporter>>,
    stats: Rc<Stats>,
}

/// How often the root wakes up to send: often enough that a full batch
/// leaves quickly, never more often than the flush interval needs.
pub fn tick_period(flush_interval_ms: u64) -> Duration {
    Duration::from_millis(flush_interval_ms.clamp(1, 200))
}

pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// Host time (`proxy_get_current_time_nanoseconds`).
pub fn now_ns() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl SpanSink {
    pub fn new(exporter: Exporter, stats: Rc<Stats>) -> Self {
        Self {
            exporter: Rc::new(RefCell::new(exporter)),
            stats,
        }
    }

    /// Queues a finished span; a full queue drops it (counted).
    pub fn push(&self, span: SpanRecord) {
        let mut metrics = Metrics::default();
        match self.exporter.try_borrow_mut() {
            Ok(mut e) => e.push(span, &mut metrics),
            Err(_) => metrics.add(tracesafe_filters::Metric::SpansDropped, 1),
        }
        self.stats.record_metrics(&metrics);
    }

    /// Called on the root tick: sends the next batch if one is due.
    pub fn flush(&self) {
        let Ok(mut e) = self.exporter.try_borrow_mut() else {
            return;
        };
        let now = now_ms();
        let cfg = e.config().clone();
        let Some(batch) = e.poll(now) else {
            return;
        };
        let headers = vec![
            (":method", "POST"),
            (":path", cfg.path.as_str()),
            (":authority", cfg.authority()),
            ("content-type", "application/json"),
        ];
        let sent = hostcalls::dispatch_http_call(
            &cfg.cluster,
            headers,
            Some(batch.body.as_bytes()),
            vec![],
            Duration::from_millis(cfg.timeout_ms),
        );
        if sent.is_err() {
            let mut metrics = Metrics::default();
            e.on_response(None, None, now, &mut metrics);
            self.stats.record_metrics(&metrics);
        }
    }

    /// Called from `on_http_call_response` with the collector's answer.
    pub fn on_response(&self, status: Option<u16>, retry_after_s: Option<u64>) {
        let mut metrics = Metrics::default();
        if let Ok(mut e) = self.exporter.try_borrow_mut() {
            e.on_response(status, retry_after_s, now_ms(), &mut metrics);
        }
        self.stats.record_metrics(&metrics);
    }
}
