//! The client's retry policy: [`ImdsRetryPolicy`], plus probe mode's rule
//! that an absent IMDS is given up on at once.
//!
//! Off EC2 nothing answers at the IMDS address, and retrying a refused
//! connection or a token request that got no answer only makes every call
//! slower, so in probe mode those are final. Once an endpoint has answered
//! anything over HTTP, though, IMDS is known to be there: a reset or a
//! stall from then on (of a token request too) is a passing fault, retried
//! with backoff as in expected mode. Without this, one dropped token
//! request would fail every call waiting for that token.

use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::uri::Authority;
use http::{Request, Response, Uri};
use tower::BoxError;
use tower::retry::Policy;
use tower_imds::{ImdsRetryPolicy, RetryDelay};

use super::classify::is_connect_error;

/// [`ImdsRetryPolicy`], with probe mode's rule when built by
/// [`probe`](Self::probe).
#[derive(Clone, Debug)]
pub(crate) struct ClientRetryPolicy {
    inner: ImdsRetryPolicy,
    /// Probe mode: the endpoints, each with whether it has answered yet.
    /// Shared by the copies the retry layer makes for each request.
    probe: Option<Arc<[Heard]>>,
}

/// Whether IMDS at `authority` has answered over HTTP.
#[derive(Debug)]
struct Heard {
    authority: Authority,
    answered: AtomicBool,
}

impl ClientRetryPolicy {
    /// Expected mode: `inner` as it is.
    pub(crate) fn expected(inner: ImdsRetryPolicy) -> Self {
        Self { inner, probe: None }
    }

    /// Probe mode for requests to `endpoints`.
    pub(crate) fn probe<'a>(
        inner: ImdsRetryPolicy,
        endpoints: impl IntoIterator<Item = &'a Uri>,
    ) -> Self {
        let heard = endpoints
            .into_iter()
            .filter_map(Uri::authority)
            .map(|authority| Heard {
                authority: authority.clone(),
                answered: AtomicBool::new(false),
            })
            .collect();
        Self {
            inner,
            probe: Some(heard),
        }
    }

    /// Whether the probe rule makes `result` of a request to `uri` final.
    fn gives_up(&self, uri: &Uri, result: &Result<impl Sized, BoxError>) -> bool {
        let Some(endpoints) = &self.probe else {
            return false;
        };
        let heard = endpoints
            .iter()
            .find(|heard| uri.authority() == Some(&heard.authority));
        match result {
            Err(error) if !is_http_answer(error) => {
                let answered = heard.is_some_and(|heard| heard.answered.load(Ordering::Relaxed));
                !answered && suggests_absence(&**error)
            }
            // An HTTP answer: IMDS is there. Loaded before it is stored, so
            // that reads do not each write a cache line the workers share.
            _ => {
                if let Some(heard) = heard.filter(|heard| !heard.answered.load(Ordering::Relaxed)) {
                    heard.answered.store(true, Ordering::Relaxed);
                }
                false
            }
        }
    }
}

/// Whether the layer's error is about an HTTP answer to the token request.
fn is_http_answer(error: &BoxError) -> bool {
    matches!(
        error.downcast_ref::<tower_imds::Error>(),
        Some(
            tower_imds::Error::TokenRequestRefused { .. }
                | tower_imds::Error::InvalidTokenResponse { .. }
        )
    )
}

