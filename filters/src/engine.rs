//! The compiled configuration and the per-request pipeline:
//! headers in → decisions → mutations out.

use crate::config::{self, ConfigError, PluginConfig};
use crate::headers::{Header, HeaderOp, HeaderPolicy};

/// Everything compiled in `on_configure`, shared read-only by all requests.
#[derive(Debug, Clone)]
pub struct Engine {
    request_headers: HeaderPolicy,
}

/// What the adapter must do to the request, and what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOutcome {
    pub ops: Vec<HeaderOp>,
}

impl Engine {
    /// Parses and compiles the plugin configuration; any error refuses the
    /// plugin (fail closed).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::compile(&config::parse(bytes)?)
    }

    pub fn compile(cfg: &PluginConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            request_headers: HeaderPolicy::compile(&cfg.request_headers, "request_headers")?,
        })
    }

    /// Decides the mutations for one request's headers.
    pub fn on_request_headers(&self, headers: &[Header]) -> RequestOutcome {
        RequestOutcome {
            ops: self.request_headers.decide(headers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn config_to_ops() {
        let engine =
            Engine::from_json(br#"{"request_headers":{"remove":["authorization"]}}"#).unwrap();
        let out = engine.on_request_headers(&[
            ("authorization".into(), b"Bearer s3cr3t".to_vec()),
            ("accept".into(), b"*/*".to_vec()),
        ]);
        assert_eq!(out.ops, vec![HeaderOp::Remove("authorization".into())]);
    }

    #[test]
    fn compile_errors_carry_the_path() {
        let err = Engine::from_json(br#"{"request_headers":{"remove":["a b"]}}"#).unwrap_err();
        assert_eq!(err.path, "request_headers.remove[0]");
    }
}
