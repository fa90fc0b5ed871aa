//! The `signature` form: RSA PKCS#1 v1.5 with SHA-256 over the document
//! bytes, checked against the region's RSA certificate.

use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::{Digest as _, Sha256};

use crate::certificate::{PublicKey, TrustedCertificate};
use crate::failure::Failure;

/// Checks the decoded `signature` over `document`; returns the
/// certificate that verified it.
pub(crate) fn verify<'c>(
    signature: &[u8],
    document: &[u8],
    candidates: &[&'c TrustedCertificate],
) -> Result<&'c TrustedCertificate, Failure> {
    let digest = Sha256::digest(document);
    candidates
        .iter()
        .find(|certificate| match &certificate.key {
            PublicKey::Rsa(key) => key
                .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
                .is_ok(),
            #[cfg(feature = "legacy-pkcs7")]
            PublicKey::Dsa(_) => false,
        })
        .copied()
        .ok_or(Failure::BadSignature)
}
