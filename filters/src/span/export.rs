//! Span export bookkeeping, host-free: a bounded queue, batches by count or
//! age, one request in flight, retries with backoff on 429/502/503/504 only.
//! The adapter just sends what `poll` hands out and reports the result, so
//! a slow or dead collector costs dropped spans, never request latency.

use crate::metrics::{Metric, Metrics};
use crate::span::otlp::{self, Resource};
use crate::span::SpanRecord;
use crate::ConfigError;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::VecDeque;

/// `export`: where and how spans are sent (OTLP/HTTP JSON).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// The Envoy cluster of the collector.
    pub cluster: String,
    /// `:authority` of export requests; defaults to the cluster name.
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default = "default_path")]
    pub path: String,
    /// Send when this many spans are queued.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Send at least this often when spans are queued.
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
    /// Spans beyond this are dropped (and counted).
    #[serde(default = "default_max_queue")]
    pub max_queue: usize,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of one batch on 429/502/503/504 or no response.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
}

fn default_path() -> String {
    "/v1/traces".into()
}
fn default_batch_size() -> usize {
    128
}
fn default_flush_interval_ms() -> u64 {
    1000
}
fn default_max_queue() -> usize {
    4096
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_max_retries() -> u32 {
    3
}

const BACKOFF_BASE_MS: u64 = 500;
const BACKOFF_MAX_MS: u64 = 30_000;

impl ExportConfig {
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let err = |f: &str, m: &str| Err(ConfigError::new(format!("{path}.{f}"), m));
        if self.cluster.is_empty() {
            return err("cluster", "expected an Envoy cluster name");
        }
        if !self.path.starts_with('/') {
            return err("path", "must start with '/'");
        }
        if self.batch_size == 0 {
            return err("batch_size", "must be at least 1");
        }
        if self.max_queue < self.batch_size {
            return err("max_queue", "must be at least batch_size");
        }
        if self.flush_interval_ms == 0 {
            return err("flush_interval_ms", "must be at least 1");
        }
        if self.timeout_ms == 0 {
            return err("timeout_ms", "must be at least 1");
        }
        Ok(())
    }

    pub fn authority(&self) -> &str {
        self.authority.as_deref().unwrap_or(&self.cluster)
    }
}

/// A batch handed to the adapter to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub body: String,
    pub spans: u64,
    attempt: u32,
}

#[derive(Debug)]
pub struct Exporter {
    cfg: ExportConfig,
    resource: Resource,
    queue: VecDeque<SpanRecord>,
    /// The batch being sent or waiting to be retried.
    current: Option<Batch>,
    in_flight: bool,
    retry_at_ms: u64,
    last_send_ms: u64,
}

impl Exporter {
    pub fn new(cfg: ExportConfig, resource: Resource) -> Self {
        Self {
            cfg,
            resource,
            queue: VecDeque::new(),
            current: None,
            in_flight: false,
            retry_at_ms: 0,
            last_send_ms: 0,
        }
    }

    pub fn config(&self) -> &ExportConfig {
        &self.cfg
    }

