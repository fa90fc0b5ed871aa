//! [`IdentitySigner`]: a set of embedded test keys and certificates, one
//! per form, and the signatures they make.
//!
//! Fixed keys rather than keys generated per process: no random number
//! generator is needed (the mock's own is not meant for keys), the mock
//! starts at once (generating DSA parameters takes up to seconds in a
//! debug build), a document always gets the same signatures, and a
//! certificate written by one process verifies what another serves.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cms::cert::IssuerAndSerialNumber;
use der::DecodePem;
use rsa::pkcs8::DecodePrivateKey as _;
use sha2::Digest as _;
use x509_cert::Certificate;

use super::SignatureForm;
use super::error::SigningError;
use super::signed_data::{self, Profile};

/// IMDS serves the base64 of the signatures in lines of this many
/// characters.
const LINE_LENGTH: usize = 76;

/// The signing time of a document without a readable `pendingTime`.
const FALLBACK_SIGNING_TIME: &str = "2026-01-05T08:30:01Z";

/// A signing authority of the mock: a key and a certificate per form.
///
/// The keys are embedded in the mock and published with its source: TEST
/// ONLY, not secret. `Debug` shows the authority's name only.
///
/// ```
/// use imds_mock::{IdentitySigner, SignatureForm};
///
/// let document = br#"{"accountId" : "123456789012", "region" : "us-east-1"}"#;
/// let signature = IdentitySigner::test().sign(SignatureForm::Signature, document)?;
/// // Base64 of a 128-byte RSA signature, in lines of 76 characters.
/// assert_eq!(signature.lines().map(str::len).collect::<Vec<_>>(), [76, 76, 20]);
/// // The same document, the same signature.
/// assert_eq!(IdentitySigner::test().sign(SignatureForm::Signature, document)?, signature);
/// assert_ne!(IdentitySigner::impostor().sign(SignatureForm::Signature, document)?, signature);
/// # Ok::<(), imds_mock::SigningError>(())
/// ```
pub struct IdentitySigner {
    name: &'static str,
    rsa2048: Pems,
    signature: Pems,
    pkcs7: Pems,
    keys: OnceLock<Result<Keys, SigningError>>,
}

/// A form's private key (PKCS#8) and certificate, PEM.
struct Pems {
    key: &'static str,
    certificate: &'static str,
}

/// The keys, parsed on first use.
struct Keys {
    rsa2048: (rsa::PrivateKey, IssuerAndSerialNumber),
    signature: rsa::PrivateKey,
    pkcs7: (dsa::SigningKey, IssuerAndSerialNumber),
}

macro_rules! pems {
    ($authority:literal, $form:literal) => {
        Pems {
            key: include_str!(concat!("keys/", $authority, "-", $form, ".key.pem")),
            certificate: include_str!(concat!("keys/", $authority, "-", $form, ".cert.pem")),
        }
    };
}

static TEST: IdentitySigner = IdentitySigner {
    name: "test",
    rsa2048: pems!("test", "rsa2048"),
    signature: pems!("test", "signature"),
    pkcs7: pems!("test", "pkcs7"),
    keys: OnceLock::new(),
};

static IMPOSTOR: IdentitySigner = IdentitySigner {
    name: "impostor",
    rsa2048: pems!("impostor", "rsa2048"),
    signature: pems!("impostor", "signature"),
    pkcs7: pems!("impostor", "pkcs7"),
    keys: OnceLock::new(),
};

