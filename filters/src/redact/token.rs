//! Keyed tokens: identifiers replaced by HMAC-SHA256 pseudonyms so traces can
//! still be joined on "same user" without carrying the user id.
//!
//! `token = "tk." key_id "." base64url_nopad(HMAC-SHA256(key, "tracesafe.v1"
//! || 0x00 || namespace || 0x00 || value)[..16])`, e.g.
//! `tk.k2.p84PCaUIFbo_9PJ0HNRkcw`. The alphabet (`A-Z a-z 0-9 . - _`) needs
//! no escaping in headers, baggage, tracestate, paths or queries.
//!
//! With a tenant source, `key = HMAC-SHA256(master, "tenant" || 0x00 ||
//! tenant)`, so tokens of two tenants cannot be correlated. Key material is
//! read from environment variables only and never printed: the key types
//! implement `Debug` by hand.

use crate::error::join;
use crate::error::ConfigError;
use crate::http::{header_name, is_tchar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::Sha256;
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a tracesafe token never equals an HMAC computed for
/// another purpose with the same key.
const DOMAIN: &[u8] = b"tracesafe.v1";
/// Shortest accepted key (RFC 2104: at least the hash output length).
pub const MIN_KEY_BYTES: usize = 32;
/// Truncated MAC length: 128 bits.
const TOKEN_BYTES: usize = 16;
/// Base64url characters of a 16-byte MAC without padding.
const TOKEN_CHARS: usize = 22;
/// Longest key id.
const MAX_KEY_ID: usize = 32;
/// Longest namespace, in bytes.
const MAX_NAMESPACE: usize = 128;

/// Standard base64, padding optional: what `openssl rand -base64 32` and
/// Kubernetes secrets produce.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `keys`: which environment variables hold the HMAC keys. The keys
/// themselves never appear in the plugin configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Key id that mints new tokens; it appears in every token (`tk.<id>.`).
    pub active: String,
    /// Key id → name of the environment variable holding the base64 key
    /// (at least 32 bytes once decoded).
    pub env: BTreeMap<String, String>,
}

/// `tenant`: where the tenant of a request is read, for per-tenant keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TenantConfig {
    /// A request header, e.g. `x-tenant-id`.
    Header(String),
    /// A baggage key (W3C `baggage`, else `uberctx-<key>` / `ot-baggage-<key>`).
    Baggage(String),
}

/// A compiled [`TenantConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSource {
    Header(String),
    Baggage(String),
}

impl TenantSource {
    pub fn compile(cfg: &TenantConfig, path: &str) -> Result<Self, ConfigError> {
        Ok(match cfg {
            TenantConfig::Header(name) => {
                TenantSource::Header(header_name(name, &join(path, "header"))?)
            }
            TenantConfig::Baggage(key) => {
                if key.is_empty() || !key.chars().all(is_tchar) {
                    return Err(ConfigError::new(
                        join(path, "baggage"),
                        format!("{key:?} is not a valid baggage key"),
                    ));
                }
                TenantSource::Baggage(key.clone())
            }
        })
    }
}

/// One key, ready to use. Its bytes live only inside the HMAC state.
#[derive(Clone)]
struct Key {
    id: String,
    mac: HmacSha256,
}

/// The configured keys: the active one mints; every configured id is
/// recognised in tokens that earlier hops minted (rotation). Every key is
/// loaded and checked, so a rotation target is known good before it is made
/// active.
pub struct Keyring {
    active: Key,
    ids: Vec<String>,
    /// Tenant keys derived from the active key, most recent last: deriving
    /// one costs an HMAC and two key schedules per request otherwise. A
    /// `Mutex` (never waited on: `try_lock`) keeps `Keyring` `Sync` for
    /// callers that share it.
    tenants: Mutex<Vec<(Vec<u8>, HmacSha256)>>,
}

/// A clone starts with an empty tenant cache.
impl Clone for Keyring {
    fn clone(&self) -> Self {
        Self {
            active: self.active.clone(),
            ids: self.ids.clone(),
            tenants: Mutex::new(Vec::new()),
        }
    }
}

/// Tenant keys kept per configuration; beyond it the oldest is dropped.
const TENANT_KEYS: usize = 16;

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.ids)
            .field("active", &self.active.id)
            .finish_non_exhaustive()
    }
}

