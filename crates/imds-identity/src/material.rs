//! What an instance hands a verifier: the document and AWS's signatures.

use std::fmt;

use bytes::Bytes;

use crate::Form;

/// The largest document or signature accepted, in bytes. IMDS serves
/// documents of about 500 bytes and signatures of at most 1.6 KiB.
pub const MAX_MATERIAL_LEN: usize = 64 * 1024;

/// An identity document and the signatures that came with it, as IMDS
/// serves them (`dynamic/instance-identity/{document,rsa2048,signature,pkcs7}`).
///
/// The document is kept as the exact bytes received: signatures cover
/// those bytes, never a re-serialisation. The signatures are base64, with
/// or without PEM armour (`-----BEGIN PKCS7-----`), line breaks and spaces
/// allowed. `Debug` shows their lengths only.
///
/// ```
/// use imds_identity::{Form, Material};
///
/// let material = Material::new(&b"{\"region\" : \"eu-west-1\"}"[..])
///     .with_rsa2048("MIAGCSqGSIb3DQEHAqCAMIACAQEx")
///     .with_signature("c2lnbmF0dXJl");
/// assert_eq!(material.forms(), vec![Form::Rsa2048, Form::Signature]);
/// assert!(!format!("{material:?}").contains("MIAG"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Material {
    document: Bytes,
    rsa2048: Option<Bytes>,
    signature: Option<Bytes>,
    pkcs7: Option<Bytes>,
}

impl Material {
    /// The document, byte for byte as IMDS served it (no trailing newline).
    pub fn new(document: impl Into<Bytes>) -> Self {
        Material {
            document: document.into(),
            ..Material::default()
        }
    }

    /// Adds the `rsa2048` PKCS#7.
    #[must_use]
    pub fn with_rsa2048(mut self, rsa2048: impl Into<Bytes>) -> Self {
        self.rsa2048 = Some(rsa2048.into());
        self
    }

    /// Adds the `signature`.
    #[must_use]
    pub fn with_signature(mut self, signature: impl Into<Bytes>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    /// Adds the legacy `pkcs7` (DSA/SHA-1).
    #[must_use]
    pub fn with_pkcs7(mut self, pkcs7: impl Into<Bytes>) -> Self {
        self.pkcs7 = Some(pkcs7.into());
        self
    }

    /// Adds `form`'s signature.
    #[must_use]
    pub fn with(self, form: Form, material: impl Into<Bytes>) -> Self {
        match form {
            Form::Rsa2048 => self.with_rsa2048(material),
            Form::Signature => self.with_signature(material),
            Form::Pkcs7 => self.with_pkcs7(material),
        }
    }

    /// The document's bytes.
    pub fn document(&self) -> &Bytes {
        &self.document
    }

    /// `form`'s signature as given, if any.
    pub fn get(&self, form: Form) -> Option<&Bytes> {
        match form {
            Form::Rsa2048 => self.rsa2048.as_ref(),
            Form::Signature => self.signature.as_ref(),
            Form::Pkcs7 => self.pkcs7.as_ref(),
        }
    }

    /// The forms present, in order of preference.
    pub fn forms(&self) -> Vec<Form> {
        Form::PREFERENCE
            .into_iter()
            .filter(|form| self.get(*form).is_some())
            .collect()
    }
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = |material: &Option<Bytes>| material.as_ref().map(Bytes::len);
        f.debug_struct("Material")
            .field("document_len", &self.document.len())
            .field("rsa2048_len", &len(&self.rsa2048))
            .field("signature_len", &len(&self.signature))
            .field("pkcs7_len", &len(&self.pkcs7))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_lengths_only() {
        let material = Material::new("{}")
            .with_signature("U0VDUkVUU0lHTkFUVVJF")
            .with_pkcs7("UEtDUzdCTE9C");
        let debug = format!("{material:?}");
        assert!(
            !debug.contains("U0VD") && !debug.contains("UEtD"),
            "{debug}"
        );
        assert!(debug.contains("signature_len: Some(20)"), "{debug}");
    }
}
