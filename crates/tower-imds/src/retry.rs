//! A retry policy that knows IMDS: which failures are worth another try.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{
    BoxError,
    retry::{
        Policy,
        backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff},
    },
    util::rng::HasherRng,
};

use crate::Error;

/// A [`tower::retry::Policy`] for requests through [`ImdsV2`](crate::ImdsV2).
///
/// - **401**: retried once, at once. The layer has dropped the rejected
///   token by then, so the retry fetches a fresh one. This retry is part of
///   the token protocol and does not count against the attempts.
/// - **429, 5xx**, transport errors and timeouts (including the token
///   request's): retried with jittered exponential backoff
///   ([`tower::retry::backoff`]) until `max_attempts` attempts were made.
/// - **400, 403, 404** and other statuses, and the layer's configuration
///   errors: never retried.
///
/// Put the retry layer *outside* the IMDS layer, so that every attempt asks
/// the layer for a token:
///
/// ```
/// use tower::{ServiceBuilder, retry::RetryLayer};
/// use tower_imds::{ImdsRetryPolicy, ImdsV2Layer};
/// # fn wrap<S: Clone>(client: S) {
/// let imds = ServiceBuilder::new()
///     .layer(RetryLayer::new(ImdsRetryPolicy::new().max_attempts(3)))
///     .layer(ImdsV2Layer::new())
///     .service(client);
/// # }
/// ```
///
/// Each request gets its own backoff sequence, with its own jitter, so
/// requests that failed together do not retry in lockstep.
#[derive(Clone, Debug)]
pub struct ImdsRetryPolicy {
    max_attempts: u32,
    min_backoff: Duration,
    max_backoff: Duration,
    // Per request:
    attempts: u32,
    retried_unauthorized: bool,
    backoff: Option<ExponentialBackoff>,
}

impl ImdsRetryPolicy {
    /// Four attempts in all (as aws-config), backoff from 100 ms doubling
    /// up to 2 s, plus up to 100 % jitter.
    pub fn new() -> Self {
        Self {
            max_attempts: 4,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            attempts: 1,
            retried_unauthorized: false,
            backoff: None,
        }
    }

    /// Attempts in all, the first included; `1` disables retries other than
    /// the 401 token refresh. `0` is taken as `1`.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The first backoff, and the most any backoff may grow to (before
    /// jitter). `max` is raised to `min` if it is smaller, and to 1 ms if
    /// it is zero.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min).max(Duration::from_millis(1));
        self
    }

    fn back_off(&mut self) -> Option<RetryDelay> {
        if self.attempts >= self.max_attempts {
            return None;
        }
        self.attempts += 1;
        // Built on first use, per request: `HasherRng::default()` takes
        // fresh random keys, so every request jitters differently.
        if self.backoff.is_none() {
            self.backoff = ExponentialBackoffMaker::new(
                self.min_backoff,
                self.max_backoff,
                1.0,
                HasherRng::default(),
            )
            .ok()
            .map(|mut maker| maker.make_backoff());
        }
        Some(match &mut self.backoff {
            Some(backoff) => RetryDelay::sleep(backoff.next_backoff()),
            None => RetryDelay::now(),
        })
    }
}

impl Default for ImdsRetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether an error of the IMDS stack is worth another attempt.
fn is_retryable(error: &BoxError) -> bool {
    match error.downcast_ref::<Error>() {
        Some(Error::TokenRequestRefused { status, .. }) => is_retryable_status(*status),
        Some(Error::TokenRequestTimedOut { .. } | Error::TokenRequestFailed { .. }) => true,
        Some(Error::InvalidTtl { .. } | Error::InvalidTokenResponse { .. }) => false,
        // Transport errors and timeouts of the wrapped stack.
        None => true,
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

impl<B, RB> Policy<Request<B>, Response<RB>, BoxError> for ImdsRetryPolicy
where
    B: Clone,
{
    type Future = RetryDelay;

    fn retry(
        &mut self,
        _request: &mut Request<B>,
        result: &mut Result<Response<RB>, BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                if std::mem::replace(&mut self.retried_unauthorized, true) {
                    None
                } else {
                    tracing::debug!("IMDS answered 401; retrying with a fresh token");
                    Some(RetryDelay::now())
                }
            }
            Ok(response) if is_retryable_status(response.status()) => self.back_off(),
            Ok(_) => None,
            Err(error) if is_retryable(error) => self.back_off(),
            Err(_) => None,
        }
    }

    fn clone_request(&mut self, request: &Request<B>) -> Option<Request<B>> {
        Some(request.clone())
    }
}

