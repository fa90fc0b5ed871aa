//! The settings of a layer, shared by every service built from it.

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderValue;

use crate::{MetadataToken, TokenStore, TokenTtl, UserAgent};

/// The settings every service of one layer reads.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) ttl: TokenTtl,
    /// `ttl` as a header value, formatted once.
    pub(crate) ttl_header: HeaderValue,
    pub(crate) fallback_to_imdsv1: bool,
    pub(crate) token_timeout: Duration,
    pub(crate) token: Option<MetadataToken>,
    pub(crate) store: Option<Arc<dyn TokenStore>>,
    /// Sent with the token `PUT`, and with requests that have none.
    pub(crate) user_agent: Option<UserAgent>,
}

/// Shown as the layer, which is what a user configured.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsV2Layer")
            .field("ttl_seconds", &self.ttl.as_secs())
            .field("fallback_to_imdsv1", &self.fallback_to_imdsv1)
            .field("token_timeout", &self.token_timeout)
            .field("metadata_token", &self.token)
            .field("token_store", &self.store.as_ref().map(|_| ".."))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}
