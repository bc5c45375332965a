//! Header policy: which request headers leave this hop and in what form.

use crate::config::{ConfigError, HeaderPolicyConfig};

/// One header as the host hands it over: a (lowercase) name and raw value
/// bytes. Values are bytes because clients may send anything.
pub type Header = (String, Vec<u8>);

/// A change to apply to the host's header map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Remove every field with this name.
    Remove(String),
    /// Replace every field with this name by one field with this value.
    Set(String, Vec<u8>),
}

/// A header policy compiled once in `on_configure`.
#[derive(Debug, Clone, Default)]
pub struct HeaderPolicy {
    remove: Vec<String>,
}

impl HeaderPolicy {
    /// Validates and normalises the configured names. `path` is the JSON
    /// path of the policy, used in error messages.
    pub fn compile(cfg: &HeaderPolicyConfig, path: &str) -> Result<Self, ConfigError> {
        let mut remove = Vec::with_capacity(cfg.remove.len());
        for (i, name) in cfg.remove.iter().enumerate() {
            remove.push(header_name(name, &format!("{path}.remove[{i}]"))?);
        }
        remove.sort();
        remove.dedup();
        Ok(Self { remove })
    }

    /// Decides the operations for one header list. Each removed name gets
    /// one op however many fields carried it; the count is of fields.
    pub fn decide(&self, headers: &[Header]) -> (Vec<HeaderOp>, u64) {
        let mut ops: Vec<HeaderOp> = Vec::new();
        let mut removed = 0;
        for (name, _) in headers {
            // Compared as if lowercased, without allocating per header: this
            // runs for every header of every request.
            let found = self.remove.binary_search_by(|probe| {
                probe
                    .bytes()
                    .cmp(name.bytes().map(|b| b.to_ascii_lowercase()))
            });
            let Some(lower) = found.ok().and_then(|i| self.remove.get(i)) else {
                continue;
            };
            removed += 1;
            if !ops
                .iter()
                .any(|op| matches!(op, HeaderOp::Remove(n) if n == lower))
            {
                ops.push(HeaderOp::Remove(lower.clone()));
            }
        }
        (ops, removed)
    }
}

/// Checks an RFC 9110 field name and lowercases it, since HTTP/2 and Envoy's
/// header map use lowercase names.
pub fn header_name(name: &str, path: &str) -> Result<String, ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new(
            path,
            "expected a header name, got an empty string",
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(ConfigError::new(
            path,
            format!("{name:?} is not a valid header name (character {bad:?} is not allowed)"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// RFC 9110 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy(names: &[&str]) -> HeaderPolicy {
        let cfg = HeaderPolicyConfig {
            remove: names.iter().map(|s| s.to_string()).collect(),
        };
        HeaderPolicy::compile(&cfg, "request_headers").unwrap()
    }

    fn h(name: &str, value: &[u8]) -> Header {
        (name.to_string(), value.to_vec())
    }

    #[test]
    fn removes_case_insensitively_once_per_name() {
        let p = policy(&["Authorization", "cookie"]);
        let (ops, removed) = p.decide(&[
            h("authorization", b"Bearer x"),
            h("Cookie", b"a=1"),
            h("cookie", b"b=2"),
            h("x-keep", b"1"),
        ]);
        assert_eq!(
            ops,
            vec![
                HeaderOp::Remove("authorization".into()),
                HeaderOp::Remove("cookie".into())
            ]
        );
        assert_eq!(removed, 3);
    }

    #[test]
    fn non_utf8_values_are_fine() {
        let p = policy(&["x-secret"]);
        let (ops, _) = p.decide(&[h("x-bin", &[0xff, 0xfe]), h("x-secret", &[0xc3, 0x28])]);
        assert_eq!(ops, vec![HeaderOp::Remove("x-secret".into())]);
    }

    #[test]
    fn bad_names_are_config_errors() {
        let cfg = HeaderPolicyConfig {
            remove: vec!["ok".into(), "bad name".into()],
        };
        let err = HeaderPolicy::compile(&cfg, "request_headers").unwrap_err();
        assert_eq!(err.path, "request_headers.remove[1]");
        let cfg = HeaderPolicyConfig {
            remove: vec![String::new()],
        };
        let err = HeaderPolicy::compile(&cfg, "request_headers").unwrap_err();
        assert_eq!(err.path, "request_headers.remove[0]");
        assert_eq!(err.message, "expected a header name, got an empty string");
    }
}
