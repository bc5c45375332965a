//! A mesh workload for trace tests: it records each request it receives and,
//! as mesh apps must, copies the trace headers from it onto its own outbound
//! calls (two per request) through the sidecar's outbound listener.

use super::echo::{one_by_test_id, read_request, Received};
use super::http::Request;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// Headers an instrumented app forwards from its inbound request: trace
/// context, and the end user's credentials (JWT propagation, which Istio's
/// `RequestAuthentication` on the callee relies on).
pub const PROPAGATED: &[&str] = &[
    "authorization",
    "cookie",
    "x-api-key",
    "traceparent",
    "tracestate",
    "baggage",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "uber-trace-id",
    "x-amzn-trace-id",
    "x-request-id",
];

/// A request header whose values the app answers with as `traceresponse`
/// fields, so tests can send any value downstream through the sidecar.
pub const ANSWER_TRACERESPONSE: &str = "x-test-traceresponse";

/// Outbound calls per inbound request; each carries
/// `x-test-id: {inbound id}/{n}` with n in 1..=CALLS.
pub const CALLS: usize = 2;

#[derive(Clone)]
pub struct App {
    pub port: u16,
    /// Where outbound calls go: the outbound listener, known once Envoy runs.
    outbound: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl App {
    pub fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = App {
            port: listener.local_addr().unwrap().port(),
            outbound: Arc::new(AtomicU16::new(0)),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let server = app.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(stream));
            }
        });
        app
    }

    pub fn call_through(&self, outbound_port: u16) {
        self.outbound.store(outbound_port, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn by_test_id(&self, id: &str) -> Received {
        one_by_test_id(&self.received(), id)
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut out = stream;
        while let Some(req) = read_request(&mut reader) {
            self.received.lock().unwrap().push(req.clone());
            let status = if self.call_out(&req) { 200 } else { 502 };
            let mut resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n").into_bytes();
            for v in req.all(ANSWER_TRACERESPONSE) {
                resp.extend_from_slice(b"traceresponse: ");
                resp.extend_from_slice(v);
                resp.extend_from_slice(b"\r\n");
            }
            resp.extend_from_slice(b"\r\n");
            if out.write_all(&resp).is_err() {
                return;
            }
        }
    }

    /// Makes the outbound calls; true when all of them got a 200.
    fn call_out(&self, req: &Received) -> bool {
        let id = String::from_utf8_lossy(req.get("x-test-id").unwrap_or_default()).into_owned();
        (1..=CALLS).all(|n| {
            let mut call = Request::get("/callee").header("x-test-id", format!("{id}/{n}"));
            for (name, value) in &req.headers {
                if PROPAGATED.contains(&name.as_str()) {
                    call = call.header(name, value);
                }
            }
            matches!(call.send(self.outbound.load(Ordering::SeqCst)), Ok(r) if r.status == 200)
        })
    }
}
