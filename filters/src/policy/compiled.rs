//! One policy, compiled: what every request routed to it gets.

use crate::config::PolicyConfig;
use crate::error::{join, ConfigError};
use crate::redact::baggage::BaggagePolicy;
use crate::redact::detectors::Detectors;
use crate::redact::headers::{HeaderDefaults, HeaderPolicy, HeaderPolicyConfig};
use crate::redact::url::UrlPolicy;
use crate::trace::config::TraceResponseMode;
use crate::trace::{traceresponse, TracePolicy};

/// One policy, compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) request_headers: HeaderPolicy,
    pub(crate) response_headers: HeaderPolicy,
    pub(crate) detectors: Detectors,
    pub(crate) baggage: BaggagePolicy,
    pub(crate) url: UrlPolicy,
    pub(crate) trace: TracePolicy,
    /// What this policy reads of a response when no span or audit record
    /// needs it (see [`ResponseRead`]).
    pub(crate) response_read: ResponseRead,
    /// Whether `response_headers` has any rule (trailers get it too).
    pub(crate) response_rules: bool,
}

/// What the response phase of a request reads. Fetching a header map is a
/// host call that serializes the whole map and calls back into the VM to
/// allocate it, so the adapter fetches only what something looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseRead {
    /// Only when this header is present (one value lookup, no map); then
    /// the whole map, as for [`ResponseRead::All`]. Every policy checks
    /// `traceresponse`, so there is no "nothing".
    IfPresent(&'static str),
    /// As [`ResponseRead::IfPresent`], but when the header is absent
    /// `Engine::on_response` still runs, on no headers: an audit record
    /// takes the response's counters there. A lookup that finds nothing
    /// allocates nothing in the VM, so it costs Envoy a fifth of a map.
    Probe(&'static str),
    /// The whole map, then `Engine::on_response`.
    All,
}

/// Whether a header policy has any rule; one without leaves every header
/// alone. Destructured so a new field cannot be forgotten here.
fn has_rules(cfg: &HeaderPolicyConfig) -> bool {
    let HeaderPolicyConfig {
        defaults,
        remove,
        remove_prefixes,
        remove_regex,
        allow_only,
        tokenize,
        namespaces: _,
        scan,
    } = cfg;
    *defaults != HeaderDefaults::None
        || !remove.is_empty()
        || !remove_prefixes.is_empty()
        || !remove_regex.is_empty()
        || allow_only.is_some()
        || !tokenize.is_empty()
        || !scan.is_empty()
}

/// The response read of a policy, before spans and audit: `traceresponse`
/// `pass` and `strip` act only on a `traceresponse` that is there; `emit`
/// sets it on every SERVER hop.
fn response_read(rules: bool, mode: TraceResponseMode) -> ResponseRead {
    match mode {
        _ if rules => ResponseRead::All,
        TraceResponseMode::Emit => ResponseRead::All,
        TraceResponseMode::Pass | TraceResponseMode::Strip => {
            ResponseRead::IfPresent(traceresponse::HEADER)
        }
    }
}

impl Policy {
    /// `path` is the JSON path of the policy object, for error messages;
    /// `has_keys` says whether `tokenize` actions are possible.
    pub fn compile(cfg: &PolicyConfig, path: &str, has_keys: bool) -> Result<Self, ConfigError> {
        let response_rules = has_rules(&cfg.response_headers);
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
            response_read: response_read(response_rules, cfg.trace.traceresponse),
            response_rules,
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
