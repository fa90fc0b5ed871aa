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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::uri::Authority;
use http::{Request, Response, Uri};
use tower::BoxError;
use tower::retry::Policy;
use tower_imds::{ImdsRetryPolicy, RetryDelay};

use super::stack::retry_in_probe_mode;

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
        let answered = heard.is_some_and(|heard| heard.answered.load(Ordering::Relaxed));
        match result {
            Ok(_) => {
                if let Some(heard) = heard.filter(|_| !answered) {
                    heard.answered.store(true, Ordering::Relaxed);
                }
                false
            }
            Err(error) if is_http_answer(error) => {
                if let Some(heard) = heard {
                    heard.answered.store(true, Ordering::Relaxed);
                }
                false
            }
            Err(error) => !answered && !retry_in_probe_mode(&**error),
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

    fn uri(text: &'static str) -> Uri {
        Uri::from_static(text)
    }

    fn decide(
        policy: &mut ClientRetryPolicy,
        to: &'static str,
        result: Result<u16, BoxError>,
    ) -> bool {
        let mut request = Request::get(to).body(()).unwrap();
        let mut result = result.map(|status| Response::builder().status(status).body(()).unwrap());
        policy.retry(&mut request, &mut result).is_some()
    }

    fn reset() -> BoxError {
        Box::new(tower_imds::Error::TokenRequestFailed {
            endpoint: tower_imds::TokenEndpoint::of(&uri("http://127.0.0.1:1/")),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_token_request_is_final_until_the_endpoint_answers() {
        let v4 = uri("http://127.0.0.1:1");
        let v6 = uri("http://[::1]:1");
        let policy = ClientRetryPolicy::probe(ImdsRetryPolicy::new(), [&v4, &v6]);
        assert!(!decide(
            &mut policy.clone(),
            "http://127.0.0.1:1/latest/a",
            Err(reset())
        ));
        assert!(!decide(
            &mut policy.clone(),
            "http://[::1]:1/latest/a",
            Err(reset())
        ));
        // The IPv4 endpoint answers (a 404 will do).
        assert!(!decide(
            &mut policy.clone(),
            "http://127.0.0.1:1/latest/a",
            Ok(404)
        ));
        assert!(decide(
            &mut policy.clone(),
            "http://127.0.0.1:1/latest/a",
            Err(reset())
        ));
        // Only for that endpoint.
        assert!(!decide(
            &mut policy.clone(),
            "http://[::1]:1/latest/a",
            Err(reset())
        ));
        assert!(!decide(
            &mut policy.clone(),
            "http://10.0.0.1/latest/a",
            Err(reset())
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_request_is_an_answer() {
        let v4 = uri("http://127.0.0.1:1");
        let policy = ClientRetryPolicy::probe(ImdsRetryPolicy::new(), [&v4]);
        let refused: BoxError = Box::new(tower_imds::Error::TokenRequestRefused {
            endpoint: tower_imds::TokenEndpoint::of(&v4),
            status: http::StatusCode::SERVICE_UNAVAILABLE,
        });
        assert!(decide(
            &mut policy.clone(),
            "http://127.0.0.1:1/a",
            Err(refused)
        ));
        assert!(decide(
            &mut policy.clone(),
            "http://127.0.0.1:1/a",
            Err(reset())
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn expected_mode_is_the_policy_unchanged() {
        let mut policy = ClientRetryPolicy::expected(
            ImdsRetryPolicy::new()
                .max_attempts(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(1)),
        );
        assert!(decide(&mut policy, "http://127.0.0.1:1/a", Err(reset())));
        assert!(!decide(&mut policy, "http://127.0.0.1:1/a", Err(reset())));
    }
}
