//! The shape of the workspace, checked: inside each library crate, imports
//! between modules go one way (no module imports one that imports it back,
//! directly or through others), and the command line depends on the client
//! alone. A cycle is how a crate stops reading top to bottom; a helper both
//! sides need belongs in a third, small module.
//!
//! The check reads `use` paths (`crate::`, `super::`, `self::`) and
//! qualified paths in the code, outside `#[cfg(test)] mod tests`. A module
//! may use its own submodules and its parents (`mod.rs` re-exports), which
//! are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate at `src`, by path, with its source.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut module: Module = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                found.insert(module, without_tests(&text));
            }
        }
    }
    found
}

/// `text` up to its unit-test module.
fn without_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        kept.push_str(code);
        kept.push('\n');
    }
    kept
}

/// The paths a `use` tree names: `a::{b, c::{d, self}}` is `a::b`,
/// `a::c::d` and `a::c`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find("::{") else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return vec![path.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 3..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 3..]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            if part == "self" {
                vec![prefix.to_owned()]
            } else {
                expand(part)
                    .into_iter()
                    .map(|path| format!("{prefix}::{path}"))
                    .collect()
            }
        })
        .collect()
}

/// The module `path` (seen from `from`) lands in, if it is one of ours.
fn target(from: &Module, path: &str, known: &BTreeMap<Module, String>) -> Option<Module> {
    let mut segments = path.split("::").map(str::trim);
    let mut base: Module = match segments.next()? {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => from[..from.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    let mut rest: Vec<&str> = segments.collect();
    while rest.first() == Some(&"super") {
        base.pop();
        rest.remove(0);
    }
    base.extend(rest.into_iter().map(str::to_owned));
    while !base.is_empty() && !known.contains_key(&base) {
        base.pop();
    }
    (!base.is_empty()).then_some(base)
}

/// The imports between modules that are neither ancestor nor descendant of
/// each other.
fn edges(known: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let mut edges = BTreeSet::new();
    for (module, text) in known {
        let mut paths = Vec::new();
        for statement in text.split(';') {
            if let Some(at) = statement.find("use ") {
                let before = &statement[..at];
                if before.trim().is_empty()
                    || before.trim_end().ends_with("pub")
                    || before.trim_end().ends_with(')')
                {
                    paths.extend(expand(&statement[at + 4..]));
                }
            }
        }
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            if word.starts_with("crate::") || word.starts_with("super::") {
                paths.push(word.trim_end_matches(':').to_owned());
            }
        }
        for path in paths {
            let Some(to) = target(module, &path, known) else {
                continue;
            };
            let related = to.starts_with(module) || module.starts_with(&to);
            if !related {
                edges.insert((module.clone(), to));
            }
        }
    }
    edges
}

/// Pairs of modules that reach each other.
fn cycles(edges: &BTreeSet<(Module, Module)>) -> Vec<String> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (from, to) in edges {
        next.entry(from).or_default().push(to);
    }
    let reaches = |from: &Module, goal: &Module| {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(module) = stack.pop() {
            if module == goal {
                return true;
            }
            if seen.insert(module) {
                stack.extend(next.get(module).into_iter().flatten().copied());
            }
        }
        false
    };
    edges
        .iter()
        .filter(|(from, to)| from < to && reaches(to, from))
        .map(|(from, to)| format!("{} <-> {}", from.join("::"), to.join("::")))
        .collect()
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates")
        .join(name)
        .join("src")
}

#[test]
fn imports_go_one_way_inside_each_crate() {
    for name in [
        "tower-imds",
        "imds",
        "imds-identity",
        "imds-mock",
        "imds-cli",
    ] {
        let known = modules(&crate_src(name));
        assert!(known.len() > 3, "{name}: {} modules", known.len());
        let edges = edges(&known);
        assert!(!edges.is_empty(), "{name}: no imports found");
        assert_eq!(cycles(&edges), Vec::<String>::new(), "{name}");
    }
}

// The checker itself: a cycle through a third module is found, an import
// of a parent or child is not an edge.
#[test]
fn the_checker_finds_cycles() {
    let known: BTreeMap<Module, String> = [
        (vec![], "mod a; mod b; mod c; mod d;".to_owned()),
        (vec!["a".into()], "use crate::b::X;".to_owned()),
        (vec!["b".into()], "use crate::{c::Y, d};".to_owned()),
        (vec!["c".into()], "fn f() { super::a::g() }".to_owned()),
        (vec!["d".into()], "use super::d::inner;".to_owned()),
        (vec!["d".into(), "inner".into()], "use super::*;".to_owned()),
    ]
    .into_iter()
    .collect();
    let edges = edges(&known);
    assert!(edges.contains(&(vec!["b".into()], vec!["d".into()])));
    assert!(
        !edges
            .iter()
            .any(|(from, _)| from.first().is_some_and(|f| f == "d"))
    );
    // Each import on a cycle, once.
    assert_eq!(cycles(&edges), ["a <-> b", "b <-> c"]);
}

#[test]
fn the_command_line_depends_on_the_client_alone() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/imds-cli/Cargo.toml"),
    )
    .unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    let names: Vec<&str> = dependencies
        .lines()
        .filter_map(|line| line.split(['.', ' ', '=']).next())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect();
    assert!(names.contains(&"imds"), "{names:?}");
    for below in [
        "tower-imds",
        "tower",
        "hyper",
        "hyper-util",
        "http-body-util",
    ] {
        assert!(
            !names.contains(&below),
            "imds-cli depends on {below}: {names:?}"
        );
    }
}
