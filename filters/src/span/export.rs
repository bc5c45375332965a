//! Span export bookkeeping, host-free: a bounded queue, batches by count or
//! age, up to `max_in_flight` requests at once, retries with backoff on
//! retryable answers only. The adapter sends what `next` hands out, reports
//! the answers and sets the tick `tick_ms` asks for, so a slow or dead
//! collector costs dropped spans, never request latency.

use crate::metrics::{Metric, Metrics};
use crate::span::grpc;
use crate::span::otlp::{self, Resource};
use crate::span::otlp_proto;
use crate::span::SpanRecord;
use crate::ConfigError;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};

/// `export.protocol`: the OTLP transports collectors speak, named as in
/// `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Protocol {
    /// OTLP/HTTP with a JSON body.
    #[default]
    #[serde(rename = "http/json")]
    HttpJson,
    /// OTLP/HTTP with a protobuf body.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/gRPC (unary `TraceService/Export`); the cluster must speak HTTP/2.
    #[serde(rename = "grpc")]
    Grpc,
}

/// `export`: where and how spans are sent.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// The Envoy cluster of the collector.
    pub cluster: String,
    /// `:authority` of export requests; defaults to the cluster name.
    #[serde(default)]
    pub authority: Option<String>,
    /// The OTLP/HTTP path (not used by `grpc`).
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub protocol: Protocol,
    /// Send when this many spans are queued.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Send at least this often when spans are queued.
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
    /// Spans beyond this are dropped (and counted).
    #[serde(default = "default_max_queue")]
    pub max_queue: usize,
    /// Export requests outstanding at once (sending or waiting to retry).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of one batch on 429/502/503/504, a retryable gRPC status, or
    /// no response.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Header name → name of the environment variable holding its value
    /// (`vm_config.environment_variables.host_env_keys`), sent on every
    /// export request, as gRPC metadata with `grpc`. For collector
    /// credentials: the values never appear in config, logs or stats.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
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
fn default_max_in_flight() -> usize {
    4
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_max_retries() -> u32 {
    3
}

const BACKOFF_BASE_MS: u64 = 500;
const BACKOFF_MAX_MS: u64 = 30_000;
const MAX_IN_FLIGHT: usize = 64;
/// The tick while a full batch waits for a free request slot.
const SHORT_TICK_MS: u64 = 10;
/// The longest tick, so partial batches and retries are not late by more.
const LONG_TICK_MAX_MS: u64 = 200;
/// The most of a collector's answer read (for partial success).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Header names an export request may not set: the exporter's own, and the
/// ones HTTP/2 and gRPC reserve.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "te",
    "transfer-encoding",
    "connection",
    "user-agent",
];

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
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return err("max_in_flight", "must be 1 to 64");
        }
        if self.protocol == Protocol::Grpc
            && grpc::upstream(&self.cluster, self.authority.as_deref()).is_none()
        {
            return err(
                "cluster",
                "with protocol grpc, cluster and authority must be ASCII and under 120 bytes together",
            );
        }
        for name in self.headers.keys() {
            let at = format!("{path}.headers.{name}");
            let lower = crate::http::header_name(name, &at)?;
            if lower != *name {
                return Err(ConfigError::new(at, "header names must be lowercase"));
            }
            if RESERVED_HEADERS.contains(&name.as_str()) || name.starts_with("grpc-") {
                return Err(ConfigError::new(
                    at,
                    format!("{name:?} is set by the exporter or the transport"),
                ));
            }
        }
        Ok(())
    }

    pub fn authority(&self) -> &str {
        self.authority.as_deref().unwrap_or(&self.cluster)
    }
}

/// Export header values read from the VM environment. They are secrets, so
/// `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExportHeaders(Vec<(String, String)>);

impl std::fmt::Debug for ExportHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl ExportHeaders {
    /// Reads every variable `export.headers` names. `path` is the JSON path
    /// of `export.headers`; errors name the variable, never its value.
    pub fn from_env(
        cfg: &ExportConfig,
        env: &dyn Fn(&str) -> Option<String>,
        path: &str,
    ) -> Result<Self, ConfigError> {
        let mut out = Vec::with_capacity(cfg.headers.len());
        for (name, var) in &cfg.headers {
            let at = format!("{path}.{name}");
            let value = crate::redact::token::read_env(var, env, &at)?;
            let value = value.trim();
            if value.is_empty() || value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(ConfigError::new(
                    at,
                    format!("environment variable {var} is empty or not a valid header value"),
                ));
            }
            out.push((name.clone(), value.to_string()));
        }
        Ok(Self(out))
    }
}

