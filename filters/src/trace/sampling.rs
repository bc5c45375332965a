//! The sampling decision. A ratio is decided from the trace-id's low 56
//! bits, like OpenTelemetry's TraceIdRatioBased (consistent probability
//! sampling): every hop with the same ratio reaches the same decision for
//! the same trace, with no coordination.

use crate::error::ConfigError;
use crate::trace::ids::TraceId;
use schemars::JsonSchema;
use serde::Deserialize;

/// `trace.sampling`: a ratio, or a fixed decision.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a sampling ratio between 0 and 1, \"always\" or \"never\""
)]
pub enum SamplingConfig {
    Ratio(f64),
    Mode(SamplingMode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SamplingMode {
    Always,
    Never,
}

/// 2^56: the randomness is the trace-id's right-most 7 bytes.
const RANGE: u64 = 1 << 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampler {
    /// Honour the parent's decision; decide a new trace (or a deferred
    /// decision) by ratio: sampled when `randomness >= threshold`.
    ParentBasedRatio { threshold: u64 },
    /// Sample every request, whatever the parent decided.
    Always,
    /// Sample no request, whatever the parent decided.
    Never,
}

impl Default for Sampler {
    /// Parent-based, every new trace sampled (OpenTelemetry's default).
    fn default() -> Self {
        Sampler::ParentBasedRatio { threshold: 0 }
    }
}

impl Sampler {
    pub fn compile(cfg: Option<&SamplingConfig>, path: &str) -> Result<Self, ConfigError> {
        Ok(match cfg {
            None => Sampler::default(),
            Some(SamplingConfig::Mode(SamplingMode::Always)) => Sampler::Always,
            Some(SamplingConfig::Mode(SamplingMode::Never)) => Sampler::Never,
            Some(SamplingConfig::Ratio(r)) if (0.0..=1.0).contains(r) => {
                Sampler::ParentBasedRatio {
                    threshold: threshold(*r),
                }
            }
            Some(SamplingConfig::Ratio(r)) => {
                return Err(ConfigError::new(
                    path,
                    format!("sampling ratio {r} is outside 0..1"),
                ))
            }
        })
    }

    /// `parent` is the caller's decision, `None` when there is no caller
    /// context or it deferred the decision.
    pub fn decide(&self, parent: Option<bool>, trace_id: &TraceId) -> bool {
        match self {
            Sampler::Always => true,
            Sampler::Never => false,
            Sampler::ParentBasedRatio { threshold } => {
                parent.unwrap_or_else(|| randomness(trace_id) >= *threshold)
            }
        }
    }
}

/// The rejection threshold for a ratio: `(1 - ratio) * 2^56`, so ratio 1
/// samples everything and ratio 0 nothing.
fn threshold(ratio: f64) -> u64 {
    // RANGE is exactly representable; the product is within 0..=2^56.
    let t = ((1.0 - ratio) * RANGE as f64).round();
    (t as u64).min(RANGE)
}

/// The trace-id's low 56 bits, big-endian.
pub fn randomness(trace_id: &TraceId) -> u64 {
    let mut low = [0u8; 8];
    for (dst, src) in low.iter_mut().zip(trace_id.iter().skip(8)) {
        *dst = *src;
    }
    u64::from_be_bytes(low) & (RANGE - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Entropy, SeededEntropy};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ratio(r: f64) -> Sampler {
        Sampler::compile(Some(&SamplingConfig::Ratio(r)), "trace.sampling").unwrap()
    }

    /// A trace id whose high 9 bytes are `high` and low 56 bits are `low`.
    fn id(high: u8, low: u64) -> TraceId {
        let mut t = [high; 16];
        t[8..].copy_from_slice(&low.to_be_bytes());
        t[8] = high;
        t
    }

    #[test]
    fn randomness_is_the_low_56_bits() {
        assert_eq!(randomness(&id(0xff, 0)), 0);
        assert_eq!(randomness(&id(0xff, RANGE - 1)), RANGE - 1);
        assert_eq!(randomness(&id(0x00, 0x12_3456)), 0x12_3456);
    }

    #[test]
    fn ratio_boundaries() {
        let half = ratio(0.5);
        assert!(!half.decide(None, &id(0xff, (1 << 55) - 1)));
        assert!(half.decide(None, &id(0x00, 1 << 55)));
        // Ratio 1 samples even the lowest randomness, ratio 0 not even the highest.
        assert!(ratio(1.0).decide(None, &id(0, 0)));
        assert!(!ratio(0.0).decide(None, &id(0xff, RANGE - 1)));
        assert_eq!(threshold(0.25), 3 << 54);
    }

    #[test]
    fn same_trace_id_same_decision() {
        let s = ratio(0.3);
        let mut e = SeededEntropy(42);
        for _ in 0..200 {
            let mut t = [0u8; 16];
            e.fill(&mut t);
            let first = s.decide(None, &t);
            assert!((0..3).all(|_| s.decide(None, &t) == first));
            // Another hop with the same ratio agrees.
            assert_eq!(ratio(0.3).decide(None, &t), first);
        }
    }

    #[test]
    fn ratio_is_roughly_honoured() {
        let s = ratio(0.25);
        let mut e = SeededEntropy(7);
        let n = 20_000;
        let sampled = (0..n)
            .filter(|_| {
                let mut t = [0u8; 16];
                e.fill(&mut t);
                s.decide(None, &t)
            })
            .count();
        assert!((4_600..=5_400).contains(&sampled), "{sampled} of {n}");
    }

    #[test]
    fn parent_decision_wins_unless_always_or_never() {
        let t = id(0, 0);
        assert!(ratio(0.0).decide(Some(true), &t));
        assert!(!ratio(1.0).decide(Some(false), &t));
        assert!(Sampler::Always.decide(Some(false), &t));
        assert!(!Sampler::Never.decide(Some(true), &t));
        assert!(Sampler::default().decide(None, &t));
    }

    #[test]
    fn ratio_out_of_range_is_a_config_error() {
        for r in [-0.1, 1.5] {
            let err =
                Sampler::compile(Some(&SamplingConfig::Ratio(r)), "trace.sampling").unwrap_err();
            assert_eq!(err.path, "trace.sampling");
        }
        assert_eq!(
            Sampler::compile(Some(&SamplingConfig::Mode(SamplingMode::Always)), "").unwrap(),
            Sampler::Always
        );
    }
}
