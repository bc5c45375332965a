//! Criterion: `tracesafe_filters` processing the benchmark request natively,
//! one benchmark per policy file in `envoy/bench/`: the same files and the
//! same request that `./build.sh bench` sends through Envoy, so the two
//! numbers can be read side by side. tests/bench.rs picks the results up from
//! `target/criterion/<policy>/new/estimates.json`.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::Criterion;
    use serde::Deserialize;
    use std::hint::black_box;
    use std::path::PathBuf;
    use std::time::Duration;
    use tracesafe_filters::host::{SeededEntropy, StaticProperties};
    use tracesafe_filters::http::borrowed;
    use tracesafe_filters::{Engine, Header, OwnedHeader, RequestInput, RequestOutcome};

    /// Policy files `envoy/bench/<name>.json`; the names are the benchmark ids.
    const POLICIES: [&str; 2] = ["tracesafe-min", "tracesafe-full"];

    /// `envoy/bench/request.json`.
    #[derive(Deserialize)]
    struct BenchRequest {
        method: String,
        path: String,
        authority: String,
        headers: Vec<(String, String)>,
    }

    /// A setup error: the file or policy it names, and why.
    type Setup<T> = Result<T, String>;

    fn bench_file(name: &str) -> Setup<Vec<u8>> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../envoy/bench")
            .join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The request as the plugin sees it inside Envoy: pseudo-headers, the
    /// client's headers, then the two Envoy's connection manager adds before
    /// any HTTP filter runs.
    fn request() -> Setup<Vec<OwnedHeader>> {
        let req: BenchRequest = serde_json::from_slice(&bench_file("request.json")?)
            .map_err(|e| format!("request.json: {e}"))?;
        let mut headers: Vec<OwnedHeader> = vec![
            (":authority".into(), req.authority.into_bytes()),
            (":path".into(), req.path.into_bytes()),
            (":method".into(), req.method.into_bytes()),
            (":scheme".into(), b"http".to_vec()),
        ];
        headers.extend(req.headers.into_iter().map(|(n, v)| (n, v.into_bytes())));
        headers.push(("x-forwarded-proto".into(), b"http".to_vec()));
        headers.push((
            "x-request-id".into(),
            b"6f1c3a52-8e4b-4d0f-9a7e-2b5c1d3e4f60".to_vec(),
        ));
        Ok(headers)
    }

    /// Everything this bench knows about the `Engine` API, in one place:
    /// compile a policy once, then process the request the way the adapter
    /// does, with the properties an inbound Envoy listener offers.
    fn pipeline<'a>(
        policy: &[u8],
        headers: &'a [Header<'a>],
    ) -> Setup<impl FnMut() -> RequestOutcome + 'a> {
        // tracesafe-full's key, as the bench Envoy gets it (README vector `k1`).
        let env = |name: &str| {
            (name == "TRACESAFE_BENCH_KEY")
                .then(|| "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string())
        };
        let engine = Engine::from_json_with_env(policy, &env).map_err(|e| e.to_string())?;
        let properties = StaticProperties::default()
            .with(&["xds", "listener_direction"], 1u64.to_le_bytes().to_vec())
            .with(&["xds", "route_name"], b"bench".to_vec());
        let mut entropy = SeededEntropy(7);
        Ok(move || {
            engine.on_request(
                &RequestInput {
                    headers,
                    properties: &properties,
                    now_ns: 1,
                },
                &mut entropy,
            )
        })
    }

    /// A setup error stops the bench with its message and a failing exit
    /// status, which `./build.sh bench` reports.
    pub fn benches() {
        if let Err(e) = run_all() {
            eprintln!("benches/pipeline: {e}");
            std::process::exit(1);
        }
    }

    fn run_all() -> Setup<()> {
        let owned = request()?;
        let headers = borrowed(&owned);
        let mut c = Criterion::default()
            // Short: `./build.sh bench` has a 12-minute budget, and 2 s of
            // ~30 µs iterations is plenty of samples for a median.
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .configure_from_args();
        for name in POLICIES {
            let policy = bench_file(&format!("{name}.json"))?;
            let mut run = pipeline(&policy, &headers).map_err(|e| format!("{name}.json: {e}"))?;
            c.bench_function(name, |b| b.iter(|| black_box(run())));
        }
        Ok(())
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
