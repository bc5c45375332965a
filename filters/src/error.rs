//! Configuration errors and their JSON paths: a leaf every concern's
//! `compile` uses, so no concern has to import the config composer.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// A configuration problem, located by its JSON path so the administrator
/// can find the field (`request_headers.remove[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
    pub kind: ErrorKind,
}

/// Which problem an error is, for tools that explain it (`tracesafe check`
/// hints), so rewording a message cannot lose its explanation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// Any other invalid value; the message says which.
    #[default]
    Invalid,
    /// A policy name that cannot become an Envoy stat name.
    PolicyName,
    /// A policy that extends itself, directly or through others.
    ExtendsCycle,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            kind: ErrorKind::Invalid,
        }
    }

    /// The same error, of a known kind.
    pub fn of_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "config error: {}", self.message)
        } else {
            write!(f, "config error at {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// `a.b` without a leading dot when `a` is the root.
pub fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// How serde names a JSON value's type in messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Deserializes a sub-tree, prefixing error paths with `base`.
pub fn from_value<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, ConfigError> {
    T::deserialize(&value).map_err(|err| {
        let message = err.to_string();
        let at = locate::<T>(&value, &message);
        ConfigError::new(json_path(base, &at), message)
    })
}

/// A step in a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

/// Finds where a deserialization error is, using only `T`'s own
/// deserializer (no path-tracking wrapper, which would double the plugin's
/// config code): repeatedly delete one child of the current node and
/// descend into the child whose deletion makes the value valid, or else
/// changes the error into something other than a missing field, or else is
/// a required field. Every optional field has a default, so deleting the
/// culprit usually fixes it.
/// Runs only on the error path.
fn locate<T: DeserializeOwned>(root: &Value, message: &str) -> Vec<Step> {
    let mut at: Vec<Step> = Vec::new();
    while let Some(node) = node_at(root, &at) {
        let children: Vec<Step> = match node {
            Value::Object(map) => map.keys().cloned().map(Step::Key).collect(),
            Value::Array(items) => (0..items.len()).map(Step::Index).collect(),
            _ => break,
        };
        let mut changed = None;
        let mut required = None;
        let mut fixed = None;
        for (i, child) in children.iter().enumerate() {
            let mut probe = root.clone();
            if let Some(parent) = node_at_mut(&mut probe, &at) {
                match (parent, child) {
                    (Value::Object(map), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), Step::Index(n)) if *n < items.len() => {
                        items.remove(*n);
                    }
                    _ => continue,
                }
            }
            match T::deserialize(&probe) {
                Ok(_) => {
                    fixed = Some(i);
                    break;
                }
                Err(e) => {
                    let m = e.to_string();
                    let missing = m.starts_with("missing field");
                    if changed.is_none() && m != message && !missing {
                        changed = Some(i);
                    }
                    // A required field: the error may still be inside it.
                    if let (None, true, Step::Key(k)) = (required, missing, child) {
                        if m.contains(&format!("`{k}`")) {
                            required = Some(i);
                        }
                    }
                }
            }
        }
        let Some(pick) = fixed.or(changed).or(required) else {
            break;
        };
        match children.into_iter().nth(pick) {
            Some(step) => at.push(step),
            None => break,
        }
    }
    at
}

fn node_at<'a>(root: &'a Value, at: &[Step]) -> Option<&'a Value> {
    at.iter().try_fold(root, |node, step| match step {
        Step::Key(k) => node.get(k.as_str()),
        Step::Index(i) => node.get(*i),
    })
}

fn node_at_mut<'a>(root: &'a mut Value, at: &[Step]) -> Option<&'a mut Value> {
    at.iter().try_fold(root, |node, step| match step {
        Step::Key(k) => node.get_mut(k.as_str()),
        Step::Index(i) => node.get_mut(*i),
    })
}

/// `base.a.b[2]`, without a leading dot at the root.
fn json_path(base: &str, at: &[Step]) -> String {
    let mut out = base.to_string();
    for step in at {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}
