//! What an instance hands a verifier: the document and AWS's signatures.

use std::fmt;

use base64ct::{Base64, Encoding};
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

/// Why a signature's text could not be decoded. Never quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    TooLarge,
    NotBase64,
    Empty,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::TooLarge => "larger than the 64 KiB accepted",
            DecodeError::NotBase64 => "not base64 (optionally PEM-armoured)",
            DecodeError::Empty => "empty",
        })
    }
}

/// The bytes under base64 text: PEM armour lines dropped, whitespace
/// ignored.
pub(crate) fn decode_base64(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if text.len() > MAX_MATERIAL_LEN * 2 {
        return Err(DecodeError::TooLarge);
    }
    let mut compact = Vec::with_capacity(text.len());
    for line in text.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.starts_with(b"-----BEGIN ") || line.starts_with(b"-----END ") {
            continue;
        }
        compact.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
    }
    if compact.is_empty() {
        return Err(DecodeError::Empty);
    }
    let decoded =
        Base64::decode_vec(std::str::from_utf8(&compact).map_err(|_| DecodeError::NotBase64)?)
            .map_err(|_| DecodeError::NotBase64)?;
    if decoded.len() > MAX_MATERIAL_LEN {
        return Err(DecodeError::TooLarge);
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_or_without_armour_and_line_breaks() {
        let plain = b"aGVsbG8gd29ybGQ=";
        assert_eq!(decode_base64(plain).unwrap(), b"hello world");
        let wrapped = b"aGVsbG8g\r\nd29y bGQ=\n";
        assert_eq!(decode_base64(wrapped).unwrap(), b"hello world");
        let armoured = b"-----BEGIN PKCS7-----\naGVsbG8gd29ybGQ=\n-----END PKCS7-----\n";
        assert_eq!(decode_base64(armoured).unwrap(), b"hello world");
    }

    #[test]
    fn bad_text_is_refused() {
        assert_eq!(decode_base64(b""), Err(DecodeError::Empty));
        assert_eq!(decode_base64(b" \n"), Err(DecodeError::Empty));
        assert_eq!(decode_base64(b"not base64!"), Err(DecodeError::NotBase64));
        assert_eq!(decode_base64(b"aGVsbG8"), Err(DecodeError::NotBase64));
        assert_eq!(decode_base64(&[0xff, 0xfe]), Err(DecodeError::NotBase64));
        let huge = vec![b'A'; MAX_MATERIAL_LEN * 2 + 1];
        assert_eq!(decode_base64(&huge), Err(DecodeError::TooLarge));
    }

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