/// Reads the VM environment variable `var` (named at JSON path `at`). The
/// errors name the variable, never a value.
pub(crate) fn read_env(
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
    at: &str,
) -> Result<String, ConfigError> {
    let var_ok = var
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
    if var.is_empty() || !var_ok {
        return Err(ConfigError::new(
            at,
            format!("{var:?} is not an environment variable name"),
        ));
    }
    env(var).ok_or_else(|| {
        ConfigError::new(
            at,
            format!(
                "environment variable {var} is not set (list it in vm_config.environment_variables.host_env_keys)"
            ),
        )
    })
}

impl Keyring {
    /// Reads and checks every key named in `cfg` through `env` (the VM
    /// environment in the plugin). `path` is the JSON path of `keys`. Errors
    /// name the field and the variable, never the value.
    pub fn from_env(
        cfg: &KeysConfig,
        env: &dyn Fn(&str) -> Option<String>,
        path: &str,
    ) -> Result<Self, ConfigError> {
        if cfg.env.is_empty() {
            return Err(ConfigError::new(
                join(path, "env"),
                "at least one key is required",
            ));
        }
        let mut keys = Vec::with_capacity(cfg.env.len());
        for (id, var) in &cfg.env {
            let at = format!("{}.{id}", join(path, "env"));
            if id.is_empty()
                || id.len() > MAX_KEY_ID
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ConfigError::new(
                    at,
                    format!(
                        "key id {id:?} must be 1 to {MAX_KEY_ID} characters of A-Z a-z 0-9 _ -"
                    ),
                ));
            }
            let text = read_env(var, env, &at)?;
            let Ok(bytes) = KEY_BASE64.decode(text.trim()) else {
                return Err(ConfigError::new(
                    at,
                    format!("environment variable {var} is not valid base64"),
                ));
            };
            if bytes.len() < MIN_KEY_BYTES {
                return Err(ConfigError::new(
                    at,
                    format!(
                        "environment variable {var} decodes to {} bytes; keys need at least {MIN_KEY_BYTES}",
                        bytes.len()
                    ),
                ));
            }
            let Ok(mac) = HmacSha256::new_from_slice(&bytes) else {
                return Err(ConfigError::new(at, "unusable HMAC key"));
            };
            keys.push(Key {
                id: id.clone(),
                mac,
            });
        }
        let ids = keys.iter().map(|k| k.id.clone()).collect();
        let Some(active) = keys.into_iter().find(|k| k.id == cfg.active) else {
            return Err(ConfigError::new(
                join(path, "active"),
                format!("active key {:?} is not listed in keys.env", cfg.active),
            ));
        };
        Ok(Self {
            active,
            ids,
            tenants: Mutex::new(Vec::new()),
        })
    }

    pub fn active_id(&self) -> &str {
        &self.active.id
    }

    /// The tenant's key, from the cache or derived (and cached).
    fn tenant_mac(&self, tenant: &[u8]) -> HmacSha256 {
        if let Ok(cache) = self.tenants.try_lock() {
            if let Some((_, mac)) = cache.iter().find(|(t, _)| t == tenant) {
                return mac.clone();
            }
        }
        let mac = tenant_key(&self.active.mac, tenant);
        if let Ok(mut cache) = self.tenants.try_lock() {
            if cache.len() >= TENANT_KEYS {
                cache.remove(0);
            }
            cache.push((tenant.to_vec(), mac.clone()));
        }
        mac
    }

    /// A minter for one request; the tenant key is derived on first use.
    pub fn minter<'a>(&'a self, tenant: Option<&'a [u8]>) -> Minter<'a> {
        Minter {
            keyring: self,
            tenant,
            mac: OnceCell::new(),
            minted: RefCell::new(Vec::new()),
        }
    }

    /// Whether `value` is already a token under one of our key ids, minted by
    /// an earlier hop: it passes through unchanged so joins work across hops
    /// and tokens are never tokens of tokens.
    pub fn is_token(&self, value: &[u8]) -> bool {
        let Some(rest) = value.strip_prefix(b"tk.") else {
            return false;
        };
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (id, mac) = rest.split_at(dot);
        let mac = mac.get(1..).unwrap_or_default();
        mac.len() == TOKEN_CHARS
            && self.ids.iter().any(|k| k.as_bytes() == id)
            && URL_SAFE_NO_PAD
                .decode(mac)
                .is_ok_and(|b| b.len() == TOKEN_BYTES)
    }
}

/// Mints tokens for one request with the active key, or the tenant's key
/// derived from it.
pub struct Minter<'a> {
    keyring: &'a Keyring,
    tenant: Option<&'a [u8]>,
    mac: OnceCell<HmacSha256>,
    /// (namespace, value, token) minted so far in this request: one id is
    /// usually tokenized in several carriers (header, baggage, path), and a
    /// token costs two SHA-256 compressions. At most [`MINTED_MEMO`].
    minted: RefCell<Vec<(String, Vec<u8>, String)>>,
}