/// Whether `error` suggests that IMDS is not there at all: a connection
/// that could not be made, or a token request that got no HTTP answer (no
/// connection, reset, or silence: off EC2, or the hop limit in a
/// container). A read that times out or is reset after IMDS issued a
/// token does not.
fn suggests_absence(error: &(dyn StdError + 'static)) -> bool {
    matches!(
        error.downcast_ref::<tower_imds::Error>(),
        Some(
            tower_imds::Error::TokenRequestFailed { .. }
                | tower_imds::Error::TokenRequestTimedOut { .. }
        )
    ) || is_connect_error(error)
}

impl<B: Clone, RB> Policy<Request<B>, Response<RB>, BoxError> for ClientRetryPolicy {
    type Future = RetryDelay;

    fn retry(
        &mut self,
        request: &mut Request<B>,
        result: &mut Result<Response<RB>, BoxError>,
    ) -> Option<Self::Future> {
        if self.gives_up(request.uri(), result) {
            return None;
        }
        self.inner.retry(request, result)
    }

    fn clone_request(&mut self, request: &Request<B>) -> Option<Request<B>> {
        Policy::<Request<B>, Response<RB>, BoxError>::clone_request(&mut self.inner, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tower::timeout::error::Elapsed;
    use tower_imds::TokenEndpoint;

    const V4: &str = "http://127.0.0.1:1/latest/a";
    const V6: &str = "http://[::1]:1/latest/a";

    /// Whether a fresh copy of `policy` (as the retry layer makes for
    /// each request) retries `result` of a request to `to`.
    fn retries(
        policy: &ClientRetryPolicy,
        to: &'static str,
        result: Result<u16, BoxError>,
    ) -> bool {
        let mut request = Request::get(to).body(()).unwrap();
        let mut result = result.map(|status| Response::builder().status(status).body(()).unwrap());
        policy.clone().retry(&mut request, &mut result).is_some()
    }

    fn endpoint() -> TokenEndpoint {
        TokenEndpoint::of(&Uri::from_static("http://127.0.0.1:1/"))
    }

    fn failed_put(kind: std::io::ErrorKind) -> tower_imds::Error {
        tower_imds::Error::TokenRequestFailed {
            endpoint: endpoint(),
            source: Arc::new(std::io::Error::from(kind)),
        }
    }

    fn reset() -> BoxError {
        Box::new(failed_put(std::io::ErrorKind::ConnectionReset))
    }

    fn probe(endpoints: &[&'static str]) -> ClientRetryPolicy {
        let uris: Vec<Uri> = endpoints.iter().map(|e| Uri::from_static(e)).collect();
        ClientRetryPolicy::probe(ImdsRetryPolicy::new(), &uris)
    }

    #[test]
    fn absence_is_a_refused_connection_or_an_unanswered_token_request() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let silent_put = tower_imds::Error::TokenRequestTimedOut {
            endpoint: endpoint(),
            timeout: Duration::from_secs(1),
        };
        let absent: [&(dyn StdError + 'static); 3] = [
            &refused,
            &failed_put(std::io::ErrorKind::ConnectionReset),
            &silent_put,
        ];
        for error in absent {
            assert!(suggests_absence(error), "{error:?}");
        }
        // IMDS is there: a slow or reset read is retried.
        let reset_read = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let present: [&(dyn StdError + 'static); 2] = [&Elapsed::new(), &reset_read];
        for error in present {
            assert!(!suggests_absence(error), "{error:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_token_request_is_final_until_the_endpoint_answers() {
        let policy = probe(&[V4, V6]);
        assert!(!retries(&policy, V4, Err(reset())));
        assert!(!retries(&policy, V6, Err(reset())));
        // The IPv4 endpoint answers (a 404 will do).
        assert!(!retries(&policy, V4, Ok(404)));
        assert!(retries(&policy, V4, Err(reset())));
        // Only for that endpoint.
        assert!(!retries(&policy, V6, Err(reset())));
        assert!(!retries(&policy, "http://10.0.0.1/latest/a", Err(reset())));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_request_is_an_answer() {
        let policy = probe(&[V4]);
        let refused: BoxError = Box::new(tower_imds::Error::TokenRequestRefused {
            endpoint: endpoint(),
            status: http::StatusCode::SERVICE_UNAVAILABLE,
        });
        assert!(retries(&policy, V4, Err(refused)));
        assert!(retries(&policy, V4, Err(reset())));
    }

    #[tokio::test(start_paused = true)]
    async fn expected_mode_is_the_policy_unchanged() {
        let mut policy = ClientRetryPolicy::expected(
            ImdsRetryPolicy::new()
                .max_attempts(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(1)),
        );
        let mut attempt = || {
            let mut request = Request::get(V4).body(()).unwrap();
            let mut result: Result<Response<()>, BoxError> = Err(reset());
            policy.retry(&mut request, &mut result).is_some()
        };
        assert!(attempt(), "attempt 1 of 2 is retried");
        assert!(!attempt(), "the budget is spent");
    }
}