/// One export call for the adapter to make, borrowed from the exporter.
#[derive(Debug)]
pub struct Outgoing<'a> {
    /// Pass back to [`Exporter::dispatched`].
    pub id: u64,
    pub body: &'a [u8],
    pub timeout_ms: u64,
    pub call: Call<'a>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Call<'a> {
    /// `dispatch_http_call`: pseudo-headers, content type, export headers.
    Http {
        cluster: &'a str,
        headers: Vec<(&'a str, &'a str)>,
    },
    /// `dispatch_grpc_call` to `upstream` (see `grpc::upstream`).
    Grpc {
        upstream: &'a str,
        service: &'static str,
        method: &'static str,
        metadata: Vec<(&'a str, &'a [u8])>,
    },
}

#[derive(Debug)]
enum State {
    /// To be sent at this time (a new batch: now; a retry: after backoff).
    Waiting { at_ms: u64 },
    /// Sent; the host's call token once known.
    Sending { token: Option<u32> },
}

#[derive(Debug)]
struct Batch {
    id: u64,
    body: Vec<u8>,
    spans: u64,
    attempt: u32,
    state: State,
}

/// What a collector's answer means for a batch.
enum Outcome {
    /// Accepted, but for `rejected` spans (OTLP partial success).
    Accepted {
        rejected: u64,
    },
    Retry {
        after_s: Option<u64>,
    },
    Failed,
}

#[derive(Debug)]
pub struct Exporter {
    cfg: ExportConfig,
    resource: Resource,
    headers: ExportHeaders,
    /// `grpc::upstream` of the cluster.
    grpc_upstream: String,
    queue: VecDeque<SpanRecord>,
    /// Batches taken from the queue, at most `max_in_flight`.
    batches: Vec<Batch>,
    next_id: u64,
    last_send_ms: u64,
}

impl Exporter {
    pub fn new(cfg: ExportConfig, resource: Resource, headers: ExportHeaders) -> Self {
        // `validate` rejects configurations without an encoded upstream.
        let grpc_upstream = grpc::upstream(&cfg.cluster, cfg.authority.as_deref())
            .unwrap_or_else(|| cfg.cluster.clone());
        Self {
            cfg,
            resource,
            headers,
            grpc_upstream,
            queue: VecDeque::new(),
            batches: Vec::new(),
            next_id: 0,
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

    /// The tick period the adapter should run: short while a full batch
    /// waits and a request slot is free, else long (at most the flush
    /// interval). Answers free slots and send on their own.
    pub fn tick_ms(&self) -> u64 {
        let backlog =
            self.queue.len() >= self.cfg.batch_size && self.batches.len() < self.cfg.max_in_flight;
        if backlog {
            SHORT_TICK_MS
        } else {
            self.cfg
                .flush_interval_ms
                .clamp(SHORT_TICK_MS, LONG_TICK_MAX_MS)
        }
    }

    /// The next call to make now, if any: a due retry, else a full batch or
    /// an old enough partial one while fewer than `max_in_flight` are out.
    /// Call until `None`, reporting each with [`Exporter::dispatched`].
    pub fn next(&mut self, now_ms: u64) -> Option<Outgoing<'_>> {
        let due = self
            .batches
            .iter()
            .position(|b| matches!(b.state, State::Waiting { at_ms } if at_ms <= now_ms));
        let index = match due {
            Some(i) => i,
            None => self.take_batch(now_ms)?,
        };
        let batch = self.batches.get_mut(index)?;
        batch.state = State::Sending { token: None };
        let call = match self.cfg.protocol {
            Protocol::Grpc => Call::Grpc {
                upstream: &self.grpc_upstream,
                service: grpc::SERVICE,
                method: grpc::METHOD,
                metadata: self
                    .headers
                    .0
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_bytes()))
                    .collect(),
            },
            Protocol::HttpJson | Protocol::HttpProtobuf => {
                let content_type = match self.cfg.protocol {
                    Protocol::HttpJson => "application/json",
                    _ => "application/x-protobuf",
                };
                let mut headers = vec![
                    (":method", "POST"),
                    (":path", self.cfg.path.as_str()),
                    (":authority", self.cfg.authority()),
                    ("content-type", content_type),
                ];
                headers.extend(self.headers.0.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                Call::Http {
                    cluster: &self.cfg.cluster,
                    headers,
                }
            }
        };
        Some(Outgoing {
            id: batch.id,
            body: &batch.body,
            timeout_ms: self.cfg.timeout_ms,
            call,
        })
    }