/// Tokens remembered per request; a bound keeps a request with many
/// distinct values from scanning a long list before every HMAC.
const MINTED_MEMO: usize = 8;

impl fmt::Debug for Minter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("key_id", &self.keyring.active_id())
            .field("tenant_scoped", &self.tenant.is_some())
            .finish_non_exhaustive()
    }
}

impl Minter<'_> {
    pub fn keyring(&self) -> &Keyring {
        self.keyring
    }

    /// The token of `value` in `namespace`; equal inputs give equal tokens
    /// (HMAC), so a repeat within the request is answered from memory.
    pub fn mint(&self, namespace: &str, value: &[u8]) -> String {
        if let Ok(minted) = self.minted.try_borrow() {
            if let Some((_, _, token)) = minted
                .iter()
                .find(|(ns, v, _)| ns == namespace && v == value)
            {
                return token.clone();
            }
        }
        let token = self.mint_new(namespace, value);
        if let Ok(mut minted) = self.minted.try_borrow_mut() {
            if minted.len() < MINTED_MEMO {
                minted.push((namespace.to_string(), value.to_vec(), token.clone()));
            }
        }
        token
    }

    fn mint_new(&self, namespace: &str, value: &[u8]) -> String {
        let mac = self.mac.get_or_init(|| match self.tenant {
            Some(tenant) => self.keyring.tenant_mac(tenant),
            None => self.keyring.active.mac.clone(),
        });
        token(mac, self.keyring.active_id(), namespace, value)
    }
}

/// `HMAC(master, "tenant" || 0x00 || tenant)` as a ready HMAC key. A 32-byte
/// key zero-padded to the 64-byte block is the same HMAC key (RFC 2104).
fn tenant_key(master: &HmacSha256, tenant: &[u8]) -> HmacSha256 {
    let mut m = master.clone();
    m.update(b"tenant\0");
    m.update(tenant);
    let derived = m.finalize().into_bytes();
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    for (dst, src) in block.iter_mut().zip(derived.iter()) {
        *dst = *src;
    }
    HmacSha256::new(&block)
}

fn token(mac: &HmacSha256, key_id: &str, namespace: &str, value: &[u8]) -> String {
    let mut m = mac.clone();
    m.update(DOMAIN);
    m.update(&[0]);
    m.update(namespace.as_bytes());
    m.update(&[0]);
    m.update(value);
    let full = m.finalize().into_bytes();
    let short = full.get(..TOKEN_BYTES).unwrap_or_default();
    let mut out = String::with_capacity(4 + key_id.len() + TOKEN_CHARS);
    out.push_str("tk.");
    out.push_str(key_id);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(short, &mut out);
    out
}

/// Checks an explicit namespace: it is hashed between 0x00 separators, so
/// it must not contain 0x00; a bound keeps configs sane.
pub fn namespace(ns: &str, path: &str) -> Result<String, ConfigError> {
    if ns.is_empty() || ns.len() > MAX_NAMESPACE || ns.chars().any(char::is_control) {
        return Err(ConfigError::new(
            path,
            format!("a namespace is 1 to {MAX_NAMESPACE} bytes without control characters"),
        ));
    }
    Ok(ns.to_string())
}

/// `tokenize` anywhere needs `keys`: fail at load instead of minting nothing.
pub fn require_keys(has_keys: bool, path: &str) -> Result<(), ConfigError> {
    if has_keys {
        Ok(())
    } else {
        Err(ConfigError::new(
            path,
            "tokenize needs HMAC keys: add `keys` (environment variables holding base64 keys)",
        ))
    }
}

/// Resolves `namespaces` overrides for the names a section tokenizes; a
/// namespace for a name that is not tokenized is a config error (a typo
/// would otherwise silently split the token space).
pub fn namespaces(
    overrides: &BTreeMap<String, String>,
    tokenized: &[String],
    path: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, ns) in overrides {
        let at = format!("{}.{name}", join(path, "namespaces"));
        if !tokenized.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            return Err(ConfigError::new(
                at,
                format!("{name:?} is not tokenized here"),
            ));
        }
        out.insert(name.to_ascii_lowercase(), namespace(ns, &at)?);
    }
    Ok(out)
}

/// The README's published keys, shared by the unit tests of every module.
#[cfg(test)]
pub(crate) mod test_keys {
    use super::*;

