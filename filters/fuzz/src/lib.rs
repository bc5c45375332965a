//! Helpers shared by the fuzz targets: fuzz input read as header lines (so
//! seed corpora stay readable), the published test keys, and secrets the
//! fuzzer cannot predict, for "a planted secret never comes out" checks.

pub mod oracle;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::sync::OnceLock;
use tracesafe_filters::host::StaticProperties;
use tracesafe_filters::redact::detectors::{Detectors, DetectorsConfig};
use tracesafe_filters::redact::token::{Keyring, KeysConfig};
use tracesafe_filters::{DetectorKind, OwnedHeader};

/// One request as a proxy hands it over.
#[derive(Debug, Default)]
pub struct Lines {
    pub headers: Vec<OwnedHeader>,
    pub properties: StaticProperties,
}

/// Reads `name: value` lines. Names are lowercased (Envoy's header map is
/// lowercase); a leading `:` belongs to the name (pseudo-headers). Values
/// are raw bytes with one leading space dropped; CR, LF and NUL never
/// occur, as Envoy rejects them before any filter runs. `@a.b: v` lines are
/// host properties (`["a","b"]`).
pub fn lines(data: &[u8]) -> Lines {
    let mut out = Lines::default();
    for line in data.split(|&b| b == b'\n') {
        let line: Vec<u8> = line
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != 0)
            .collect();
        let from = usize::from(line.first() == Some(&b':'));
        let Some(colon) = line
            .iter()
            .skip(from)
            .position(|&b| b == b':')
            .map(|i| i + from)
        else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        let value = &line[colon + 1..];
        let value = value.strip_prefix(b" ").unwrap_or(value).to_vec();
        if let Some(path) = name.strip_prefix('@') {
            let path: Vec<&str> = path.split('.').collect();
            out.properties = std::mem::take(&mut out.properties).with(&path, value);
        } else if !name.is_empty() {
            out.headers.push((name, value));
        }
    }
    out
}

/// The README's published keys (k1 = bytes 0..32, k2 = bytes 32..64).
pub const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// The VM environment of the targets: `K1`, `K2`, a short key and a value
/// that is not base64.
pub fn env(name: &str) -> Option<String> {
    match name {
        "K1" => Some(K1.into()),
        "K2" => Some(K2.into()),
        "SHORT" => Some("c2hvcnQta2V5LTE2Ynl0ZQ==".into()),
        "BAD" => Some("not base64!".into()),
        _ => None,
    }
}

/// Keys k1 and k2, `active` minting; the error names what was wrong.
pub fn keyring(active: &str) -> Result<Keyring, String> {
    let cfg: KeysConfig = serde_json::from_value(serde_json::json!({
        "active": active, "env": {"k1": "K1", "k2": "K2"}
    }))
    .map_err(|e| format!("keys: {e}"))?;
    Keyring::from_env(&cfg, &env, "keys").map_err(|e| e.to_string())
}

