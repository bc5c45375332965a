//! The meshes on loopback:
//! - [`Mesh`], two sidecars: client → A (outbound, cert frontend) → mTLS →
//!   B (inbound, cert backend, client cert required) → app (echo), both
//!   exporting to one collector;
//! - [`Sidecar`], one Envoy on both sides of a workload: client → inbound
//!   listener → app → outbound listener → callee (echo).

use super::app::{App, CALLS};
use super::certs::Pki;
use super::collector::Collector;
use super::echo::{Echo, Received};
use super::envoy::{scratch_dir, Envoy, Plugin};
use super::http::{Request, Response};
use super::support::unused_port;
use serde_json::Value;
use std::path::PathBuf;

pub const TRUST_DOMAIN: &str = "test.local";
pub const FRONTEND: &str = "spiffe://test.local/ns/shop/sa/frontend";
pub const BACKEND: &str = "spiffe://test.local/ns/shop/sa/backend";

/// `A`: the app behind sidecar B (an [`Echo`], or a gRPC server).
pub struct Mesh<A = Echo> {
    pub app: A,
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
        let app = Echo::start();
        let port = app.port;
        Mesh::with_app(app, port, a_config, b_config, env, b_tracing)
    }
}

impl<A> Mesh<A> {
    /// The mesh in front of `app` listening on `app_port`. Both sidecars
    /// speak to their upstream in the protocol the client used (HTTP/1.1,
    /// or HTTP/2 for gRPC).
    pub fn with_app(
        app: A,
        app_port: u16,
        a_config: &serde_json::Value,
        b_config: &serde_json::Value,
        env: &[(&str, &str)],
        b_tracing: Option<&serde_json::Value>,
    ) -> Mesh<A> {
        let dir = scratch_dir();
        let pki = Pki::new();
        let ca = pki.write_ca(&dir).display().to_string();
        let backend = pki.leaf(&dir, "backend", BACKEND);
        let frontend = pki.leaf(&dir, "frontend", FRONTEND);
        let collector = Collector::start();
        let b = Envoy::builder("mesh-inbound.yaml")
            .plugin(b_config)
            .var(
                "TRACING",
                b_tracing.map_or("null".to_string(), |t| t.to_string()),
            )
            .var("CERT", backend.cert.display())
            .var("KEY", backend.key.display())
            .var("CA", &ca)
            .var("APP_PORT", app_port)
            .var("COLLECTOR_PORT", collector.port)
            .env(env)
            .start();
        let a = Envoy::builder("mesh-outbound.yaml")
            .plugin(a_config)
            .var("CERT", frontend.cert.display())
            .var("KEY", frontend.key.display())
            .var("CA", &ca)
            .var("BACKEND_PORT", b.port("inbound"))
            .var("COLLECTOR_PORT", collector.port)
            .env(env)
            .start();
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

impl<A> Drop for Mesh<A> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `envoy/mesh.yaml`: one Envoy as the sidecar of an [`App`] that copies
/// trace headers onto its calls to the callee.
pub struct Sidecar {
    pub envoy: Envoy,
    pub app: App,
    pub callee: Echo,
}

/// What one client request produced: the request the app received, the
/// app's outbound calls as the callee received them, and the response the
/// client got.
pub struct Hops {
    pub app: Received,
    pub calls: Vec<Received>,
    pub response: Response,
}

impl Sidecar {
    /// Starts the sidecar with these plugin configs and `tracing` (an HCM
    /// `tracing` block for both listeners, exporting to a port nobody
    /// serves, or none).
    pub fn start(inbound: &Value, outbound: &Value, tracing: Option<&Value>) -> Sidecar {
        let callee = Echo::start();
        let app = App::start();
        let envoy = Envoy::builder("mesh.yaml")
            .with(
                Plugin::new(inbound)
                    .at("TRACESAFE_INBOUND")
                    .named("tracesafe-inbound"),
            )
            .with(
                Plugin::new(outbound)
                    .at("TRACESAFE_OUTBOUND")
                    .named("tracesafe-outbound"),
            )
            .var(
                "TRACING",
                tracing.map_or("null".to_string(), Value::to_string),
            )
            .var("GENERATE_REQUEST_ID", tracing.is_some())
            .var("APP_PORT", app.port)
            .upstream(callee.port)
            .var("COLLECTOR_PORT", unused_port())
            .start();
        app.call_through(envoy.port("outbound"));
        Sidecar { envoy, app, callee }
    }

    /// Sends `GET /orders/1` with `headers` to the inbound listener.
    pub fn send(&self, id: &str, headers: &[(&str, &str)]) -> Hops {
        let mut req = Request::get("/orders/1").header("x-test-id", id);
        for (n, v) in headers {
            req = req.header(n, v);
        }
        let resp = req.send(self.envoy.port("inbound")).unwrap();
        assert_eq!(
            resp.status,
            200,
            "{}\n{}",
            resp.body_text(),
            self.envoy.log()
        );
        Hops {
            app: self.app.by_test_id(id),
            calls: (1..=CALLS)
                .map(|n| self.callee.by_test_id(&format!("{id}/{n}")))
                .collect(),
            response: resp,
        }
    }
}
