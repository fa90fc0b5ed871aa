//! The verifier: which certificates it trusts, which form it checks, and
//! the policy on top.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::certificate::{CertificateError, CertificateSource, TrustedCertificate};
use crate::material::MAX_MATERIAL_LEN;
use crate::{
    Form, IdentityDocument, Material, PolicyError, VerifyError, base64, ber, signature, signed_data,
};

/// Verifies instance identity documents against AWS's signatures.
///
/// Of the forms in the [`Material`], the first in [`Form::PREFERENCE`]
/// (`rsa2048`, `signature`, then `pkcs7` when allowed) for which a
/// certificate of the document's region is known is checked, and its
/// verdict is final: a bad `rsa2048` is refused even if a `signature` came
/// along. Then the policy, each check optional: [`max_age`](Self::max_age),
/// [`allowed_accounts`](Self::allowed_accounts), [`region`](Self::region),
/// [`instance_id`](Self::instance_id).
///
/// A verifier is cheap to clone and to share; build it once.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use imds_identity::{Material, PolicyError, Verifier, VerifyError};
///
/// let verifier = Verifier::new()
///     .max_age(Duration::from_secs(600))
///     .allowed_accounts(["123456789012"])
///     .region("eu-west-1");
///
/// // Material as a server receives it from an instance (here: no signature).
/// let material = Material::new(&br#"{"accountId":"123456789012","region":"eu-west-1"}"#[..]);
/// let error = verifier.verify_at(&material, SystemTime::UNIX_EPOCH).unwrap_err();
/// assert!(matches!(error, VerifyError::NoSignature { .. }));
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    added: Vec<(String, Form, Arc<TrustedCertificate>)>,
    embedded: bool,
    legacy_pkcs7: bool,
    max_age: Option<Duration>,
    allowed_accounts: Option<BTreeSet<String>>,
    region: Option<String>,
    instance_id: Option<String>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// Trusts the embedded table of AWS's certificates
    /// ([`embedded_certificates`](crate::embedded_certificates)); no policy.
    pub fn new() -> Self {
        Verifier {
            added: Vec::new(),
            embedded: true,
            legacy_pkcs7: false,
            max_age: None,
            allowed_accounts: None,
            region: None,
            instance_id: None,
        }
    }

    /// Trusts only the certificates added with
    /// [`with_certificate`](Self::with_certificate), not the embedded table
    /// (for a test CA, or a server that pins its own list).
    pub fn empty() -> Self {
        Verifier {
            embedded: false,
            ..Verifier::new()
        }
    }

    /// Also trusts `certificate` (PEM or DER X.509) for `form`'s signatures
    /// of documents from `region`: for a region the embedded table lacks,
    /// or a certificate AWS has published since. Tried before the table's.
    ///
    /// Refused if it is not a certificate, or its key does not fit the
    /// form (RSA for `rsa2048` and `signature`; DSA or RSA for `pkcs7`,
    /// which needs the `legacy-pkcs7` feature).
    ///
    /// ```
    /// use imds_identity::{CertificateError, Form, Verifier};
    ///
    /// let error = Verifier::new()
    ///     .with_certificate("ap-east-2", Form::Rsa2048, "not a certificate")
    ///     .unwrap_err();
    /// assert!(matches!(error, CertificateError::NotACertificate { .. }));
    /// ```
    pub fn with_certificate(
        mut self,
        region: impl Into<String>,
        form: Form,
        certificate: impl AsRef<[u8]>,
    ) -> Result<Self, CertificateError> {
        let parsed =
            TrustedCertificate::parse(form, certificate.as_ref(), CertificateSource::Added)?;
        self.added.push((region.into(), form, Arc::new(parsed)));
        Ok(self)
    }

    /// Also checks the legacy `pkcs7` form (DSA with SHA-1), when the
    /// material has neither `rsa2048` nor `signature` with a known
    /// certificate. Off by default: SHA-1 and 1024-bit DSA are weak.
    #[cfg(feature = "legacy-pkcs7")]
    pub fn allow_legacy_pkcs7(mut self, allow: bool) -> Self {
        self.legacy_pkcs7 = allow;
        self
    }

    /// Refuses documents whose `pendingTime` (when the instance was last
    /// launched or started) is older than `max_age` at the time given to
    /// [`verify_at`](Self::verify_at).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Refuses documents whose `accountId` is not one of `accounts`.
    pub fn allowed_accounts<I, S>(mut self, accounts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_accounts = Some(accounts.into_iter().map(Into::into).collect());
        self
    }

    /// Refuses documents whose `region` is not `region`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Refuses documents whose `instanceId` is not `instance_id`.
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// Verifies `material`, with `now` as the current time for
    /// [`max_age`](Self::max_age) (unused without it). On success, the
    /// typed document, the form that verified it and the certificate used.
    pub fn verify_at(
        &self,
        material: &Material,
        now: SystemTime,
    ) -> Result<VerifiedDocument, VerifyError> {
        let pkcs7_usable = self.legacy_pkcs7 && cfg!(feature = "legacy-pkcs7");
        let forms: Vec<Form> = material
            .forms()
            .into_iter()
            .filter(|form| *form != Form::Pkcs7 || pkcs7_usable)
            .collect();
        if forms.is_empty() {
            return Err(VerifyError::NoSignature {
                pkcs7_ignored: material.get(Form::Pkcs7).is_some(),
            });
        }
        let bytes = material.document();
        let document = parse_document(bytes)?;
        let region = document.region.as_str();
        let mut chosen = None;
        for form in &forms {
            let candidates = self.candidates(region, *form)?;
            if !candidates.is_empty() {
                chosen = Some((*form, candidates));
                break;
            }
        }
        let Some((form, candidates)) = chosen else {
            return Err(VerifyError::NoCertificate {
                region: region.to_owned(),
                forms,
            });
        };

        // `forms` holds only forms present in the material.
        let text = material.get(form).map(Bytes::as_ref).unwrap_or_default();
        let decoded = base64::decode(text).map_err(|error| VerifyError::MalformedSignature {
            form,
            reason: error.to_string(),
        })?;
        let certificate = match form {
            Form::Signature => signature::verify(&decoded, bytes, &candidates),
            Form::Rsa2048 | Form::Pkcs7 => {
                let der =
                    ber::to_der(&decoded).map_err(|error| VerifyError::MalformedSignature {
                        form,
                        reason: error.to_string(),
                    })?;
                signed_data::verify(form, &der, bytes, &candidates)
            }
        }
        .map_err(|failure| failure.into_error(form, region))?;

        self.check_policy(&document, now)?;
        Ok(VerifiedDocument {
            document,
            bytes: bytes.clone(),
            form,
            certificate: certificate.source,
        })
    }

    /// The certificates trusted for `region` and `form`: the caller's,
    /// then the table's.
    fn candidates(
        &self,
        region: &str,
        form: Form,
    ) -> Result<Vec<&TrustedCertificate>, VerifyError> {
        let mut candidates: Vec<&TrustedCertificate> = self
            .added
            .iter()
            .filter(|(r, f, _)| r == region && *f == form)
            .map(|(_, _, certificate)| certificate.as_ref())
            .collect();
        if self.embedded {
            for (entry, parsed) in crate::certificate::parsed_table() {
                if entry.region != region || entry.form != form {
                    continue;
                }
                match parsed {
                    Ok(certificate) => candidates.push(certificate),
                    Err(error) => {
                        return Err(VerifyError::EmbeddedCertificate {
                            region: region.to_owned(),
                            form,
                            reason: error.to_string(),
                        });
                    }
                }
            }
        }
        Ok(candidates)
    }

    fn check_policy(
        &self,
        document: &IdentityDocument,
        now: SystemTime,
    ) -> Result<(), PolicyError> {
        if let Some(expected) = &self.region
            && *expected != document.region
        {
            return Err(PolicyError::RegionMismatch {
                expected: expected.clone(),
                found: document.region.clone(),
            });
        }
        if let Some(expected) = &self.instance_id
            && *expected != document.instance_id
        {
            return Err(PolicyError::InstanceMismatch {
                expected: expected.clone(),
                found: document.instance_id.clone(),
            });
        }
        if let Some(accounts) = &self.allowed_accounts
            && !accounts.contains(&document.account_id)
        {
            return Err(PolicyError::AccountNotAllowed {
                account_id: document.account_id.clone(),
            });
        }
        if let Some(max_age) = self.max_age {
            let pending_at =
                document
                    .pending_at()
                    .ok_or_else(|| PolicyError::PendingTimeInvalid {
                        pending_time: document.pending_time.clone(),
                    })?;
            // A pendingTime ahead of `now` (clock skew) is of age zero.
            let age = now.duration_since(pending_at).unwrap_or_default();
            if age > max_age {
                return Err(PolicyError::TooOld {
                    pending_time: document.pending_time.clone(),
                    age,
                    max_age,
                });
            }
        }
        Ok(())
    }
}