/// The default detectors plus the `api_key` custom detector, each with
/// `action` (`mask`, `remove` or `tokenize`).
pub fn detectors(action: &str) -> Result<Detectors, String> {
    let custom: serde_json::Value =
        serde_json::from_str(API_KEY_DETECTOR).map_err(|e| format!("API_KEY_DETECTOR: {e}"))?;
    let mut cfg = serde_json::json!({ "custom": [custom] });
    for kind in DetectorKind::ALL {
        if kind != DetectorKind::Custom {
            cfg[kind.name()] = action.into();
        }
    }
    cfg["custom"][0]["action"] = action.into();
    let cfg: DetectorsConfig =
        serde_json::from_value(cfg).map_err(|e| format!("detectors: {e}"))?;
    Detectors::compile(&cfg, "detectors", true).map_err(|e| e.to_string())
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// FNV-1a of the whole input: planted secrets depend on it, so the fuzzer
/// cannot copy one into another carrier (changing the input changes the
/// secret), and any copy in the output comes from the planted one.
pub fn salt(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Secret kinds the default detectors (plus the `api_key` custom detector
/// of the targets' policies) find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email,
    Card,
    Ssn,
    Jwt,
    AwsKey,
    Bearer,
    Phone,
    ApiKey,
    /// Vendor tokens of the `credential` detector, one per family.
    Github,
    GithubPat,
    Gitlab,
    Slack,
    Stripe,
    Google,
    OpenAi,
    Anthropic,
    Npm,
    SendGrid,
    Twilio,
    Shopify,
    HuggingFace,
    Vault,
    DigitalOcean,
    PrivateKey,
    Iban,
    /// A sample of `filters/tests/data/credentials.txt` (every family the
    /// `credential` detector knows), its secret part randomized.
    Credential,
}

impl Kind {
    pub const ALL: [Kind; 25] = [
        Kind::Email,
        Kind::Card,
        Kind::Ssn,
        Kind::Jwt,
        Kind::AwsKey,
        Kind::Bearer,
        Kind::Phone,
        Kind::ApiKey,
        Kind::Github,
        Kind::GithubPat,
        Kind::Gitlab,
        Kind::Slack,
        Kind::Stripe,
        Kind::Google,
        Kind::OpenAi,
        Kind::Anthropic,
        Kind::Npm,
        Kind::SendGrid,
        Kind::Twilio,
        Kind::Shopify,
        Kind::HuggingFace,
        Kind::Vault,
        Kind::DigitalOcean,
        Kind::PrivateKey,
        Kind::Iban,
    ];

    /// Half the inputs plant a corpus credential, the rest one of
    /// [`Kind::ALL`].
    pub fn pick(b: u8) -> Kind {
        if b & 1 == 1 {
            return Kind::Credential;
        }
        Self::ALL[usize::from(b >> 1) % Self::ALL.len()]
    }
}

/// The custom detector the targets' policies add for [`Kind::ApiKey`].
pub const API_KEY_DETECTOR: &str =
    r#"{"name": "api_key", "regex": "\\bsk_live_[A-Za-z0-9]{16,}\\b"}"#;

/// The samples of `credentials.txt`, each with the window the default
/// detectors find in it (its secret part). That the default detectors
/// compile and find every sample is the filters crate's own unit test
/// (`redact::detectors`), so nothing is checked again here.
fn corpus() -> &'static [(String, usize, usize)] {
    static C: OnceLock<Vec<(String, usize, usize)>> = OnceLock::new();
    C.get_or_init(|| {
        let Ok(d) = Detectors::compile(&DetectorsConfig::default(), "detectors", false) else {
            return Vec::new();
        };
        include_str!("../../tests/data/credentials.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .filter_map(|(_, v)| {
                let h = d
                    .find(v)
                    .into_iter()
                    .find(|h| h.kind == DetectorKind::Credential)?;
                Some((v.to_string(), h.start, h.end))
            })
            .collect()
    })
}

/// A corpus credential for `salt` and its needle: the middle third of its
/// secret part, where every letter and digit of a random-looking run (8+
/// letters and digits with a digit, so no fixed word such as `services` or
/// `PRIVATE`) is redrawn within its class (digit, `a-f`, `g-z`, `A-F`,
/// `G-Z`): the format still holds and the needle is unique to the input.
fn credential(salt: u64) -> (String, String) {
    let c = corpus();
    // Empty only if the default detectors no longer compile, which the
    // filters crate's tests report; a planted empty credential then fails
    // the target's own "found" check.
    let Some((sample, start, end)) = c.get((salt % c.len().max(1) as u64) as usize) else {
        return (String::new(), String::new());
    };
    let third = (end - start) / 3;
    let (from, to) = (start + third, end - third);
    let noise = chars(salt, to - from, b"0123456789abcdefghijklmnopqrstuvwxyz");
    let mut out = sample.as_bytes().to_vec();
    let random = random_runs(&out);
    for ((b, r), keep) in out[from..to]
        .iter_mut()
        .zip(noise.bytes())
        .zip(random[from..to].iter().map(|r| !r))
    {
        if keep {
            continue;
        }
        let pick = |set: &[u8]| set[usize::from(r) % set.len()];
        *b = match *b {
            b'0'..=b'9' => pick(DIGITS),
            b'a'..=b'f' => pick(b"abcdef"),
            b'g'..=b'z' => pick(b"ghijklmnopqrstuvwxyz"),
            b'A'..=b'F' => pick(b"ABCDEF"),
            b'G'..=b'Z' => pick(b"GHIJKLMNOPQRSTUVWXYZ"),
            other => other,
        };
    }
    let needle = String::from_utf8_lossy(&out[from..to]).into_owned();
    (String::from_utf8_lossy(&out).into_owned(), needle)
}

