//! `tracesafe token`: mint a token offline exactly as a configured plugin
//! would, so an investigator holding the keys can find a known user's traces.

use crate::config::PluginConfig;
use crate::error::ConfigError;
use crate::redact::token::{namespace, Keyring, KeysConfig};

/// A token exactly as the plugin running `cfg` mints it: the same key
/// variables read through `env`, the same tenant derivation. `key` mints
/// with another configured key id than `keys.active` (tokens minted before
/// a rotation). For `tracesafe token`, so an investigator holding the keys
/// can find a known user's traces.
pub fn mint_as_configured(
    cfg: &PluginConfig,
    env: &dyn Fn(&str) -> Option<String>,
    key: Option<&str>,
    tenant: Option<&[u8]>,
    ns: &str,
    value: &[u8],
) -> Result<String, ConfigError> {
    let Some(keys) = &cfg.global.keys else {
        return Err(ConfigError::new(
            "keys",
            "the configuration has no `keys`, so the plugin mints no tokens",
        ));
    };
    if tenant.is_some() && cfg.global.tenant.is_none() {
        return Err(ConfigError::new(
            "tenant",
            "a tenant was given, but the configuration has no `tenant` source: the plugin mints every token with the key itself",
        ));
    }
    let keys = KeysConfig {
        active: key.unwrap_or(&keys.active).to_string(),
        env: keys.env.clone(),
    };
    let keyring = Keyring::from_env(&keys, env, "keys")?;
    let ns = namespace(ns, "namespace")?;
    Ok(keyring.minter(tenant).mint(&ns, value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::redact::token::test_keys::env;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn mints_as_the_configured_plugin_would() {
        let cfg = crate::config::parse(
            br#"{"keys": {"active": "k2", "env": {"k1": "K1", "k2": "K2"}}, "tenant": {"header": "x-tenant-id"}}"#,
        )
        .unwrap();
        let mint = |key, tenant, ns, value: &str| {
            mint_as_configured(&cfg, &env, key, tenant, ns, value.as_bytes())
        };
        assert_eq!(
            mint(None, None, "user", "42").unwrap(),
            "tk.k2.p84PCaUIFbo_9PJ0HNRkcw"
        );
        assert_eq!(
            mint(Some("k1"), None, "user", "42").unwrap(),
            "tk.k1.RN1-OJO1K2rpPWeLDuUhEw"
        );
        assert_eq!(
            mint(None, Some(b"acme"), "user", "42").unwrap(),
            "tk.k2.Gr6HcGBzoscrhfbwVHksbg"
        );
        assert_eq!(
            mint(Some("k9"), None, "user", "42").unwrap_err().path,
            "keys.active"
        );
        assert_eq!(mint(None, None, "", "42").unwrap_err().path, "namespace");
        let bare =
            crate::config::parse(br#"{"keys": {"active": "k1", "env": {"k1": "K1"}}}"#).unwrap();
        let e = mint_as_configured(&bare, &env, None, Some(b"acme"), "user", b"42").unwrap_err();
        assert_eq!(e.path, "tenant");
        let none = crate::config::parse(b"{}").unwrap();
        let e = mint_as_configured(&none, &env, None, None, "user", b"42").unwrap_err();
        assert_eq!(e.path, "keys");
    }
}
