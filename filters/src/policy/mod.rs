//! Which policy applies to a request: route metadata, then `rules` (first
//! match wins), then `default`.
//!
//! Everything is compiled once in `on_configure` (regexes included). Rule
//! conditions are of two kinds:
//! - route-level: `route`, `virtual_host`, `direction`. They read properties
//!   that are the same for every request on a route;
//! - request-level: `authority`, `path`, `path_prefix`, `path_regex`,
//!   `method`. They read the request's pseudo-headers.
//!
//! Selection cache: for each route (key: the route-level attributes some
//! rule reads) the engine remembers the candidate rules, i.e. those whose
//! route-level conditions hold, in order, cut after the first candidate
//! without request-level conditions (it always matches, so nothing after it
//! can be reached). A rule whose conditions are all route-level is thus
//! decided once per route; request-level conditions are still evaluated on
//! every request, but only for that route's candidates. Per-request cost for
//! a known route grows with its candidates, not with the number of rules.
//! The route metadata override is read on every request (it is not part of
//! the key, since routes of different route tables may share a name). The
//! cache lives as long as the configuration (a new `on_configure` builds a
//! new engine) and is bounded by [`CACHE_LIMIT`] routes; beyond that, new
//! routes are evaluated without caching. It sits in a `RefCell`: the proxy-wasm
//! VM is single-threaded and requests never re-enter selection.

mod compiled;

pub use compiled::{Policy, ResponseRead};

use crate::config::{policy_path, MatchDirection, PluginConfig, RuleConfig, DEFAULT_POLICY};
use crate::error::join;
use crate::error::ConfigError;
use crate::http::{is_token, Header};
use crate::http::{Direction, RequestInput};
use crate::metrics::{Metric, Metrics};
use regex_lite::Regex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// `["xds","route_name"]`.
pub const ROUTE_NAME: &[&str] = &["xds", "route_name"];
/// `["xds","virtual_host_name"]`.
pub const VIRTUAL_HOST_NAME: &[&str] = &["xds", "virtual_host_name"];
/// Route metadata naming the policy: a nested path returns the string.
pub const ROUTE_POLICY: &[&str] = &[
    "xds",
    "route_metadata",
    "filter_metadata",
    "tracesafe",
    "policy",
];

/// Most routes whose rule candidates are remembered.
pub const CACHE_LIMIT: usize = 4096;

/// Which policy a request got, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// Position in `Engine::policy_names` (0 is `default`).
    pub index: usize,
    pub name: Rc<str>,
    pub reason: Reason,
}

/// Why a policy was selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Reason {
    /// No rule matched (or there are none).
    #[default]
    Default,
    /// The route's `filter_metadata.tracesafe.policy` named it.
    RouteMetadata,
    /// `rules[index]` was the first rule to match.
    Rule { index: usize, name: Option<Rc<str>> },
}

