//! The modules of `filters/src` form no import cycle: a concern (trace,
//! redact, ...) may use the leaves and the concerns below it, never one that
//! uses it back. Tests (`#[cfg(test)]` items) may use anything, like the
//! integration tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where one module uses another: `file:line`.
type Edges = BTreeMap<(String, String), String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "bin" {
                files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `trace/b3.rs` → `trace`.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// The production lines of a file with their numbers: comments and
/// `#[cfg(test)]` items removed.
fn production(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            skip_item(&mut lines);
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        out.push((n + 1, code.to_string()));
    }
    out
}

/// Skips the item after an attribute: up to its `;` or its closing brace.
fn skip_item<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>) {
    let mut depth = 0i32;
    for (_, line) in lines {
        let code = line.split("//").next().unwrap_or_default();
        if depth == 0 && code.trim_start().starts_with("#[") {
            continue;
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth == 0 && (code.contains('}') || code.trim_end().ends_with(';')) {
            return;
        }
    }
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segments named after `crate::` in one line:
/// `crate::a::b` gives `a`, `crate::{a, b::c}` gives `a` and `b`.
fn crate_refs(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let body = group.split('}').next().unwrap_or_default();
            for item in body.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.push(name.to_string());
                }
            }
        } else {
            out.push(ident(rest).to_string());
        }
    }
    out
}

/// What `lib.rs` re-exports at the root, by name: `Engine` → `engine`.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = ident(path).to_string();
        let names = match path.find('{') {
            Some(open) => path[open + 1..].trim_end_matches("};").to_string(),
            None => path
                .trim_end_matches(';')
                .rsplit("::")
                .next()
                .unwrap()
                .to_string(),
        };
        for name in names.split(',') {
            let name = ident(name.trim());
            out.insert(name.to_string(), module.clone());
        }
    }
    out
}

/// Every use of one top-level module by another, with where it happens.
fn graph() -> (BTreeSet<String>, Edges) {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    paths.sort();
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let exports = root_exports(&lib);
    let modules: BTreeSet<String> = paths
        .iter()
        .map(|p| module_of(p))
        .filter(|m| m != "lib")
        .collect();
    let mut edges = Edges::new();
    for path in &paths {
        let from = module_of(path);
        if from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (n, code) in production(&text) {
            for name in crate_refs(&code) {
                let to = if modules.contains(&name) {
                    name.clone()
                } else {
                    let Some(m) = exports.get(&name) else {
                        panic!(
                            "{}:{n}: crate::{name} is neither a module nor a root re-export",
                            path.display()
                        );
                    };
                    m.clone()
                };
                if to != from {
                    let at = format!("{}:{n}", path.strip_prefix(src()).unwrap().display());
                    edges.entry((from.clone(), to)).or_insert(at);
                }
            }
        }
    }
    (modules, edges)
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(modules: &BTreeSet<String>, edges: &Edges) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        let next: Vec<&'a str> = s
            .edges
            .keys()
            .filter(|(a, _)| a == v)
            .map(|(_, b)| b.as_str())
            .collect();
        for w in next {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.found.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for m in modules {
        if !s.index.contains_key(m.as_str()) {
            visit(&mut s, m);
        }
    }
    s.found
}

#[test]
fn no_import_cycle_between_modules() {
    let (modules, edges) = graph();
    let found = cycles(&modules, &edges);
    let mut report = String::new();
    for scc in &found {
        report.push_str(&format!("cycle through {}:\n", scc.join(", ")));
        for ((a, b), at) in &edges {
            if scc.contains(a) && scc.contains(b) {
                report.push_str(&format!("  {a} -> {b} ({at})\n"));
            }
        }
    }
    assert!(found.is_empty(), "{report}");
}

#[test]
fn the_graph_sees_every_module_and_edge_kind() {
    let (modules, edges) = graph();
    for m in ["engine", "trace", "redact", "config", "cli"] {
        assert!(modules.contains(m), "{m} missing from {modules:?}");
    }
    // Paths, groups and root re-exports are all seen.
    assert!(edges.contains_key(&("engine".into(), "policy".into())));
    assert_eq!(crate_refs("use crate::{a, b::c};"), ["a", "b"]);
    assert_eq!(crate_refs("x(crate::trace::ids::to_hex(y))"), ["trace"]);
    assert!(crate_refs("// tracesafe_crate::x").is_empty());
}

#[test]
fn test_items_are_not_production() {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n";
    let lines: Vec<String> = production(text).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines, ["use crate::a;", "use crate::c;"]);
}