    /// k1 = bytes 0..32, k2 = bytes 32..64, standard base64.
    pub const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    pub const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    /// `K1` and `K2` (with a trailing newline, as `$(cat file)` gives) are
    /// set; `SHORT` holds 31 bytes; `BAD` is not base64.
    pub fn env(name: &str) -> Option<String> {
        match name {
            "K1" => Some(K1.into()),
            "K2" => Some(format!("{K2}\n")),
            "SHORT" => Some("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==".into()),
            "BAD" => Some("not base64!".into()),
            _ => None,
        }
    }

    /// Keys k1 (env `K1`) and k2 (env `K2`), `active` minting.
    pub fn keyring(active: &str) -> Keyring {
        let cfg = KeysConfig {
            active: active.into(),
            env: [("k1", "K1"), ("k2", "K2")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        Keyring::from_env(&cfg, &env, "keys").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn encode_key(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    #[test]
    fn repeats_within_a_request_give_the_tokens_of_fresh_minters() {
        let ring = keyring("k1");
        let one = ring.minter(Some(b"acme"));
        // Past the memo's bound, and each input twice, in two namespaces.
        let inputs: Vec<(String, String)> = (0..2 * MINTED_MEMO + 3)
            .flat_map(|i| {
                [
                    ("user".to_string(), format!("{i}")),
                    ("id".to_string(), format!("{i}")),
                ]
            })
            .collect();
        for _ in 0..2 {
            for (ns, v) in &inputs {
                let fresh = ring.minter(Some(b"acme")).mint(ns, v.as_bytes());
                assert_eq!(one.mint(ns, v.as_bytes()), fresh, "{ns} {v}");
            }
        }
        assert_ne!(one.mint("user", b"1"), one.mint("id", b"1"));
        assert_ne!(one.mint("user", b"1"), ring.minter(None).mint("user", b"1"));
    }

    #[test]
    fn cached_tenant_keys_mint_what_derived_ones_do() {
        let ring = keyring("k1");
        let derived = |t: &[u8]| token(&tenant_key(&ring.active.mac, t), "k1", "user", b"42");
        // Twice past the cache's bound: hits, misses and evictions.
        for round in 0..2 {
            for i in 0..TENANT_KEYS + 5 {
                let t = format!("tenant-{i}");
                let minted = ring.minter(Some(t.as_bytes())).mint("user", b"42");
                assert_eq!(minted, derived(t.as_bytes()), "round {round}, {t}");
            }
        }
        assert_eq!(ring.tenants.lock().unwrap().len(), TENANT_KEYS);
    }

    fn err(pairs: &[(&str, &str)], active: &str) -> ConfigError {
        let cfg = KeysConfig {
            active: active.into(),
            env: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        Keyring::from_env(&cfg, &env, "keys").unwrap_err()
    }

    #[test]
    fn published_keys_are_the_byte_ranges() {
        assert_eq!(encode_key(&(0u8..32).collect::<Vec<_>>()), K1);
        assert_eq!(encode_key(&(32u8..64).collect::<Vec<_>>()), K2);
        assert_eq!(env("SHORT").unwrap(), encode_key(&[7u8; 31]));
    }

    #[test]
    fn rfc4231_test_case_1() {
        let mut mac = HmacSha256::new_from_slice(&[0x0b; 20]).unwrap();
        mac.update(b"Hi There");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn published_token_vectors() {
        let k1 = keyring("k1");
        let k2 = keyring("k2");
        let m1 = k1.minter(None);
        let m2 = k2.minter(None);
        assert_eq!(m1.mint("user", b"42"), "tk.k1.RN1-OJO1K2rpPWeLDuUhEw");
        assert_eq!(m1.mint("x-user-id", b"42"), "tk.k1.I3QYFuYrmg1885KTNvzqBg");
        assert_eq!(
            m1.mint("email", b"alice@example.com"),
            "tk.k1.DTMW4PiH9-84IbsrkLbOXg"
        );
        assert_eq!(m1.mint("user", b""), "tk.k1.Jyd2DHzuasRbIfUxTPZaQg");
        assert_eq!(m2.mint("user", b"42"), "tk.k2.p84PCaUIFbo_9PJ0HNRkcw");
        assert_eq!(m2.mint("x-user-id", b"42"), "tk.k2.3yF0X8-Myh6C_xdoKrA6gQ");
        assert_eq!(
            m2.mint("email", b"alice@example.com"),
            "tk.k2.VDx-xIlGJYqJDpkxd_1rrA"
        );
    }

    #[test]
    fn tenants_get_separate_tokens() {
        let k2 = keyring("k2");
        let acme = k2.minter(Some(b"acme"));
        let globex = k2.minter(Some(b"globex"));
        assert_eq!(acme.mint("user", b"42"), "tk.k2.Gr6HcGBzoscrhfbwVHksbg");
        assert_eq!(globex.mint("user", b"42"), "tk.k2.D8ggPvxkns3Zvcqkj8WB1A");
        assert_ne!(
            acme.mint("user", b"42"),
            k2.minter(None).mint("user", b"42")
        );
        // The derived key is cached per request, and stays stable.
        assert_eq!(acme.mint("user", b"42"), "tk.k2.Gr6HcGBzoscrhfbwVHksbg");
    }

    #[test]
    fn recognises_tokens_of_every_configured_key() {
        let k2 = keyring("k2");
        assert!(k2.is_token(b"tk.k1.RN1-OJO1K2rpPWeLDuUhEw"));
        assert!(k2.is_token(b"tk.k2.p84PCaUIFbo_9PJ0HNRkcw"));
        assert!(!k2.is_token(b"tk.k9.p84PCaUIFbo_9PJ0HNRkcw"));
        assert!(!k2.is_token(b"tk.k2.p84PCaUIFbo_9PJ0HNRkc"));
        assert!(!k2.is_token(b"tk.k2.p84PCaUIFbo_9PJ0HNRkc!"));
        // Non-canonical trailing bits are not a token we could have minted.
        assert!(!k2.is_token(b"tk.k2.p84PCaUIFbo_9PJ0HNRkcx"));
        assert!(!k2.is_token(b"42"));
    }

    #[test]
    fn key_errors_name_the_field_never_the_value() {
        let e = err(&[("k1", "MISSING")], "k1");
        assert_eq!(e.path, "keys.env.k1");
        assert_eq!(
            e.message,
            "environment variable MISSING is not set (list it in vm_config.environment_variables.host_env_keys)"
        );
        let e = err(&[("k1", "SHORT")], "k1");
        assert_eq!(e.path, "keys.env.k1");
        assert_eq!(
            e.message,
            "environment variable SHORT decodes to 31 bytes; keys need at least 32"
        );
        let e = err(&[("k1", "BAD")], "k1");
        assert_eq!(e.message, "environment variable BAD is not valid base64");
        let e = err(&[("k1", "K1")], "k2");
        assert_eq!(e.path, "keys.active");
        let e = err(&[("k.1", "K1")], "k.1");
        assert_eq!(e.path, "keys.env.k.1");
        let e = err(&[("k1", "1BAD")], "k1");
        assert!(e.message.contains("not an environment variable name"));
        let e = err(&[], "k1");
        assert_eq!(e.path, "keys.env");
        for e in [err(&[("k1", "SHORT")], "k1"), err(&[("k1", "K1")], "k2")] {
            assert!(!e.to_string().contains(K1));
        }
    }

    #[test]
    fn debug_output_has_no_key_material() {
        let k = keyring("k2");
        let text = format!("{k:?} {:?}", k.minter(Some(b"acme")));
        assert_eq!(
            text,
            r#"Keyring { ids: ["k1", "k2"], active: "k2", .. } Minter { key_id: "k2", tenant_scoped: true, .. }"#
        );
    }

    #[test]
    fn namespace_overrides_must_target_tokenized_names() {
        let o: BTreeMap<String, String> = [("X-User-Id".to_string(), "user".to_string())].into();
        let got = namespaces(&o, &["x-user-id".into()], "request_headers").unwrap();
        assert_eq!(got.get("x-user-id").map(String::as_str), Some("user"));
        let e = namespaces(&o, &["x-other".into()], "request_headers").unwrap_err();
        assert_eq!(e.path, "request_headers.namespaces.X-User-Id");
        let bad: BTreeMap<String, String> = [("a".to_string(), String::new())].into();
        let e = namespaces(&bad, &["a".into()], "baggage").unwrap_err();
        assert_eq!(e.path, "baggage.namespaces.a");
    }

    #[test]
    fn tenant_sources_are_checked() {
        let s = TenantSource::compile(&TenantConfig::Header("X-Tenant-Id".into()), "tenant");
        assert_eq!(s.unwrap(), TenantSource::Header("x-tenant-id".into()));
        let e = TenantSource::compile(&TenantConfig::Baggage("a b".into()), "tenant").unwrap_err();
        assert_eq!(e.path, "tenant.baggage");
    }
}
