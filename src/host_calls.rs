//! Test-only (cargo feature `host-call-count`, built as
//! `dist/tracesafe-host-calls.wasm`, never into the release plugin): counts
//! the host calls each request makes, so a test can hold the number exact.
//! Every call goes through `crate::calls`, which bumps [`CALLS`]. A request's
//! count is the sum over its own callbacks (a root tick between two of them
//! is not the request's). At the end of the stream the count is reported as
//! two stats, with calls that are not counted: the gauge
//! `tracesafe.test.host_calls_last` (this request) and the counter
//! `tracesafe.test.host_calls` (the sum over requests).

use crate::http::Request;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MetricType};
use std::cell::Cell;

thread_local! {
    /// Host calls made in this VM so far.
    static CALLS: Cell<u64> = const { Cell::new(0) };
    /// The two report stats, defined on first use.
    static REPORT: Cell<Option<(u32, u32)>> = const { Cell::new(None) };
}

pub fn cross() {
    CALLS.with(|c| c.set(c.get() + 1));
}

fn calls() -> u64 {
    CALLS.with(Cell::get)
}

/// A request context that counts the host calls of its callbacks.
pub struct Counted {
    inner: Request,
    calls: u64,
}

impl Counted {
    pub fn new(inner: Request) -> Self {
        Self { inner, calls: 0 }
    }

    /// Runs one callback of the request and adds its host calls.
    fn count<T>(&mut self, callback: impl FnOnce(&mut Request) -> T) -> T {
        let before = calls();
        let out = callback(&mut self.inner);
        self.calls += calls().saturating_sub(before);
        out
    }
}

fn report(n: u64) {
    let ids = REPORT.with(|r| {
        r.get().or_else(|| {
            let last =
                hostcalls::define_metric(MetricType::Gauge, "tracesafe.test.host_calls_last");
            let sum = hostcalls::define_metric(MetricType::Counter, "tracesafe.test.host_calls");
            let ids = last.ok().zip(sum.ok());
            r.set(ids);
            ids
        })
    });
    if let Some((last, sum)) = ids {
        let _ = hostcalls::record_metric(last, n);
        let _ = hostcalls::increment_metric(sum, i64::try_from(n).unwrap_or(i64::MAX));
    }
}

impl Context for Counted {}

impl HttpContext for Counted {
    fn on_http_request_headers(&mut self, n: usize, end_of_stream: bool) -> Action {
        self.count(|r| r.on_http_request_headers(n, end_of_stream))
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.count(|r| r.on_http_request_body(size, end_of_stream))
    }

    fn on_http_request_trailers(&mut self, n: usize) -> Action {
        self.count(|r| r.on_http_request_trailers(n))
    }

    fn on_http_response_headers(&mut self, n: usize, end_of_stream: bool) -> Action {
        self.count(|r| r.on_http_response_headers(n, end_of_stream))
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.count(|r| r.on_http_response_body(size, end_of_stream))
    }

    fn on_http_response_trailers(&mut self, n: usize) -> Action {
        self.count(|r| r.on_http_response_trailers(n))
    }

    fn on_log(&mut self) {
        self.count(|r| r.on_log());
        report(self.calls);
    }
}
