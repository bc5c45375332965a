//! `detectors`: the configuration of the value detectors
//! ([`crate::redact::detectors`] compiles and runs them).

use crate::metrics::DetectorKind;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What to do with a value in which a detector hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DetectorAction {
    /// The detector does not run.
    Off,
    /// Drop the whole carrier: the header field, baggage member or query
    /// parameter (a path segment becomes `REDACTED`).
    Remove,
    /// Replace the match with `[REDACTED:<kind>]` (cards keep the last 4
    /// digits: `[REDACTED:card:1111]`).
    #[default]
    Mask,
    /// Replace the match with its keyed token.
    Tokenize,
}

/// `detectors`: one action per built-in detector, plus custom ones.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorsConfig {
    pub email: DetectorAction,
    pub card: DetectorAction,
    pub jwt: DetectorAction,
    /// `Bearer`/`Basic` credentials and vendor tokens (GitHub, GitLab,
    /// Slack, Stripe, Google, OpenAI, Anthropic, npm, ...), Azure SAS and
    /// account keys, AWS secret keys, PEM private keys, URL userinfo.
    pub credential: DetectorAction,
    pub aws_key: DetectorAction,
    pub ipv4: DetectorAction,
    pub ipv6: DetectorAction,
    pub ssn: DetectorAction,
    pub phone: DetectorAction,
    /// IBANs with a valid country length and mod-97 check.
    pub iban: DetectorAction,
    /// High-entropy letter+digit runs (20+ bytes, 3.5+ bits each) and
    /// UUIDs in forwarded values. Off by default, so request ids pass;
    /// values bound for the span (path segments, query values, user agent)
    /// are always masked when this is `off`.
    pub generic_secret: DetectorAction,
    /// Named regexes (regex-lite syntax).
    pub custom: Vec<CustomDetectorConfig>,
    /// Token namespace per tokenizing detector (default: its name).
    pub namespaces: BTreeMap<String, String>,
}

impl Default for DetectorsConfig {
    fn default() -> Self {
        let m = DetectorAction::Mask;
        Self {
            email: m,
            card: m,
            jwt: m,
            credential: m,
            aws_key: m,
            ipv4: m,
            ipv6: m,
            ssn: m,
            phone: m,
            iban: m,
            generic_secret: DetectorAction::Off,
            custom: Vec::new(),
            namespaces: BTreeMap::new(),
        }
    }
}

/// One entry of `detectors.custom`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomDetectorConfig {
    /// Mask label and default namespace: `[a-z0-9_]`, 1 to 32 characters.
    pub name: String,
    pub regex: String,
    #[serde(default)]
    pub action: DetectorAction,
}

/// The configured action of a built-in detector (`tracesafe catalog` too).
pub fn builtin_action(cfg: &DetectorsConfig, kind: DetectorKind) -> DetectorAction {
    match kind {
        DetectorKind::Email => cfg.email,
        DetectorKind::Card => cfg.card,
        DetectorKind::Jwt => cfg.jwt,
        DetectorKind::Credential => cfg.credential,
        DetectorKind::AwsKey => cfg.aws_key,
        DetectorKind::Ipv4 => cfg.ipv4,
        DetectorKind::Ipv6 => cfg.ipv6,
        DetectorKind::Ssn => cfg.ssn,
        DetectorKind::Phone => cfg.phone,
        DetectorKind::Iban => cfg.iban,
        DetectorKind::GenericSecret => cfg.generic_secret,
        DetectorKind::Custom => DetectorAction::Off,
    }
}
