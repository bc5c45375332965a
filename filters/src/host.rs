//! What the filter needs from its host, as traits, so the logic stays
//! host-free: the adapter implements them with proxy-wasm calls, tests and
//! the CLI with plain data.

use std::collections::HashMap;

/// Host properties (`["xds","route_name"]`, `["connection","mtls"]`, ...),
/// fetched lazily so a request pays only for the properties its policy reads.
pub trait Properties {
    fn property(&self, path: &[&str]) -> Option<Vec<u8>>;
}

/// Randomness for ids: WASI `random_get` in the plugin.
pub trait Entropy {
    fn fill(&mut self, buf: &mut [u8]);
}

/// Fixed properties, for tests and `tracesafe explain`.
#[derive(Debug, Clone, Default)]
pub struct StaticProperties(pub HashMap<Vec<String>, Vec<u8>>);

impl StaticProperties {
    pub fn with(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Self {
        self.0
            .insert(path.iter().map(|s| s.to_string()).collect(), value.into());
        self
    }
}

impl Properties for StaticProperties {
    /// A scan without building a key: the map holds a handful of entries,
    /// and the benchmark should measure the engine, not this double.
    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        self.0
            .iter()
            .find(|(key, _)| key.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|(_, value)| value.clone())
    }
}

/// A deterministic generator (splitmix64) for tests and `explain`; never
/// used by the plugin, whose ids come from WASI.
#[derive(Debug, Clone)]
pub struct SeededEntropy(pub u64);

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            for (dst, src) in chunk.iter_mut().zip(z.to_le_bytes()) {
                *dst = src;
            }
        }
    }
}