/// All compiled policies and the rules choosing between them.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// Policy names, `default` first; a policy's index is its position.
    names: Vec<Rc<str>>,
    by_name: HashMap<Rc<str>, usize>,
    default: Policy,
    /// The named policies: index `i` is `named[i - 1]`.
    named: Vec<Policy>,
    rules: Vec<Rule>,
    /// Route-level attributes at least one rule reads: the cache key.
    reads: RouteReads,
    cache: RefCell<HashMap<RouteKey, Vec<usize>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct RouteReads {
    route: bool,
    virtual_host: bool,
    direction: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RouteKey {
    route: Option<Vec<u8>>,
    virtual_host: Option<Vec<u8>>,
    direction: Option<Direction>,
}

impl PolicySet {
    /// Compiles every policy and rule, reporting every error; `None` when
    /// there was any.
    pub fn compile(
        cfg: &PluginConfig,
        has_keys: bool,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let before = errors.len();
        let mut compile = |policy, name: &str| {
            let path = policy_path(name);
            match Policy::compile(policy, &path, has_keys) {
                Ok(p) => Some(p),
                Err(mut err) => {
                    let used = cfg.presets.get(name).map_or(&[][..], Vec::as_slice);
                    crate::config::presets::annotate(&mut err, &path, used);
                    errors.push(err);
                    None
                }
            }
        };
        let default = compile(&cfg.policy, DEFAULT_POLICY);
        let named: Vec<Option<Policy>> = cfg
            .policies
            .iter()
            .map(|(name, p)| compile(p, name))
            .collect();
        let names: Vec<Rc<str>> = std::iter::once(DEFAULT_POLICY)
            .chain(cfg.policies.keys().map(String::as_str))
            .map(Rc::from)
            .collect();
        let by_name: HashMap<Rc<str>, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let rules: Vec<Option<Rule>> = cfg
            .global
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| Rule::compile(rule, &format!("rules[{i}]"), &by_name, errors))
            .collect();
        if errors.len() > before {
            return None;
        }
        let rules: Vec<Rule> = rules.into_iter().collect::<Option<_>>()?;
        let reads = RouteReads {
            route: rules.iter().any(|r| r.route.is_some()),
            virtual_host: rules.iter().any(|r| r.virtual_host.is_some()),
            direction: rules.iter().any(|r| r.direction.is_some()),
        };
        Some(Self {
            names,
            by_name,
            default: default?,
            named: named.into_iter().collect::<Option<_>>()?,
            rules,
            reads,
            cache: RefCell::new(HashMap::new()),
        })
    }

    /// Policy names, `default` first, in index order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// How many rules there are.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Chooses the policy for one request.
    pub fn select(
        &self,
        input: &RequestInput<'_>,
        direction: Option<Direction>,
        metrics: &mut Metrics,
    ) -> (&Policy, Selected) {
        if let Some(raw) = input.properties.property(ROUTE_POLICY) {
            let found = std::str::from_utf8(&raw)
                .ok()
                .and_then(|name| self.by_name.get(name.trim()));
            match found {
                Some(&index) => return self.selected(index, Reason::RouteMetadata),
                None => metrics.add(Metric::UnknownRoutePolicy, 1),
            }
        }
        if self.rules.is_empty() {
            return self.selected(0, Reason::Default);
        }
        let props = input.properties;
        let key = RouteKey {
            route: self
                .reads
                .route
                .then(|| props.property(ROUTE_NAME))
                .flatten(),
            virtual_host: self
                .reads
                .virtual_host
                .then(|| props.property(VIRTUAL_HOST_NAME))
                .flatten(),
            direction: direction.filter(|_| self.reads.direction),
        };
        let facts = RequestFacts::from_headers(input.headers);
        match self.first_match(key, &facts) {
            Some(index) => {
                let name = self.rules.get(index).and_then(|r| r.name.clone());
                let policy = self.rules.get(index).map_or(0, |r| r.policy);
                self.selected(policy, Reason::Rule { index, name })
            }
            None => self.selected(0, Reason::Default),
        }
    }

    /// The policy at `index` (see [`Selected::index`]); `default` when out
    /// of range.
    pub fn get(&self, index: usize) -> &Policy {
        match index {
            0 => &self.default,
            i => self.named.get(i - 1).unwrap_or(&self.default),
        }
    }

    fn selected(&self, index: usize, reason: Reason) -> (&Policy, Selected) {
        let policy = self.get(index);
        let name = self
            .names
            .get(index)
            .cloned()
            .unwrap_or_else(|| Rc::from(DEFAULT_POLICY));
        (
            policy,
            Selected {
                index,
                name,
                reason,
            },
        )
    }

    fn first_match(&self, key: RouteKey, facts: &RequestFacts<'_>) -> Option<usize> {
        if let Ok(cache) = self.cache.try_borrow() {
            if let Some(candidates) = cache.get(&key) {
                return self.first_of(candidates, facts);
            }
        }
        let candidates = self.candidates(&key);
        let hit = self.first_of(&candidates, facts);
        if let Ok(mut cache) = self.cache.try_borrow_mut() {
            if cache.len() < CACHE_LIMIT {
                cache.insert(key, candidates);
            }
        }
        hit
    }

    /// Rules whose route-level conditions hold for `key`, in order, up to
    /// and including the first one that has no request-level condition.
    fn candidates(&self, key: &RouteKey) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.route_matches(key) {
                out.push(i);
                if !rule.per_request() {
                    break;
                }
            }
        }
        out
    }

    fn first_of(&self, candidates: &[usize], facts: &RequestFacts<'_>) -> Option<usize> {
        candidates
            .iter()
            .copied()
            .find(|&i| self.rules.get(i).is_some_and(|r| r.request_matches(facts)))
    }

    /// Routes currently remembered (for tests and `explain`).
    pub fn cached_routes(&self) -> usize {
        self.cache.try_borrow().map_or(0, |c| c.len())
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    name: Option<Rc<str>>,
    policy: usize,
    route: Option<String>,
    virtual_host: Option<String>,
    direction: Option<Direction>,
    authority: Option<HostPattern>,
    path: Option<String>,
    path_prefix: Option<String>,
    path_regex: Option<Regex>,
    method: Option<String>,
}

