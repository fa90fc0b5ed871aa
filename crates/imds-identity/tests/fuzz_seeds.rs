//! The `identity_signature` fuzz target's seeds
//! (`fuzz/corpus/identity_signature/seed-*`), read as the target reads
//! them: each is refused, and the made-up PKCS#7s get as far as the
//! signature check, so the fuzzer starts deep in the parser. The target
//! builds imds-identity with `legacy-pkcs7`, and so do these tests.

#![cfg(feature = "legacy-pkcs7")]

mod support;

use std::path::PathBuf;

use imds_identity::{Form, VerifyError};
use support::fuzz_oracle;

#[test]
fn every_seed_is_refused_where_expected() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/identity_signature");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("seed-") {
            continue;
        }
        let error = fuzz_oracle::check(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|| panic!("{name}: too short"));
        let bad_signature = |form| VerifyError::BadSignature {
            form,
            region: "us-west-2".into(),
        };
        match name.as_str() {
            "seed-err-rsa2048-ber-forged-signature" => {
                assert_eq!(error, bad_signature(Form::Rsa2048))
            }
            "seed-err-pkcs7-ber-forged-dsa-signature" => {
                assert_eq!(error, bad_signature(Form::Pkcs7))
            }
            "seed-err-signature-forged" => assert_eq!(error, bad_signature(Form::Signature)),
            "seed-err-own-document" => {
                assert!(
                    matches!(error, VerifyError::MalformedDocument { .. }),
                    "{error:?}"
                )
            }
            _ => assert!(
                matches!(error, VerifyError::MalformedSignature { .. }),
                "{name}: {error:?}"
            ),
        }
        seen += 1;
    }
    assert!(seen >= 6, "{seen} seeds in {}", dir.display());
}

#[test]
fn the_fixed_document_is_a_document_of_a_region_in_the_table() {
    let document: imds_identity::IdentityDocument =
        serde_json::from_slice(fuzz_oracle::DOCUMENT).unwrap();
    assert!(
        imds_identity::embedded_certificates()
            .iter()
            .any(|c| c.region == document.region)
    );
}
