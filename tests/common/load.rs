//! Load and memory for the failure and soak tests: a multi-threaded
//! HTTP/1.1 keep-alive client that counts every answer exactly, and the
//! memory of an Envoy process (RSS, Envoy's allocator, the wasm VMs).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Report {
    /// Answers per status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer (connection errors); each reconnects.
    pub errors: u64,
    pub elapsed: Duration,
    /// Latency percentiles (50, 99, 100) in microseconds.
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Report {
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub fn per_second(&self) -> f64 {
        let n: u64 = self.statuses.values().sum();
        n as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `request` (a complete keep-alive HTTP/1.1 request) `total` times
/// over `connections` connections, one request in flight per connection.
pub fn run(port: u16, request: &[u8], total: u64, connections: usize) -> Report {
    let request = request.to_vec();
    run_with(port, total, connections, move |_| request.clone())
}

/// Like [`run`], with request `n` (0-based) made by `make(n)`.
pub fn run_with(
    port: u16,
    total: u64,
    connections: usize,
    make: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static,
) -> Report {
    let make = Arc::new(make);
    let next = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new((Report::default(), Vec::<u32>::new())));
    let start = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (next, shared, make) = (next.clone(), shared.clone(), make.clone());
            std::thread::spawn(move || {
                let mut statuses = BTreeMap::new();
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut conn: Option<BufReader<TcpStream>> = None;
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        break;
                    }
                    let request = make(n);
                    let began = Instant::now();
                    let stream = match conn.take() {
                        Some(c) => c,
                        None => match TcpStream::connect(("127.0.0.1", port)) {
                            Ok(s) => {
                                s.set_nodelay(true).unwrap();
                                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                                BufReader::new(s)
                            }
                            Err(_) => {
                                errors += 1;
                                continue;
                            }
                        },
                    };
                    match exchange(stream, &request) {
                        Some((status, stream)) => {
                            *statuses.entry(status).or_insert(0) += 1;
                            latencies.push(began.elapsed().as_micros() as u32);
                            conn = stream;
                        }
                        None => errors += 1,
                    }
                }
                let mut s = shared.lock().unwrap();
                for (k, v) in statuses {
                    *s.0.statuses.entry(k).or_insert(0) += v;
                }
                s.0.errors += errors;
                s.1.extend(latencies);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (mut report, mut latencies) = Arc::try_unwrap(shared).unwrap().into_inner().unwrap();
    report.elapsed = start.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0) as u64
    };
    (report.p50_us, report.p99_us, report.max_us) = (at(0.5), at(0.99), at(1.0));
    report
}

/// One request and its answer; the connection comes back unless the
/// server closes it.
fn exchange(
    mut conn: BufReader<TcpStream>,
    request: &[u8],
) -> Option<(u16, Option<BufReader<TcpStream>>)> {
    conn.get_mut().write_all(request).ok()?;
    let mut line = String::new();
    conn.read_line(&mut line).ok()?;
    let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
    let (mut len, mut close) = (0usize, false);
    loop {
        line.clear();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().ok()?,
            "connection" => close = value.trim().eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).ok()?;
    Some((status, (!close).then_some(conn)))
}

/// A keep-alive GET with these headers.
pub fn request(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("GET {path} HTTP/1.1\r\nhost: load.test\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Memory of one Envoy process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Resident set size of the whole process (`VmRSS`).
    pub rss: u64,
    /// Bytes Envoy's allocator has handed out (admin `/memory`
    /// `allocated`): Envoy's own heap, without the wasm VMs.
    pub envoy_allocated: u64,
    /// The wasm linear memories of all VMs: their size and how much of it is
    /// resident. Envoy reports neither; V8 maps each memory right in front
    /// of a guard region of several GiB, which finds them in `smaps`.
    pub vm_size: u64,
    pub vm_rss: u64,
}

impl Memory {
    pub fn of(pid: u32, admin: u16) -> Memory {
        let mem: serde_json::Value =
            serde_json::from_str(&super::http::get(admin, "/memory").body_text()).unwrap();
        let envoy_allocated = mem["allocated"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024;
        let wasm = WasmMemories::of(pid);
        Memory {
            rss: vm_rss_kib(pid),
            envoy_allocated,
            vm_size: wasm.size_kib,
            vm_rss: wasm.rss_kib,
        }
    }
}

/// Resident set size of a process in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The wasm linear memories of all VMs of a process (one per VM: Envoy runs
/// one on the main thread and one per worker).
#[derive(Debug, Clone, Copy, Default)]
pub struct WasmMemories {
    pub count: u32,
    /// Their size and how much of it is resident, in KiB.
    pub size_kib: u64,
    pub rss_kib: u64,
}

impl WasmMemories {
    pub fn of(pid: u32) -> WasmMemories {
        WasmMemories::parse(&std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap())
    }

    /// Every read-write mapping in `smaps` directly followed by an
    /// inaccessible mapping of at least 4 GiB. Envoy does not report the
    /// wasm memories, but V8 gives each one a reservation of several GiB
    /// (the guard region that lets it skip bounds checks) whose read-write
    /// head is the memory itself.
    pub fn parse(smaps: &str) -> WasmMemories {
        struct Map {
            start: u64,
            end: u64,
            rw: bool,
            none: bool,
            rss: u64,
        }
        let mut maps: Vec<Map> = Vec::new();
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            let range = first.split_once('-').and_then(|(a, b)| {
                Some((
                    u64::from_str_radix(a, 16).ok()?,
                    u64::from_str_radix(b, 16).ok()?,
                ))
            });
            if let Some((start, end)) = range {
                let perms = fields.next().unwrap_or_default();
                maps.push(Map {
                    start,
                    end,
                    rw: perms.starts_with("rw"),
                    none: perms.starts_with("---"),
                    rss: 0,
                });
            } else if first == "Rss:" {
                if let Some(m) = maps.last_mut() {
                    m.rss = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                }
            }
        }
        maps.windows(2)
            .filter(|w| {
                w[0].rw && w[1].none && w[0].end == w[1].start && w[1].end - w[1].start >= 4 << 30
            })
            .fold(WasmMemories::default(), |acc, w| WasmMemories {
                count: acc.count + 1,
                size_kib: acc.size_kib + (w[0].end - w[0].start) / 1024,
                rss_kib: acc.rss_kib + w[0].rss,
            })
    }
}
