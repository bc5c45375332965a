//! `tracesafe test`: policy tests, run offline through the same engine as
//! the plugin. Each case is one request (as `explain` takes it) and an
//! optional response; its expectations say what happened to headers and
//! baggage members, what the upstream gets, what the span carries, and
//! which strings must appear nowhere. Differences are reported with the
//! labels `explain` uses, never with a value that holds a `never` string.

use crate::cli::check::{self, env_or_placeholder};
use crate::cli::explain::{self, ExplainRequest, Explanation, Values};
use crate::cli::leak;
use crate::engine::{Engine, ResponseInput};
use crate::error::{from_value, join, ConfigError};
use crate::http::{borrowed, OwnedHeader};
use crate::span::otlp;
use crate::span::AttrValue;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A test file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tracesafe policy tests")]
pub struct TestFile {
    /// The JSON Schema of this file, for editors; ignored.
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    /// The plugin configuration: a path relative to this file, or inline.
    pub config: ConfigSource,
    /// Key variables (`keys.env`) for the test; a variable not given here
    /// is read from the environment or replaced by a placeholder key, as
    /// in `tracesafe check`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cases: Vec<Case>,
}

/// `config`: a file or the configuration itself.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConfigSource {
    Path(String),
    Inline(Map<String, Value>),
}

/// One request, its response, and what must hold.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Printed when the case fails.
    pub name: String,
    /// The request, as `tracesafe explain` takes it; every field optional.
    #[serde(default)]
    pub request: ExplainRequest,
    /// The upstream's response, run through the response policy.
    #[serde(default)]
    pub response: Option<TestResponse>,
    #[serde(default)]
    pub expect: Expect,
}

/// `response`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestResponse {
    /// `:status`; default 200.
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, Values>,
}

fn ok() -> u16 {
    200
}

/// `expect`: every key is optional; each one given must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The policy the request gets.
    pub policy: Option<String>,
    /// Request headers (or `baggage:<key>` members) removed.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Request headers or baggage members forwarded unchanged.
    #[serde(default)]
    pub kept: Vec<String>,
    /// Request headers or baggage members whose values were masked.
    #[serde(default)]
    pub masked: Vec<String>,
    /// Request headers or baggage members replaced by keyed tokens.
    #[serde(default)]
    pub tokenized: Vec<String>,
    /// Exact forwarded values (several fields joined with `, `).
    #[serde(default)]
    pub forwarded: BTreeMap<String, String>,
    /// Response headers the downstream does not get.
    #[serde(default)]
    pub response_removed: Vec<String>,
    pub span: Option<SpanExpect>,
    /// Strings that must appear nowhere: forwarded headers and baggage,
    /// response headers, the span record, counters; verbatim,
    /// percent-encoded or base64.
    #[serde(default)]
    pub never: Vec<String>,
}

/// `expect.span`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpanExpect {
    pub name: Option<String>,
    /// Attribute values: a string, an integer, or `null` for absent.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

/// The outcome of one file: failure lines and the number of passed cases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: usize,
    /// `FAIL <file>: <case>: <differences>`, one per failed case.
    pub failures: Vec<String>,
}

/// The JSON Schema of a test file (`tracesafe schema --tests`).
pub fn schema() -> Value {
    schemars::schema_for!(TestFile).to_value()
}

