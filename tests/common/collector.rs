//! A test OTLP collector, over HTTP/1.1 ([`Collector::start`]) or gRPC
//! ([`Collector::start_grpc`]). Bodies are decoded with the official
//! `opentelemetry-proto` types (serde JSON, protobuf, and its tonic
//! `TraceServiceServer` for gRPC), so the wire format is checked by them,
//! not by hand.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One export request as received.
#[derive(Debug, Clone)]
pub struct Export {
    pub content_type: String,
    /// Every request header, lowercased names.
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
    pub request: ExportTraceServiceRequest,
}

#[derive(Clone)]
pub struct Collector {
    pub port: u16,
    exports: Arc<Mutex<Vec<Export>>>,
    status: Arc<AtomicU16>,
    down: Arc<AtomicBool>,
    /// Milliseconds to wait before answering (a slow collector).
    delay_ms: Arc<AtomicU64>,
    /// Count requests and spans only: nothing kept (load tests).
    discard: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    /// Spans in the requests answered 200 (or OK).
    spans_received: Arc<AtomicU64>,
    /// The body of every 200 answer (e.g. an OTLP partial success).
    answer: Arc<Mutex<String>>,
}

impl Collector {
    fn new(port: u16) -> Collector {
        Collector {
            port,
            exports: Arc::new(Mutex::new(Vec::new())),
            status: Arc::new(AtomicU16::new(200)),
            down: Arc::new(AtomicBool::new(false)),
            delay_ms: Arc::new(AtomicU64::new(0)),
            discard: Arc::new(AtomicBool::new(false)),
            requests: Arc::new(AtomicU64::new(0)),
            spans_received: Arc::new(AtomicU64::new(0)),
            answer: Arc::new(Mutex::new("{}".into())),
        }
    }

    /// An OTLP/HTTP collector (HTTP/1.1, JSON or protobuf bodies).
    pub fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Collector::new(listener.local_addr().unwrap().port());
        let shared = c.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        c
    }

    /// An OTLP/gRPC collector: `opentelemetry-proto`'s tonic
    /// `TraceServiceServer` on a tokio runtime of its own thread. Exports
    /// are recorded like [`Collector::start`]'s, with the gRPC metadata as
    /// headers and the decoded message re-encoded as `raw`; the cluster
    /// reaching it must speak HTTP/2.
    pub fn start_grpc() -> Collector {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let c = Collector::new(listener.local_addr().unwrap().port());
        let service = TraceServiceServer::new(c.clone());
        std::thread::spawn(move || {
            runtime.block_on(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
            )
        });
        c
    }

    /// The status every later export gets (e.g. 503 to make it retry).
    pub fn respond_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The body of later 200 answers (JSON).
    pub fn answer_with(&self, body: &str) {
        *self.answer.lock().unwrap() = body.to_string();
    }

    /// Stops answering: every connection is closed unanswered, as when the
    /// collector is down (gRPC: every call fails with UNAVAILABLE).
    pub fn stop(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// Every later export waits this long before its answer.
    pub fn delay(&self, d: std::time::Duration) {
        self.delay_ms
            .store(d.as_millis().try_into().unwrap(), Ordering::SeqCst);
    }

    /// Later exports are only counted ([`Collector::requests`]), not
    /// decoded or kept: for runs of many thousand spans.
    pub fn discard(&self) {
        self.discard.store(true, Ordering::SeqCst);
    }

    /// Export requests received (answered or not yet).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Spans in the export requests accepted so far (also when discarding).
    pub fn spans_received(&self) -> u64 {
        self.spans_received.load(Ordering::SeqCst)
    }

    pub fn exports(&self) -> Vec<Export> {
        self.exports.lock().unwrap().clone()
    }

    /// Every span received so far, with its resource's `service.name`.
    pub fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for e in self.exports() {
            for rs in e.request.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                    .map(|kv| format!("{:?}", kv.value))
                    .unwrap_or_default();
                for ss in rs.scope_spans {
                    for s in ss.spans {
                        out.push((service.clone(), s));
                    }
                }
            }
        }
        out
    }

    /// Waits until at least `n` spans arrived (export is asynchronous).
    pub fn wait_for_spans(&self, n: usize, timeout: std::time::Duration) -> Vec<(String, Span)> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= n || std::time::Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// All raw bodies, for grepping secrets.
    pub fn raw_bodies(&self) -> Vec<u8> {
        self.exports().into_iter().flat_map(|e| e.raw).collect()
    }

    fn serve(&self, stream: TcpStream) {
        if self.down.load(Ordering::SeqCst) {
            return;
        }
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut out = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut len = 0usize;
            let mut chunked = false;
            let mut content_type = String::new();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((n, v)) = h.split_once(':') {
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                    match n.trim().to_ascii_lowercase().as_str() {
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        "content-type" => content_type = v.trim().to_string(),
                        "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
                        _ => {}
                    }
                }
            }
            let body = if chunked {
                match read_chunked(&mut reader) {
                    Some(b) => b,
                    None => return,
                }
            } else {
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                body
            };
            let (status, answer) = self.record(content_type, headers, body);
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
            if out.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    }

    /// Counts, decodes and keeps one export request, after the configured
    /// delay; returns the status and body of the answer.
    fn record(
        &self,
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> (u16, String) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(
            self.delay_ms.load(Ordering::SeqCst),
        ));
        let status = self.status.load(Ordering::SeqCst);
        if status != 200 {
            return (status, "{}".to_string());
        }
        let request = if content_type.starts_with("application/json") {
            serde_json::from_slice::<ExportTraceServiceRequest>(&body).unwrap_or_else(|e| {
                panic!(
                    "collector: bad OTLP JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            })
        } else {
            ExportTraceServiceRequest::decode(body.as_slice())
                .expect("collector: bad OTLP protobuf")
        };
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len() as u64)
            .sum();
        self.spans_received.fetch_add(spans, Ordering::SeqCst);
        if !self.discard.load(Ordering::SeqCst) {
            self.exports.lock().unwrap().push(Export {
                content_type,
                headers,
                raw: body,
                request,
            });
        }
        (status, self.answer.lock().unwrap().clone())
    }
}

/// The gRPC face: the same recording as over HTTP, the answer's JSON as an
/// `ExportTraceServiceResponse` (e.g. a partial success), and a non-200
/// status as the gRPC status the OTLP specification pairs with it.
#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if self.down.load(Ordering::SeqCst) {
            return Err(tonic::Status::unavailable("collector down"));
        }
        let headers = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect::<Vec<_>>();
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let body = request.into_inner().encode_to_vec();
        let this = self.clone();
        let (status, answer) =
            tokio::task::spawn_blocking(move || this.record(content_type, headers, body))
                .await
                .unwrap();
        match status {
            200 => Ok(tonic::Response::new(grpc_answer(&answer))),
            429 | 502..=504 => Err(tonic::Status::unavailable(format!("HTTP {status}"))),
            _ => Err(tonic::Status::invalid_argument(format!("HTTP {status}"))),
        }
    }
}

/// An OTLP JSON answer as the gRPC response message. OTLP JSON writes
/// int64 as a string, which the serde types do not read back.
fn grpc_answer(json: &str) -> ExportTraceServiceResponse {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let p = &v["partialSuccess"];
    ExportTraceServiceResponse {
        partial_success: p.is_object().then(|| ExportTracePartialSuccess {
            rejected_spans: p["rejectedSpans"].as_str().unwrap_or("0").parse().unwrap(),
            error_message: p["errorMessage"].as_str().unwrap_or_default().into(),
        }),
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
