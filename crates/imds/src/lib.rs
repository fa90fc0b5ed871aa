//! A client for the AWS EC2 Instance Metadata Service (IMDSv2).
//!
//! This crate holds everything of the client that does not touch the
//! network:
//!
//! - [`config`]: every IMDS setting resolved like the AWS SDKs do it (code >
//!   environment > `~/.aws/config` profile > default), each with where it
//!   came from, and errors that say which setting is wrong and where it was
//!   set. [`env`](mod@env) makes the environment injectable and [`profile`] reads the
//!   config file.
//! - [`Error`]: one error type, a variant per thing a caller can act on,
//!   never holding a secret.
//! - [`listing`] and [`document`]: directory listings and the typed JSON
//!   documents (identity document, IAM info, spot instance action).
//! - [`credentials`]: the instance role's [`Credentials`] and a cached,
//!   single-flight [`CredentialsProvider`] with refresh before expiry and
//!   static stability, over any [`MetadataSource`]. [`clock`] makes time
//!   injectable.
//!
//! ```
//! use imds::config::{self, Overrides, Resolved};
//! use imds::Env;
//!
//! // Off EC2, IMDS can be disabled: nothing is read and no request is made.
//! let env = Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]);
//! let resolved = config::resolve(&Overrides::default(), &env)?;
//! assert!(matches!(resolved, Resolved::Disabled(_)));
//! # Ok::<(), imds::config::ConfigError>(())
//! ```

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

pub use crate::client::{Client, ClientBuilder, MAX_WALK_DEPTH, MAX_WALK_ENTRIES, Mode};
pub use crate::credentials::{Credentials, CredentialsProvider, MetadataSource};
pub use crate::env::Env;
pub use crate::error::Error;
