//! The `identity_signature` fuzz target's input format and checks, shared
//! with the test that replays its seeds (`tests/fuzz_seeds.rs`).
//!
//! Input: one selector byte, then the material. Selector bits 0-1: the
//! form (rsa2048, signature, pkcs7, or all three with the same bytes); bit
//! 2: base64-encode the material (so raw BER reaches the parser) rather
//! than pass it as text; bit 3: the input starts with a document (2-byte
//! little-endian length, then the bytes) instead of the fixed us-west-2
//! one.

#![allow(dead_code)]

use base64ct::{Base64, Encoding};
use imds_identity::{Material, Verifier, VerifyError};

/// A made-up document of a region the table has.
pub const DOCUMENT: &[u8] = br#"{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-west-2a",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-0123456789abcdef0",
  "instanceId" : "i-0123456789abcdef0",
  "instanceType" : "t3.micro",
  "kernelId" : null,
  "pendingTime" : "2026-01-01T00:00:00Z",
  "privateIp" : "10.0.0.1",
  "ramdiskId" : null,
  "region" : "us-west-2",
  "version" : "2017-09-30"
}"#;

pub fn material(input: &[u8]) -> Option<(Material, bool)> {
    let (&selector, mut rest) = input.split_first()?;
    let mut document = DOCUMENT.to_vec();
    let fuzzed_document = selector & 0b1000 != 0;
    if fuzzed_document {
        let length = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        let body = &rest[2..];
        let length = length.min(body.len());
        document = body[..length].to_vec();
        rest = &body[length..];
    }
    let signature = if selector & 0b100 != 0 {
        Base64::encode_string(rest).into_bytes()
    } else {
        rest.to_vec()
    };
    let material = Material::new(document);
    let material = match selector & 0b11 {
        0 => material.with_rsa2048(signature),
        1 => material.with_signature(signature),
        2 => material.with_pkcs7(signature),
        _ => material
            .with_rsa2048(signature.clone())
            .with_signature(signature.clone())
            .with_pkcs7(signature),
    };
    Some((material, fuzzed_document))
}

/// No run of 24 or more base64 characters (slashes aside, for URLs).
pub fn has_blob(message: &str) -> bool {
    let mut run = 0;
    message.chars().any(|c| {
        run = if c.is_ascii_alphanumeric() || c == '+' || c == '=' {
            run + 1
        } else {
            0
        };
        run >= 24
    })
}

/// Runs the input through a verifier that trusts the embedded table and
/// allows pkcs7, and checks: never accepted (no input carries a signature
/// by AWS's keys: the seeds are made up); the same error twice; an error
/// about the signature never carries a run of base64. The error, if the
/// input was long enough to hold a selector.
pub fn check(input: &[u8]) -> Option<VerifyError> {
    let (material, fuzzed_document) = material(input)?;
    let verifier = Verifier::new().allow_legacy_pkcs7(true);
    let now = std::time::UNIX_EPOCH;
    let error = match verifier.verify_at(&material, now) {
        Ok(verified) => panic!("accepted without AWS's signature: {:?}", verified.form()),
        Err(error) => error,
    };
    assert_eq!(verifier.verify_at(&material, now).unwrap_err(), error);
    let message = error.to_string();
    assert!(!message.is_empty());
    // Errors about the document may quote it (it holds no secret); the
    // others never quote anything.
    let quotes_document = matches!(
        error,
        VerifyError::MalformedDocument { .. } | VerifyError::NoCertificate { .. }
    );
    if !fuzzed_document || !quotes_document {
        assert!(!has_blob(&message), "{message}");
    }
    if !fuzzed_document {
        // The fixed document is well formed and its region in the table.
        assert!(!quotes_document, "{message}");
    }
    Some(error)
}