    /// Moves a batch from the queue into `batches` when one is due and a
    /// slot is free; returns its index.
    fn take_batch(&mut self, now_ms: u64) -> Option<usize> {
        let due = self.queue.len() >= self.cfg.batch_size
            || (!self.queue.is_empty()
                && now_ms.saturating_sub(self.last_send_ms) >= self.cfg.flush_interval_ms);
        if !due || self.batches.len() >= self.cfg.max_in_flight {
            return None;
        }
        let n = self.queue.len().min(self.cfg.batch_size);
        let spans: Vec<SpanRecord> = self.queue.drain(..n).collect();
        let body = match self.cfg.protocol {
            Protocol::HttpJson => otlp::encode(&self.resource, &spans).into_bytes(),
            Protocol::HttpProtobuf | Protocol::Grpc => otlp_proto::encode(&self.resource, &spans),
        };
        self.next_id += 1;
        self.last_send_ms = now_ms;
        self.batches.push(Batch {
            id: self.next_id,
            body,
            spans: spans.len() as u64,
            attempt: 0,
            state: State::Waiting { at_ms: now_ms },
        });
        Some(self.batches.len() - 1)
    }

    /// Reports the host's token for call `id`, or `None` when the host
    /// refused the call (then it counts as unanswered).
    pub fn dispatched(&mut self, id: u64, token: Option<u32>, now_ms: u64, metrics: &mut Metrics) {
        let Some(index) = self.batches.iter().position(|b| b.id == id) else {
            return;
        };
        match (token, self.batches.get_mut(index)) {
            (Some(t), Some(batch)) => batch.state = State::Sending { token: Some(t) },
            _ => self.settle(index, Outcome::Retry { after_s: None }, now_ms, metrics),
        }
    }

    /// Records an OTLP/HTTP answer to call `token` (`status` `None`: no
    /// response, a timeout or a reset). `retry_after_s` is the Retry-After
    /// header, `body` the start of the response body.
    pub fn on_http_answer(
        &mut self,
        token: u32,
        status: Option<u16>,
        retry_after_s: Option<u64>,
        body: &[u8],
        now_ms: u64,
        metrics: &mut Metrics,
    ) {
        let outcome = match status {
            Some(200..=299) => Outcome::Accepted {
                rejected: match self.cfg.protocol {
                    Protocol::HttpJson => otlp::json_rejected_spans(body),
                    Protocol::HttpProtobuf | Protocol::Grpc => otlp_proto::rejected_spans(body),
                },
            },
            None | Some(429 | 502 | 503 | 504) => Outcome::Retry {
                after_s: retry_after_s,
            },
            _ => Outcome::Failed,
        };
        self.answer(token, outcome, now_ms, metrics);
    }

    /// Records an OTLP/gRPC answer to call `token`: its gRPC status and,
    /// when OK, the response message.
    pub fn on_grpc_answer(
        &mut self,
        token: u32,
        status: u32,
        message: &[u8],
        now_ms: u64,
        metrics: &mut Metrics,
    ) {
        let outcome = if status == grpc::OK {
            Outcome::Accepted {
                rejected: otlp_proto::rejected_spans(message),
            }
        } else if grpc::retryable(status) {
            Outcome::Retry { after_s: None }
        } else {
            Outcome::Failed
        };
        self.answer(token, outcome, now_ms, metrics);
    }

    fn answer(&mut self, token: u32, outcome: Outcome, now_ms: u64, metrics: &mut Metrics) {
        let index = self
            .batches
            .iter()
            .position(|b| matches!(b.state, State::Sending { token: Some(t) } if t == token));
        if let Some(index) = index {
            self.settle(index, outcome, now_ms, metrics);
        }
    }

