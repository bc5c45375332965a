//! Every host call the adapter makes, in one place: each crossing of the
//! VM boundary costs Envoy a context switch into the host (and for maps and
//! properties a call back into the VM to allocate the answer), so the count
//! per request is a cost figure. With the test-only feature
//! `host-call-count` each call here counts (`crate::host_calls`); the
//! release build has only the calls.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, Bytes, LogLevel, MapType, MetricType, Status};
use std::time::{Duration, SystemTime};

/// What a host call does: the test build counts each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    HeaderMap,
    Header,
    SetHeader,
    Property,
    SetProperty,
    Metric,
    Time,
    Random,
    Tick,
    Dispatch,
    Buffer,
    Log,
}

/// One crossing.
#[inline(always)]
fn cross(_call: Call) {
    #[cfg(feature = "host-call-count")]
    crate::host_calls::cross(_call);
}

#[link(wasm_import_module = "env")]
extern "C" {
    /// The raw ABI call behind the SDK's map getters, which copy every
    /// field into a `String` and a `Vec<u8>`. Plain integers, so an
    /// unexpected status from the host is a value, not an invalid enum.
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
}

/// One header map in one host call, as the host serialized it
/// (`HeaderMap::parse` reads it in place); `None` if the call failed.
pub fn header_map(map: MapType) -> Option<Vec<u8>> {
    cross(Call::HeaderMap);
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: both out-pointers are valid for writes for the whole call.
    let status = unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) };
    if status != Status::Ok as u32 {
        return None;
    }
    if data.is_null() {
        return Some(Vec::new());
    }
    // SAFETY: the host got `data` from `proxy_on_memory_allocate` (the SDK's
    // allocator: a boxed `[u8]` of exactly `size` bytes, all initialized
    // by the host) and hands its ownership to us, as the SDK's getters
    // assume too.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// The first value of one header (`None`: absent).
pub fn header(map: MapType, name: &str) -> Option<Bytes> {
    cross(Call::Header);
    hostcalls::get_map_value_bytes(map, name).ok().flatten()
}

/// Replaces every field of `name` with one value, or removes them (`None`).
pub fn set_header(map: MapType, name: &str, value: Option<&[u8]>) {
    cross(Call::SetHeader);
    let _ = hostcalls::set_map_value_bytes(map, name, value);
}

/// A host property; a host error reads as absent.
pub fn property(path: &[&str]) -> Option<Bytes> {
    cross(Call::Property);
    hostcalls::get_property(path.to_vec()).ok().flatten()
}

/// Filter state: `key` is one dotted path element (Envoy joins elements
/// with NUL).
pub fn set_property(key: &str, value: &[u8]) {
    cross(Call::SetProperty);
    let _ = hostcalls::set_property(vec![key], Some(value));
}

pub fn define_counter(name: &str) -> Option<u32> {
    cross(Call::Metric);
    hostcalls::define_metric(MetricType::Counter, name).ok()
}

pub fn increment(id: u32, n: i64) {
    cross(Call::Metric);
    let _ = hostcalls::increment_metric(id, n);
}

/// Host time (`proxy_get_current_time_nanoseconds`).
pub fn now() -> Option<SystemTime> {
    cross(Call::Time);
    hostcalls::get_current_time().ok()
}

/// WASI `random_get` (through getrandom); `false` on failure.
pub fn random(buf: &mut [u8]) -> bool {
    cross(Call::Random);
    getrandom::fill(buf).is_ok()
}

pub fn tick_period(period: Duration) {
    cross(Call::Tick);
    let _ = hostcalls::set_tick_period(period);
}

pub fn dispatch_http(
    cluster: &str,
    headers: Vec<(&str, &str)>,
    body: &[u8],
    timeout: Duration,
) -> Result<u32, Status> {
    cross(Call::Dispatch);
    hostcalls::dispatch_http_call(cluster, headers, Some(body), vec![], timeout)
}

pub fn dispatch_grpc(
    upstream: &str,
    service: &str,
    method: &str,
    metadata: Vec<(&str, &[u8])>,
    message: &[u8],
    timeout: Duration,
) -> Result<u32, Status> {
    cross(Call::Dispatch);
    hostcalls::dispatch_grpc_call(upstream, service, method, metadata, Some(message), timeout)
}

/// Up to `max` bytes of a buffer (plugin configuration, call answers).
pub fn buffer(kind: BufferType, max: usize) -> Vec<u8> {
    cross(Call::Buffer);
    hostcalls::get_buffer(kind, 0, max)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn log_error(message: &str) {
    cross(Call::Log);
    let _ = hostcalls::log(LogLevel::Error, message);
}
