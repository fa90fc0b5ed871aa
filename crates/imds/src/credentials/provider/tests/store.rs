//! A provider with a [`CredentialsStore`]: stored credentials are used
//! outside the refresh window only, expired ones never, and fetched ones
//! are saved. On tokio's paused clock, which the provider reads.

use std::sync::{Arc, Mutex};

use super::*;
use crate::credentials::{CredentialsStore, StoreError};

/// A store shared by the "processes" of a test (providers built over it),
/// counting its calls; it can be made to fail.
#[derive(Clone, Default)]
struct SharedStore {
    inner: Arc<Mutex<Kept>>,
}

#[derive(Default)]
struct Kept {
    credentials: Option<Credentials>,
    loads: usize,
    saves: usize,
    failing: bool,
}

impl SharedStore {
    fn holding(credentials: Credentials) -> Self {
        let store = Self::default();
        store.inner.lock().unwrap().credentials = Some(credentials);
        store
    }

    fn kept(&self) -> Option<Credentials> {
        self.inner.lock().unwrap().credentials.clone()
    }

    fn counts(&self) -> (usize, usize) {
        let kept = self.inner.lock().unwrap();
        (kept.loads, kept.saves)
    }

    fn fail(&self) {
        self.inner.lock().unwrap().failing = true;
    }
}

impl CredentialsStore for SharedStore {
    fn load(&self) -> Result<Option<Credentials>, StoreError> {
        let mut kept = self.inner.lock().unwrap();
        kept.loads += 1;
        if kept.failing {
            return Err("disk on fire".into());
        }
        Ok(kept.credentials.clone())
    }

    fn save(&self, credentials: &Credentials) -> Result<(), StoreError> {
        let mut kept = self.inner.lock().unwrap();
        kept.saves += 1;
        if kept.failing {
            return Err("disk full".into());
        }
        kept.credentials = Some(credentials.clone());
        Ok(())
    }
}

/// A new "process": a provider over `imds` with `store`.
fn process(imds: &FakeImds, store: &SharedStore) -> CredentialsProvider<FakeImds> {
    CredentialsProvider::builder(imds.clone())
        .credentials_store(store.clone())
        .build()
}

fn stored(access_key_id: &str, expiration: SystemTime) -> Credentials {
    Credentials::new(access_key_id, SECRET, TOKEN, expiration)
}

#[tokio::test(start_paused = true)]
async fn one_fetch_for_two_processes() {
    let (imds, _clock) = setup().await;
    let store = SharedStore::default();
    let first = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(first.access_key_id(), "AKID1");
    assert_eq!(store.kept().as_ref(), Some(&first), "saved as fetched");
    assert_eq!(imds.requests().len(), 2);

    let second = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(second, first);
    assert_eq!(
        imds.requests().len(),
        2,
        "the second process fetched nothing"
    );
    assert_eq!(store.counts(), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn within_a_process_the_memory_cache_comes_first() {
    let (imds, _clock) = setup().await;
    let store = SharedStore::default();
    let provider = process(&imds, &store);
    provider.credentials().await.unwrap();
    provider.credentials().await.unwrap();
    assert_eq!(
        store.counts(),
        (1, 1),
        "the store is asked before fetches only"
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_stored_set_is_never_served() {
    let (imds, clock) = setup().await;
    let store = SharedStore::holding(stored("OLD", t0() + HOUR));
    clock.set(t0() + HOUR).await;
    // IMDS down: an error, not the expired set (and nothing extended).
    imds.fail(LIST, timeout());
    let error = process(&imds, &store).credentials().await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_eq!(store.counts(), (1, 0));

    // IMDS back: fetched, and saved over the expired set.
    imds.set(LIST, "web\n");
    imds.set(&extended("web"), document("AKID2", t0() + 7 * HOUR));
    let credentials = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID2");
    assert_eq!(store.kept().unwrap().access_key_id(), "AKID2");
}

#[tokio::test(start_paused = true)]
async fn a_stored_set_inside_the_refresh_window_is_refreshed() {
    let (imds, clock) = setup().await;
    let expiration = t0() + 6 * HOUR;
    let store = SharedStore::holding(stored("AKID0", expiration));
    // More than the window and its largest jitter left: served as stored.
    clock
        .set(expiration - 10 * MINUTE - Duration::from_secs(1))
        .await;
    let credentials = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID0");
    assert!(imds.requests().is_empty());

    // Less than the window left: fetched, whatever the jitter, and saved.
    imds.set(&extended("web"), document("AKID2", t0() + 12 * HOUR));
    clock.set(expiration - 5 * MINUTE).await;
    let credentials = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID2");
    assert_eq!(imds.requests().len(), 2);
    assert_eq!(store.kept().unwrap().access_key_id(), "AKID2");
}

#[tokio::test(start_paused = true)]
async fn a_stored_set_due_for_refresh_is_the_fallback_while_valid() {
    let (imds, clock) = setup().await;
    let expiration = t0() + 6 * HOUR;
    let store = SharedStore::holding(stored("AKID0", expiration));
    clock.set(expiration - 2 * MINUTE).await;
    imds.fail(LIST, timeout());
    let provider = process(&imds, &store);
    // The refresh fails: the stored set, still valid, is served unchanged.
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID0");
    assert_eq!(credentials.expiration(), expiration, "not extended");
    assert_eq!(imds.requests().len(), 1);
    assert_eq!(store.counts(), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn credentials_imds_hands_out_expired_are_not_saved() {
    let (imds, _clock) = setup().await;
    imds.set(&extended("web"), document("AKID1", t0() - HOUR));
    let store = SharedStore::default();
    let credentials = process(&imds, &store).credentials().await.unwrap();
    assert!(
        credentials.expiration() > t0(),
        "extended for static stability"
    );
    assert_eq!(store.counts(), (1, 0));
    assert_eq!(store.kept(), None);
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_is_logged_and_otherwise_ignored() {
    let (logs, _guard) = Logs::capture();
    let (imds, _clock) = setup().await;
    let store = SharedStore::default();
    store.fail();
    let credentials = process(&imds, &store).credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID1");
    assert_eq!(store.counts(), (1, 1));
    assert_eq!(logs.warnings(), 2, "{}", logs.text());
    assert!(logs.text().contains("credentials store failed"));
    logs.assert_no_secrets();
}
