//! Why a document was refused: one variant per check.
//!
//! Messages name the check that failed and what to do. They quote the
//! document's fields that failed a policy (the document holds no secret)
//! and never any of the signature material.

use std::time::Duration;

use crate::Form;

/// Why [`Verifier::verify_at`](crate::Verifier::verify_at) refused a
/// document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The material has no signature this verifier checks.
    #[error(
        "no signature to check: the material has no rsa2048 or signature{}",
        if *.pkcs7_ignored {
            " (its pkcs7 is checked only with the `legacy-pkcs7` feature and Verifier::allow_legacy_pkcs7(true))"
        } else {
            ""
        }
    )]
    NoSignature {
        /// The material had a `pkcs7` that was not checked.
        pkcs7_ignored: bool,
    },

    /// The document is not an identity document (not JSON, a field missing
    /// or of the wrong type, no usable region).
    #[error("the identity document is malformed: {reason}")]
    MalformedDocument {
        /// What is wrong with it.
        reason: String,
    },

    /// No certificate for the document's region and any form present.
    #[error(
        "no certificate for region {region} and the material's forms ({}): \
         the embedded table does not have this region yet; \
         add AWS's certificate with Verifier::with_certificate({region:?}, {}, PEM), \
         taking the {} certificate of {region} from \
         https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html",
        forms_list(.forms),
        .forms.first().map_or("Form::Rsa2048", |form| form.rust_name()),
        .forms.first().map_or("RSA-2048", |form| form.certificate_kind())
    )]
    NoCertificate {
        /// The document's region.
        region: String,
        /// The forms the material had, in order of preference.
        forms: Vec<Form>,
    },

    /// The signature material could not be decoded or parsed.
    #[error("the {form} material is malformed: {reason}")]
    MalformedSignature {
        /// The form checked.
        form: Form,
        /// What is wrong (where, not what bytes).
        reason: String,
    },

    /// The PKCS#7 was signed by a certificate other than the region's
    /// (another region's, or not AWS's).
    #[error(
        "signer check ({form}): the PKCS#7's signer is not {region}'s certificate (signed for another region, or not by AWS)"
    )]
    SignerNotTrusted {
        /// The form checked.
        form: Form,
        /// The document's region.
        region: String,
    },

    /// The document embedded in the PKCS#7 is not the document given.
    #[error(
        "the document signed in the {form} PKCS#7 is not the document given (changed, or another instance's)"
    )]
    ContentMismatch {
        /// The form checked.
        form: Form,
    },

    /// The PKCS#7's message digest attribute is not the digest of its
    /// content: the content was changed after signing.
    #[error(
        "the {form} PKCS#7's message digest does not match its content (changed after signing)"
    )]
    DigestMismatch {
        /// The form checked.
        form: Form,
    },

    /// The signature does not verify with the region's certificate.
    #[error(
        "signature check ({form}): the signature does not verify with {region}'s certificate (document changed, or signed by another key)"
    )]
    BadSignature {
        /// The form checked.
        form: Form,
        /// The document's region.
        region: String,
    },

    /// The PKCS#7 uses an algorithm this verifier does not accept for the
    /// form.
    #[error("the {form} PKCS#7 uses {what} {algorithm}, which this form does not accept")]
    UnsupportedAlgorithm {
        /// The form checked.
        form: Form,
        /// Which algorithm: "digest", "signature" or "content type".
        what: &'static str,
        /// Its OID.
        algorithm: String,
    },

    /// A certificate of the embedded table could not be used (a bug: the
    /// table is tested).
    #[error("the embedded {form} certificate for {region} is unusable: {reason}")]
    EmbeddedCertificate {
        /// The region.
        region: String,
        /// The form.
        form: Form,
        /// What the parser said.
        reason: String,
    },

    /// The signature is good; a policy check failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// A policy check that failed on a verified document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `pendingTime` is older than [`Verifier::max_age`](crate::Verifier::max_age).
    #[error(
        "max age: the instance's pendingTime {pending_time} is {} old, more than the {} allowed",
        humantime::format_duration(*.age),
        humantime::format_duration(*.max_age)
    )]
    TooOld {
        /// `pendingTime` as written.
        pending_time: String,
        /// Its age at the time given.
        age: Duration,
        /// The maximum allowed.
        max_age: Duration,
    },
    /// `pendingTime` is not RFC 3339, so its age is unknown.
    #[error("max age: the instance's pendingTime {pending_time:?} is not an RFC 3339 time")]
    PendingTimeInvalid {
        /// `pendingTime` as written.
        pending_time: String,
    },
    /// `accountId` is not among
    /// [`Verifier::allowed_accounts`](crate::Verifier::allowed_accounts).
    #[error("allowed accounts: account {account_id} is not allowed")]
    AccountNotAllowed {
        /// The document's account.
        account_id: String,
    },
    /// `region` is not [`Verifier::region`](crate::Verifier::region).
    #[error("region: the document is from {found}, {expected} was expected")]
    RegionMismatch {
        /// The region expected.
        expected: String,
        /// The document's.
        found: String,
    },
    /// `instanceId` is not [`Verifier::instance_id`](crate::Verifier::instance_id).
    #[error("instance ID: the document is {found}'s, {expected} was expected")]
    InstanceMismatch {
        /// The instance expected.
        expected: String,
        /// The document's.
        found: String,
    },
}

fn forms_list(forms: &[Form]) -> String {
    forms
        .iter()
        .map(|form| form.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
