//! Verify EC2 instance identity documents against AWS's signatures,
//! offline, in pure Rust.
//!
//! An instance proves who it is with its identity document
//! (`dynamic/instance-identity/document`) and AWS's signatures over it. A
//! server that receives them (as Vault's AWS auth, SPIRE's `aws_iid`
//! attestor or Teleport's EC2 join do) checks them with a [`Verifier`]:
//!
//! - `rsa2048`: a PKCS#7 (CMS SignedData, RSA-2048, SHA-256) embedding the
//!   document, whose signer must be the region's RSA-2048 certificate;
//! - `signature`: RSA PKCS#1 v1.5 / SHA-256 over the document bytes;
//! - `pkcs7`, only when asked (`legacy-pkcs7` feature): the older PKCS#7
//!   with DSA and SHA-1.
//!
//! AWS's certificates for every region of the commercial, GovCloud and
//! China partitions are embedded ([`embedded_certificates`]), each with
//! the page it came from and the date it was taken; a region opened since
//! is added with [`Verifier::with_certificate`], and the error for a region
//! without a certificate says so. On top, an optional policy: maximum age
//! of `pendingTime`, allowed accounts, expected region and instance.
//!
//! ```
//! # #[cfg(feature = "verify")] {
//! use std::time::{Duration, SystemTime};
//! use imds_identity::{Form, Material, Verifier, VerifyError};
//!
//! // Built once, shared by every request.
//! let verifier = Verifier::new()
//!     .max_age(Duration::from_secs(300))
//!     .allowed_accounts(["123456789012"]);
//!
//! // What an instance sent: the document's exact bytes and its signatures
//! // as IMDS serves them (base64; PEM armour and line breaks are fine).
//! let document = br#"{"accountId" : "123456789012", "architecture" : "x86_64",
//!   "availabilityZone" : "xx-test-1a", "imageId" : "ami-0abcdef1234567890",
//!   "instanceId" : "i-0123456789abcdef0", "instanceType" : "t3.micro",
//!   "pendingTime" : "2026-01-01T00:00:00Z", "privateIp" : "10.0.0.1",
//!   "region" : "xx-test-1", "version" : "2017-09-30"}"#;
//! let material = Material::new(&document[..]).with_rsa2048("MIAGCSqGSIb3DQEHAqCA");
//!
//! // The current time: SystemTime::now() or the workspace's clock.
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_900);
//! match verifier.verify_at(&material, now) {
//!     Ok(verified) => println!("instance {}", verified.document().instance_id),
//!     // No certificate for this (made-up) region: the message says how to
//!     // add one.
//!     Err(VerifyError::NoCertificate { region, forms }) => {
//!         assert_eq!(region, "xx-test-1");
//!         assert_eq!(forms, [Form::Rsa2048]);
//!     }
//!     Err(other) => panic!("{other}"),
//! }
//! # }
//! ```
//!
//! Verification is over the exact document bytes. Certificate validity
//! dates are not checked, as AWS's own recipes do not check them (one
//! certificate AWS still signs with has expired). The current time for
//! `max_age` is passed in, so that tests control it.
//!
//! Everything is RustCrypto (`rsa`, `sha2`, `cms`, `x509-cert`, `der`,
//! `dsa`, `sha1`): no OpenSSL, no system library. AWS's PKCS#7 blobs are
//! BER; a small, bounded BER-to-DER rewrite runs before `cms` parses them.
//!
//! # Features
//!
//! - `verify` (default): the verifier and its cryptography. Without it
//!   the crate holds only the types of what an instance hands a verifier,
//!   [`IdentityDocument`], [`Material`], [`Form`] and [`Partition`], and
//!   compiles no cryptography: the `imds` client uses it so, for its
//!   `Client::identity_document`.
//! - `legacy-pkcs7`: the legacy `pkcs7` form (DSA with SHA-1); implies
//!   `verify`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without `verify`, the docs still name the verifier, which is not built.
#![cfg_attr(not(feature = "verify"), allow(rustdoc::broken_intra_doc_links))]

// Always: what an instance hands a verifier, typed (no cryptography).
mod document;
mod form;
mod material;

// The verifier (feature `verify`).
#[cfg(feature = "verify")]
mod base64;
#[cfg(feature = "verify")]
mod ber;
#[cfg(feature = "verify")]
mod certificate;
#[cfg(feature = "verify")]
mod error;
#[cfg(feature = "verify")]
mod failure;
#[cfg(feature = "verify")]
mod signature;
#[cfg(feature = "verify")]
mod signed_data;
#[cfg(feature = "verify")]
mod table;
#[cfg(feature = "verify")]
mod verifier;

/// The byte buffer of [`Material`] (and of `VerifiedDocument::bytes`).
pub use bytes::Bytes;
pub use document::IdentityDocument;
pub use form::{Form, Partition, UnknownForm};
pub use material::{MAX_MATERIAL_LEN, Material};

#[cfg(feature = "verify")]
pub use certificate::{CertificateError, CertificateSource};
#[cfg(feature = "verify")]
pub use error::{PolicyError, VerifyError};
#[cfg(feature = "verify")]
pub use table::{EmbeddedCertificate, embedded_certificates};
#[cfg(feature = "verify")]
pub use verifier::{VerifiedDocument, Verifier};
