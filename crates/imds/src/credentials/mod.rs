//! EC2 instance role credentials: the model, and a cached provider.
//!
//! [`CredentialsProvider`] holds the logic (role discovery, extended
//! document with fallback, caching, single flight, refresh window, static
//! stability) over any [`MetadataSource`]: the IMDS client, or a fake in
//! tests; optionally sharing credentials across processes through a
//! [`CredentialsStore`]. Time is read with `tower_imds::clock::now()`: tests pause and
//! advance tokio's clock.

mod fetch;
mod model;
mod provider;
mod source;
mod store;

#[cfg(test)]
pub(crate) mod fake;

pub use self::model::Credentials;
pub use self::provider::{
    CredentialsProvider, CredentialsProviderBuilder, DEFAULT_EXTENSION, DEFAULT_EXTENSION_JITTER,
    DEFAULT_REFRESH_JITTER, DEFAULT_REFRESH_WINDOW, DEFAULT_RETRY_DELAY,
};
pub use self::source::MetadataSource;
pub use self::store::{CredentialsStore, StoreError};
