//! The three signatures IMDS serves over the identity document.

use std::fmt;

/// One of the signatures over the identity document, named as its IMDS
/// path (`dynamic/instance-identity/<form>`).
///
/// ```
/// use imds_mock::SignatureForm;
///
/// assert_eq!(SignatureForm::Rsa2048.path(), "dynamic/instance-identity/rsa2048");
/// assert_eq!(SignatureForm::Pkcs7.to_string(), "pkcs7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureForm {
    /// CMS SignedData, RSA-2048 with SHA-256, the document embedded.
    Rsa2048,
    /// RSA PKCS#1 v1.5 with SHA-256 over the document bytes.
    Signature,
    /// The legacy CMS SignedData, DSA with SHA-1, the document embedded.
    Pkcs7,
}

impl SignatureForm {
    /// All three, in the order verifiers prefer them.
    pub const ALL: [SignatureForm; 3] = [
        SignatureForm::Rsa2048,
        SignatureForm::Signature,
        SignatureForm::Pkcs7,
    ];

    /// `rsa2048`, `signature` or `pkcs7`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureForm::Rsa2048 => "rsa2048",
            SignatureForm::Signature => "signature",
            SignatureForm::Pkcs7 => "pkcs7",
        }
    }

    /// The path under `/latest/` that serves it.
    pub const fn path(self) -> &'static str {
        match self {
            SignatureForm::Rsa2048 => "dynamic/instance-identity/rsa2048",
            SignatureForm::Signature => "dynamic/instance-identity/signature",
            SignatureForm::Pkcs7 => "dynamic/instance-identity/pkcs7",
        }
    }
}

impl fmt::Display for SignatureForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
