//! The identity document's signatures (feature `signing`, on by default),
//! made as AWS makes them, with the mock's own test keys:
//!
//! - `dynamic/instance-identity/rsa2048`: a CMS SignedData with RSA-2048
//!   and SHA-256 that embeds the document, with signed attributes
//!   (content type, signing time, algorithm protection, message digest),
//!   BER-encoded with indefinite lengths like AWS's blobs;
//! - `dynamic/instance-identity/signature`: RSA PKCS#1 v1.5 with SHA-256
//!   over the document bytes (a 1024-bit key, as AWS's);
//! - `dynamic/instance-identity/pkcs7`: the legacy SignedData, DSA-1024
//!   with SHA-1.
//!
//! Each is served as IMDS serves it: base64 in lines of 76 characters,
//! without PEM armour or a final newline. The signatures cover the
//! document served at the time of the request, whichever way it changed
//! ([`ConfigBuilder::account_id`](crate::ConfigBuilder::account_id),
//! [`pending_time`](crate::ConfigBuilder::pending_time), the
//! instance ID or region through
//! [`set_metadata`](crate::MockImds::set_metadata), or the whole document
//! replaced at `dynamic/instance-identity/document`). They are
//! deterministic (RSA PKCS#1 v1.5, and DSA with RFC 6979 nonces; the
//! signing time is `pendingTime` plus a second), so one document always
//! has the same signatures.
//!
//! The keys are embedded, fixed and published: TEST ONLY, never secret,
//! never to be trusted outside tests. [`IdentitySigner::test`] signs by
//! default; its certificates (one per form, [`IdentitySigner::certificate_pem`],
//! or files from the binary's `--write-certs DIR`) are what a verifier
//! under test trusts, for the document's region. [`IdentitySigner::impostor`]
//! has certificates with the same names and serial numbers but other keys:
//! what it signs, a verifier trusting the test certificates must refuse.
//!
//! ```
//! use imds_mock::{IdentitySigner, MockImds, SignatureForm};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = MockImds::start_default().await?;
//! // A verifier under test trusts this for the document's region.
//! let certificate = mock.identity_signer().certificate_pem(SignatureForm::Rsa2048);
//! assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----"));
//!
//! // From now on the mock signs with a key nobody should trust.
//! mock.set_identity_signer(IdentitySigner::impostor());
//! # Ok(())
//! # }
//! ```

mod authority;
mod error;
mod form;
mod served;
mod signed_data;
#[cfg(test)]
mod tests;

pub use authority::IdentitySigner;
pub use error::SigningError;
pub use form::SignatureForm;
pub(crate) use served::Signatures;
