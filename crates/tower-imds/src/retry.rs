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
///   the token protocol and does not count against the attempts. Should
///   the fresh token be refused as well (IMDS restarted again, or the token
///   expired while the request was backing off), further 401s are retried
///   like a 5xx, with backoff, within the attempts.
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
///
/// Which transport failures are worth another try depends on the caller:
/// code that may not run on EC2 wants a refused connection to fail at once.
/// [`retry_transport_errors_if`](Self::retry_transport_errors_if) narrows
/// the retried transport errors.
#[derive(Clone, Debug)]
pub struct ImdsRetryPolicy {
    max_attempts: u32,
    min_backoff: Duration,
    max_backoff: Duration,
    transport_filter: Option<TransportErrorFilter>,
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
            transport_filter: None,
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

    /// Retries a transport failure only when `filter` returns `true` for it.
    ///
    /// `filter` sees the errors this policy would otherwise retry for not
    /// being an HTTP answer: errors of the wrapped service (connection
    /// refused, reset, timeouts of an inner `tower::timeout` layer, ...) and
    /// the layer's [`TokenRequestFailed`](Error::TokenRequestFailed) and
    /// [`TokenRequestTimedOut`](Error::TokenRequestTimedOut). It never sees
    /// responses (401, 429 and 5xx keep their rules) nor errors that are
    /// never retried. Walk [`source()`](std::error::Error::source) to find
    /// the cause of a `TokenRequestFailed`. By default every transport
    /// failure is retried.
    ///
    /// ```
    /// use std::error::Error as StdError;
    /// use tower_imds::ImdsRetryPolicy;
    ///
    /// /// Whether `error`, or any error it wraps, is a refused connection.
    /// fn refused(error: &(dyn StdError + 'static)) -> bool {
    ///     let mut next = Some(error);
    ///     while let Some(error) = next {
    ///         if let Some(io) = error.downcast_ref::<std::io::Error>() {
    ///             if io.kind() == std::io::ErrorKind::ConnectionRefused {
    ///                 return true;
    ///             }
    ///         }
    ///         next = error.source();
    ///     }
    ///     false
    /// }
    ///
    /// // Off EC2 nothing listens at the IMDS address: give up at once.
    /// let policy = ImdsRetryPolicy::new().retry_transport_errors_if(|error| !refused(error));
    /// ```
    pub fn retry_transport_errors_if(
        mut self,
        filter: fn(&(dyn std::error::Error + Send + Sync + 'static)) -> bool,
    ) -> Self {
        self.transport_filter = Some(filter);
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

/// Decides whether a transport failure is retried; see
/// [`ImdsRetryPolicy::retry_transport_errors_if`]. A plain function
/// pointer, so the policy stays `Clone`, `Debug` and cheap to copy per
/// request.
type TransportErrorFilter = fn(&(dyn std::error::Error + Send + Sync + 'static)) -> bool;

/// Whether an error of the IMDS stack is worth another attempt.
fn is_retryable(error: &BoxError, transport_filter: Option<TransportErrorFilter>) -> bool {
    let transport = match error.downcast_ref::<Error>() {
        Some(Error::TokenRequestRefused { status, .. }) => return is_retryable_status(*status),
        Some(Error::TokenRequestTimedOut { .. } | Error::TokenRequestFailed { .. }) => true,
        Some(Error::InvalidTokenResponse { .. }) => false,
        // Transport errors and timeouts of the wrapped stack.
        None => true,
    };
    transport && transport_filter.is_none_or(|filter| filter(&**error))
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
                    self.back_off()
                } else {
                    tracing::debug!("IMDS answered 401; retrying with a fresh token");
                    Some(RetryDelay::now())
                }
            }
            Ok(response) if is_retryable_status(response.status()) => self.back_off(),
            Ok(_) => None,
            Err(error) if is_retryable(error, self.transport_filter) => self.back_off(),
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
    async fn a_second_unauthorized_uses_the_budget() {
        let mut policy = ImdsRetryPolicy::new().max_attempts(3);
        assert!(decide(&mut policy, Ok(401)), "the token refresh");
        assert!(decide(&mut policy, Ok(401)), "attempt 2");
        assert!(decide(&mut policy, Ok(503)), "attempt 3");
        assert!(!decide(&mut policy, Ok(401)), "the budget is spent");
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
        let invalid: BoxError = Box::new(Error::InvalidTokenResponse {
            endpoint: endpoint.clone(),
            problem: crate::TokenResponseProblem::MissingTtl,
        });
        assert!(!decide(&mut ImdsRetryPolicy::new(), Err(invalid)));
        assert!(decide(
            &mut ImdsRetryPolicy::new(),
            Err("connection reset".into())
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn transport_filter_narrows_transport_errors_only() {
        fn not_refused(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
            let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
            while let Some(error) = next {
                if error.to_string() == "refused" {
                    return false;
                }
                next = error.source();
            }
            true
        }
        let policy = || ImdsRetryPolicy::new().retry_transport_errors_if(not_refused);
        let endpoint = crate::TokenEndpoint::of(&http::Uri::from_static("http://127.0.0.1:1/"));

        // Refused, directly or as the cause of a failed token request: final.
        assert!(!decide(&mut policy(), Err("refused".into())));
        let failed_put = |source: &str| -> BoxError {
            Box::new(Error::TokenRequestFailed {
                endpoint: endpoint.clone(),
                source: std::sync::Arc::from(BoxError::from(source)),
            })
        };
        assert!(!decide(&mut policy(), Err(failed_put("refused"))));
        // Other transport errors are still retried.
        assert!(decide(&mut policy(), Err("reset".into())));
        assert!(decide(&mut policy(), Err(failed_put("reset"))));
        // Statuses keep their rules, whatever the filter says.
        assert!(decide(&mut policy(), Ok(503)));
        assert!(decide(&mut policy(), Ok(401)));
        let refused_503: BoxError = Box::new(Error::TokenRequestRefused {
            endpoint: endpoint.clone(),
            status: StatusCode::SERVICE_UNAVAILABLE,
        });
        let rejecting_all = ImdsRetryPolicy::new().retry_transport_errors_if(|_| false);
        assert!(decide(&mut rejecting_all.clone(), Err(refused_503)));
        let timed_out: BoxError = Box::new(Error::TokenRequestTimedOut {
            endpoint: endpoint.clone(),
            timeout: Duration::from_secs(1),
        });
        assert!(!decide(&mut rejecting_all.clone(), Err(timed_out)));
        // Never-retried errors stay final.
        let always = ImdsRetryPolicy::new().retry_transport_errors_if(|_| true);
        let invalid: BoxError = Box::new(Error::InvalidTokenResponse {
            endpoint,
            problem: crate::TokenResponseProblem::MissingTtl,
        });
        assert!(!decide(&mut always.clone(), Err(invalid)));
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
