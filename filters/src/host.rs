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

/// Random bytes handed out from a buffer that one call to the host's
/// CSPRNG refills: in Envoy each WASI `random_get` costs about 4k
/// instructions however few bytes it returns, and a request takes 8 to 40.
/// Every byte is handed out once.
#[derive(Debug, Clone)]
pub struct EntropyPool {
    pool: [u8; EntropyPool::SIZE],
    /// The first byte not yet handed out; `SIZE`: empty.
    next: usize,
}

impl Default for EntropyPool {
    fn default() -> Self {
        Self {
            pool: [0; Self::SIZE],
            next: Self::SIZE,
        }
    }
}

impl EntropyPool {
    /// One refill lasts 64 span ids, or 21 requests that also start a
    /// trace and an `x-request-id`.
    pub const SIZE: usize = 512;

    /// Fills `out` from the pool, refilling it with `refill` (the CSPRNG,
    /// `false` on failure) when it runs out. A failed refill zero-fills
    /// all of `out`, which id generators reject (and retry), rather than
    /// hand out a partly predictable id.
    pub fn fill(&mut self, out: &mut [u8], refill: &mut dyn FnMut(&mut [u8]) -> bool) {
        let mut filled = 0;
        while filled < out.len() {
            if self.next >= Self::SIZE {
                if !refill(&mut self.pool) {
                    out.fill(0);
                    return;
                }
                self.next = 0;
            }
            let src = self.pool.get(self.next..).unwrap_or_default();
            let dst = out.get_mut(filled..).unwrap_or_default();
            let n = src.len().min(dst.len());
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s);
            self.next += n;
            filled += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A CSPRNG double: counts its calls, fills with the call number
    /// plus the position, so every byte of every refill is recognizable.
    fn counting(calls: &mut u8) -> impl FnMut(&mut [u8]) -> bool + '_ {
        move |buf| {
            *calls += 1;
            for (i, b) in buf.iter_mut().enumerate() {
                *b = calls.wrapping_mul(100).wrapping_add(i as u8);
            }
            true
        }
    }

    #[test]
    fn one_refill_serves_many_requests_and_no_byte_twice() {
        let mut calls = 0;
        let mut refill = counting(&mut calls);
        let mut pool = EntropyPool::default();
        let mut seen = Vec::new();
        for _ in 0..EntropyPool::SIZE / 8 {
            let mut id = [0u8; 8];
            pool.fill(&mut id, &mut refill);
            seen.extend_from_slice(&id);
        }
        drop(refill);
        assert_eq!(calls, 1);
        // Exactly the refill's bytes, in order: none skipped, none twice.
        let want: Vec<u8> = (0..EntropyPool::SIZE)
            .map(|i| 100u8.wrapping_add(i as u8))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_fill_across_the_end_takes_the_rest_then_a_new_refill() {
        let mut calls = 0;
        let mut refill = counting(&mut calls);
        let mut pool = EntropyPool::default();
        let mut head = [0u8; EntropyPool::SIZE - 3];
        pool.fill(&mut head, &mut refill);
        let mut id = [0u8; 8];
        pool.fill(&mut id, &mut refill);
        // The last 3 bytes of refill 1 (positions 509..512), then refill 2.
        let tail = |i: usize| 100u8.wrapping_add(i as u8);
        let next = |i: u8| 200u8.wrapping_add(i);
        assert_eq!(
            id,
            [
                tail(509),
                tail(510),
                tail(511),
                next(0),
                next(1),
                next(2),
                next(3),
                next(4)
            ]
        );
        // Larger than the pool: several refills in one fill.
        let mut big = [0u8; 2 * EntropyPool::SIZE];
        pool.fill(&mut big, &mut refill);
        drop(refill);
        assert_eq!(calls, 4);
    }

    #[test]
    fn a_failed_refill_zero_fills_the_whole_request_and_is_retried() {
        let mut pool = EntropyPool::default();
        let mut ok = |buf: &mut [u8]| {
            buf.fill(7);
            true
        };
        let mut head = [0u8; EntropyPool::SIZE - 2];
        pool.fill(&mut head, &mut ok);
        // 2 bytes left, then the refill fails: none of the 8 may be random.
        let mut id = [1u8; 8];
        let mut failures = 0;
        pool.fill(&mut id, &mut |_| {
            failures += 1;
            false
        });
        assert_eq!((id, failures), ([0; 8], 1));
        // The pool stays empty: the next fill asks the host again.
        let mut id = [0u8; 8];
        pool.fill(&mut id, &mut |buf| {
            buf.fill(9);
            true
        });
        assert_eq!(id, [9; 8]);
    }
}
