//! Verifying the instance's identity (feature `identity`): the error of
//! [`Client::verify_identity`](crate::Client::verify_identity), and the
//! verifier it takes, re-exported whole from the `imds-identity` crate
//! ([`Verifier`], [`VerifiedDocument`], [`VerifyError`], [`Form`],
//! [`Material`], AWS's embedded certificates, ...). Its
//! [`IdentityDocument`] is [`document::IdentityDocument`](crate::document::IdentityDocument):
//! one type, whether read with [`Client::identity_document`](crate::Client::identity_document)
//! or verified.
//!
//! Without the feature, the raw material is still there
//! ([`Client::identity_document_bytes`](crate::Client::identity_document_bytes),
//! [`identity_rsa2048`](crate::Client::identity_rsa2048), ...), and no
//! cryptography is compiled. The feature `identity-legacy-pkcs7` adds the
//! legacy `pkcs7` form (DSA, SHA-1; imds-identity's `legacy-pkcs7`).

pub use imds_identity::*;

use crate::error::Error;

/// Why [`Client::verify_identity`](crate::Client::verify_identity) gave no
/// verified document.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The material could not be read from IMDS.
    #[error(transparent)]
    Imds(#[from] Error),
    /// The material was read and refused: which check failed (never the
    /// signature material itself).
    #[error("the instance identity was not verified: {0}")]
    Refused(#[from] VerifyError),
}