/// Per byte: inside a run of 8+ letters and digits that holds a digit.
fn random_runs(v: &[u8]) -> Vec<bool> {
    let mut out = vec![false; v.len()];
    let mut i = 0;
    while i < v.len() {
        let end = i + v[i..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(v.len() - i);
        if end - i >= 8 && v[i..end].iter().any(u8::is_ascii_digit) {
            out[i..end].iter_mut().for_each(|o| *o = true);
        }
        i = end + 1;
    }
    out
}

/// What must never come out once `secret(kind, salt)` went in: the whole
/// secret, or for a corpus credential its randomized core (the sample's
/// fixed parts, such as a URL host, may stay).
pub fn needle(kind: Kind, salt: u64) -> String {
    match kind {
        Kind::Credential => credential(salt).1,
        _ => secret(kind, salt),
    }
}

/// A well-formed, detectable secret of `kind`, unique to `salt`.
pub fn secret(kind: Kind, salt: u64) -> String {
    match kind {
        Kind::Credential => credential(salt).0,
        Kind::Email => format!("u{salt:016x}@example.com"),
        Kind::Card => {
            let payload = format!("4{:014}", salt % 100_000_000_000_000);
            format!("{payload}{}", luhn_digit(&payload))
        }
        Kind::Ssn => format!(
            "{}-{:02}-{:04}",
            100 + salt % 500,
            10 + (salt / 500) % 89,
            1000 + (salt / 44_500) % 8999
        ),
        Kind::Jwt => format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.{}",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{salt:016x}"}}"#)),
            URL_SAFE_NO_PAD.encode(salt.to_le_bytes())
        ),
        Kind::AwsKey => {
            const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            let tail: String = (0..16)
                .map(|i| char::from(B32[((salt.rotate_left(i * 5) >> 3) & 31) as usize]))
                .collect();
            format!("AKIA{tail}")
        }
        Kind::Bearer => format!("Bearer tok-{salt:016x}-x9"),
        Kind::Phone => format!("+1415{:07}", salt % 10_000_000),
        Kind::ApiKey => format!("sk_live_{salt:016x}"),
        Kind::Github => format!("ghp_{}", chars(salt, 36, ALNUM)),
        Kind::GithubPat => format!(
            "github_pat_11{}_{}",
            chars(salt, 20, UPPER_DIGITS),
            chars(!salt, 59, ALNUM)
        ),
        Kind::Gitlab => format!("glpat-{}", chars(salt, 20, ALNUM)),
        Kind::Slack => format!(
            "xoxb-{}-{}-{}",
            chars(salt, 12, DIGITS),
            chars(!salt, 13, DIGITS),
            chars(salt >> 7, 24, ALNUM)
        ),
        Kind::Stripe => format!("rk_live_51{}", chars(salt, 40, ALNUM)),
        Kind::Google => format!("AIza{}", chars(salt, 35, ALNUM)),
        Kind::OpenAi => format!("sk-proj-{}", chars(salt, 64, ALNUM)),
        Kind::Anthropic => format!("sk-ant-api03-{}", chars(salt, 90, ALNUM)),
        Kind::Npm => format!("npm_{}", chars(salt, 36, ALNUM)),
        Kind::SendGrid => format!("SG.{}.{}", chars(salt, 22, ALNUM), chars(!salt, 43, ALNUM)),
        Kind::Twilio => format!("SK{}", chars(salt, 32, HEX)),
        Kind::Shopify => format!("shpat_{}", chars(salt, 32, HEX)),
        Kind::HuggingFace => format!("hf_{}", chars(salt, 34, &ALNUM[10..])),
        Kind::Vault => format!("hvs.{}", chars(salt, 90, ALNUM)),
        Kind::DigitalOcean => format!("dop_v1_{}", chars(salt, 64, HEX)),
        Kind::PrivateKey => format!(
            "-----BEGIN RSA PRIVATE KEY-----{}-----END RSA PRIVATE KEY-----",
            chars(salt, 64, ALNUM)
        ),
        Kind::Iban => {
            // DE: 8-digit bank code, 10-digit account, mod-97 check digits.
            let bban = format!("{:018}", salt % 1_000_000_000_000_000_000);
            let rem = format!("{bban}131400")
                .bytes()
                .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
            format!("DE{:02}{bban}", 98 - rem)
        }
    }
}

const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER_DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` bytes of `set` drawn from `salt` (xorshift).
fn chars(salt: u64, n: usize, set: &[u8]) -> String {
    let mut x = salt | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(set[(x % set.len() as u64) as usize])
        })
        .collect()
}

/// The Luhn check digit that makes `payload` + digit valid.
fn luhn_digit(payload: &str) -> char {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Fuzz bytes around a planted secret, without the characters that would
/// move it into another part of its carrier (a baggage key, a query
/// parameter name): those parts are not scanned by design.
pub fn filler(bytes: &[u8], structural: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| !structural.contains(b) && *b != b'\r' && *b != b'\n' && *b != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness keeps every corpus credential detectable: each
    /// randomized sample is still found, its needle inside the hit.
    #[test]
    fn randomized_credentials_stay_detectable() {
        let d = Detectors::compile(&DetectorsConfig::default(), "detectors", false).unwrap();
        for salt in 0..(corpus().len() as u64 * 20) {
            let (value, needle) = credential(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let at = value.find(&needle).unwrap();
            assert!(
                d.find(&value)
                    .iter()
                    .any(|h| h.start <= at && at + needle.len() <= h.end),
                "{value:?} lost its format ({needle:?})"
            );
        }
    }
}
