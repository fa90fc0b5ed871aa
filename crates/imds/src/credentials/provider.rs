//! The cached, single-flight credentials provider.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tower::util::rng::{HasherRng, Rng};
use tower_imds::clock;

use super::fetch::Fetcher;
use super::model::{Credentials, Rfc3339};
use super::source::MetadataSource;
use super::store::CredentialsStore;
use crate::error::Error;

/// Refresh when less than this (plus jitter) remains before `Expiration`.
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Up to this much is added, at random, to the refresh window.
pub const DEFAULT_REFRESH_JITTER: Duration = Duration::from_secs(5 * 60);
/// Expired credentials are served this long (plus jitter) past a failed
/// refresh.
pub const DEFAULT_EXTENSION: Duration = Duration::from_secs(5 * 60);
/// Up to this much is added, at random, to an extension.
pub const DEFAULT_EXTENSION_JITTER: Duration = Duration::from_secs(5 * 60);
/// After a failed refresh, cached credentials are served this long before
/// the next attempt.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(60);

/// EC2 instance role credentials, fetched from IMDS, cached and refreshed
/// before they expire.
///
/// - **Role**: the configured one, else the first one listed at
///   `iam/security-credentials/`, discovered at every refresh (the role of a
///   running instance can be swapped). The credentials come from
///   `iam/security-credentials-extended/ROLE` (which adds the account ID),
///   else, when that is absent (404), from `iam/security-credentials/ROLE`;
///   the provider then stops asking for the extended document.
/// - **Cache**: credentials are served from memory until the refresh time:
///   [`refresh_window`](CredentialsProviderBuilder::refresh_window) (5
///   minutes) plus a random jitter of up to
///   [`refresh_jitter`](CredentialsProviderBuilder::refresh_jitter) (5
///   minutes) before `Expiration`. IMDS publishes new credentials at least 5
///   minutes before the old ones expire, so a refresh 5 to 10 minutes before
///   expiry gets the new ones while the old ones still work, and the jitter
///   keeps a fleet of processes from refreshing in lockstep.
/// - **Single flight**: concurrent callers that need a refresh share one
///   fetch and its outcome, success or error. A caller that is cancelled
///   mid-fetch hands the fetch over to the next waiting caller.
/// - **Static stability**: when a refresh fails,
///   - credentials that are still valid are served unchanged (never
///     extended) and a warning is logged;
///   - credentials that have expired are served with their expiration moved
///     to now + [`extension`](CredentialsProviderBuilder::extension) (5
///     minutes) + up to
///     [`extension_jitter`](CredentialsProviderBuilder::extension_jitter) (5
///     minutes), and a warning is logged: an IMDS outage does not stop a
///     service that may still be able to use them;
///   - when nothing was ever loaded, the error is returned.
///
///   Either way the next attempt waits
///   [`retry_delay`](CredentialsProviderBuilder::retry_delay) (1 minute), so
///   an outage is not hammered. Credentials that IMDS itself hands out
///   already expired are extended the same way.
/// - **Across processes** (off by default): with a
///   [`credentials_store`](CredentialsProviderBuilder::credentials_store),
///   the provider asks the store before each fetch and saves what it
///   fetches; stored credentials are used only outside the refresh window
///   and never once expired (see [`CredentialsStore`]).
///
/// Cheap to clone; clones share the cache. Warnings never contain secrets.
///
/// ```
/// use bytes::Bytes;
/// use imds::{CredentialsProvider, Error, MetadataSource};
///
/// /// A stand-in for the IMDS client.
/// struct Fixed;
///
/// impl MetadataSource for Fixed {
///     async fn get(&self, path: &str) -> Result<Option<Bytes>, Error> {
///         Ok(match path {
///             "/latest/meta-data/iam/security-credentials/" => Some("web\n".into()),
///             "/latest/meta-data/iam/security-credentials/web" => Some(
///                 r#"{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
///                     "SecretAccessKey": "secret", "Token": "token",
///                     "Expiration": "2100-01-01T00:00:00Z"}"#
///                     .into(),
///             ),
///             _ => None, // 404: no extended document here
///         })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let provider = CredentialsProvider::new(Fixed);
/// let credentials = provider.credentials().await?;
/// assert_eq!(credentials.role_name(), Some("web"));
/// assert_eq!(credentials.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
pub struct CredentialsProvider<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for CredentialsProvider<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for CredentialsProvider<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsProvider")
            .field("fetcher", &self.inner.fetcher)
            .field("timing", &self.inner.timing)
            .field(
                "credentials_store",
                &self.inner.store.as_ref().map(|_| ".."),
            )
            .finish_non_exhaustive()
    }
}

struct Inner<S> {
    source: S,
    fetcher: Fetcher,
    timing: Timing,
    store: Option<Box<dyn CredentialsStore>>,
    state: Mutex<State>,
    /// Held by the one caller fetching; the others queue on it.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    refresh_window: Duration,
    refresh_jitter: Duration,
    extension: Duration,
    extension_jitter: Duration,
    retry_delay: Duration,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// How many fetches have completed; a waiter that sees it change shares
    /// `last_outcome` instead of fetching again.
    completed: u64,
    last_outcome: Option<Result<Credentials, Error>>,
}