/// The document as JSON, with a region that can name a certificate.
fn parse_document(bytes: &[u8]) -> Result<IdentityDocument, VerifyError> {
    if bytes.len() > MAX_MATERIAL_LEN {
        return Err(VerifyError::MalformedDocument {
            reason: "larger than the 64 KiB accepted".into(),
        });
    }
    let document: IdentityDocument =
        serde_json::from_slice(bytes).map_err(|error| VerifyError::MalformedDocument {
            reason: error.to_string(),
        })?;
    let region_ok = !document.region.is_empty()
        && document.region.len() <= 32
        && document
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(VerifyError::MalformedDocument {
            reason: "its region is not a region name (lower-case letters, digits and dashes)"
                .into(),
        });
    }
    Ok(document)
}

/// A document whose signature verified and that passed the policy.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    document: IdentityDocument,
    bytes: Bytes,
    form: Form,
    certificate: CertificateSource,
}

impl VerifiedDocument {
    /// The document's fields.
    pub fn document(&self) -> &IdentityDocument {
        &self.document
    }

    /// The document's fields, owned.
    pub fn into_document(self) -> IdentityDocument {
        self.document
    }

    /// The exact bytes that were signed.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The form whose signature verified it.
    pub fn form(&self) -> Form {
        self.form
    }

    /// The certificate that verified it: from the embedded table (with its
    /// source and date) or added by the caller.
    pub fn certificate(&self) -> CertificateSource {
        self.certificate
    }
}
