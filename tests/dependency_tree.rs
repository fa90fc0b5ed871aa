//! Reading metadata compiles no cryptography: `imds`'s default build
//! depends on `imds-identity` for the identity document's type only, and
//! the verifier's RustCrypto crates come with the `identity` feature alone
//! (issue 15). Checked on the resolved tree, as `cargo tree` prints it
//! (offline, from Cargo.lock), so that a dependency added anywhere below
//! `imds` is caught too.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The verifier's cryptography and what only it pulls in.
const CRYPTOGRAPHY: [&str; 15] = [
    "base64ct",
    "cms",
    "const-oid",
    "crypto-bigint",
    "der",
    "digest",
    "dsa",
    "pkcs1",
    "pkcs8",
    "rsa",
    "sha1",
    "sha2",
    "signature",
    "spki",
    "x509-cert",
];

/// The names of the packages `imds` depends on with `features` (normal
/// dependencies, for this host: what a user of the crate compiles; the
/// crates above are no platform's).
fn imds_dependencies(features: &str) -> BTreeSet<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .arg("tree")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--offline", "--package", "imds", "--edges", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(["--features", features])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo tree failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn imds_compiles_no_cryptography_by_default() {
    let default = imds_dependencies("");
    // imds-identity is there, for IdentityDocument.
    assert!(default.contains("imds-identity"), "{default:?}");
    let crypto: Vec<_> = CRYPTOGRAPHY
        .iter()
        .filter(|name| default.contains(**name))
        .collect();
    assert!(
        crypto.is_empty(),
        "imds's default build compiles {crypto:?}: keep them behind its `identity` feature"
    );

    // With the feature, the verifier's crates are there: the check sees them.
    let identity = imds_dependencies("identity");
    for name in ["rsa", "sha2", "x509-cert", "cms", "der"] {
        assert!(identity.contains(name), "{name} missing from {identity:?}");
    }
}
