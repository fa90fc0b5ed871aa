//! A certificate trusted for one region and form: the signer's name and
//! serial (how a CMS SignerInfo points at it) and its public key.
//!
//! Validity dates and the certificate's own signature are not checked, as
//! AWS's recipes do not (`openssl smime -noverify`, `openssl dgst`): the
//! certificate is a trust anchor taken from AWS's page, and one AWS still
//! uses has expired (the pre-2024 RSA one, whose key the 2024 ones reuse).

use std::sync::OnceLock;

use const_oid::db::{rfc5912, rfc5912::ID_DSA};
use der::{Decode, DecodePem, Encode};
use rsa::PublicKey as RsaPublicKey;
use x509_cert::Certificate;

use crate::Form;
use crate::table::EmbeddedCertificate;

/// Where the certificate a document was verified with came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateSource {
    /// The embedded table of AWS's certificates.
    Embedded(&'static EmbeddedCertificate),
    /// [`Verifier::with_certificate`](crate::Verifier::with_certificate).
    Added,
}

/// Why a certificate given to
/// [`Verifier::with_certificate`](crate::Verifier::with_certificate) was
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Neither a PEM `CERTIFICATE` nor DER X.509.
    #[error("not an X.509 certificate in PEM or DER ({reason})")]
    NotACertificate {
        /// What the parser said (no bytes of the input).
        reason: String,
    },
    /// The certificate's key does not fit the form: RSA for `rsa2048` and
    /// `signature`, DSA or RSA for `pkcs7`.
    #[error("a {form} certificate must hold {expected}, this one holds {found}")]
    WrongKeyType {
        /// The form it was given for.
        form: Form,
        /// The key types that form takes.
        expected: &'static str,
        /// The key algorithm found (OID or name).
        found: String,
    },
    /// The key could not be read (bad encoding, unsupported size).
    #[error("the certificate's public key is unusable: {reason}")]
    BadKey {
        /// What the key parser said.
        reason: String,
    },
    /// A `pkcs7` certificate was given without the `legacy-pkcs7` feature.
    #[error("pkcs7 (DSA/SHA-1) certificates need imds-identity's `legacy-pkcs7` cargo feature")]
    LegacyPkcs7NotBuilt,
}

/// A public key of a signer.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    Rsa(RsaPublicKey),
    #[cfg(feature = "legacy-pkcs7")]
    Dsa(dsa::VerifyingKey),
}

/// A parsed certificate, ready to check signatures.
#[derive(Debug, Clone)]
pub(crate) struct TrustedCertificate {
    /// DER of the issuer's Name, compared with a SignerInfo's.
    pub(crate) issuer: Vec<u8>,
    /// The serial number's bytes, as encoded.
    pub(crate) serial: Vec<u8>,
    pub(crate) key: PublicKey,
    pub(crate) source: CertificateSource,
}

impl TrustedCertificate {
    /// Parses a PEM or DER certificate for `form`.
    pub(crate) fn parse(
        form: Form,
        encoded: &[u8],
        source: CertificateSource,
    ) -> Result<Self, CertificateError> {
        if form == Form::Pkcs7 && !cfg!(feature = "legacy-pkcs7") {
            return Err(CertificateError::LegacyPkcs7NotBuilt);
        }
        let trimmed = encoded.trim_ascii_start();
        let certificate = if trimmed.starts_with(b"-----BEGIN") {
            Certificate::from_pem(trimmed)
        } else {
            Certificate::from_der(encoded)
        }
        .map_err(|error| CertificateError::NotACertificate {
            reason: error.kind().to_string(),
        })?;
        let tbs = certificate.tbs_certificate();
        let issuer = tbs
            .issuer()
            .to_der()
            .map_err(|error| CertificateError::NotACertificate {
                reason: error.kind().to_string(),
            })?;
        let serial = tbs.serial_number().as_bytes().to_vec();
        let spki = tbs.subject_public_key_info();
        let algorithm = spki.algorithm.oid;
        let key = if algorithm == rfc5912::RSA_ENCRYPTION {
            let der = spki.to_der().map_err(|error| CertificateError::BadKey {
                reason: error.kind().to_string(),
            })?;
            let spki_ref = spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(|error| {
                CertificateError::BadKey {
                    reason: error.kind().to_string(),
                }
            })?;
            PublicKey::Rsa(RsaPublicKey::try_from(spki_ref).map_err(|error| {
                CertificateError::BadKey {
                    reason: error.to_string(),
                }
            })?)
        } else if algorithm == ID_DSA && form == Form::Pkcs7 {
            dsa_key(spki)?
        } else {
            return Err(CertificateError::WrongKeyType {
                form,
                expected: if form == Form::Pkcs7 {
                    "a DSA or RSA key"
                } else {
                    "an RSA key"
                },
                found: algorithm.to_string(),
            });
        };
        Ok(TrustedCertificate {
            issuer,
            serial,
            key,
            source,
        })
    }

    /// Parses an entry of the embedded table.
    pub(crate) fn embedded(entry: &'static EmbeddedCertificate) -> Result<Self, CertificateError> {
        Self::parse(
            entry.form,
            entry.pem.as_bytes(),
            CertificateSource::Embedded(entry),
        )
    }
}

#[cfg(feature = "legacy-pkcs7")]
fn dsa_key(spki: &spki::SubjectPublicKeyInfoOwned) -> Result<PublicKey, CertificateError> {
    let der = spki.to_der().map_err(|error| CertificateError::BadKey {
        reason: error.kind().to_string(),
    })?;
    let spki_ref = spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(|error| {
        CertificateError::BadKey {
            reason: error.kind().to_string(),
        }
    })?;
    dsa::VerifyingKey::try_from(spki_ref)
        .map(PublicKey::Dsa)
        .map_err(|error| CertificateError::BadKey {
            reason: error.to_string(),
        })
}

#[cfg(not(feature = "legacy-pkcs7"))]
fn dsa_key(_: &spki::SubjectPublicKeyInfoOwned) -> Result<PublicKey, CertificateError> {
    Err(CertificateError::LegacyPkcs7NotBuilt)
}
/// The embedded certificates, parsed once per process on first use.
/// An entry that fails to parse keeps its error (a test makes sure none
/// does); the pkcs7 entries are skipped without the `legacy-pkcs7` feature.
pub(crate) fn parsed_table() -> &'static [(
    &'static EmbeddedCertificate,
    Result<TrustedCertificate, CertificateError>,
)] {
    static PARSED: OnceLock<
        Vec<(
            &'static EmbeddedCertificate,
            Result<TrustedCertificate, CertificateError>,
        )>,
    > = OnceLock::new();
    PARSED.get_or_init(|| {
        crate::embedded_certificates()
            .iter()
            .filter(|entry| entry.form != Form::Pkcs7 || cfg!(feature = "legacy-pkcs7"))
            .map(|entry| (entry, TrustedCertificate::embedded(entry)))
            .collect()
    })
}
