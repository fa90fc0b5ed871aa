//! Instance identity signatures: `imds_identity::Verifier::verify_at` on
//! arbitrary `rsa2048`, `signature` and `pkcs7` material (the PKCS#7 BER
//! rewrite, CMS parsing, signer matching, signed attributes, RSA and DSA
//! checks), against the embedded table of AWS's certificates.
//!
//! The input format and the checks are in
//! `crates/imds-identity/tests/support/fuzz_oracle.rs`, shared with the
//! test that replays the seeds: never a panic; never accepted; the same
//! error twice; no base64 in an error about the signature.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/imds-identity/tests/support/fuzz_oracle.rs"]
mod fuzz_oracle;

fuzz_target!(|input: &[u8]| {
    fuzz_oracle::check(input);
});
