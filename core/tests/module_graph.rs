//! The layering of `calstore-core`, checked from its source: the modules import each other
//! without loops, and `ical` is a leaf (nothing outside it is imported), ready to become a
//! crate of its own.
//!
//! The graph: one node per module file; an edge for every path a module's code names
//! (`use crate::a::b`, `use super::x`, inline `crate::a::f(…)`), resolved to the longest
//! module prefix. Left out: re-exports of a module's own children (`pub use child::Item` in a
//! `mod.rs` only passes names on) and test code (`#[cfg(test)]` modules), which may reach
//! anywhere. `docs/architecture.md` explains the layers this keeps.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// `a/b.rs` and `a/b/mod.rs` → `a::b`; `lib.rs` → `` (the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, string literals and its `#[cfg(test)]` modules (by
/// convention the last item of a file).
fn code(text: &str) -> String {
    let inline_test_module = text.match_indices("#[cfg(test)]\nmod ").find(|(i, _)| {
        text[*i..]
            .lines()
            .nth(1)
            .is_some_and(|l| l.trim_end().ends_with('{'))
    });
    let text = match inline_test_module {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '"' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    if !escaped && d == '"' {
                        break;
                    }
                    escaped = !escaped && d == '\\';
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Test-only module files: `#[cfg(test)] mod name;` declarations.
fn test_modules(module: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]") {
        rest = &rest[i + 12..];
        let decl = rest.trim_start();
        if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.split(';').next())
            && !name.contains('{')
        {
            let name = name.trim();
            out.push(if module.is_empty() {
                name.to_owned()
            } else {
                format!("{module}::{name}")
            });
        }
    }
    out
}

/// Every path (as segments) the code names, expanding `{…}` groups of `use` trees, with the
/// prefix it starts from (`crate` or `super`); re-exports of children are dropped.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    // `use` statements, which may span lines.
    for stmt in code.split(';') {
        let s = stmt.trim();
        let (reexport, body) = if let Some(b) = s.strip_prefix("pub use ") {
            (true, b)
        } else if let Some(b) = s.strip_prefix("pub(crate) use ") {
            (true, b)
        } else if let Some(b) = s.split("\nuse ").nth(1).or_else(|| s.strip_prefix("use ")) {
            (false, b)
        } else {
            continue;
        };
        for path in expand(&body.split_whitespace().collect::<String>()) {
            let first = path.first().cloned().unwrap_or_default();
            if reexport && children.contains(&first) {
                continue;
            }
            if first == "crate" || first == "super" || children.contains(&first) {
                out.push((first.clone(), path));
            }
        }
    }
    // Inline paths: `crate::a::b` and `super::a` anywhere in the code.
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                let path: Vec<String> = rest[..end]
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                out.push((path[0].clone(), path));
            }
            rest = &rest[end.max(1)..];
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        return vec![path.split("::").map(str::to_owned).collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .trim_end_matches("::")
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut out = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        for mut tail in expand(part) {
            if tail.first().is_some_and(|t| t == "self") {
                tail.remove(0);
            }
            let mut full = prefix.clone();
            full.extend(tail);
            out.push(full);
        }
    }
    out
}

struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn parent(module: &str) -> String {
    module.rsplit_once("::").map_or("", |p| p.0).to_owned()
}

fn join(base: &str, seg: &str) -> String {
    if base.is_empty() {
        seg.to_owned()
    } else {
        format!("{base}::{seg}")
    }
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut codes = BTreeMap::new();
    let mut tests = BTreeSet::new();
    for f in &files {
        let module = module_of(&src, f);
        let c = code(&fs::read_to_string(f).unwrap());
        tests.extend(test_modules(&module, &c));
        codes.insert(module, c);
    }
    // Test-only files and everything below them are left out.
    codes.retain(|m, _| {
        !tests
            .iter()
            .any(|t| m == t || m.starts_with(&format!("{t}::")))
    });
    let modules: BTreeSet<String> = codes.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, c) in &codes {
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| parent(m) == *module && !m.is_empty())
            .map(|m| m.rsplit("::").next().unwrap_or(m).to_owned())
            .collect();
        for (start, path) in paths(c, &children) {
            let mut base = match start.as_str() {
                "crate" => String::new(),
                "super" => parent(module),
                child => join(module, child),
            };
            let mut target = base.clone();
            for seg in &path[1..] {
                if seg == "super" {
                    base = parent(&base);
                    target = base.clone();
                    continue;
                }
                let next = join(&base, seg);
                if !modules.contains(&next) {
                    break;
                }
                base = next;
                target = base.clone();
            }
            if start != "crate" && start != "super" {
                target = if modules.contains(&target) {
                    target
                } else {
                    join(module, &start)
                };
            }
            if target != *module && modules.contains(&target) {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    Graph { modules, edges }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        if let Some(ws) = s.g.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for m in &g.modules {
        if !s.index.contains_key(m.as_str()) {
            visit(&mut s, m);
        }
    }
    s.out
}

#[test]
fn modules_import_each_other_without_loops() {
    let g = graph();
    assert!(g.modules.len() > 30, "found only {:?}", g.modules);
    let found = cycles(&g);
    let explain: Vec<String> = found
        .iter()
        .map(|scc| {
            let inside: Vec<String> = scc
                .iter()
                .flat_map(|m| {
                    g.edges
                        .get(m)
                        .into_iter()
                        .flatten()
                        .filter(|t| scc.contains(t))
                        .map(move |t| format!("{m} -> {t}"))
                })
                .collect();
            inside.join(", ")
        })
        .collect();
    assert!(found.is_empty(), "import loops: {explain:#?}");
}

#[test]
fn ical_is_a_leaf() {
    let g = graph();
    for (m, targets) in &g.edges {
        if m == "ical" || m.starts_with("ical::") {
            let outside: Vec<&String> = targets
                .iter()
                .filter(|t| !(t.as_str() == "ical" || t.starts_with("ical::")))
                .collect();
            assert!(outside.is_empty(), "{m} imports {outside:?}");
        }
    }
}

#[test]
fn the_checker_sees_edges() {
    let g = graph();
    // A few edges that must be there, so that a parser regression cannot pass silently.
    for (from, to) in [
        ("store", "work"),
        ("record::derive", "store::objects"),
        ("work", "tx"),
    ] {
        assert!(
            g.edges.get(from).is_some_and(|t| t.contains(to)),
            "{from} -> {to} not found; edges of {from}: {:?}",
            g.edges.get(from)
        );
    }
}
