//! The `rsa2048` and `pkcs7` blobs: a CMS SignedData (RFC 5652) that
//! embeds the document, laid out byte for byte as AWS's.
//!
//! AWS's blobs are BER: the ContentInfo, its `[0]`, the SignedData, the
//! EncapsulatedContentInfo and its `[0]` have indefinite lengths, and the
//! document is one primitive OCTET STRING inside a constructed one. The
//! rest (digest algorithms, signer infos) is DER. They carry no
//! certificates: the signer is named by issuer and serial number. The
//! signature covers the DER SET of the signed attributes, whose message
//! digest is the document's.

use std::time::SystemTime;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::signed_data::{SignerIdentifier, SignerInfo, SignerInfos};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912, rfc6211};
use der::asn1::{Any, Null, OctetString, SetOfVec};
use der::{Encode, EncodeValue, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use super::SignatureForm;
use super::error::SigningError;

/// The algorithms of one form, as AWS uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Profile {
    /// SHA-256 (parameters absent), sha256WithRSAEncryption (NULL
    /// parameters), with a CMSAlgorithmProtection attribute: AWS's
    /// `rsa2048` since 2021.
    Rsa2048,
    /// SHA-1 (NULL parameters), dsaWithSHA1: AWS's `pkcs7`.
    Pkcs7,
}

impl Profile {
    fn form(self) -> SignatureForm {
        match self {
            Profile::Rsa2048 => SignatureForm::Rsa2048,
            Profile::Pkcs7 => SignatureForm::Pkcs7,
        }
    }

    fn digest_algorithm(self) -> Result<AlgorithmIdentifierOwned, der::Error> {
        Ok(match self {
            Profile::Rsa2048 => AlgorithmIdentifierOwned {
                oid: rfc5912::ID_SHA_256,
                parameters: None,
            },
            Profile::Pkcs7 => AlgorithmIdentifierOwned {
                oid: rfc5912::ID_SHA_1,
                parameters: Some(Any::encode_from(&Null)?),
            },
        })
    }

    fn signature_algorithm(self) -> Result<AlgorithmIdentifierOwned, der::Error> {
        Ok(match self {
            Profile::Rsa2048 => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::encode_from(&Null)?),
            },
            Profile::Pkcs7 => AlgorithmIdentifierOwned {
                oid: rfc5912::DSA_WITH_SHA_1,
                parameters: None,
            },
        })
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Profile::Rsa2048 => sha2::Sha256::digest(data).to_vec(),
            Profile::Pkcs7 => sha1::Sha1::digest(data).to_vec(),
        }
    }
}

/// CMSAlgorithmProtection (RFC 6211).
#[derive(Sequence)]
struct AlgorithmProtection {
    digest_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT")]
    signature_algorithm: AlgorithmIdentifierOwned,
}

/// The SignedData of `document`, signed by `sign` (which gets the DER of
/// the signed attributes and returns the signature value).
pub(super) fn build(
    document: &[u8],
    signing_time: SystemTime,
    profile: Profile,
    signer: &IssuerAndSerialNumber,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, SigningError>,
) -> Result<Vec<u8>, SigningError> {
    let form = profile.form();
    let encoding = |error: der::Error| SigningError::new(form, error);
    let digest_algorithm = profile.digest_algorithm().map_err(encoding)?;
    let signature_algorithm = profile.signature_algorithm().map_err(encoding)?;

    let mut attributes = vec![
        attribute(rfc5911::ID_CONTENT_TYPE, &rfc5911::ID_DATA),
        attribute(
            rfc5911::ID_SIGNING_TIME,
            &Time::try_from(signing_time).map_err(encoding)?,
        ),
        attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            &OctetString::new(profile.digest(document)).map_err(encoding)?,
        ),
    ];
    if profile == Profile::Rsa2048 {
        attributes.push(attribute(
            rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION,
            &AlgorithmProtection {
                digest_algorithm: digest_algorithm.clone(),
                signature_algorithm: signature_algorithm.clone(),
            },
        ));
    }
    let attributes = attributes
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .and_then(SetOfVec::try_from)
        .map_err(encoding)?;
    let signature = sign(&attributes.to_der().map_err(encoding)?)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(signer.clone()),
        digest_alg: digest_algorithm.clone(),
        signed_attrs: Some(attributes),
        signature_algorithm,
        signature: OctetString::new(signature).map_err(encoding)?,
        unsigned_attrs: None,
    };
    let version = CmsVersion::V1.to_der().map_err(encoding)?;
    let digest_algorithms = SetOfVec::try_from(vec![digest_algorithm])
        .and_then(|set| set.to_der())
        .map_err(encoding)?;
    let signer_infos = SignerInfos::try_from(vec![signer_info])
        .and_then(|set| set.to_der())
        .map_err(encoding)?;
    let document = OctetString::new(document)
        .and_then(|octets| octets.to_der())
        .map_err(encoding)?;
    let signed_data_oid = rfc5911::ID_SIGNED_DATA.to_der().map_err(encoding)?;
    let data_oid = rfc5911::ID_DATA.to_der().map_err(encoding)?;

    const SEQUENCE: u8 = 0x30;
    const CONTEXT_0: u8 = 0xA0;
    const CONSTRUCTED_OCTET_STRING: u8 = 0x24;
    let encapsulated = indefinite(
        SEQUENCE,
        &[
            &data_oid,
            &indefinite(
                CONTEXT_0,
                &[&indefinite(CONSTRUCTED_OCTET_STRING, &[&document])],
            ),
        ],
    );
    let signed_data = indefinite(
        SEQUENCE,
        &[&version, &digest_algorithms, &encapsulated, &signer_infos],
    );
    Ok(indefinite(
        SEQUENCE,
        &[&signed_data_oid, &indefinite(CONTEXT_0, &[&signed_data])],
    ))
}

/// A signed attribute with one value.
fn attribute(
    oid: ObjectIdentifier,
    value: &(impl EncodeValue + Tagged),
) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![Any::encode_from(value)?])?,
    })
}

/// A BER constructed element of indefinite length: the identifier, `0x80`,
/// the contents, then end-of-contents.
fn indefinite(identifier: u8, contents: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![identifier, 0x80];
    for part in contents {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&[0, 0]);
    out
}