/// `authority`: an exact host or `*.suffix` (stored as `.suffix`).
#[derive(Debug, Clone)]
enum HostPattern {
    Exact(String),
    Suffix(String),
}

impl Rule {
    fn compile(
        cfg: &RuleConfig,
        path: &str,
        policies: &HashMap<Rc<str>, usize>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let before = errors.len();
        let m = &cfg.conditions;
        let at = |field: &str| join(&join(path, "match"), field);
        let policy = policies.get(cfg.policy.as_str()).copied();
        if policy.is_none() {
            let mut known: Vec<&str> = policies.keys().map(|k| &**k).collect();
            known.sort_unstable();
            let mut message = format!(
                "unknown policy `{}` (policies: {})",
                cfg.policy,
                known.join(", ")
            );
            if crate::config::presets::get(&cfg.policy).is_some() {
                message.push_str(&format!(
                    "; `{0}` is a preset: define a policy that extends it, e.g. \"policies\": {{\"my-{0}\": {{\"extends\": [\"{0}\"]}}}}",
                    cfg.policy
                ));
            }
            errors.push(ConfigError::new(join(path, "policy"), message));
        }
        for (field, value) in [("route", &m.route), ("virtual_host", &m.virtual_host)] {
            if value.as_deref() == Some("") {
                errors.push(ConfigError::new(at(field), "must not be empty"));
            }
        }
        let authority = m.authority.as_deref().and_then(|a| match host_pattern(a) {
            Ok(p) => Some(p),
            Err(msg) => {
                errors.push(ConfigError::new(at("authority"), msg));
                None
            }
        });
        for (field, value) in [("path", &m.path), ("path_prefix", &m.path_prefix)] {
            if value.as_deref().is_some_and(|p| !p.starts_with('/')) {
                errors.push(ConfigError::new(at(field), "must start with `/`"));
            }
        }
        let path_regex = m.path_regex.as_deref().and_then(|re| match Regex::new(re) {
            Ok(re) => Some(re),
            Err(err) => {
                errors.push(ConfigError::new(
                    at("path_regex"),
                    format!("invalid regular expression: {err}"),
                ));
                None
            }
        });
        if let Some(method) = &m.method {
            if !is_token(method) {
                errors.push(ConfigError::new(
                    at("method"),
                    format!("{method:?} is not an HTTP method token"),
                ));
            }
        }
        if errors.len() > before {
            return None;
        }
        Some(Rule {
            name: cfg.name.as_deref().map(Rc::from),
            policy: policy?,
            route: m.route.clone(),
            virtual_host: m.virtual_host.clone(),
            direction: m.direction.map(|d| match d {
                MatchDirection::Inbound => Direction::Inbound,
                MatchDirection::Outbound => Direction::Outbound,
            }),
            authority,
            path: m.path.clone(),
            path_prefix: m.path_prefix.clone(),
            path_regex,
            method: m.method.clone(),
        })
    }

    fn route_matches(&self, key: &RouteKey) -> bool {
        let same = |want: &Option<String>, got: &Option<Vec<u8>>| match want {
            None => true,
            Some(w) => got.as_deref() == Some(w.as_bytes()),
        };
        same(&self.route, &key.route)
            && same(&self.virtual_host, &key.virtual_host)
            && (self.direction.is_none() || self.direction == key.direction)
    }

    /// Whether some condition must be read from the request itself.
    fn per_request(&self) -> bool {
        self.authority.is_some()
            || self.path.is_some()
            || self.path_prefix.is_some()
            || self.path_regex.is_some()
            || self.method.is_some()
    }

