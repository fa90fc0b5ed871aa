//! How a form's check failed, before the verifier adds the form and region
//! to make it a [`VerifyError`].

use crate::{Form, VerifyError};

/// A failed check of one form's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Not decodable or parseable; says where, never quotes.
    Malformed(String),
    UnsupportedAlgorithm {
        what: &'static str,
        oid: String,
    },
    ContentMismatch,
    SignerNotTrusted,
    DigestMismatch,
    BadSignature,
}

impl Failure {
    pub(crate) fn into_error(self, form: Form, region: &str) -> VerifyError {
        match self {
            Failure::Malformed(reason) => VerifyError::MalformedSignature { form, reason },
            Failure::UnsupportedAlgorithm { what, oid } => VerifyError::UnsupportedAlgorithm {
                form,
                what,
                algorithm: oid,
            },
            Failure::ContentMismatch => VerifyError::ContentMismatch { form },
            Failure::SignerNotTrusted => VerifyError::SignerNotTrusted {
                form,
                region: region.to_owned(),
            },
            Failure::DigestMismatch => VerifyError::DigestMismatch { form },
            Failure::BadSignature => VerifyError::BadSignature {
                form,
                region: region.to_owned(),
            },
        }
    }
}
