//! The host side of `tracesafe_filters::host`: properties through
//! proxy-wasm, randomness through WASI `random_get`.

use crate::calls;
use std::cell::RefCell;
use std::rc::Rc;
use tracesafe_filters::{Entropy, EntropyPool, Properties};

/// Properties that cannot change under one root context, by path prefix:
/// Envoy keys a plugin, and so its root context, by the listener's traffic
/// direction (`createPluginKey` in Envoy's wasm `plugin.h`), and the node is
/// the process's. They are only readable from a stream, so they are read on
/// the first request and then served from the root's [`PropertyCache`]: a
/// property read is a host call plus a call back into the VM to allocate the
/// answer, about 13k instructions of Envoy's per request (`./build.sh bench`).
const PER_ROOT: &[&[&str]] = &[&["xds", "listener_direction"], &["xds", "node"]];

/// A property path and its value (`None`: absent).
type Entry = (Vec<String>, Option<Vec<u8>>);

/// Per-root memory of [`PER_ROOT`] properties, absent ones included.
#[derive(Default)]
pub struct PropertyCache(RefCell<Vec<Entry>>);

/// Reads properties on demand; a host error reads as "absent".
pub struct HostProperties {
    cache: Rc<PropertyCache>,
}

impl HostProperties {
    pub fn new(cache: Rc<PropertyCache>) -> Self {
        Self { cache }
    }
}

impl Properties for HostProperties {
    fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        let per_root = PER_ROOT.iter().any(|prefix| path.starts_with(prefix));
        if !per_root {
            return calls::property(path);
        }
        let same = |key: &Vec<String>| key.iter().map(String::as_str).eq(path.iter().copied());
        if let Ok(cache) = self.cache.0.try_borrow() {
            if let Some((_, value)) = cache.iter().find(|(key, _)| same(key)) {
                return value.clone();
            }
        }
        let value = calls::property(path);
        if let Ok(mut cache) = self.cache.0.try_borrow_mut() {
            cache.push((path.iter().map(|s| s.to_string()).collect(), value.clone()));
        }
        value
    }
}

/// WASI `random_get` (through getrandom), drawn through the root's
/// [`EntropyPool`]: one host call per pool, not one per id.
#[derive(Clone, Default)]
pub struct WasiEntropy(Rc<RefCell<EntropyPool>>);

impl Entropy for WasiEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        let mut refill = calls::random;
        match self.0.try_borrow_mut() {
            Ok(mut pool) => pool.fill(buf, &mut refill),
            // Cannot happen (one callback runs at a time); unpooled then.
            Err(_) => EntropyPool::default().fill(buf, &mut refill),
        }
    }
}