    fn request_matches(&self, req: &RequestFacts<'_>) -> bool {
        if let Some(want) = &self.method {
            if req.method != Some(want.as_bytes()) {
                return false;
            }
        }
        if let Some(pattern) = &self.authority {
            if !req.authority.is_some_and(|a| pattern.matches(a)) {
                return false;
            }
        }
        if let Some(want) = &self.path {
            if req.path != Some(want.as_bytes()) {
                return false;
            }
        }
        if let Some(prefix) = &self.path_prefix {
            if !req.path.is_some_and(|p| p.starts_with(prefix.as_bytes())) {
                return false;
            }
        }
        if let Some(re) = &self.path_regex {
            if !req
                .path
                .is_some_and(|p| re.is_match(&String::from_utf8_lossy(p)))
            {
                return false;
            }
        }
        true
    }
}

/// Checks and lowercases an `authority` condition.
fn host_pattern(raw: &str) -> Result<HostPattern, String> {
    let (wild, host) = match raw.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if host.is_empty() {
        return Err("expected a host name or `*.suffix`".into());
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._".contains(*c)))
    {
        return Err(format!(
            "{raw:?}: character {bad:?} is not allowed (give a host without port, or `*.suffix`)"
        ));
    }
    let host = host.to_ascii_lowercase();
    Ok(if wild {
        HostPattern::Suffix(format!(".{host}"))
    } else {
        HostPattern::Exact(host)
    })
}

impl HostPattern {
    fn matches(&self, authority: &[u8]) -> bool {
        match self {
            HostPattern::Exact(h) => authority.eq_ignore_ascii_case(h.as_bytes()),
            HostPattern::Suffix(s) => {
                let start = authority.len().checked_sub(s.len()).filter(|&n| n > 0);
                start
                    .and_then(|n| authority.get(n..))
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(s.as_bytes()))
            }
        }
    }
}

/// The request attributes rules read: `:method`, `:path` without the query,
/// and `:authority` (or `host`) without the port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    pub method: Option<&'a [u8]>,
    pub path: Option<&'a [u8]>,
    pub authority: Option<&'a [u8]>,
}