impl IdentitySigner {
    /// The authority the mock signs with unless told otherwise.
    pub fn test() -> &'static IdentitySigner {
        &TEST
    }

    /// An authority whose certificates carry the same names and serial
    /// numbers as [`test`](Self::test)'s but other keys: a verifier that
    /// trusts the test certificates must refuse what it signs (a signature
    /// from another key).
    pub fn impostor() -> &'static IdentitySigner {
        &IMPOSTOR
    }

    /// `test` or `impostor`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The certificate (PEM, self-signed) whose key signs `form`: RSA-2048
    /// for `rsa2048`, RSA-1024 for `signature`, DSA-1024 for `pkcs7`, as
    /// AWS's. Trust it for the region of the documents the mock serves.
    pub fn certificate_pem(&self, form: SignatureForm) -> &'static str {
        self.pems(form).certificate
    }

    /// Writes the three certificates to `dir` (created if missing) as
    /// `rsa2048.pem`, `signature.pem` and `pkcs7.pem`; returns their paths.
    pub fn write_certificates(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        SignatureForm::ALL
            .into_iter()
            .map(|form| {
                let path = dir.join(format!("{form}.pem"));
                std::fs::write(&path, self.certificate_pem(form))?;
                Ok(path)
            })
            .collect()
    }

    /// `form`'s signature over `document` (its exact bytes), as IMDS
    /// serves it: base64 in lines of 76 characters, no PEM armour, no
    /// final newline.
    pub fn sign(&self, form: SignatureForm, document: &[u8]) -> Result<String, SigningError> {
        let keys = self
            .keys
            .get_or_init(|| Keys::parse(self))
            .as_ref()
            .map_err(Clone::clone)?;
        let binary = match form {
            SignatureForm::Signature => keys
                .signature
                .sign(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    &sha2::Sha256::digest(document),
                )
                .map_err(|error| SigningError::new(form, error))?,
            SignatureForm::Rsa2048 => {
                let (key, signer) = &keys.rsa2048;
                signed_data::build(
                    document,
                    signing_time(document),
                    Profile::Rsa2048,
                    signer,
                    |attributes| {
                        key.sign(
                            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                            &sha2::Sha256::digest(attributes),
                        )
                        .map_err(|error| SigningError::new(form, error))
                    },
                )?
            }
            SignatureForm::Pkcs7 => {
                let (key, signer) = &keys.pkcs7;
                signed_data::build(
                    document,
                    signing_time(document),
                    Profile::Pkcs7,
                    signer,
                    |attributes| {
                        use der::Encode as _;
                        use dsa::signature::DigestSigner as _;
                        let signature: dsa::Signature = key
                            .try_sign_digest(|digest: &mut sha1::Sha1| {
                                sha1::Digest::update(digest, attributes);
                                Ok(())
                            })
                            .map_err(|error| SigningError::new(form, error))?;
                        signature
                            .to_der()
                            .map_err(|error| SigningError::new(form, error))
                    },
                )?
            }
        };
        Ok(wrap_base64(&binary))
    }

    fn pems(&self, form: SignatureForm) -> &Pems {
        match form {
            SignatureForm::Rsa2048 => &self.rsa2048,
            SignatureForm::Signature => &self.signature,
            SignatureForm::Pkcs7 => &self.pkcs7,
        }
    }
}

impl fmt::Debug for IdentitySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentitySigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Keys {
    fn parse(signer: &IdentitySigner) -> Result<Self, SigningError> {
        use SignatureForm::{Pkcs7, Rsa2048, Signature};
        let rsa = |form: SignatureForm| {
            rsa::PrivateKey::from_pkcs8_pem(signer.pems(form).key)
                .map_err(|error| SigningError::new(form, error))
        };
        let dsa = dsa::SigningKey::from_pkcs8_pem(signer.pems(Pkcs7).key)
            .map_err(|error| SigningError::new(Pkcs7, error))?;
        Ok(Keys {
            rsa2048: (rsa(Rsa2048)?, issuer_and_serial(signer, Rsa2048)?),
            signature: rsa(Signature)?,
            pkcs7: (dsa, issuer_and_serial(signer, Pkcs7)?),
        })
    }
}

/// How a SignerInfo names `form`'s certificate, as AWS's do.
fn issuer_and_serial(
    signer: &IdentitySigner,
    form: SignatureForm,
) -> Result<IssuerAndSerialNumber, SigningError> {
    let certificate = Certificate::from_pem(signer.certificate_pem(form))
        .map_err(|error| SigningError::new(form, error))?;
    let tbs = certificate.tbs_certificate();
    Ok(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    })
}

/// AWS signs a moment after `pendingTime`: a second later, here.
fn signing_time(document: &[u8]) -> SystemTime {
    let pending_time = serde_json::from_slice::<serde_json::Value>(document)
        .ok()
        .and_then(|json| {
            json.get("pendingTime")?
                .as_str()
                .and_then(|time| humantime::parse_rfc3339(time).ok())
        });
    match pending_time {
        Some(time) => time + Duration::from_secs(1),
        None => humantime::parse_rfc3339(FALLBACK_SIGNING_TIME).unwrap_or(SystemTime::UNIX_EPOCH),
    }
}

/// Base64 in lines of 76 characters, without a final newline.
fn wrap_base64(binary: &[u8]) -> String {
    let text = STANDARD.encode(binary);
    let mut wrapped = String::with_capacity(text.len() + text.len() / LINE_LENGTH);
    for (i, line) in text.as_bytes().chunks(LINE_LENGTH).enumerate() {
        if i > 0 {
            wrapped.push('\n');
        }
        // Base64 is ASCII: every chunk is whole characters.
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    wrapped
}