pin_project! {
    /// The wait before the next attempt of [`ImdsRetryPolicy`].
    pub struct RetryDelay {
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl RetryDelay {
    fn now() -> Self {
        Self { sleep: None }
    }

    fn sleep(sleep: Sleep) -> Self {
        Self { sleep: Some(sleep) }
    }
}

impl Future for RetryDelay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Ready(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(policy: &mut ImdsRetryPolicy, result: Result<u16, BoxError>) -> bool {
        let mut request = Request::new(());
        let mut result = result.map(|status| {
            let mut response = Response::new(());
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            response
        });
        policy.retry(&mut request, &mut result).is_some()
    }

    #[tokio::test(start_paused = true)]
    async fn unauthorized_is_retried_once_outside_the_budget() {
        let mut policy = ImdsRetryPolicy::new().max_attempts(1);
        assert!(decide(&mut policy, Ok(401)));
        assert!(!decide(&mut policy, Ok(401)));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_and_server_errors_use_the_attempt_budget() {
        let mut policy = ImdsRetryPolicy::new().max_attempts(3);
        assert!(decide(&mut policy, Ok(503)));
        assert!(decide(&mut policy, Ok(429)));
        assert!(!decide(&mut policy, Ok(500)), "third attempt was the last");
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_are_final() {
        for status in [200, 400, 403, 404, 405] {
            assert!(!decide(&mut ImdsRetryPolicy::new(), Ok(status)), "{status}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_sorted_by_kind() {
        let endpoint = crate::TokenEndpoint::of(&http::Uri::from_static("http://127.0.0.1:1/"));
        let refused = |status: u16| -> BoxError {
            Box::new(Error::TokenRequestRefused {
                endpoint: endpoint.clone(),
                status: StatusCode::from_u16(status).unwrap(),
            })
        };
        assert!(decide(&mut ImdsRetryPolicy::new(), Err(refused(503))));
        assert!(!decide(&mut ImdsRetryPolicy::new(), Err(refused(400))));
        assert!(!decide(&mut ImdsRetryPolicy::new(), Err(refused(403))));
        assert!(!decide(
            &mut ImdsRetryPolicy::new(),
            Err(Box::new(Error::InvalidTtl { ttl_seconds: 0 }))
        ));
        assert!(decide(
            &mut ImdsRetryPolicy::new(),
            Err("connection reset".into())
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_and_is_bounded() {
        let mut policy = ImdsRetryPolicy::new()
            .max_attempts(10)
            .backoff(Duration::from_millis(100), Duration::from_millis(400));
        let mut waited = Vec::new();
        for _ in 0..5 {
            let start = tokio::time::Instant::now();
            let mut request = Request::new(());
            let mut result: Result<Response<()>, BoxError> = Err("reset".into());
            policy.retry(&mut request, &mut result).unwrap().await;
            waited.push(start.elapsed());
        }
        // Base 100, 200, 400, 400, 400 ms, each plus up to 100 % jitter,
        // never beyond the maximum.
        for (wait, base) in waited.iter().zip([100u64, 200, 400, 400, 400]) {
            assert!(*wait >= Duration::from_millis(base), "{waited:?}");
            assert!(*wait <= Duration::from_millis(400), "{waited:?}");
        }
    }
}
