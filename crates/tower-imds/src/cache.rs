//! The token cache: one entry per endpoint, shared by every clone of a layer
//! and of the services it builds.
//!
//! Each entry answers "which token does this request carry?" under a short
//! `std` mutex. On a miss exactly one request becomes the *leader* of a
//! fetch (a [`Flight`]); the others wait on a oneshot channel for its
//! outcome. A leader that is dropped mid-fetch (cancelled, timed out by an
//! outer layer) drops the waiters' senders, and they look again: one of them
//! leads the next fetch. No task is spawned.

use std::{
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock},
    time::Duration,
};

use http::Uri;
use tokio::{sync::oneshot, time::Instant};

use crate::{Error, MetadataToken, TokenEndpoint};

/// How long a layer that fell back to IMDSv1 keeps doing so before it tries
/// IMDSv2 again (a 401 to an IMDSv1 request re-enables IMDSv2 at once).
pub(crate) const V1_RECHECK_AFTER: Duration = Duration::from_secs(300);

/// How long before its expiry a token is refreshed: a quarter of its TTL,
/// at most two minutes. Covers clock drift and the request's own latency.
pub(crate) fn refresh_margin(ttl: Duration) -> Duration {
    (ttl / 4).min(Duration::from_secs(120))
}

/// What one request sends: a token, no token (IMDSv1), or a token it has to
/// wait for.
pub(crate) enum Lookup {
    /// A valid token.
    Hit(MetadataToken),
    /// Fallback is on and IMDSv2 was recently found unavailable.
    UseV1,
    /// Another request is fetching a token.
    Wait(oneshot::Receiver<Result<MetadataToken, Error>>),
    /// This request fetches the token.
    Lead(Flight),
}

/// What a request goes on with once the token question is settled.
pub(crate) enum Acquired {
    Token(MetadataToken),
    V1,
}

/// All endpoints a layer has talked to. Usually one.
#[derive(Default)]
pub(crate) struct TokenCache {
    /// The entry of the first endpoint, read without a lock: most layers
    /// only ever talk to one IMDS, so a cache hit usually takes no lock
    /// but the endpoint's own.
    first: OnceLock<Arc<EndpointTokens>>,
    /// Every entry, the first included.
    endpoints: RwLock<Vec<Arc<EndpointTokens>>>,
}

impl TokenCache {
    /// The entry for the endpoint `uri` talks to, created on first use.
    pub(crate) fn endpoint(&self, uri: &Uri) -> Arc<EndpointTokens> {
        if let Some(first) = self.first.get()
            && first.endpoint.matches(uri)
        {
            return first.clone();
        }
        let read = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = read.iter().find(|e| e.endpoint.matches(uri)) {
            return found.clone();
        }
        drop(read);
        let mut write = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = write.iter().find(|e| e.endpoint.matches(uri)) {
            return found.clone();
        }
        let created = Arc::new(EndpointTokens::new(TokenEndpoint::of(uri)));
        if write.is_empty() {
            // Under the write lock, so `first` is the entry in the list.
            let _ = self.first.set(created.clone());
        }
        write.push(created.clone());
        created
    }
}

/// The token state of one endpoint.
pub(crate) struct EndpointTokens {
    pub(crate) endpoint: TokenEndpoint,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    token: Option<CachedToken>,
    /// `Some` while a fetch is under way: the senders of its waiters.
    flight: Option<Vec<oneshot::Sender<Result<MetadataToken, Error>>>>,
    /// Set after a fallback: use IMDSv1 until then.
    v1_until: Option<Instant>,
    warned_v1: bool,
}

struct CachedToken {
    token: MetadataToken,
    refresh_at: Instant,
    expires_at: Instant,
}

