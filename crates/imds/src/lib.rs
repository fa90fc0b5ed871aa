//! A client for the AWS EC2 Instance Metadata Service (IMDSv2).
//!
//! - [`Client`]: reads IMDS through the [`tower_imds`] layer (one cached
//!   token for every clone), with settings resolved like the AWS SDKs do,
//!   probe and expected modes, IPv4, IPv6 and auto endpoint modes, typed
//!   getters, and [`walk`](Client::walk) for a whole tree as JSON. The
//!   token settings are the layer's: [`ClientBuilder::token_layer`].
//! - [`config`]: the settings the client resolved (code > environment >
//!   `~/.aws/config` profile > default), each with where it came from
//!   ([`Client::settings`]), and the errors that name a wrong setting and
//!   where it was set.
//! - [`error`]: one error type, a variant per thing a caller can act on,
//!   never holding a secret.
//! - [`document`]: the typed JSON documents (identity document, IAM info,
//!   Spot instance action).
//! - [`events`]: interruptions and maintenance: the Spot, rebalance,
//!   scheduled maintenance and Auto Scaling documents, typed, a watcher
//!   that streams their changes ([`Client::events`]), and
//!   [`Client::interruption`].
//! - [`credentials`]: the instance role's [`Credentials`] and a cached,
//!   single-flight [`CredentialsProvider`] with refresh before expiry and
//!   static stability, over any [`MetadataSource`] (the client is one).
//! - With the `aws-sdk` feature, the `aws_sdk` module: the provider
//!   as the AWS SDK for Rust's `ProvideCredentials`, and the region as its
//!   `Region`.
//! - The instance identity: the document's exact bytes and AWS's
//!   signatures, raw ([`Client::identity_document_bytes`],
//!   [`Client::identity_rsa2048`], ...), for a verifier elsewhere; with
//!   the `identity` feature, `Client::verify_identity` and the `identity`
//!   module verify them on the instance.
//!
//! The [`tower_imds`] types that appear in this crate's signatures are
//! re-exported here: [`ImdsV2Layer`], [`TokenTtl`], [`MetadataToken`],
//! [`TokenStore`], [`StoredToken`], [`TokenEndpoint`], [`UserAgent`] and
//! [`InvalidUserAgent`], and [`clock`], the
//! workspace's one wall clock (read off tokio's, so that tests can pause
//! it), which a [`TokenStore`] compares expiry times with.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = imds_mock::MockImds::start_default().await?;
//! # let env = imds::Env::from_map([("AWS_EC2_METADATA_SERVICE_ENDPOINT", mock.base_url())]);
//! // On EC2: `let client = imds::Client::from_env()?;`
//! let client = imds::Client::builder().env(env).build()?;
//! println!("{} in {}", client.instance_id().await?, client.region().await?);
//!
//! let credentials = client.credentials_provider().credentials().await?;
//! println!("{:?}", credentials); // the secrets are redacted
//! # Ok(())
//! # }
//! ```
//!
//! Off EC2, IMDS can be disabled: nothing is read and no request is made.
//!
//! ```
//! use imds::{Client, Env, Error};
//!
//! let env = Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]);
//! let client = Client::builder().env(env).build()?;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! assert!(matches!(client.instance_id().await, Err(Error::Disabled(_))));
//! # });
//! # Ok::<(), imds::Error>(())
//! ```
//!
//! # Features
//!
//! - `aws-sdk`: the `aws_sdk` module (not in the default build), with the
//!   optional dependencies `aws-credential-types` and `aws-types`.
//! - `identity`: `Client::verify_identity` and the `identity` module (not
//!   in the default build), with `imds-identity`'s verifier and its
//!   cryptography (the default build depends on `imds-identity` for the
//!   [`IdentityDocument`](document::IdentityDocument) type alone, and
//!   compiles no cryptography); `identity-legacy-pkcs7` adds the legacy DSA
//!   `pkcs7` form.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "aws-sdk")]
pub mod aws_sdk;
pub mod client;
pub mod config;
pub mod credentials;
pub mod document;
mod env;
pub mod error;
pub mod events;
#[cfg(feature = "identity")]
#[cfg_attr(docsrs, doc(cfg(feature = "identity")))]
pub mod identity;
mod listing;
mod profile;
#[cfg(test)]
mod proptests;

/// The crate-private parsers, for the workspace's conformance tests, fuzz
/// targets and benchmarks (feature `__internals`). Not a stable API.
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod __internals {
    use crate::Error;

    pub use crate::profile::{DEFAULT_PROFILE, ParseError, parse, parse_profiles};

    /// Directory listings.
    pub mod listing {
        pub use crate::listing::{Entry, PublicKey, parse, parse_public_keys};
    }

    /// A watch polling every `interval`, without the 1 s floor (the
    /// events benchmark runs 100,000 polls).
    pub fn watch_interval(
        watch: crate::events::EventWatch,
        interval: std::time::Duration,
    ) -> crate::events::EventWatch {
        watch.interval_unchecked(interval)
    }

    /// A body as text, as the client reads one.
    pub fn parse_text<'a>(path: &str, body: &'a [u8]) -> Result<&'a str, Error> {
        crate::document::parse_text(path, body)
    }

    /// A body as a JSON document, as the client reads one.
    pub fn parse_json<T: serde::de::DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, Error> {
        crate::document::parse_json(path, body)
    }
}

pub use crate::client::{Client, ClientBuilder, Mode};
pub use crate::credentials::{Credentials, CredentialsProvider, MetadataSource};
pub use crate::env::Env;
pub use crate::error::Error;
pub use tower_imds::{
    ImdsV2Layer, InvalidUserAgent, MetadataToken, StoredToken, TokenEndpoint, TokenStore, TokenTtl,
    UserAgent, clock,
};
