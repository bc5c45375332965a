//! Envoy stats for `tracesafe_filters::Metric` and per-policy request
//! counters, defined once per configuration.

use crate::calls;
use tracesafe_filters::{Metric, Metrics, RequestOutcome};

/// Metric ids; `None` where the host refused one.
#[derive(Default)]
pub struct Stats {
    /// In `Metric::ALL` order.
    fixed: Vec<Option<u32>>,
    /// `tracesafe.policy.<name>.requests`, in `Engine::policy_names` order.
    /// Policy names are validated to `[a-z0-9_-]`, so they cannot add stat
    /// name segments.
    policies: Vec<Option<u32>>,
}

impl Stats {
    pub fn define<'a>(policy_names: impl Iterator<Item = &'a str>) -> Self {
        Stats {
            fixed: Metric::ALL
                .iter()
                .map(|m| calls::define_counter(&format!("tracesafe.{}", m.name())))
                .collect(),
            policies: policy_names
                .map(|p| calls::define_counter(&format!("tracesafe.policy.{p}.requests")))
                .collect(),
        }
    }

    pub fn record(&self, outcome: &RequestOutcome) {
        self.record_metrics(&outcome.metrics);
        if let Some(id) = self.policies.get(outcome.policy.index).copied().flatten() {
            calls::increment(id, 1);
        }
    }

    pub fn record_metrics(&self, metrics: &Metrics) {
        for (metric, n) in metrics.iter() {
            let id = Metric::ALL
                .iter()
                .position(|m| *m == metric)
                .and_then(|i| self.fixed.get(i).copied().flatten());
            if let (Some(id), Ok(n)) = (id, i64::try_from(n)) {
                calls::increment(id, n);
            }
        }
    }
}