impl EndpointTokens {
    fn new(endpoint: TokenEndpoint) -> Self {
        Self {
            endpoint,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (every update is a
        // plain assignment), so a poisoned lock is safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lookup(self: &Arc<Self>, now: Instant, fallback: bool) -> Lookup {
        let mut state = self.state();
        if fallback {
            match state.v1_until {
                Some(until) if now < until => return Lookup::UseV1,
                Some(_) => state.v1_until = None,
                None => {}
            }
        }
        if let Some(cached) = &state.token {
            // Past the refresh point a token is still good until it expires:
            // while one request refreshes it, the others keep using it.
            if now < cached.refresh_at || (now < cached.expires_at && state.flight.is_some()) {
                tracing::debug!(endpoint = %self.endpoint, "IMDS token cache hit");
                return Lookup::Hit(cached.token.clone());
            }
        }
        match &mut state.flight {
            Some(waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                tracing::debug!(endpoint = %self.endpoint, "IMDS token cache miss; waiting for the fetch under way");
                Lookup::Wait(rx)
            }
            None => {
                state.flight = Some(Vec::new());
                let refresh = state.token.is_some();
                drop(state);
                if refresh {
                    tracing::debug!(endpoint = %self.endpoint, "IMDS token due for refresh");
                } else {
                    tracing::debug!(endpoint = %self.endpoint, "IMDS token cache miss");
                }
                Lookup::Lead(Flight::new(self.clone()))
            }
        }
    }

    /// A 401 answered a request sent with `token`: forget it, unless it was
    /// already replaced by a newer one.
    pub(crate) fn invalidate(&self, token: &MetadataToken) {
        let mut state = self.state();
        if state.token.as_ref().is_some_and(|c| c.token == *token) {
            state.token = None;
            drop(state);
            tracing::debug!(endpoint = %self.endpoint, "IMDS rejected the cached token (401); dropped it");
        }
    }

    /// A 401 answered a request sent without a token: the endpoint wants
    /// IMDSv2 after all.
    pub(crate) fn reenable_v2(&self) {
        if self.state().v1_until.take().is_some() {
            tracing::debug!(endpoint = %self.endpoint, "IMDSv1 request refused (401); using IMDSv2 again");
        }
    }

    /// What a request does after the fetch it led or waited for failed with
    /// `error`: fall back to IMDSv1 when allowed and IMDSv2 is unavailable.
    pub(crate) fn after_failure(&self, error: Error, fallback: bool) -> Result<Acquired, Error> {
        if !(fallback && error.is_imdsv2_unavailable()) {
            return Err(error);
        }
        let mut state = self.state();
        state.v1_until = Some(Instant::now() + V1_RECHECK_AFTER);
        let first = !std::mem::replace(&mut state.warned_v1, true);
        drop(state);
        if first {
            tracing::warn!(endpoint = %self.endpoint, error = %error, "IMDSv2 unavailable; falling back to IMDSv1");
        } else {
            tracing::debug!(endpoint = %self.endpoint, "IMDSv2 unavailable; falling back to IMDSv1");
        }
        Ok(Acquired::V1)
    }
}

/// The right, and the duty, to fetch the token for an endpoint. Dropping it
/// unfinished lets a waiter take over.
pub(crate) struct Flight {
    tokens: Arc<EndpointTokens>,
    finished: bool,
}

impl Flight {
    fn new(tokens: Arc<EndpointTokens>) -> Self {
        Self {
            tokens,
            finished: false,
        }
    }

    pub(crate) fn endpoint(&self) -> &TokenEndpoint {
        &self.tokens.endpoint
    }

    /// Caches `token`, valid for `ttl` from `sent_at`, and hands it to the
    /// waiters.
    pub(crate) fn succeed(mut self, token: MetadataToken, sent_at: Instant, ttl: Duration) {
        self.finished = true;
        let waiters = {
            let mut state = self.tokens.state();
            state.token = Some(CachedToken {
                token: token.clone(),
                refresh_at: sent_at + ttl - refresh_margin(ttl),
                expires_at: sent_at + ttl,
            });
            state.v1_until = None;
            state.flight.take()
        };
        for waiter in waiters.into_iter().flatten() {
            let _ = waiter.send(Ok(token.clone()));
        }
    }

    /// Ends a failed fetch. A refresh that failed while the previous token
    /// is still valid keeps using that token; otherwise the waiters get the
    /// error and each decides on a fallback with its own settings.
    pub(crate) fn fail(mut self, error: Error, fallback: bool) -> Result<Acquired, Error> {
        self.finished = true;
        let now = Instant::now();
        let (waiters, still_valid) = {
            let mut state = self.tokens.state();
            let still_valid = state
                .token
                .as_ref()
                .filter(|c| now < c.expires_at)
                .map(|c| c.token.clone());
            (state.flight.take(), still_valid)
        };
        for waiter in waiters.into_iter().flatten() {
            let _ = waiter.send(Err(error.clone()));
        }
        if let Some(token) = still_valid {
            tracing::warn!(endpoint = %self.tokens.endpoint, error = %error, "IMDS token refresh failed; using the current token until it expires");
            return Ok(Acquired::Token(token));
        }
        self.tokens.after_failure(error, fallback)
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.finished {
            // Dropping the senders wakes the waiters, which look again.
            self.tokens.state().flight = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(s: &str) -> MetadataToken {
        s.parse().unwrap()
    }

    fn entry() -> Arc<EndpointTokens> {
        TokenCache::default().endpoint(&Uri::from_static("http://127.0.0.1:1/"))
    }

    #[test]
    fn margin_is_a_quarter_capped_at_two_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(21_600)),
            Duration::from_secs(120)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(1)),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn cache_returns_one_entry_per_endpoint() {
        let cache = TokenCache::default();
        let a = cache.endpoint(&Uri::from_static("http://127.0.0.1:1/a"));
        let b = cache.endpoint(&Uri::from_static("http://127.0.0.1:1/b"));
        let c = cache.endpoint(&Uri::from_static("http://127.0.0.1:2/a"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        // The first endpoint's lock-free slot holds the listed entry.
        assert!(Arc::ptr_eq(cache.first.get().unwrap(), &a));
        let again = cache.endpoint(&Uri::from_static("http://127.0.0.1:2/b"));
        assert!(Arc::ptr_eq(&again, &c));
        assert_eq!(cache.endpoints.read().unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn one_leader_many_waiters() {
        let e = entry();
        let now = Instant::now();
        let Lookup::Lead(flight) = e.lookup(now, false) else {
            panic!("expected lead")
        };
        let Lookup::Wait(rx) = e.lookup(now, false) else {
            panic!("expected wait")
        };
        flight.succeed(token("t1"), now, Duration::from_secs(60));
        assert_eq!(rx.await.unwrap().unwrap(), token("t1"));
        assert!(matches!(e.lookup(now, false), Lookup::Hit(t) if t == token("t1")));
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_leader_hands_over() {
        let e = entry();
        let now = Instant::now();
        let Lookup::Lead(flight) = e.lookup(now, false) else {
            panic!("expected lead")
        };
        let Lookup::Wait(rx) = e.lookup(now, false) else {
            panic!("expected wait")
        };
        drop(flight);
        assert!(rx.await.is_err(), "waiter is told the leader is gone");
        assert!(matches!(e.lookup(now, false), Lookup::Lead(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_window_keeps_old_token_for_others() {
        let e = entry();
        let start = Instant::now();
        let Lookup::Lead(flight) = e.lookup(start, false) else {
            panic!()
        };
        flight.succeed(token("old"), start, Duration::from_secs(400));
        // 400 s TTL: margin 100 s, so refresh from 300 s, expiry at 400 s.
        assert!(matches!(
            e.lookup(start + Duration::from_secs(299), false),
            Lookup::Hit(_)
        ));
        let Lookup::Lead(refresh) = e.lookup(start + Duration::from_secs(301), false) else {
            panic!("expected the refresh to be led")
        };
        assert!(
            matches!(e.lookup(start + Duration::from_secs(302), false), Lookup::Hit(t) if t == token("old"))
        );
        refresh.succeed(
            token("new"),
            start + Duration::from_secs(301),
            Duration::from_secs(400),
        );
        assert!(
            matches!(e.lookup(start + Duration::from_secs(303), false), Lookup::Hit(t) if t == token("new"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_keeps_valid_token() {
        let e = entry();
        let start = Instant::now();
        let Lookup::Lead(flight) = e.lookup(start, false) else {
            panic!()
        };
        flight.succeed(token("old"), start, Duration::from_secs(400));
        tokio::time::advance(Duration::from_secs(350)).await;
        let Lookup::Lead(refresh) = e.lookup(Instant::now(), false) else {
            panic!()
        };
        let err = Error::InvalidTokenResponse {
            endpoint: e.endpoint.clone(),
            problem: crate::TokenResponseProblem::MissingTtl,
        };
        assert!(matches!(refresh.fail(err, false), Ok(Acquired::Token(t)) if t == token("old")));
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_spares_newer_tokens() {
        let e = entry();
        let now = Instant::now();
        let Lookup::Lead(flight) = e.lookup(now, false) else {
            panic!()
        };
        flight.succeed(token("new"), now, Duration::from_secs(60));
        e.invalidate(&token("old"));
        assert!(matches!(e.lookup(now, false), Lookup::Hit(t) if t == token("new")));
        e.invalidate(&token("new"));
        assert!(matches!(e.lookup(now, false), Lookup::Lead(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn fallback_is_remembered_until_recheck_or_401() {
        let e = entry();
        let now = Instant::now();
        let Lookup::Lead(flight) = e.lookup(now, true) else {
            panic!()
        };
        let unavailable = Error::TokenRequestRefused {
            endpoint: e.endpoint.clone(),
            status: http::StatusCode::FORBIDDEN,
        };
        assert!(matches!(flight.fail(unavailable, true), Ok(Acquired::V1)));
        assert!(matches!(e.lookup(Instant::now(), true), Lookup::UseV1));
        // A layer without fallback sharing the cache still tries IMDSv2.
        assert!(matches!(e.lookup(Instant::now(), false), Lookup::Lead(_)));
        e.reenable_v2();
        assert!(matches!(e.lookup(Instant::now(), true), Lookup::Lead(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn fallback_expires_after_recheck_period() {
        let e = entry();
        let Lookup::Lead(flight) = e.lookup(Instant::now(), true) else {
            panic!()
        };
        let unavailable = Error::TokenRequestTimedOut {
            endpoint: e.endpoint.clone(),
            timeout: Duration::from_secs(1),
        };
        assert!(flight.fail(unavailable, true).is_ok());
        tokio::time::advance(V1_RECHECK_AFTER).await;
        assert!(matches!(e.lookup(Instant::now(), true), Lookup::Lead(_)));
    }

    #[test]
    fn no_fallback_on_bad_request() {
        let e = entry();
        let bad = Error::TokenRequestRefused {
            endpoint: e.endpoint.clone(),
            status: http::StatusCode::BAD_REQUEST,
        };
        assert!(e.after_failure(bad, true).is_err());
    }

    /// One step of the model test.
    #[derive(Debug, Clone)]
    enum Op {
        Lookup { fallback: bool },
        Succeed { ttl_secs: u64 },
        Fail { unavailable: bool, fallback: bool },
        Abandon,
        InvalidateCurrent,
        InvalidateStale,
        Advance { secs: u64 },
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            3 => any::<bool>().prop_map(|fallback| Op::Lookup { fallback }),
            2 => (1u64..600).prop_map(|ttl_secs| Op::Succeed { ttl_secs }),
            1 => (any::<bool>(), any::<bool>()).prop_map(|(unavailable, fallback)| Op::Fail { unavailable, fallback }),
            1 => Just(Op::Abandon),
            1 => Just(Op::InvalidateCurrent),
            1 => Just(Op::InvalidateStale),
            2 => (0u64..400).prop_map(|secs| Op::Advance { secs }),
        ]
    }

    proptest::proptest! {
        /// Whatever happens, in any order: one fetch at a time, a hit never
        /// hands out a token past its expiry or one that was invalidated,
        /// and a fetch's waiters hear of its end.
        #[test]
        fn cache_invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 1..60)) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async move {
                let e = entry();
                let mut flight: Option<Flight> = None;
                let mut waiters: Vec<oneshot::Receiver<Result<MetadataToken, Error>>> = Vec::new();
                // The model: the current token and when it expires.
                let mut current: Option<(MetadataToken, Instant)> = None;
                let mut issued = 0u32;
                for op in ops {
                    let now = Instant::now();
                    match op {
                        Op::Lookup { fallback } => match e.lookup(now, fallback) {
                            Lookup::Hit(token) => {
                                let (expected, expires) = current.clone().expect("hit without a token");
                                assert_eq!(token, expected);
                                assert!(now < expires, "expired token handed out");
                            }
                            Lookup::Lead(new) => {
                                assert!(flight.is_none(), "two fetches at once");
                                flight = Some(new);
                            }
                            Lookup::Wait(rx) => {
                                assert!(flight.is_some(), "waiting for no fetch");
                                waiters.push(rx);
                            }
                            Lookup::UseV1 => assert!(fallback),
                        },
                        Op::Succeed { ttl_secs } => {
                            if let Some(f) = flight.take() {
                                issued += 1;
                                let token = token(&format!("t{issued}"));
                                let ttl = Duration::from_secs(ttl_secs);
                                f.succeed(token.clone(), now, ttl);
                                current = Some((token.clone(), now + ttl));
                                for rx in waiters.drain(..) {
                                    assert_eq!(rx.await.unwrap().unwrap(), token);
                                }
                            }
                        }
                        Op::Fail { unavailable, fallback } => {
                            if let Some(f) = flight.take() {
                                let error = if unavailable {
                                    Error::TokenRequestTimedOut { endpoint: e.endpoint.clone(), timeout: Duration::from_secs(1) }
                                } else {
                                    Error::InvalidTokenResponse { endpoint: e.endpoint.clone(), problem: crate::TokenResponseProblem::MissingTtl }
                                };
                                let outcome = f.fail(error, fallback);
                                match (&outcome, &current) {
                                    (Ok(Acquired::Token(t)), Some((c, expires))) => {
                                        assert_eq!(t, c);
                                        assert!(now < *expires);
                                    }
                                    (Ok(Acquired::Token(_)), None) => panic!("token from nowhere"),
                                    (Ok(Acquired::V1), _) => assert!(fallback && unavailable),
                                    (Err(_), _) => {}
                                }
                                for rx in waiters.drain(..) {
                                    assert!(rx.await.unwrap().is_err());
                                }
                            }
                        }
                        Op::Abandon => {
                            drop(flight.take());
                            for rx in waiters.drain(..) {
                                assert!(rx.await.is_err(), "waiters learn the leader left");
                            }
                        }
                        Op::InvalidateCurrent => {
                            if let Some((token, _)) = current.take() {
                                e.invalidate(&token);
                            }
                        }
                        Op::InvalidateStale => e.invalidate(&token("never-issued")),
                        Op::Advance { secs } => {
                            tokio::time::advance(Duration::from_secs(secs)).await;
                            if current.as_ref().is_some_and(|(_, expires)| Instant::now() >= *expires) {
                                current = None;
                            }
                        }
                    }
                }
            });
        }
    }
}
