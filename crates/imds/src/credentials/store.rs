//! Keeping credentials outside the process: [`CredentialsStore`].

use super::model::Credentials;

/// What a [`CredentialsStore`] fails with.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Keeps a provider's credentials outside its process, so that processes
/// that each start a provider (a `credential_process` run by every AWS CLI
/// call, a fleet of short jobs) share one fetch instead of each asking
/// IMDS. The `imds` command's `credentials --cache` keeps them in a file.
///
/// A store only keeps and hands back; the
/// [`CredentialsProvider`](crate::CredentialsProvider) it is given to
/// ([`credentials_store`](crate::credentials::CredentialsProviderBuilder::credentials_store))
/// applies its own rules:
///
/// - before every fetch from IMDS it asks [`load`](Self::load), and uses
///   what it gets only if it is outside the refresh window (more than the
///   refresh window plus jitter before `Expiration`); credentials that are
///   due for a refresh but still valid are kept only as the fallback should
///   the refresh fail, and expired ones are never used;
/// - it hands every set it fetches that has not expired to
///   [`save`](Self::save); credentials it extends for static stability are
///   never saved.
///
/// A store that fails is logged (without the credentials) and otherwise
/// ignored: the provider fetches from IMDS as if it had none.
///
/// A store holds the credentials of one provider: key it by what selects
/// them (the endpoint, the role) when it is built. The credentials are
/// secrets: a store that writes them to disk must keep them from other
/// users, and it widens what leaks if the machine's disk does.
///
/// ```
/// use std::sync::Mutex;
/// use imds::credentials::{CredentialsStore, StoreError};
/// use imds::Credentials;
///
/// /// Keeps them in memory, for as long as it lives.
/// #[derive(Default)]
/// struct InMemory(Mutex<Option<Credentials>>);
///
/// impl CredentialsStore for InMemory {
///     fn load(&self) -> Result<Option<Credentials>, StoreError> {
///         Ok(self.0.lock().unwrap().clone())
///     }
///
///     fn save(&self, credentials: &Credentials) -> Result<(), StoreError> {
///         *self.0.lock().unwrap() = Some(credentials.clone());
///         Ok(())
///     }
/// }
/// ```
///
/// `load` and `save` run inline, on the task asking for credentials, with
/// the provider's refresh lock held, once per refresh: keep them quick (a
/// small local file is fine; a network file system that can stall is not).
pub trait CredentialsStore: Send + Sync + 'static {
    /// The credentials kept, if any. Called by the provider before each
    /// fetch, so at most once per refresh.
    fn load(&self) -> Result<Option<Credentials>, StoreError>;

    /// Keeps `credentials`, just fetched from IMDS and not expired,
    /// replacing what was kept.
    fn save(&self, credentials: &Credentials) -> Result<(), StoreError>;
}
