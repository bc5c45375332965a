//! Envoy stats for `tracesafe_filters::Metric`, defined once per VM.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use tracesafe_filters::{Metric, Metrics};

/// Metric ids in `Metric::ALL` order; `None` where the host refused one.
#[derive(Default)]
pub struct Stats(Vec<Option<u32>>);

impl Stats {
    pub fn define() -> Self {
        Stats(
            Metric::ALL
                .iter()
                .map(|m| {
                    hostcalls::define_metric(
                        MetricType::Counter,
                        &format!("tracesafe.{}", m.name()),
                    )
                    .ok()
                })
                .collect(),
        )
    }

    pub fn record(&self, metrics: &Metrics) {
        for (metric, n) in metrics.iter() {
            let id = Metric::ALL
                .iter()
                .position(|m| *m == metric)
                .and_then(|i| self.0.get(i).copied().flatten());
            if let (Some(id), Ok(n)) = (id, i64::try_from(n)) {
                let _ = hostcalls::increment_metric(id, n);
            }
        }
    }
}
