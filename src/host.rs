//! The host side of `tracesafe_filters::host`: properties through
//! proxy-wasm, randomness through WASI `random_get`.

use proxy_wasm::hostcalls;
use tracesafe_filters::{Entropy, Properties};

/// Reads properties on demand; a host error reads as "absent".
pub struct HostProperties;

impl Properties for HostProperties {
    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        hostcalls::get_property(path.to_vec()).ok().flatten()
    }
}

/// WASI `random_get` (through getrandom).
pub struct WasiEntropy;

impl Entropy for WasiEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // Never hand out predictable ids silently: an all-zero buffer is
            // rejected by the id generators, which then retry.
            buf.fill(0);
        }
    }
}
