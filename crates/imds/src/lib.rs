//! A client for the AWS EC2 Instance Metadata Service (IMDSv2).
//!
//! - [`Client`]: reads IMDS through the [`tower_imds`] layer (one cached
//!   token for every clone), with settings resolved like the AWS SDKs do,
//!   probe and expected modes, IPv4, IPv6 and auto endpoint modes, typed
//!   getters, and [`walk`](Client::walk) for a whole tree as JSON.
//! - [`config`]: every IMDS setting resolved (code > environment >
//!   `~/.aws/config` profile > default), each with where it came from, and
//!   errors that say which setting is wrong and where it was set.
//!   [`env`](mod@env) makes the environment injectable and [`profile`]
//!   reads the config file.
//! - [`Error`]: one error type, a variant per thing a caller can act on,
//!   never holding a secret.
//! - [`listing`] and [`document`]: directory listings and the typed JSON
//!   documents (identity document, IAM info, spot instance action).
//! - [`credentials`]: the instance role's [`Credentials`] and a cached,
//!   single-flight [`CredentialsProvider`] with refresh before expiry and
//!   static stability, over any [`MetadataSource`] (the client is one).
//!   [`clock`] makes time injectable.
//! - With the `aws-sdk` feature, the `aws_sdk` module: the provider
//!   as the AWS SDK for Rust's `ProvideCredentials`, and the region as its
//!   `Region`.
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

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "aws-sdk")]
pub mod aws_sdk;
pub mod client;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod document;
pub mod env;
pub mod error;
pub mod listing;
pub mod profile;

// For the workspace's conformance tests and fuzz targets: not a stable API.
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod __internals {
    pub use crate::profile::{DEFAULT_PROFILE, ParseError, parse, parse_profiles};
}

pub use crate::client::{Client, ClientBuilder, MAX_WALK_DEPTH, MAX_WALK_ENTRIES, Mode};
pub use crate::credentials::{Credentials, CredentialsProvider, MetadataSource};
pub use crate::env::Env;
pub use crate::error::Error;