/// Runs the test file `bytes`, named `file` in messages; `load` reads a
/// configuration path relative to the test file. `Err` is an unreadable
/// file, an invalid test file or configuration (exit 2), one line per error.
pub fn run(
    file: &str,
    bytes: &[u8],
    load: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Report, String> {
    let located = |e: ConfigError| format!("{file}: error at {}: {}", e.path, e.message);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let tests: TestFile = from_value(value, "").map_err(located)?;
    let (config_name, config) = match &tests.config {
        ConfigSource::Path(path) => (path.clone(), load(path)?),
        ConfigSource::Inline(map) => (
            format!("{file}: config"),
            serde_json::to_vec(map).map_err(|e| e.to_string())?,
        ),
    };
    let env = |name: &str| {
        tests
            .env
            .get(name)
            .cloned()
            .or_else(|| env_or_placeholder(name))
    };
    let engine = check::check(&config, &env).map_err(|diagnostics| {
        let lines: Vec<String> = diagnostics
            .iter()
            .map(|d| format!("{config_name}: {d}"))
            .collect();
        lines.join("\n")
    })?;
    let mut report = Report::default();
    for (i, case) in tests.cases.iter().enumerate() {
        let differences = run_case(&engine, case).map_err(|mut e| {
            e.path = join(&format!("cases[{i}].request"), &e.path);
            located(e)
        })?;
        if differences.is_empty() {
            report.passed += 1;
        } else {
            report.failures.push(format!(
                "FAIL {file}: {}: {}",
                case.name,
                differences.join("; ")
            ));
        }
    }
    Ok(report)
}

/// Runs one case; the differences between expected and actual.
pub fn run_case(engine: &Engine, case: &Case) -> Result<Vec<String>, ConfigError> {
    let e = explain::run(engine, case.request.clone())?;
    let response = case.response.as_ref().map(|r| respond(engine, &e, r));
    let mut out = Vec::new();
    let expect = &case.expect;
    if let Some(want) = &expect.policy {
        if *e.outcome.policy.name != **want {
            out.push(format!(
                "policy: expected {want}, got {}",
                e.outcome.policy.name
            ));
        }
    }
    let fates = [
        ("removed", &expect.removed),
        ("kept", &expect.kept),
        ("masked", &expect.masked),
        ("tokenized", &expect.tokenized),
    ];
    for (want, names) in fates {
        for name in names {
            let got = fate(engine, &e, &name.to_ascii_lowercase());
            if got != want {
                out.push(format!("{name}: expected {want}, got {got}"));
            }
        }
    }
    for (name, want) in &expect.forwarded {
        let got = joined(&e.forwarded, name);
        if got.as_deref() != Some(want.as_str()) {
            out.push(format!(
                "forwarded {name}: expected {want:?}, got {}",
                shown(got.as_deref(), &expect.never)
            ));
        }
    }
    for name in &expect.response_removed {
        let got = match &response {
            None => "no response in the case",
            Some((sent, forwarded)) => match (has(sent, name), has(forwarded, name)) {
                (false, _) => "absent",
                (true, true) => "kept",
                (true, false) => "removed",
            },
        };
        if got != "removed" {
            out.push(format!("response {name}: expected removed, got {got}"));
        }
    }
    if let Some(span) = &expect.span {
        span_differences(&e, span, &expect.never, &mut out);
    }
    let forwarded_response = response.as_ref().map(|(_, f)| f.as_slice());
    for (i, secret) in expect.never.iter().enumerate() {
        if let Some((surface, form)) = leak_in(&e, forwarded_response, secret) {
            out.push(format!("never[{i}] found in {surface} ({form})"));
        }
    }
    Ok(out)
}

/// The response's headers as sent and as forwarded downstream.
fn respond(
    engine: &Engine,
    e: &Explanation,
    r: &TestResponse,
) -> (Vec<OwnedHeader>, Vec<OwnedHeader>) {
    let mut headers: Vec<OwnedHeader> = vec![(":status".into(), r.status.to_string().into_bytes())];
    for (name, values) in &r.headers {
        let name = name.to_ascii_lowercase();
        match values {
            Values::One(v) => headers.push((name, v.clone().into_bytes())),
            Values::Many(vs) => {
                headers.extend(vs.iter().map(|v| (name.clone(), v.clone().into_bytes())))
            }
        }
    }
    let outcome = engine.on_response(
        &ResponseInput {
            headers: &borrowed(&headers),
            tenant: e.outcome.tenant.as_deref(),
            policy: e.outcome.policy.index,
            trace: e.outcome.trace.as_ref(),
            properties: &crate::host::StaticProperties::default(),
        },
        None,
    );
    let forwarded = explain::apply(&borrowed(&headers), &outcome.ops);
    (headers, forwarded)
}

/// What happened to a request header or `baggage:<key>` member:
/// removed, kept, masked, tokenized, rewritten, added or absent.
pub fn fate(engine: &Engine, e: &Explanation, name: &str) -> &'static str {
    use crate::redact::baggage::Baggage;
    if let Some(key) = name.strip_prefix("baggage:") {
        let before = Baggage::parse(&borrowed(&e.request));
        let after = Baggage::parse(&borrowed(&e.forwarded));
        let find = |b: &Baggage| {
            b.members()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.to_string())
        };
        let policy = engine.policies().get(e.outcome.policy.index);
        return match (find(&before), find(&after)) {
            (None, _) => "absent",
            (Some(_), None) => "removed",
            (Some(a), Some(b)) if a == b => "kept",
            _ if policy.baggage().token_namespace(key).is_some() => "tokenized",
            _ => "masked",
        };
    }
    let last = e.changes.iter().rev().find(|c| match c {
        explain::Change::Removed { name: n, .. }
        | explain::Change::Replaced { name: n, .. }
        | explain::Change::Added { name: n, .. } => n == name,
    });
    match last {
        Some(explain::Change::Removed { .. }) => "removed",
        Some(explain::Change::Added { .. }) => "added",
        Some(explain::Change::Replaced { was, .. }) if was.contains("[TOKEN:") => "tokenized",
        Some(explain::Change::Replaced { was, .. }) if was.contains("[REDACTED:") => "masked",
        Some(explain::Change::Replaced { .. }) => "rewritten",
        None if has(&e.request, name) => "kept",
        None => "absent",
    }
}

