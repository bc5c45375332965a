//! One policy, compiled: what every request routed to it gets.

use crate::config::PolicyConfig;
use crate::error::{join, ConfigError};
use crate::redact::baggage::BaggagePolicy;
use crate::redact::detectors::Detectors;
use crate::redact::headers::HeaderPolicy;
use crate::redact::url::UrlPolicy;
use crate::trace::TracePolicy;

/// One policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) request_headers: HeaderPolicy,
    pub(crate) response_headers: HeaderPolicy,
    pub(crate) detectors: Detectors,
    pub(crate) baggage: BaggagePolicy,
    pub(crate) url: UrlPolicy,
    pub(crate) trace: TracePolicy,
}

impl Policy {
    /// `path` is the JSON path of the policy object, for error messages;
    /// `has_keys` says whether `tokenize` actions are possible.
    pub fn compile(cfg: &PolicyConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            request_headers: HeaderPolicy::compile(
                &cfg.request_headers,
                &join(path, "request_headers"),
                has_keys,
            )?,
            response_headers: HeaderPolicy::compile(
                &cfg.response_headers,
                &join(path, "response_headers"),
                has_keys,
            )?,
            detectors: Detectors::compile(&cfg.detectors, &join(path, "detectors"), has_keys)?,
            baggage: BaggagePolicy::compile(&cfg.baggage, &join(path, "baggage"), has_keys)?,
            url: UrlPolicy::compile(&cfg.url, &join(path, "url"), has_keys)?,
            trace: TracePolicy::compile(&cfg.trace, &join(path, "trace"))?,
        })
    }

    pub fn request_headers(&self) -> &HeaderPolicy {
        &self.request_headers
    }

    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    pub fn baggage(&self) -> &BaggagePolicy {
        &self.baggage
    }
}
