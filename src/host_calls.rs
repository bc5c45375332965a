//! Test-only (cargo feature `host-call-count`, built as
//! `dist/tracesafe-host-calls.wasm`, never into the release plugin): counts
//! the host calls each request makes, by kind, so a test can hold them
//! exact. Every call goes through `crate::calls`, which reports here. A
//! request's count is the sum over its own callbacks (a root tick between
//! two of them is not the request's). At the end of the stream the counts
//! are reported as stats, with calls that are not counted: a gauge
//! `tracesafe.test.host_calls.<kind>` per kind (this request) and the
//! counter `tracesafe.test.host_calls` (all kinds, summed over requests).

use crate::calls::Call;
use crate::http::Request;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MetricType};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Host calls by kind.
type Counts = BTreeMap<&'static str, u64>;

thread_local! {
    /// Host calls made in this VM so far.
    static CALLS: RefCell<Counts> = const { RefCell::new(BTreeMap::new()) };
    /// The report stats by name, defined on first use.
    static REPORT: RefCell<BTreeMap<String, u32>> = const { RefCell::new(BTreeMap::new()) };
}

fn name(call: Call) -> &'static str {
    match call {
        Call::HeaderMap => "header_map",
        Call::Header => "header",
        Call::SetHeader => "set_header",
        Call::Property => "property",
        Call::SetProperty => "set_property",
        Call::Metric => "metric",
        Call::Time => "time",
        Call::Random => "random",
        Call::Tick => "tick",
        Call::Dispatch => "dispatch",
        Call::Buffer => "buffer",
        Call::Log => "log",
    }
}

pub fn cross(call: Call) {
    CALLS.with(|c| *c.borrow_mut().entry(name(call)).or_default() += 1);
}

fn calls() -> Counts {
    CALLS.with(|c| c.borrow().clone())
}

/// A request context that counts the host calls of its callbacks.
pub struct Counted {
    inner: Request,
    calls: Counts,
}

impl Counted {
    pub fn new(inner: Request) -> Self {
        Self {
            inner,
            calls: Counts::new(),
        }
    }

    /// Runs one callback of the request and adds its host calls.
    fn count<T>(&mut self, callback: impl FnOnce(&mut Request) -> T) -> T {
        let before = calls();
        let out = callback(&mut self.inner);
        for (kind, n) in calls() {
            let earlier = before.get(kind).copied().unwrap_or(0);
            *self.calls.entry(kind).or_default() += n.saturating_sub(earlier);
        }
        out
    }
}

/// Sets or adds to one report stat (not counted).
fn report(kind: MetricType, name: String, n: u64) {
    let id = REPORT.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(id) = r.get(&name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, &name).ok()?;
        r.insert(name, id);
        Some(id)
    });
    let Some(id) = id else { return };
    let _ = match kind {
        MetricType::Gauge => hostcalls::record_metric(id, n),
        _ => hostcalls::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX)),
    };
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
        // Every kind this VM has used, so a kind that drops to 0 shows 0.
        for kind in calls().keys() {
            let n = self.calls.get(kind).copied().unwrap_or(0);
            report(
                MetricType::Gauge,
                format!("tracesafe.test.host_calls.{kind}"),
                n,
            );
        }
        let total = self.calls.values().sum();
        report(
            MetricType::Counter,
            "tracesafe.test.host_calls".into(),
            total,
        );
    }
}
