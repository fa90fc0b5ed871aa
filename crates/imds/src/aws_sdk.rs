//! The AWS SDK for Rust, fed from IMDS (feature `aws-sdk`).
//!
//! [`CredentialsProvider`] implements
//! [`ProvideCredentials`],
//! so it can stand in a credentials chain:
//!
//! - IMDS disabled ([`Error::Disabled`]), unreachable or silent
//!   ([`Error::Unreachable`], [`Error::Timeout`]), turned off on the
//!   instance (403 to the token request), or no role attached
//!   ([`Error::NoRole`] with no configured role) are
//!   [`CredentialsError::not_loaded`]: the chain moves on to its next
//!   provider.
//! - An invalid setting is
//!   [`CredentialsError::invalid_configuration`]; anything else (a role
//!   IMDS cannot give credentials for, a bad document, ...) is
//!   [`CredentialsError::provider_error`].
//!
//! The provider caches and refreshes on its own (see
//! [`CredentialsProvider`]); the SDK's own cache on top of it is harmless.
//!
//! ```
//! use aws_credential_types::provider::ProvideCredentials;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = imds_mock::MockImds::start_default().await?;
//! let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
//! let provider = client.credentials_provider();
//! let credentials = provider.provide_credentials().await?;
//! assert!(credentials.access_key_id().starts_with("ASIA"));
//! assert_eq!(client.aws_region().await?.as_ref(), "us-east-1");
//! # Ok(())
//! # }
//! ```

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, future};
use http::StatusCode;
use tower_imds::header::TOKEN_PATH;

use crate::client::Client;
use crate::credentials::{Credentials, CredentialsProvider, MetadataSource};
use crate::error::Error;

/// The provider name the SDK's credentials carry.
pub const PROVIDER_NAME: &str = "IMDSv2";

impl<S: MetadataSource> ProvideCredentials for CredentialsProvider<S> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map(|credentials| to_sdk(&credentials))
                .map_err(to_sdk_error)
        })
    }
}

/// Our credentials as the SDK's.
pub fn to_sdk(credentials: &Credentials) -> aws_credential_types::Credentials {
    let mut builder = aws_credential_types::Credentials::builder()
        .access_key_id(credentials.access_key_id())
        .secret_access_key(credentials.secret_access_key())
        .session_token(credentials.session_token())
        .expiry(credentials.expiration())
        .provider_name(PROVIDER_NAME);
    if let Some(account_id) = credentials.account_id() {
        builder = builder.account_id(account_id);
    }
    builder.build()
}

/// Our error as the SDK's: "not loaded" when IMDS is not there to ask.
pub fn to_sdk_error(error: Error) -> CredentialsError {
    let not_there = error.is_unavailable()
        || matches!(&error, Error::NoRole { role: None })
        || matches!(
            &error,
            Error::Status { status, path } if *status == StatusCode::FORBIDDEN && path == TOKEN_PATH
        );
    if not_there {
        CredentialsError::not_loaded(error)
    } else if matches!(error, Error::Config(_)) {
        CredentialsError::invalid_configuration(error)
    } else {
        CredentialsError::provider_error(error)
    }
}

/// What [`ProvideCredentials`] returns.
pub type Result = provider::Result;

impl Client {
    /// [`region`](Client::region) as the SDK's type, to hand to
    /// `aws_config::from_env().region(...)` (which takes a `Region` as a
    /// region provider).
    pub async fn aws_region(&self) -> std::result::Result<aws_types::region::Region, Error> {
        self.region().await.map(aws_types::region::Region::new)
    }
}
