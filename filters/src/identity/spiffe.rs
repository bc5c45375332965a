//! SPIFFE IDs (`spiffe://<trust-domain>/<path>`), validated per the SPIFFE
//! ID spec so that only well-formed workload identities reach a span.

use std::fmt;

/// A validated SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpiffeId {
    text: String,
    /// Byte offset where the path starts (after the trust domain).
    path_at: usize,
}

/// Why a SPIFFE ID was rejected; never includes the input itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpiffeError {
    Scheme,
    TrustDomain,
    Path,
    TooLong,
}

impl fmt::Display for SpiffeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpiffeError::Scheme => "not a spiffe:// URI",
            SpiffeError::TrustDomain => "invalid trust domain",
            SpiffeError::Path => "invalid path",
            SpiffeError::TooLong => "longer than 2048 bytes",
        })
    }
}

const SCHEME: &str = "spiffe://";

impl SpiffeId {
    pub fn parse(s: &str) -> Result<Self, SpiffeError> {
        if s.len() > 2048 {
            return Err(SpiffeError::TooLong);
        }
        let rest = s.strip_prefix(SCHEME).ok_or(SpiffeError::Scheme)?;
        let (td, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        if !valid_trust_domain(td) {
            return Err(SpiffeError::TrustDomain);
        }
        if !path.is_empty() && !valid_path(path) {
            return Err(SpiffeError::Path);
        }
        Ok(Self {
            text: s.to_string(),
            path_at: SCHEME.len() + td.len(),
        })
    }

    /// The Istio form `spiffe://<td>/ns/<ns>/sa/<sa>`.
    pub fn from_parts(
        trust_domain: &str,
        namespace: &str,
        service_account: &str,
    ) -> Result<Self, SpiffeError> {
        if trust_domain.contains('/') {
            return Err(SpiffeError::TrustDomain);
        }
        if [namespace, service_account].iter().any(|p| p.contains('/')) {
            return Err(SpiffeError::Path);
        }
        Self::parse(&format!(
            "{SCHEME}{trust_domain}/ns/{namespace}/sa/{service_account}"
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn trust_domain(&self) -> &str {
        self.text.get(SCHEME.len()..self.path_at).unwrap_or("")
    }

    pub fn path(&self) -> &str {
        self.text.get(self.path_at..).unwrap_or("")
    }

    /// Namespace and service account when the path has the Istio shape.
    pub fn namespace_and_account(&self) -> Option<(&str, &str)> {
        let mut seg = self.path().strip_prefix('/')?.split('/');
        match (seg.next(), seg.next(), seg.next(), seg.next(), seg.next()) {
            (Some("ns"), Some(ns), Some("sa"), Some(sa), None) => Some((ns, sa)),
            _ => None,
        }
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Lowercase letters, digits, `.`, `-`, `_`; non-empty.
fn valid_trust_domain(td: &str) -> bool {
    !td.is_empty()
        && td
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
}

/// `/seg(/seg)*` with segments of `[A-Za-z0-9.-_]`, no `.`/`..` segments and
/// no empty segment (so no trailing slash).
fn valid_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn valid_ids() {
        let id = SpiffeId::parse("spiffe://test.local/ns/shop/sa/frontend").unwrap();
        assert_eq!(id.trust_domain(), "test.local");
        assert_eq!(id.path(), "/ns/shop/sa/frontend");
        assert_eq!(id.namespace_and_account(), Some(("shop", "frontend")));
        let td_only = SpiffeId::parse("spiffe://example.org").unwrap();
        assert_eq!(td_only.path(), "");
        assert_eq!(td_only.namespace_and_account(), None);
        assert!(SpiffeId::parse("spiffe://a_b-c.d/x/Y.z-_9").is_ok());
    }

    #[test]
    fn invalid_ids() {
        for (s, e) in [
            ("http://test.local/ns/a/sa/b", SpiffeError::Scheme),
            ("SPIFFE://test.local/x", SpiffeError::Scheme),
            ("spiffe:///ns/a", SpiffeError::TrustDomain),
            ("spiffe://Test.local/x", SpiffeError::TrustDomain),
            ("spiffe://user@test.local/x", SpiffeError::TrustDomain),
            ("spiffe://test.local:8080/x", SpiffeError::TrustDomain),
            ("spiffe://test.local/", SpiffeError::Path),
            ("spiffe://test.local/a//b", SpiffeError::Path),
            ("spiffe://test.local/a/../b", SpiffeError::Path),
            ("spiffe://test.local/a/./b", SpiffeError::Path),
            ("spiffe://test.local/a?q=1", SpiffeError::Path),
            ("spiffe://test.local/a#f", SpiffeError::Path),
            ("spiffe://test.local/a%20b", SpiffeError::Path),
        ] {
            assert_eq!(SpiffeId::parse(s), Err(e), "{s}");
        }
        let long = format!("spiffe://td/{}", "a".repeat(2048));
        assert_eq!(SpiffeId::parse(&long), Err(SpiffeError::TooLong));
    }

    #[test]
    fn from_istio_parts() {
        let id = SpiffeId::from_parts("cluster.local", "default", "bookinfo-productpage").unwrap();
        assert_eq!(
            id.as_str(),
            "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
        );
        assert!(SpiffeId::from_parts("cluster.local", "a/b", "c").is_err());
        // Found by the `identity` fuzz target: a trust domain with a path
        // would shift the namespace and account.
        assert_eq!(
            SpiffeId::from_parts("cluster.local/ns/admin", "a", "b"),
            Err(SpiffeError::TrustDomain)
        );
    }
}