struct Cached {
    credentials: Credentials,
    refresh_at: SystemTime,
}

impl<S: MetadataSource> CredentialsProvider<S> {
    /// A provider with the default settings, discovering the role.
    pub fn new(source: S) -> Self {
        Self::builder(source).build()
    }

    /// A builder to configure the role and the timing.
    pub fn builder(source: S) -> CredentialsProviderBuilder<S> {
        CredentialsProviderBuilder {
            source,
            role_name: None,
            store: None,
            timing: Timing {
                refresh_window: DEFAULT_REFRESH_WINDOW,
                refresh_jitter: DEFAULT_REFRESH_JITTER,
                extension: DEFAULT_EXTENSION,
                extension_jitter: DEFAULT_EXTENSION_JITTER,
                retry_delay: DEFAULT_RETRY_DELAY,
            },
        }
    }

    /// The credentials: cached ones while fresh, else fetched (once for all
    /// concurrent callers). See the type's documentation for the rules.
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        let inner = &*self.inner;
        let seen = {
            let state = inner.lock_state();
            if let Some(cached) = &state.cached
                && clock::now() < cached.refresh_at
            {
                return Ok(cached.credentials.clone());
            }
            state.completed
        };

        let _refreshing = inner.refresh.lock().await;
        {
            let state = inner.lock_state();
            if state.completed != seen
                && let Some(outcome) = &state.last_outcome
            {
                return outcome.clone();
            }
        }

        // Another process may have fetched them meanwhile.
        if let Some(stored) = inner.load_stored() {
            let mut state = inner.lock_state();
            if let Some(credentials) = inner.adopt_stored(&mut state, stored) {
                state.completed += 1;
                state.last_outcome = Some(Ok(credentials.clone()));
                return Ok(credentials);
            }
        }

        let fetched = inner.fetcher.fetch(&inner.source).await;
        if let Ok(credentials) = &fetched {
            inner.save_stored(credentials);
        }
        let mut state = inner.lock_state();
        let outcome = inner.settle(&mut state, fetched);
        state.completed += 1;
        state.last_outcome = Some(outcome.clone());
        outcome
    }
}

impl<S> Inner<S> {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store's credentials, if it has some that have not expired.
    fn load_stored(&self) -> Option<Credentials> {
        let store = self.store.as_deref()?;
        let credentials = match store.load() {
            Ok(Some(credentials)) => credentials,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "the credentials store failed to load; fetching from IMDS");
                return None;
            }
        };
        if clock::now() < credentials.expiration() {
            Some(credentials)
        } else {
            tracing::debug!("the stored EC2 role credentials have expired; fetching new ones");
            None
        }
    }

    /// Serves `stored` when it is outside the refresh window; otherwise
    /// keeps it as the fallback of the refresh that follows (if it outlives
    /// what is cached), and returns `None`.
    fn adopt_stored(&self, state: &mut State, stored: Credentials) -> Option<Credentials> {
        let refresh_at = self.refresh_time(stored.expiration());
        if clock::now() < refresh_at {
            tracing::debug!("EC2 role credentials loaded from the credentials store");
            state.cached = Some(Cached {
                credentials: stored.clone(),
                refresh_at,
            });
            return Some(stored);
        }
        tracing::debug!("the stored EC2 role credentials are due for a refresh");
        let outlives = (state.cached.as_ref())
            .is_none_or(|cached| cached.credentials.expiration() < stored.expiration());
        if outlives {
            state.cached = Some(Cached {
                credentials: stored,
                refresh_at,
            });
        }
        None
    }

    /// Hands credentials just fetched to the store, unless they have
    /// expired already.
    fn save_stored(&self, credentials: &Credentials) {
        let Some(store) = self.store.as_deref() else {
            return;
        };
        if clock::now() >= credentials.expiration() {
            return;
        }
        match store.save(credentials) {
            Ok(()) => tracing::debug!("EC2 role credentials saved to the credentials store"),
            Err(error) => {
                tracing::warn!(%error, "the credentials store failed to save; carrying on");
            }
        }
    }

    /// When credentials that expire at `expiration` are due for a refresh:
    /// the refresh window plus a new jitter before it.
    fn refresh_time(&self, expiration: SystemTime) -> SystemTime {
        let margin = self.timing.refresh_window + jitter(self.timing.refresh_jitter);
        expiration.checked_sub(margin).unwrap_or(UNIX_EPOCH)
    }

    /// Applies the caching and static-stability rules to a fetch's result.
    fn settle(
        &self,
        state: &mut State,
        fetched: Result<Credentials, Error>,
    ) -> Result<Credentials, Error> {
        let now = clock::now();
        let timing = &self.timing;
        let (credentials, refresh_at) = match fetched {
            Ok(credentials) if now < credentials.expiration() => {
                let ideal = self.refresh_time(credentials.expiration());
                // Credentials that expire within the window are still kept
                // a while, rather than refetched at every call.
                let earliest = (now + timing.retry_delay).min(credentials.expiration());
                let refresh_at = ideal.max(earliest);
                (credentials, refresh_at)
            }
            Ok(stale) => {
                let credentials = self.extend(stale, now, None);
                (credentials, now + timing.retry_delay)
            }
            Err(error) => match state.cached.take() {
                None => return Err(error),
                Some(Cached { credentials, .. }) if now < credentials.expiration() => {
                    tracing::warn!(
                        error = %error,
                        expiration = %Rfc3339(credentials.expiration()),
                        "failed to refresh EC2 role credentials from IMDS; \
                         serving the cached ones, still valid until their expiration",
                    );
                    let refresh_at = (now + timing.retry_delay).min(credentials.expiration());
                    (credentials, refresh_at)
                }
                Some(Cached { credentials, .. }) => {
                    let credentials = self.extend(credentials, now, Some(&error));
                    (credentials, now + timing.retry_delay)
                }
            },
        };
        state.cached = Some(Cached {
            credentials: credentials.clone(),
            refresh_at,
        });
        Ok(credentials)
    }

    /// Expired credentials, served a little longer; logs a warning.
    fn extend(
        &self,
        credentials: Credentials,
        now: SystemTime,
        error: Option<&Error>,
    ) -> Credentials {
        let by = self.timing.extension + jitter(self.timing.extension_jitter);
        let original = Rfc3339(credentials.expiration());
        let expiration = now + by;
        match error {
            Some(error) => tracing::warn!(
                error = %error,
                %original,
                extended_to = %Rfc3339(expiration),
                "failed to refresh EC2 role credentials from IMDS and the cached ones have \
                 expired; serving them {} s longer for static stability",
                by.as_secs(),
            ),
            None => tracing::warn!(
                %original,
                extended_to = %Rfc3339(expiration),
                "IMDS returned expired EC2 role credentials; \
                 serving them {} s longer for static stability",
                by.as_secs(),
            ),
        }
        credentials.with_expiration(expiration)
    }
}

