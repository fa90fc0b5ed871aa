//! Keeping tokens beyond the life of one process.

use std::time::SystemTime;

use tower::BoxError;

use crate::{MetadataToken, TokenEndpoint};

/// A place that keeps tokens across runs, for short-lived processes such as
/// a command-line tool that would otherwise ask IMDS for a new token on
/// every invocation (the `on_load_token`/`on_new_token` callbacks of the
/// Python `ec2imds` module).
///
/// The layer always caches tokens in memory; a store sits behind that cache.
/// On a cache miss the layer asks [`load`](Self::load) before it sends a
/// token `PUT`, and it tells [`save`](Self::save) about each token it gets.
/// Both run only on that cold path, inline, so keep them quick (a small file
/// read or write is fine). Their errors are logged at `warn` and otherwise
/// ignored: a store never fails a request.
///
/// ```
/// use std::{collections::HashMap, sync::Mutex};
/// use tower_imds::{ImdsV2Layer, StoredToken, TokenEndpoint, TokenStore};
///
/// #[derive(Default)]
/// struct InMemory(Mutex<HashMap<String, StoredToken>>);
///
/// impl TokenStore for InMemory {
///     fn load(&self, endpoint: &TokenEndpoint) -> Result<Option<StoredToken>, tower::BoxError> {
///         Ok(self.0.lock().unwrap().get(&endpoint.to_string()).cloned())
///     }
///     fn save(&self, endpoint: &TokenEndpoint, token: &StoredToken) -> Result<(), tower::BoxError> {
///         self.0.lock().unwrap().insert(endpoint.to_string(), token.clone());
///         Ok(())
///     }
/// }
///
/// let layer = ImdsV2Layer::new().token_store(InMemory::default());
/// ```
pub trait TokenStore: Send + Sync + 'static {
    /// A token for `endpoint` kept earlier, if any. Expired tokens may be
    /// returned; the layer ignores them.
    fn load(&self, endpoint: &TokenEndpoint) -> Result<Option<StoredToken>, BoxError>;

    /// Keep `token`, just issued by `endpoint`.
    fn save(&self, endpoint: &TokenEndpoint, token: &StoredToken) -> Result<(), BoxError>;
}

/// A token with its expiry on the wall clock, as a [`TokenStore`] keeps it.
///
/// `Debug` does not show the token.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// The token.
    pub token: MetadataToken,
    /// When IMDS stops accepting it.
    pub expires_at: SystemTime,
}