    /// Queues a finished span, dropping it when the queue is full.
    pub fn push(&mut self, span: SpanRecord, metrics: &mut Metrics) {
        if self.queue.len() >= self.cfg.max_queue {
            metrics.add(Metric::SpansDropped, 1);
        } else {
            self.queue.push_back(span);
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The batch to send now, if any: a due retry, a full batch, or an
    /// old enough partial one. Marks it in flight.
    pub fn poll(&mut self, now_ms: u64) -> Option<&Batch> {
        if self.in_flight {
            return None;
        }
        if self.current.is_none() {
            let due = self.queue.len() >= self.cfg.batch_size
                || (!self.queue.is_empty()
                    && now_ms.saturating_sub(self.last_send_ms) >= self.cfg.flush_interval_ms);
            if !due {
                return None;
            }
            let n = self.queue.len().min(self.cfg.batch_size);
            let spans: Vec<SpanRecord> = self.queue.drain(..n).collect();
            self.current = Some(Batch {
                body: otlp::encode(&self.resource, &spans),
                spans: spans.len() as u64,
                attempt: 0,
            });
        } else if now_ms < self.retry_at_ms {
            return None;
        }
        self.in_flight = true;
        self.last_send_ms = now_ms;
        self.current.as_ref()
    }

    /// Records the collector's answer (`None`: no response, timeout or
    /// dispatch failure). `retry_after_s` is the Retry-After header.
    pub fn on_response(
        &mut self,
        status: Option<u16>,
        retry_after_s: Option<u64>,
        now_ms: u64,
        metrics: &mut Metrics,
    ) {
        self.in_flight = false;
        let Some(batch) = self.current.as_mut() else {
            return;
        };
        match status {
            Some(200..=299) => {
                metrics.add(Metric::SpansExported, batch.spans);
                self.current = None;
            }
            None | Some(429 | 502 | 503 | 504) if batch.attempt < self.cfg.max_retries => {
                batch.attempt += 1;
                let backoff = BACKOFF_BASE_MS
                    .saturating_mul(1u64 << batch.attempt.min(16))
                    .min(BACKOFF_MAX_MS);
                let wait =
                    retry_after_s.map_or(backoff, |s| s.saturating_mul(1000).min(BACKOFF_MAX_MS));
                self.retry_at_ms = now_ms.saturating_add(wait);
                metrics.add(Metric::ExportRetries, 1);
            }
            _ => {
                metrics.add(Metric::SpansFailed, batch.spans);
                self.current = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::SpanKind;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cfg(json: &str) -> ExportConfig {
        let c: ExportConfig = serde_json::from_str(json).unwrap();
        c.validate("export").unwrap();
        c
    }

    fn span(n: u8) -> SpanRecord {
        SpanRecord {
            trace_id: [n; 16],
            span_id: [n; 8],
            parent_span_id: None,
            flags: 1,
            name: "GET".into(),
            kind: SpanKind::Server,
            start_ns: 1,
            end_ns: 2,
            attributes: vec![],
            links: vec![],
            error: false,
        }
    }

    fn exporter(json: &str) -> Exporter {
        Exporter::new(cfg(json), Resource::default())
    }

    #[test]
    fn batches_by_count_and_by_age() {
        let mut m = Metrics::default();
        let mut e = exporter(r#"{"cluster":"c","batch_size":2,"flush_interval_ms":1000}"#);
        e.push(span(1), &mut m);
        assert!(
            e.poll(10).is_none(),
            "not full, not old: the first send is at t=1000"
        );
        assert_eq!(e.poll(1000).map(|b| b.spans), Some(1));
        e.on_response(Some(200), None, 1001, &mut m);
        assert_eq!(m.get(Metric::SpansExported), 1);
        e.push(span(2), &mut m);
        e.push(span(3), &mut m);
        e.push(span(4), &mut m);
        let b = e.poll(1002).unwrap();
        assert_eq!(b.spans, 2);
        assert!(b.body.contains("02020202020202020202020202020202"));
        assert!(e.poll(1003).is_none(), "one request in flight");
        e.on_response(Some(202), None, 1004, &mut m);
        assert!(
            e.poll(1005).is_none(),
            "partial batch waits for the interval"
        );
        assert_eq!(e.poll(2002).map(|b| b.spans), Some(1));
    }

    #[test]
    fn bounded_queue_drops_and_counts() {
        let mut m = Metrics::default();
        let mut e = exporter(r#"{"cluster":"c","batch_size":2,"max_queue":3}"#);
        for i in 0..5 {
            e.push(span(i), &mut m);
        }
        assert_eq!(e.queued(), 3);
        assert_eq!(m.get(Metric::SpansDropped), 2);
    }

    #[test]
    fn retries_only_retryable_statuses_with_backoff() {
        let mut m = Metrics::default();
        let mut e = exporter(r#"{"cluster":"c","batch_size":1,"max_retries":2}"#);
        e.push(span(1), &mut m);
        let body = e.poll(0).unwrap().body.clone();
        e.on_response(Some(503), None, 0, &mut m);
        assert!(e.poll(999).is_none(), "backoff 1s after the first failure");
        assert_eq!(
            e.poll(1000).map(|b| b.body.clone()),
            Some(body),
            "same batch again"
        );
        e.on_response(Some(429), Some(5), 1000, &mut m);
        assert!(e.poll(5999).is_none(), "Retry-After honoured");
        assert!(e.poll(6000).is_some());
        e.on_response(None, None, 6000, &mut m);
        assert_eq!(m.get(Metric::SpansFailed), 1, "retries exhausted");
        assert_eq!(m.get(Metric::ExportRetries), 2);

        e.push(span(2), &mut m);
        assert!(e.poll(7000).is_some());
        e.on_response(Some(400), None, 7000, &mut m);
        assert_eq!(m.get(Metric::SpansFailed), 2, "a 400 is never retried");
        assert!(e.poll(100_000).is_none());
    }

    #[test]
    fn config_errors_name_the_field() {
        let c: ExportConfig = serde_json::from_str(r#"{"cluster":"c","batch_size":0}"#).unwrap();
        assert_eq!(c.validate("export").unwrap_err().path, "export.batch_size");
        let c: ExportConfig = serde_json::from_str(r#"{"cluster":""}"#).unwrap();
        assert_eq!(c.validate("export").unwrap_err().path, "export.cluster");
        assert!(serde_json::from_str::<ExportConfig>(r#"{"cluster":"c","bogus":1}"#).is_err());
    }
}