/// A random duration in `0..=max`, from tower's `HasherRng`: the source
/// of the workspace's every jitter (the retry policy's backoff included).
fn jitter(max: Duration) -> Duration {
    max.mul_f64(HasherRng::default().next_f64())
}

/// Configures a [`CredentialsProvider`].
pub struct CredentialsProviderBuilder<S> {
    source: S,
    role_name: Option<String>,
    timing: Timing,
    store: Option<Box<dyn CredentialsStore>>,
}

impl<S> fmt::Debug for CredentialsProviderBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsProviderBuilder")
            .field("role_name", &self.role_name)
            .field("timing", &self.timing)
            .field("credentials_store", &self.store.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

impl<S: MetadataSource> CredentialsProviderBuilder<S> {
    /// Uses this role instead of discovering it (see
    /// [`Settings::role_name`](crate::config::Settings::role_name)). An
    /// invalid name makes every fetch fail with [`Error::Config`].
    pub fn role_name(mut self, role_name: impl Into<String>) -> Self {
        self.role_name = Some(role_name.into());
        self
    }

    /// Refreshes when less than `window` (plus jitter) remains before
    /// expiry. Default: 5 minutes.
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.timing.refresh_window = window;
        self
    }

    /// Adds a random `0..=jitter` to the refresh window. Default: 5 minutes.
    pub fn refresh_jitter(mut self, jitter: Duration) -> Self {
        self.timing.refresh_jitter = jitter;
        self
    }

    /// Serves expired credentials this long (plus jitter) past a failed
    /// refresh. Default: 5 minutes.
    pub fn extension(mut self, extension: Duration) -> Self {
        self.timing.extension = extension;
        self
    }

    /// Adds a random `0..=jitter` to an extension. Default: 5 minutes.
    pub fn extension_jitter(mut self, jitter: Duration) -> Self {
        self.timing.extension_jitter = jitter;
        self
    }

    /// After a failed refresh, waits this long before the next attempt.
    /// Default: 1 minute.
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.timing.retry_delay = delay;
        self
    }

    /// Shares credentials with other processes through `store`: asked
    /// before each fetch, handed each set fetched. Default: none. See
    /// [`CredentialsStore`] for the rules, and the risk of keeping secrets
    /// outside the process.
    pub fn credentials_store(mut self, store: impl CredentialsStore) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// The provider. Without a [`role_name`](Self::role_name), the source's
    /// [`MetadataSource::role_name`] is used, else the role is discovered.
    pub fn build(self) -> CredentialsProvider<S> {
        let role_name = self
            .role_name
            .or_else(|| self.source.role_name().map(str::to_owned));
        CredentialsProvider {
            inner: Arc::new(Inner {
                source: self.source,
                fetcher: Fetcher::new(role_name),
                timing: self.timing,
                store: self.store,
                state: Mutex::new(State::default()),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