    fn settle(&mut self, index: usize, outcome: Outcome, now_ms: u64, metrics: &mut Metrics) {
        let max_retries = self.cfg.max_retries;
        let Some(batch) = self.batches.get_mut(index) else {
            return;
        };
        match outcome {
            Outcome::Accepted { rejected } => {
                let rejected = rejected.min(batch.spans);
                metrics.add(Metric::SpansExported, batch.spans - rejected);
                metrics.add(Metric::SpansRejected, rejected);
            }
            Outcome::Retry { after_s } if batch.attempt < max_retries => {
                batch.attempt += 1;
                let backoff = BACKOFF_BASE_MS
                    .saturating_mul(1u64 << batch.attempt.min(16))
                    .min(BACKOFF_MAX_MS);
                let wait = after_s.map_or(backoff, |s| s.saturating_mul(1000).min(BACKOFF_MAX_MS));
                batch.state = State::Waiting {
                    at_ms: now_ms.saturating_add(wait),
                };
                metrics.add(Metric::ExportRetries, 1);
                return;
            }
            Outcome::Retry { .. } | Outcome::Failed => {
                metrics.add(Metric::SpansFailed, batch.spans);
            }
        }
        self.batches.remove(index);
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
        Exporter::new(cfg(json), Resource::default(), ExportHeaders::default())
    }

    /// Sends every call due now; token = batch id. Returns (id, spans in
    /// the body as counted by JSON trace ids).
    fn send_all(e: &mut Exporter, now: u64, m: &mut Metrics) -> Vec<u64> {
        let mut ids = Vec::new();
        while let Some(out) = e.next(now) {
            let id = out.id;
            ids.push(id);
            e.dispatched(id, Some(id as u32), now, m);
        }
        ids
    }

    fn answer(e: &mut Exporter, id: u64, status: Option<u16>, now: u64, m: &mut Metrics) {
        e.on_http_answer(id as u32, status, None, b"{}", now, m);
    }

    #[test]
    fn batches_by_count_and_by_age() {
        let mut m = Metrics::default();
        let mut e = exporter(
            r#"{"cluster":"c","batch_size":2,"flush_interval_ms":1000,"max_in_flight":1}"#,
        );
        e.push(span(1), &mut m);
        assert!(
            e.next(10).is_none(),
            "not full, not old: the first send is at t=1000"
        );
        assert_eq!(send_all(&mut e, 1000, &mut m), vec![1]);
        answer(&mut e, 1, Some(200), 1001, &mut m);
        assert_eq!(m.get(Metric::SpansExported), 1);
        e.push(span(2), &mut m);
        e.push(span(3), &mut m);
        e.push(span(4), &mut m);
        let out = e.next(1002).unwrap();
        let body = String::from_utf8(out.body.to_vec()).unwrap();
        assert!(body.contains("02020202020202020202020202020202"));
        assert!(body.contains("03030303030303030303030303030303"));
        e.dispatched(2, Some(2), 1002, &mut m);
        assert!(e.next(1003).is_none(), "max_in_flight 1");
        answer(&mut e, 2, Some(202), 1004, &mut m);
        assert!(
            e.next(1005).is_none(),
            "partial batch waits for the interval"
        );
        assert_eq!(send_all(&mut e, 2002, &mut m), vec![3]);
    }