fn has(headers: &[OwnedHeader], name: &str) -> bool {
    crate::http::has(&borrowed(headers), name)
}

/// Every field of `name`, joined with `, `; `None` when absent.
fn joined(headers: &[OwnedHeader], name: &str) -> Option<String> {
    let headers = borrowed(headers);
    let values = crate::http::values(&headers, name);
    (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|v| explain::show(v))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// An actual value for a message: quoted, unless it holds a `never`
/// string, which the report must not repeat.
fn shown(got: Option<&str>, never: &[String]) -> String {
    match got {
        None => "absent".into(),
        Some(v) => match never
            .iter()
            .position(|s| leak::found(v.as_bytes(), s).is_some())
        {
            Some(i) => format!("a value holding never[{i}]"),
            None => format!("{v:?}"),
        },
    }
}

fn span_differences(e: &Explanation, want: &SpanExpect, never: &[String], out: &mut Vec<String>) {
    let Some(span) = &e.outcome.span else {
        out.push("span: expected a span, got none".into());
        return;
    };
    if let Some(name) = &want.name {
        if span.name != *name {
            out.push(format!(
                "span.name: expected {name:?}, got {}",
                shown(Some(&span.name), never)
            ));
        }
    }
    for (key, expected) in &want.attributes {
        let got = span
            .attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| match v {
                AttrValue::Str(s) => Value::String(s.clone()),
                AttrValue::Int(n) => Value::from(*n),
            });
        let got = got.unwrap_or(Value::Null);
        if got != *expected {
            let got = match &got {
                Value::String(s) => shown(Some(s), never),
                Value::Null => "absent".into(),
                other => other.to_string(),
            };
            let expected = match expected {
                Value::Null => "absent".into(),
                other => other.to_string(),
            };
            out.push(format!(
                "span.attributes[{key:?}]: expected {expected}, got {got}"
            ));
        }
    }
}

/// The first surface holding `secret` in any encoding, and the encoding.
fn leak_in(
    e: &Explanation,
    response: Option<&[OwnedHeader]>,
    secret: &str,
) -> Option<(String, &'static str)> {
    let field = |(n, v): &OwnedHeader| [n.as_bytes(), b": ", v].concat();
    // The app gets its real URL by design; `forwarded` can check `:path`
    // for `url.forward_query_remove`.
    for h in e.forwarded.iter().filter(|(n, _)| n != ":path") {
        if let Some(form) = leak::found(&field(h), secret) {
            return Some((format!("forwarded header {}", h.0), form));
        }
    }
    for h in response.unwrap_or_default() {
        if let Some(form) = leak::found(&field(h), secret) {
            return Some((format!("response header {}", h.0), form));
        }
    }
    if let Some(span) = &e.outcome.span {
        let record = otlp::encode(&e.resource, std::slice::from_ref(span));
        if let Some(form) = leak::found(record.as_bytes(), secret) {
            return Some(("span record".into(), form));
        }
    }
    let counters: String = e
        .counters()
        .iter()
        .map(|(name, n)| format!("{name} {n}\n"))
        .collect();
    leak::found(counters.as_bytes(), secret).map(|form| ("counters".into(), form))
}
