//! The instance identity material, raw: the document's exact bytes and
//! AWS's three signatures over it, as verifiers (Vault's AWS auth, SPIRE's
//! `aws_iid` attestor, imds-identity) take them; and, with the `identity`
//! feature, the material verified on the instance.

use bytes::Bytes;

use super::{Client, path};
use crate::error::Error;

const DOCUMENT: &str = "dynamic/instance-identity/document";
const SIGNATURE: &str = "dynamic/instance-identity/signature";
const RSA2048: &str = "dynamic/instance-identity/rsa2048";
const PKCS7: &str = "dynamic/instance-identity/pkcs7";

impl Client {
    /// `dynamic/instance-identity/document`, byte for byte as IMDS serves
    /// it: what AWS's signatures cover (any re-serialisation of the typed
    /// [`identity_document`](Self::identity_document) would not verify).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let document = client.identity_document_bytes().await?;
    /// let rsa2048 = client.identity_rsa2048().await?;
    /// // Send both, as they are, to a verifier (Vault's `pkcs7` login
    /// // field takes the rsa2048 text; SPIRE's attestor the document and
    /// // its signature).
    /// assert!(document.starts_with(b"{") && document.ends_with(b"}"));
    /// assert!(rsa2048.starts_with(b"MIAGCSqGSIb3DQEHAqCA"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn identity_document_bytes(&self) -> Result<Bytes, Error> {
        self.required(DOCUMENT).await
    }

    /// `dynamic/instance-identity/signature`: base64 of an RSA signature
    /// (PKCS#1 v1.5, SHA-256) over the document bytes, as served.
    pub async fn identity_signature(&self) -> Result<Bytes, Error> {
        self.required(SIGNATURE).await
    }

    /// `dynamic/instance-identity/rsa2048`: base64 of a PKCS#7 (CMS
    /// SignedData, RSA-2048, SHA-256) that embeds the document, as served
    /// (without PEM armour).
    pub async fn identity_rsa2048(&self) -> Result<Bytes, Error> {
        self.required(RSA2048).await
    }

    /// `dynamic/instance-identity/pkcs7`: base64 of the legacy PKCS#7 (DSA,
    /// SHA-1) that embeds the document, as served (without PEM armour).
    pub async fn identity_pkcs7(&self) -> Result<Bytes, Error> {
        self.required(PKCS7).await
    }

    /// The body at `path`; 404 is [`Error::Status`].
    async fn required(&self, path: &str) -> Result<Bytes, Error> {
        self.get(path).await?.ok_or_else(|| path::not_found(path))
    }

    /// Reads the identity document and the signatures IMDS serves, and
    /// verifies them with `verifier` at the current time
    /// ([`clock::now`](crate::clock::now)): the typed document when a
    /// signature verifies and the policy holds.
    ///
    /// The verifier picks the form it checks: the first of `rsa2048`,
    /// `signature` and `pkcs7` (when allowed) that IMDS serves and it has a
    /// certificate for. The document and `rsa2048` are read concurrently;
    /// the other two only when `rsa2048` cannot be used (IMDS does not
    /// serve it, it could not be read, or no certificate for it is
    /// trusted). A form that could not be read counts as absent: its error
    /// is returned only when no form could be verified for want of one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use imds::identity::{Form, IdentityError, PolicyError, Verifier, VerifyError};
    /// use imds_mock::{MockImds, SignatureForm};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    ///
    /// // On EC2, `Verifier::new()` trusts AWS's certificates; the mock signs
    /// // with its own test key.
    /// let pem = mock.identity_signer().certificate_pem(SignatureForm::Rsa2048);
    /// let verifier = Verifier::empty().with_certificate("us-east-1", Form::Rsa2048, pem)?;
    /// let verified = client.verify_identity(&verifier).await?;
    /// assert_eq!(verified.form(), Form::Rsa2048);
    /// assert_eq!(verified.document().instance_id, client.instance_id().await?);
    ///
    /// // A policy: this document's account is not allowed.
    /// let strict = verifier.allowed_accounts(["999999999999"]);
    /// let error = client.verify_identity(&strict).await.unwrap_err();
    /// assert!(matches!(
    ///     error,
    ///     IdentityError::Refused(VerifyError::Policy(PolicyError::AccountNotAllowed { .. }))
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "identity")]
    #[cfg_attr(docsrs, doc(cfg(feature = "identity")))]
    pub async fn verify_identity(
        &self,
        verifier: &imds_identity::Verifier,
    ) -> Result<imds_identity::VerifiedDocument, crate::identity::IdentityError> {
        use imds_identity::{Form, Material, VerifyError};

        let now = crate::clock::now();
        let (document, rsa2048) = tokio::join!(self.identity_document_bytes(), self.get(RSA2048));
        let mut material = Material::new(document?);
        // The first read error of a form: the answer only if no form served
        // could be used.
        let mut unread = None;
        let mut add = |material: Material, form, read: Result<Option<Bytes>, Error>| match read {
            Ok(Some(text)) => material.with(form, text),
            Ok(None) => material,
            Err(error) => {
                unread.get_or_insert(error);
                material
            }
        };
        material = add(material, Form::Rsa2048, rsa2048);
        // The verifier takes the first form it has a certificate for, and
        // `rsa2048` comes first: the other forms are read only when it
        // cannot be used, which spares IMDS two requests (and their
        // failures) in the common case.
        match verifier.verify_at(&material, now) {
            Err(VerifyError::NoSignature { .. } | VerifyError::NoCertificate { .. }) => {}
            verified => return Ok(verified?),
        }
        let (signature, pkcs7) = tokio::join!(self.get(SIGNATURE), self.get(PKCS7));
        material = add(material, Form::Signature, signature);
        material = add(material, Form::Pkcs7, pkcs7);
        match (verifier.verify_at(&material, now), unread) {
            (
                Err(VerifyError::NoSignature { .. } | VerifyError::NoCertificate { .. }),
                Some(error),
            ) => Err(error.into()),
            (verified, _) => Ok(verified?),
        }
    }
}