impl<'a> RequestFacts<'a> {
    pub fn from_headers(headers: &[Header<'a>]) -> Self {
        let mut facts = RequestFacts::default();
        let mut host = None;
        for (name, value) in headers {
            match *name {
                ":method" => facts.method = Some(value),
                ":path" => {
                    let end = value
                        .iter()
                        .position(|&b| b == b'?' || b == b'#')
                        .unwrap_or(value.len());
                    facts.path = value.get(..end);
                }
                ":authority" => facts.authority = Some(strip_port(value)),
                "host" => host = Some(strip_port(value)),
                _ => {}
            }
        }
        facts.authority = facts.authority.or(host);
        facts
    }
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
fn strip_port(authority: &[u8]) -> &[u8] {
    if authority.first() == Some(&b'[') {
        let end = authority
            .iter()
            .position(|&b| b == b']')
            .map_or(authority.len(), |i| i + 1);
        return authority.get(..end).unwrap_or(authority);
    }
    match authority.iter().rposition(|&b| b == b':') {
        Some(colon)
            if authority
                .get(colon + 1..)
                .is_some_and(|p| p.iter().all(u8::is_ascii_digit)) =>
        {
            authority.get(..colon).unwrap_or(authority)
        }
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::host::{Properties, SeededEntropy, StaticProperties};
    use crate::http::{borrowed, HeaderOp, OwnedHeader};
    use crate::RequestOutcome;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Each policy removes one header named after it, so the removed header
    /// shows which policy ran.
    fn engine(rules: serde_json::Value) -> Engine {
        let cfg = json!({
            "request_headers": {"remove": ["x-default"]},
            "policies": {
                "api": {"request_headers": {"remove": ["x-api"]}},
                "admin": {"request_headers": {"remove": ["x-admin"]}},
                "uploads": {"request_headers": {"remove": ["x-uploads"]}},
            },
            "rules": rules,
        });
        Engine::from_json(cfg.to_string().as_bytes()).unwrap()
    }

    struct Req {
        headers: Vec<OwnedHeader>,
        props: StaticProperties,
    }

    fn req(method: &str, path: &str, authority: &str) -> Req {
        Req {
            headers: vec![
                (":method".into(), method.as_bytes().to_vec()),
                (":path".into(), path.as_bytes().to_vec()),
                (":authority".into(), authority.as_bytes().to_vec()),
                ("x-default".into(), b"1".to_vec()),
                ("x-api".into(), b"1".to_vec()),
            ],
            props: StaticProperties::default(),
        }
    }

    impl Req {
        fn prop(mut self, path: &[&str], value: &str) -> Self {
            self.props = self.props.with(path, value.as_bytes().to_vec());
            self
        }
        fn run(&self, engine: &Engine) -> RequestOutcome {
            engine.on_request(
                &RequestInput {
                    headers: &borrowed(&self.headers),
                    properties: &self.props,
                    now_ns: 0,
                },
                &mut SeededEntropy(1),
            )
        }
        fn policy(&self, engine: &Engine) -> String {
            self.run(engine).policy.name.to_string()
        }
    }

    #[test]
    fn first_matching_rule_wins_else_default() {
        let e = engine(json!([
            {"name": "api-route", "match": {"route": "api"}, "policy": "api"},
            {"match": {"path_prefix": "/uploads/", "method": "POST"}, "policy": "uploads"},
            {"match": {"route": "api", "method": "POST"}, "policy": "uploads"},
        ]));
        let api = req("POST", "/x", "a").prop(ROUTE_NAME, "api");
        let out = api.run(&e);
        assert_eq!(&*out.policy.name, "api");
        assert_eq!(
            out.policy.index, 2,
            "names sort: default, admin, api, uploads"
        );
        assert_eq!(
            out.policy.reason,
            Reason::Rule {
                index: 0,
                name: Some(Rc::from("api-route"))
            }
        );
        assert_eq!(req("POST", "/uploads/1?x=1", "a").policy(&e), "uploads");
        assert_eq!(req("GET", "/uploads/1", "a").policy(&e), "default");
        let none = req("GET", "/", "a").run(&e);
        assert_eq!(none.policy.reason, Reason::Default);
        assert_eq!(none.policy.index, 0);
        assert!(none.ops.contains(&HeaderOp::Remove("x-default".into())));
    }

    #[test]
    fn conditions() {
        let e = engine(json!([
            {"match": {"authority": "*.example.com"}, "policy": "api"},
            {"match": {"authority": "Example.org"}, "policy": "admin"},
            {"match": {"path": "/exact"}, "policy": "uploads"},
            {"match": {"path_regex": "^/users/[0-9]+$"}, "policy": "admin"},
            {"match": {"virtual_host": "vh", "direction": "outbound"}, "policy": "uploads"},
        ]));
        assert_eq!(req("GET", "/", "a.example.com:8443").policy(&e), "api");
        assert_eq!(req("GET", "/", "A.B.EXAMPLE.COM").policy(&e), "api");
        assert_eq!(req("GET", "/", "example.com").policy(&e), "default");
        assert_eq!(req("GET", "/", "badexample.com").policy(&e), "default");
        assert_eq!(req("GET", "/", "example.org:80").policy(&e), "admin");
        assert_eq!(req("GET", "/exact?q=1", "x").policy(&e), "uploads");
        assert_eq!(req("GET", "/exact/more", "x").policy(&e), "default");
        assert_eq!(req("GET", "/users/42", "x").policy(&e), "admin");
        assert_eq!(req("GET", "/users/42/x", "x").policy(&e), "default");
        let vh = req("GET", "/", "x").prop(VIRTUAL_HOST_NAME, "vh");
        assert_eq!(vh.policy(&e), "default");
        let vh = vh.prop(&["xds", "listener_direction"], "OUTBOUND");
        assert_eq!(vh.policy(&e), "uploads");
    }

    #[test]
    fn host_header_and_ipv6_authority() {
        assert_eq!(strip_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(strip_port(b"h:x"), b"h:x");
        let headers = [("host", &b"h.example:1"[..])];
        let facts = RequestFacts::from_headers(&headers);
        assert_eq!(facts.authority, Some(&b"h.example"[..]));
    }

    #[test]
    fn route_metadata_overrides_rules() {
        let e = engine(json!([{"match": {}, "policy": "api"}]));
        let r = req("GET", "/", "a").prop(ROUTE_POLICY, "admin");
        let out = r.run(&e);
        assert_eq!(&*out.policy.name, "admin");
        assert_eq!(out.policy.reason, Reason::RouteMetadata);
        // An unknown name is counted and ignored: the rules decide.
        let r = req("GET", "/", "a").prop(ROUTE_POLICY, "nope");
        let out = r.run(&e);
        assert_eq!(&*out.policy.name, "api");
        assert_eq!(out.metrics.get(Metric::UnknownRoutePolicy), 1);
    }

    #[test]
    fn cache_is_per_route_and_keeps_request_level_rules_live() {
        let e = engine(json!([
            {"match": {"route": "r1", "method": "POST"}, "policy": "uploads"},
            {"match": {"route": "r1"}, "policy": "api"},
            {"match": {"route": "r2"}, "policy": "admin"},
            {"match": {"path_prefix": "/a"}, "policy": "uploads"},
        ]));
        for _ in 0..3 {
            let get = req("GET", "/a", "h").prop(ROUTE_NAME, "r1");
            let post = req("POST", "/a", "h").prop(ROUTE_NAME, "r1");
            assert_eq!(get.policy(&e), "api");
            assert_eq!(post.policy(&e), "uploads");
            assert_eq!(
                req("GET", "/a", "h").prop(ROUTE_NAME, "r2").policy(&e),
                "admin"
            );
            assert_eq!(req("GET", "/a", "h").policy(&e), "uploads");
            assert_eq!(req("GET", "/b", "h").policy(&e), "default");
        }
        // r1, r2 and "no route name".
        assert_eq!(e.policies().cached_routes(), 3);
        // r1's candidates stop at the route-only rule 1.
        let key = RouteKey {
            route: Some(b"r1".to_vec()),
            virtual_host: None,
            direction: None,
        };
        assert_eq!(e.policies().candidates(&key), vec![0, 1]);
        let key = RouteKey {
            route: Some(b"other".to_vec()),
            ..key
        };
        assert_eq!(e.policies().candidates(&key), vec![3]);
    }

    #[test]
    fn cache_is_bounded() {
        let e = engine(json!([{"match": {"route": "r"}, "policy": "api"}]));
        for i in 0..CACHE_LIMIT + 10 {
            let r = req("GET", "/", "h").prop(ROUTE_NAME, &format!("route-{i}"));
            assert_eq!(r.policy(&e), "default");
        }
        assert_eq!(e.policies().cached_routes(), CACHE_LIMIT);
        assert_eq!(req("GET", "/", "h").prop(ROUTE_NAME, "r").policy(&e), "api");
    }

    #[test]
    fn no_rules_no_property_reads() {
        struct Counting(std::cell::Cell<u32>);
        impl Properties for Counting {
            fn property(&self, _: &[&str]) -> Option<Vec<u8>> {
                self.0.set(self.0.get() + 1);
                None
            }
        }
        // No identity sources, so only policy selection reads properties.
        let e = Engine::from_json(br#"{"direction":"inbound","identity":{"sources":[]}}"#).unwrap();
        let props = Counting(Default::default());
        e.on_request(
            &RequestInput {
                headers: &[],
                properties: &props,
                now_ns: 0,
            },
            &mut SeededEntropy(1),
        );
        // Only the route metadata override.
        assert_eq!(props.0.get(), 1);
    }

    #[test]
    fn rule_errors_are_all_reported_with_paths() {
        let cfg = json!({
            "policies": {"p": {}},
            "rules": [
                {"match": {"path_regex": "("}, "policy": "p"},
                {"match": {"authority": "a.com:80", "path": "x"}, "policy": "nope"},
                {"match": {"method": "GE T", "route": ""}, "policy": "pii"},
                {"match": {"authority": "*."}, "policy": "default"},
            ]
        });
        let errors = Engine::from_json_all(cfg.to_string().as_bytes(), &|_| None).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "rules[0].match.path_regex",
                "rules[1].policy",
                "rules[1].match.authority",
                "rules[1].match.path",
                "rules[2].policy",
                "rules[2].match.route",
                "rules[2].match.method",
                "rules[3].match.authority",
            ]
        );
        assert_eq!(
            errors[1].message,
            "unknown policy `nope` (policies: default, p)"
        );
        assert!(
            errors[4].message.contains("`pii` is a preset"),
            "{}",
            errors[4].message
        );
    }
}
