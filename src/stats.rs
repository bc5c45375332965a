//! Envoy stats for `tracesafe_filters::Metric` and per-policy request
//! counters, defined once per configuration.
//!
//! Increments are summed in the VM and handed to Envoy from the root
//! context's tick ([`Stats::flush`]): each `proxy_increment_metric` is a
//! crossing into the host (about 1k Envoy instructions with the C-API
//! glue), and a request touches up to a dozen counters, while a flush makes
//! one call per counter that changed, however many requests it covers.

use crate::calls;
use std::cell::Cell;
use std::time::Duration;
use tracesafe_filters::{Metric, Metrics, RequestOutcome};

/// How often pending increments reach Envoy, at the latest. 100 ms keeps
/// `/stats` and Prometheus scrapes (seconds apart) current to a tenth of a
/// second, while an idle worker wakes the VM only 10 times a second (the
/// span exporter's own tick is 10 to 200 ms, so with export this adds at
/// most one wake-up in two).
pub const FLUSH_PERIOD: Duration = Duration::from_millis(100);

/// One defined counter and the increments it has not been given yet.
struct Counter {
    id: u32,
    pending: Cell<u64>,
}

impl Counter {
    fn define(name: &str) -> Option<Self> {
        calls::define_counter(name).map(|id| Counter {
            id,
            pending: Cell::new(0),
        })
    }

    fn add(&self, n: u64) {
        self.pending.set(self.pending.get().saturating_add(n));
    }

    fn flush(&self) {
        let n = self.pending.get();
        if n == 0 {
            return;
        }
        let step = i64::try_from(n).unwrap_or(i64::MAX);
        self.pending.set(n.saturating_sub(step.unsigned_abs()));
        calls::increment(self.id, step);
    }
}

/// Metric ids and their pending increments; `None` where the host refused
/// one. Shared as `Rc<Stats>` by the root and request contexts of one VM
/// (single-threaded), hence the `Cell`s.
#[derive(Default)]
pub struct Stats {
    /// In `Metric::ALL` order.
    fixed: Vec<Option<Counter>>,
    /// `tracesafe.policy.<name>.requests`, in `Engine::policy_names` order.
    /// Policy names are validated to `[a-z0-9_-]`, so they cannot add stat
    /// name segments.
    policies: Vec<Option<Counter>>,
}

impl Stats {
    pub fn define<'a>(policy_names: impl Iterator<Item = &'a str>) -> Self {
        Stats {
            fixed: Metric::ALL
                .iter()
                .map(|m| Counter::define(&format!("tracesafe.{}", m.name())))
                .collect(),
            policies: policy_names
                .map(|p| Counter::define(&format!("tracesafe.policy.{p}.requests")))
                .collect(),
        }
    }

    /// Adds a request's outcome to the pending increments (no host call).
    pub fn record(&self, outcome: &RequestOutcome) {
        self.record_metrics(&outcome.metrics);
        if let Some(Some(c)) = self.policies.get(outcome.policy.index) {
            c.add(1);
        }
    }

    /// Adds to the pending increments (no host call).
    pub fn record_metrics(&self, metrics: &Metrics) {
        for (metric, n) in metrics.iter() {
            let counter = Metric::ALL
                .iter()
                .position(|m| *m == metric)
                .and_then(|i| self.fixed.get(i))
                .and_then(Option::as_ref);
            if let Some(c) = counter {
                c.add(n);
            }
        }
    }

    /// Hands every pending increment to Envoy: one host call per counter
    /// that changed since the last flush.
    pub fn flush(&self) {
        for c in self.fixed.iter().chain(&self.policies).flatten() {
            c.flush();
        }
    }
}