    #[test]
    fn drains_a_backlog_in_parallel_batches() {
        let mut m = Metrics::default();
        let mut e = exporter(r#"{"cluster":"c","batch_size":10,"max_in_flight":3}"#);
        assert_eq!(e.tick_ms(), 200, "idle: the long tick");
        for i in 0..45 {
            e.push(span(i), &mut m);
        }
        assert_eq!(e.tick_ms(), 10, "a full batch waits: the short tick");
        assert_eq!(send_all(&mut e, 5, &mut m), vec![1, 2, 3], "three at once");
        assert_eq!(e.queued(), 15);
        assert_eq!(e.tick_ms(), 200, "no free slot: answers drive sending");
        answer(&mut e, 2, Some(200), 6, &mut m);
        assert_eq!(e.tick_ms(), 10);
        assert_eq!(
            send_all(&mut e, 6, &mut m),
            vec![4],
            "a freed slot is reused at once"
        );
        answer(&mut e, 1, Some(200), 7, &mut m);
        assert_eq!(
            send_all(&mut e, 7, &mut m),
            Vec::<u64>::new(),
            "the last 5 are a partial batch, sent at t=1000"
        );
        assert_eq!(send_all(&mut e, 1007, &mut m), vec![5]);
        for id in [3, 4, 5] {
            answer(&mut e, id, Some(200), 1008, &mut m);
        }
        assert_eq!(m.get(Metric::SpansExported), 45);
        assert_eq!(e.queued(), 0);
        let c = cfg(r#"{"cluster":"c","flush_interval_ms":50}"#);
        assert_eq!(c.max_in_flight, 4, "the default");
        let idle = Exporter::new(c, Resource::default(), ExportHeaders::default());
        assert_eq!(idle.tick_ms(), 50, "never longer than the flush interval");
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
        let body = e.next(0).unwrap().body.to_vec();
        e.dispatched(1, Some(1), 0, &mut m);
        answer(&mut e, 1, Some(503), 0, &mut m);
        assert!(e.next(999).is_none(), "backoff 1s after the first failure");
        assert_eq!(
            e.next(1000).map(|o| o.body.to_vec()),
            Some(body),
            "same batch again"
        );
        e.dispatched(1, Some(7), 1000, &mut m);
        e.on_http_answer(7, Some(429), Some(5), b"", 1000, &mut m);
        assert!(e.next(5999).is_none(), "Retry-After honoured");
        assert!(e.next(6000).is_some());
        e.dispatched(1, None, 6000, &mut m);
        assert_eq!(
            m.get(Metric::SpansFailed),
            1,
            "dispatch refused: retries exhausted"
        );
        assert_eq!(m.get(Metric::ExportRetries), 2);

        e.push(span(2), &mut m);
        assert_eq!(send_all(&mut e, 7000, &mut m), vec![2]);
        answer(&mut e, 2, Some(400), 7000, &mut m);
        assert_eq!(m.get(Metric::SpansFailed), 2, "a 400 is never retried");
        assert!(e.next(100_000).is_none());
        answer(&mut e, 2, Some(200), 7000, &mut m);
        assert_eq!(
            m.get(Metric::SpansExported),
            0,
            "unknown tokens are ignored"
        );
    }

    #[test]
    fn grpc_statuses_and_calls() {
        let mut m = Metrics::default();
        let c = cfg(
            r#"{"cluster":"otel","protocol":"grpc","batch_size":1,"headers":{"x-api-key":"KEY"}}"#,
        );
        let env = |v: &str| (v == "KEY").then(|| "s3cret".to_string());
        let headers = ExportHeaders::from_env(&c, &env, "export.headers").unwrap();
        assert_eq!(
            format!("{headers:?}"),
            r#"["x-api-key"]"#,
            "Debug hides values"
        );
        let mut e = Exporter::new(c, Resource::default(), headers);
        e.push(span(1), &mut m);
        e.push(span(2), &mut m);
        let out = e.next(0).unwrap();
        assert_eq!(
            out.call,
            Call::Grpc {
                upstream: "\x0a\x06\x0a\x04otel",
                service: "opentelemetry.proto.collector.trace.v1.TraceService",
                method: "Export",
                metadata: vec![("x-api-key", &b"s3cret"[..])],
            }
        );
        assert_eq!(
            out.body,
            otlp_proto::encode(&Resource::default(), &[span(1)])
        );
        e.dispatched(1, Some(1), 0, &mut m);
        e.on_grpc_answer(1, 14, b"", 0, &mut m);
        assert_eq!(m.get(Metric::ExportRetries), 1, "UNAVAILABLE is retried");
        assert_eq!(send_all(&mut e, 1000, &mut m), vec![1, 2]);
        e.on_grpc_answer(1, 8, b"", 1000, &mut m);
        assert_eq!(
            m.get(Metric::SpansFailed),
            1,
            "RESOURCE_EXHAUSTED without RetryInfo"
        );
        // partial_success { rejected_spans: 1 }
        e.on_grpc_answer(2, 0, &[0x0a, 0x02, 0x08, 0x01], 1000, &mut m);
        assert_eq!(m.get(Metric::SpansRejected), 1);
        assert_eq!(m.get(Metric::SpansExported), 0);
    }

    #[test]
    fn http_calls_per_protocol_and_partial_success() {
        let mut m = Metrics::default();
        for (protocol, content_type) in [
            ("http/json", "application/json"),
            ("http/protobuf", "application/x-protobuf"),
        ] {
            let c = cfg(&format!(
                r#"{{"cluster":"c","authority":"otel:4318","protocol":"{protocol}","batch_size":2,"headers":{{"authorization":"TOKEN"}}}}"#
            ));
            let env = |_: &str| Some(" Bearer t ".to_string());
            let headers = ExportHeaders::from_env(&c, &env, "export.headers").unwrap();
            let mut e = Exporter::new(c, Resource::default(), headers);
            e.push(span(1), &mut m);
            e.push(span(2), &mut m);
            let out = e.next(0).unwrap();
            assert_eq!(
                out.call,
                Call::Http {
                    cluster: "c",
                    headers: vec![
                        (":method", "POST"),
                        (":path", "/v1/traces"),
                        (":authority", "otel:4318"),
                        ("content-type", content_type),
                        ("authorization", "Bearer t"),
                    ]
                }
            );
            e.dispatched(1, Some(1), 0, &mut m);
            let body: &[u8] = if protocol == "http/json" {
                br#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"no"}}"#
            } else {
                &[0x0a, 0x02, 0x08, 0x02]
            };
            e.on_http_answer(1, Some(200), None, body, 0, &mut m);
        }
        assert_eq!(m.get(Metric::SpansRejected), 4);
        assert_eq!(m.get(Metric::SpansExported), 0);
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = |json: &str| {
            let c: ExportConfig = serde_json::from_str(json).unwrap();
            let e = c.validate("export").unwrap_err();
            (e.path, e.message)
        };
        assert_eq!(
            err(r#"{"cluster":"c","batch_size":0}"#).0,
            "export.batch_size"
        );
        assert_eq!(err(r#"{"cluster":""}"#).0, "export.cluster");
        assert_eq!(
            err(r#"{"cluster":"c","max_in_flight":0}"#).0,
            "export.max_in_flight"
        );
        assert_eq!(
            err(r#"{"cluster":"c","headers":{"Authorization":"T"}}"#),
            (
                "export.headers.Authorization".into(),
                "header names must be lowercase".into()
            )
        );
        assert_eq!(
            err(r#"{"cluster":"c","headers":{"a b":"T"}}"#).0,
            "export.headers.a b"
        );
        assert_eq!(
            err(r#"{"cluster":"c","headers":{"grpc-timeout":"T"}}"#).1,
            "\"grpc-timeout\" is set by the exporter or the transport"
        );
        assert_eq!(
            err(&format!(
                r#"{{"cluster":"{}","protocol":"grpc"}}"#,
                "c".repeat(130)
            ))
            .0,
            "export.cluster"
        );
        assert!(serde_json::from_str::<ExportConfig>(r#"{"cluster":"c","bogus":1}"#).is_err());
        assert!(
            serde_json::from_str::<ExportConfig>(r#"{"cluster":"c","protocol":"http"}"#).is_err()
        );
    }

    #[test]
    fn header_values_come_from_the_environment_and_stay_secret() {
        let c = cfg(r#"{"cluster":"c","headers":{"authorization":"OTLP_TOKEN"}}"#);
        let e = ExportHeaders::from_env(&c, &|_| None, "export.headers").unwrap_err();
        assert_eq!(e.path, "export.headers.authorization");
        assert_eq!(
            e.message,
            "environment variable OTLP_TOKEN is not set (list it in vm_config.environment_variables.host_env_keys)"
        );
        let e = ExportHeaders::from_env(&c, &|_| Some("a\nsecret".into()), "export.headers")
            .unwrap_err();
        assert_eq!(
            e.message,
            "environment variable OTLP_TOKEN is empty or not a valid header value"
        );
        let c = cfg(r#"{"cluster":"c","headers":{"authorization":"1BAD"}}"#);
        let e = ExportHeaders::from_env(&c, &|_| None, "export.headers").unwrap_err();
        assert_eq!(e.message, "\"1BAD\" is not an environment variable name");
    }
}
