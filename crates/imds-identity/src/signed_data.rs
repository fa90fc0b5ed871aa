//! The `rsa2048` and `pkcs7` forms: a CMS SignedData (RFC 5652) that
//! embeds the document, checked against the region's certificate.
//!
//! AWS's blobs have no certificates inside: the signer is named by issuer
//! and serial number, which must be a trusted certificate's. They carry
//! signed attributes, so the signature covers the DER SET of those
//! attributes, whose messageDigest must be the digest of the content.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::Digest as _;

use crate::Form;
use crate::certificate::{PublicKey, TrustedCertificate};
use crate::failure::Failure;

/// The digests accepted: SHA-256 (`rsa2048`, `pkcs7` in China), SHA-1
/// (`pkcs7`, with the `legacy-pkcs7` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestAlgorithm {
    Sha256,
    #[cfg(feature = "legacy-pkcs7")]
    Sha1,
}

impl DigestAlgorithm {
    fn of(form: Form, oid: ObjectIdentifier) -> Result<Self, Failure> {
        match (form, oid) {
            (_, rfc5912::ID_SHA_256) => Ok(DigestAlgorithm::Sha256),
            #[cfg(feature = "legacy-pkcs7")]
            (Form::Pkcs7, rfc5912::ID_SHA_1) => Ok(DigestAlgorithm::Sha1),
            _ => Err(Failure::UnsupportedAlgorithm {
                what: "digest",
                oid: oid.to_string(),
            }),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            #[cfg(feature = "legacy-pkcs7")]
            DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        }
    }

    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self {
            DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            #[cfg(feature = "legacy-pkcs7")]
            DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        }
    }
}

fn malformed(what: &str, error: der::Error) -> Failure {
    Failure::Malformed(format!("{what}: {}", error.kind()))
}

/// Checks the SignedData `der` (already normalised from BER) for
/// `document`; returns the certificate that verified it.
pub(crate) fn verify<'c>(
    form: Form,
    der: &[u8],
    document: &[u8],
    candidates: &[&'c TrustedCertificate],
) -> Result<&'c TrustedCertificate, Failure> {
    let content_info =
        ContentInfo::from_der(der).map_err(|error| malformed("not a CMS ContentInfo", error))?;
    if content_info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(Failure::UnsupportedAlgorithm {
            what: "content type",
            oid: content_info.content_type.to_string(),
        });
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|error| malformed("not a CMS SignedData", error))?;
    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != rfc5911::ID_DATA {
        return Err(Failure::UnsupportedAlgorithm {
            what: "content type",
            oid: encapsulated.econtent_type.to_string(),
        });
    }
    let content: OctetString = encapsulated
        .econtent
        .as_ref()
        .ok_or_else(|| Failure::Malformed("no embedded document".into()))?
        .decode_as()
        .map_err(|error| malformed("embedded document", error))?;
    if content.as_bytes() != document {
        return Err(Failure::ContentMismatch);
    }

    // AWS signs once; with several signers, the first that names a
    // trusted certificate decides.
    let (signer, certificate) = signed_data
        .signer_infos
        .0
        .iter()
        .find_map(|signer| {
            let SignerIdentifier::IssuerAndSerialNumber(id) = &signer.sid else {
                return None;
            };
            let issuer = id.issuer.to_der().ok()?;
            candidates
                .iter()
                .find(|c| c.issuer == issuer && c.serial == id.serial_number.as_bytes())
                .map(|certificate| (signer, *certificate))
        })
        .ok_or(Failure::SignerNotTrusted)?;
    verify_signer(form, signer, certificate, content.as_bytes())?;
    Ok(certificate)
}

fn verify_signer(
    form: Form,
    signer: &SignerInfo,
    certificate: &TrustedCertificate,
    content: &[u8],
) -> Result<(), Failure> {
    // Parameters absent (2026) or NULL (before): both mean none.
    if let Some(parameters) = &signer.digest_alg.parameters {
        parameters
            .decode_as::<Null>()
            .map_err(|error| malformed("digest algorithm parameters", error))?;
    }
    let digest = DigestAlgorithm::of(form, signer.digest_alg.oid)?;
    let content_digest = digest.hash(content);

    let signed_bytes = match &signer.signed_attrs {
        None => content.to_vec(),
        Some(attributes) => {
            let mut content_type = None;
            let mut message_digest = None;
            for attribute in attributes.iter() {
                let single = || {
                    let mut values = attribute.values.iter();
                    match (values.next(), values.next()) {
                        (Some(value), None) => Ok(value),
                        _ => Err(Failure::Malformed(format!(
                            "signed attribute {} must have one value",
                            attribute.oid
                        ))),
                    }
                };
                if attribute.oid == rfc5911::ID_CONTENT_TYPE {
                    let oid: ObjectIdentifier = single()?
                        .decode_as()
                        .map_err(|error| malformed("content-type attribute", error))?;
                    content_type = Some(oid);
                } else if attribute.oid == rfc5911::ID_MESSAGE_DIGEST {
                    let value: OctetString = single()?
                        .decode_as()
                        .map_err(|error| malformed("message-digest attribute", error))?;
                    message_digest = Some(value);
                }
            }
            if content_type != Some(rfc5911::ID_DATA) {
                return Err(Failure::Malformed(
                    "signed attributes lack content-type id-data".into(),
                ));
            }
            let message_digest = message_digest.ok_or_else(|| {
                Failure::Malformed("signed attributes lack a message-digest".into())
            })?;
            if message_digest.as_bytes() != content_digest.as_slice() {
                return Err(Failure::DigestMismatch);
            }
            // What was signed: the attributes' DER as a SET OF (RFC 5652
            // 5.4), not their [0] IMPLICIT encoding in the SignerInfo.
            attributes
                .to_der()
                .map_err(|error| malformed("signed attributes", error))?
        }
    };

    let signature = signer.signature.as_bytes();
    let algorithm = signer.signature_algorithm.oid;
    match &certificate.key {
        PublicKey::Rsa(key) => {
            let fits = match (algorithm, digest) {
                (rfc5912::RSA_ENCRYPTION, _) => true,
                (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, DigestAlgorithm::Sha256) => true,
                #[cfg(feature = "legacy-pkcs7")]
                (rfc5912::SHA_1_WITH_RSA_ENCRYPTION, DigestAlgorithm::Sha1) => true,
                _ => false,
            };
            if !fits {
                return Err(Failure::UnsupportedAlgorithm {
                    what: "signature",
                    oid: algorithm.to_string(),
                });
            }
            key.verify(digest.pkcs1v15(), &digest.hash(&signed_bytes), signature)
                .map_err(|_| Failure::BadSignature)
        }
        #[cfg(feature = "legacy-pkcs7")]
        PublicKey::Dsa(key) => {
            use dsa::signature::hazmat::PrehashVerifier as _;
            let fits = matches!(
                (algorithm, digest),
                (rfc5912::ID_DSA, _) | (rfc5912::DSA_WITH_SHA_1, DigestAlgorithm::Sha1)
            );
            if !fits {
                return Err(Failure::UnsupportedAlgorithm {
                    what: "signature",
                    oid: algorithm.to_string(),
                });
            }
            let signature =
                dsa::Signature::from_der(signature).map_err(|_| Failure::BadSignature)?;
            key.verify_prehash(&digest.hash(&signed_bytes), &signature)
                .map_err(|_| Failure::BadSignature)
        }
    }
}
