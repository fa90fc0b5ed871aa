//! Every library and binary of `crates/` forbids `unsafe` at its root.
//! (Examples, integration tests and benches are crates of their own too,
//! but ship to no user; they are not checked.)

use std::fs;
use std::path::{Path, PathBuf};

/// `crates/*/src/{lib,main}.rs` and `crates/*/src/bin/*.rs`.
fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for krate in fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        for name in ["lib.rs", "main.rs"] {
            let file = src.join(name);
            if file.is_file() {
                roots.push(file);
            }
        }
        if let Ok(bins) = fs::read_dir(src.join("bin")) {
            roots.extend(
                bins.map(|bin| bin.unwrap().path())
                    .filter(|path| path.extension().is_some_and(|e| e == "rs")),
            );
        }
    }
    roots.sort();
    roots
}

#[test]
fn every_crate_root_forbids_unsafe_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let roots = crate_roots(root);
    assert!(roots.len() >= 6, "{roots:?}");
    for file in roots {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.lines()
                .any(|line| line.trim() == "#![forbid(unsafe_code)]"),
            "{} does not forbid unsafe code",
            file.display()
        );
    }
}
