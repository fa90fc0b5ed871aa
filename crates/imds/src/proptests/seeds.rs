//! The fuzz targets' seed corpora (`fuzz/corpus/<target>/seed-*`), run
//! through the parsers they seed: each must still parse (`seed-ok-*`) or
//! be refused (`seed-err-*`) as when it was committed.

use std::path::PathBuf;

use crate::credentials::Credentials;
use crate::document::{self, IdentityDocument};
use crate::{listing, profile};

/// The seeds of `target`, by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            name.starts_with("seed-")
                .then(|| (name, std::fs::read(&path).unwrap()))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 3, "{target} has only {} seeds", seeds.len());
    seeds
}

/// Checks a parse result against the seed's name.
fn check<T, E: std::fmt::Debug>(name: &str, result: Result<T, E>) {
    if name.starts_with("seed-ok-") {
        if let Err(error) = result {
            panic!("{name}: {error:?}");
        }
    } else if name.starts_with("seed-err-") {
        assert!(result.is_err(), "{name} parsed");
    }
}

#[test]
fn credentials_seeds() {
    for (name, body) in seeds("credentials") {
        check(&name, Credentials::from_imds_json("/p", "role", &body));
    }
}

#[test]
fn identity_document_seeds() {
    for (name, body) in seeds("identity_document") {
        check(&name, document::parse_json::<IdentityDocument>("/p", &body));
    }
}

#[test]
fn listing_seeds() {
    for (name, body) in seeds("listing") {
        let text = document::parse_text("/p", &body);
        check(&name, text.as_ref().map(|_| ()));
        if let Ok(text) = text {
            assert!(!listing::parse(text).is_empty(), "{name}");
            let _ = listing::parse_public_keys(text);
        }
    }
}

#[test]
fn profile_seeds() {
    for (name, body) in seeds("profile") {
        let text = std::str::from_utf8(&body).unwrap();
        check(&name, profile::parse(text, "default"));
    }
}
