//! The two-sidecar mesh on loopback:
//! client → A (outbound, cert frontend) → mTLS → B (inbound, cert backend,
//! client cert required) → app (echo), both sidecars exporting to one
//! collector.

use super::certs::Pki;
use super::collector::Collector;
use super::echo::Echo;
use super::envoy::{scratch_dir, Envoy};
use super::tracesafe_filter;
use std::path::PathBuf;

pub const TRUST_DOMAIN: &str = "test.local";
pub const FRONTEND: &str = "spiffe://test.local/ns/shop/sa/frontend";
pub const BACKEND: &str = "spiffe://test.local/ns/shop/sa/backend";

pub struct Mesh {
    pub app: Echo,
    pub collector: Collector,
    pub b: Envoy,
    pub a: Envoy,
    dir: PathBuf,
}

impl Mesh {
    /// Starts B then A with these plugin configs (`export.cluster` should
    /// be `collector` to export) and these host env vars for both VMs.
    pub fn start(
        a_config: &serde_json::Value,
        b_config: &serde_json::Value,
        env: &[(&str, &str)],
    ) -> Mesh {
        Self::start_with_tracing(a_config, b_config, env, None)
    }

    /// Like [`Mesh::start`], with an HCM `tracing` block on sidecar B.
    pub fn start_with_tracing(
        a_config: &serde_json::Value,
        b_config: &serde_json::Value,
        env: &[(&str, &str)],
        b_tracing: Option<&serde_json::Value>,
    ) -> Mesh {
        let dir = scratch_dir();
        let pki = Pki::new();
        let ca = pki.write_ca(&dir).display().to_string();
        let backend = pki.leaf(&dir, "backend", BACKEND);
        let frontend = pki.leaf(&dir, "frontend", FRONTEND);
        let app = Echo::start();
        let collector = Collector::start();
        let keys: Vec<&str> = env.iter().map(|(k, _)| *k).collect();
        let b = Envoy::start(
            "mesh-inbound.yaml",
            &[
                ("TRACESAFE", tracesafe_filter(b_config, &keys)),
                (
                    "TRACING",
                    b_tracing.map_or("null".to_string(), |t| t.to_string()),
                ),
                ("CERT", backend.cert.display().to_string()),
                ("KEY", backend.key.display().to_string()),
                ("CA", ca.clone()),
                ("APP_PORT", app.port.to_string()),
                ("COLLECTOR_PORT", collector.port.to_string()),
            ],
            env,
        );
        let a = Envoy::start(
            "mesh-outbound.yaml",
            &[
                ("TRACESAFE", tracesafe_filter(a_config, &keys)),
                ("CERT", frontend.cert.display().to_string()),
                ("KEY", frontend.key.display().to_string()),
                ("CA", ca),
                ("BACKEND_PORT", b.port("inbound").to_string()),
                ("COLLECTOR_PORT", collector.port.to_string()),
            ],
            env,
        );
        Mesh {
            app,
            collector,
            b,
            a,
            dir,
        }
    }

    /// The port a client sends plaintext requests to (sidecar A).
    pub fn entry(&self) -> u16 {
        self.a.port("outbound")
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
