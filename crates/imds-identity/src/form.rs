//! The three signatures AWS publishes over an identity document.

use std::fmt;
use std::str::FromStr;

/// One of AWS's signatures over the identity document, named as its IMDS
/// path (`dynamic/instance-identity/<form>`).
///
/// ```
/// use imds_identity::Form;
///
/// assert_eq!("rsa2048".parse::<Form>(), Ok(Form::Rsa2048));
/// assert_eq!(Form::Signature.to_string(), "signature");
/// assert_eq!(Form::PREFERENCE, [Form::Rsa2048, Form::Signature, Form::Pkcs7]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// PKCS#7 (CMS SignedData) with RSA-2048 and SHA-256 that embeds the
    /// document; checked against the region's RSA-2048 certificate.
    Rsa2048,
    /// RSA PKCS#1 v1.5 with SHA-256 over the document bytes; checked against
    /// the region's RSA certificate.
    Signature,
    /// The older PKCS#7 (CMS SignedData) with DSA and SHA-1 that embeds the
    /// document; checked against the region's DSA certificate (in China an
    /// RSA one). Only with the `legacy-pkcs7` feature and
    /// `Verifier::allow_legacy_pkcs7(true)`.
    Pkcs7,
}

impl Form {
    /// The order in which a [`Verifier`](crate::Verifier) picks the form to
    /// check when the material has several.
    pub const PREFERENCE: [Form; 3] = [Form::Rsa2048, Form::Signature, Form::Pkcs7];

    /// The name used in IMDS paths and by AWS's certificate page's tabs
    /// (lower case).
    pub const fn as_str(self) -> &'static str {
        match self {
            Form::Rsa2048 => "rsa2048",
            Form::Signature => "signature",
            Form::Pkcs7 => "pkcs7",
        }
    }

    /// The certificate AWS's page lists for this form: `RSA-2048`, `RSA`
    /// or `DSA`.
    pub const fn certificate_kind(self) -> &'static str {
        match self {
            Form::Rsa2048 => "RSA-2048",
            Form::Signature => "RSA",
            Form::Pkcs7 => "DSA",
        }
    }

    /// `Form::Rsa2048` as written in Rust, for messages that show code.
    #[cfg(feature = "verify")]
    pub(crate) const fn rust_name(self) -> &'static str {
        match self {
            Form::Rsa2048 => "Form::Rsa2048",
            Form::Signature => "Form::Signature",
            Form::Pkcs7 => "Form::Pkcs7",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `rsa2048`, `signature` or `pkcs7`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature form (expected rsa2048, signature or pkcs7)")]
pub struct UnknownForm;

impl FromStr for Form {
    type Err = UnknownForm;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "rsa2048" => Ok(Form::Rsa2048),
            "signature" => Ok(Form::Signature),
            "pkcs7" => Ok(Form::Pkcs7),
            _ => Err(UnknownForm),
        }
    }
}

/// An AWS partition: a separate set of regions with its own certificates.
///
/// ```
/// use imds_identity::Partition;
///
/// assert_eq!(Partition::of_region("us-gov-west-1"), Partition::GovCloud);
/// assert_eq!(Partition::of_region("cn-northwest-1"), Partition::China);
/// assert_eq!(Partition::of_region("eu-west-1"), Partition::Commercial);
/// assert_eq!(Partition::China.id(), "aws-cn");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Partition {
    /// `aws`: the commercial regions.
    Commercial,
    /// `aws-us-gov`: AWS GovCloud (US).
    GovCloud,
    /// `aws-cn`: the China regions (Beijing, Ningxia).
    China,
    /// `aws-eusc`: the AWS European Sovereign Cloud.
    EuropeanSovereignCloud,
}

impl Partition {
    /// The partition a region belongs to, from its name's prefix.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("eusc-") {
            Partition::EuropeanSovereignCloud
        } else {
            Partition::Commercial
        }
    }

    /// The partition's ID, as in ARNs (`aws`, `aws-us-gov`, `aws-cn`,
    /// `aws-eusc`).
    pub const fn id(self) -> &'static str {
        match self {
            Partition::Commercial => "aws",
            Partition::GovCloud => "aws-us-gov",
            Partition::China => "aws-cn",
            Partition::EuropeanSovereignCloud => "aws-eusc",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
