//! The tower stack under the client, and its errors turned into [`Error`].
//!
//! ```text
//! Retry(ImdsRetryPolicy) → ImdsV2Layer → Timeout(per attempt) → HTTP client
//! ```
//!
//! - **Retry outside the token layer**: every attempt asks the layer for a
//!   token, so the attempt after a 401 carries the fresh token the layer
//!   fetched, and a failed token request is retried like a failed read.
//! - **Timeout inside the token layer**: the layer sends its token `PUT`
//!   through the service it wraps, so the same per-attempt deadline bounds
//!   the `PUT` and each read, and a timed-out attempt is a retryable error
//!   for the policy. An overall deadline outside the layer would instead cut
//!   a token fetch that other requests are waiting on.
//! - **HTTP client**: hyper-util's legacy client over a plain
//!   `HttpConnector` (no proxy: a proxy would answer with its own host's
//!   metadata; no TLS), `TCP_NODELAY`, and a connect timeout.

use std::error::Error as StdError;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::retry::RetryLayer;
use tower::timeout::TimeoutLayer;
use tower::timeout::error::Elapsed;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_imds::ImdsV2Layer;
use tower_imds::header::TOKEN_PATH;

use super::probe::ClientRetryPolicy;

use crate::config::{ConfigError, Source};
use crate::error::{Error, ResponseError};

/// The body of every request the client sends: IMDS requests have none.
pub type RequestBody = Empty<Bytes>;

/// Response bodies, boxed so that any inner service fits.
pub(crate) type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// The whole stack, boxed.
pub(crate) type HttpService =
    BoxCloneSyncService<Request<RequestBody>, Response<ResponseBody>, BoxError>;

/// The inner service the default stack uses: hyper-util's client over a
/// plain HTTP connector.
pub(crate) fn default_http_client(connect_timeout: Duration) -> SharedHttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    SharedHttpClient(Arc::new(
        HyperClient::builder(TokioExecutor::new()).build(connector),
    ))
}

/// hyper-util's client behind one `Arc`. The stack is cloned twice per
/// request (the client calls a clone, and `tower::retry` keeps one for the
/// next attempt); this makes the HTTP client's share of each clone one
/// reference count rather than three (executor, connector, pool), which
/// the two worker threads would otherwise bounce between them under load.
#[derive(Clone, Debug)]
pub(crate) struct SharedHttpClient(Arc<DefaultClient>);

type DefaultClient = HyperClient<HttpConnector, RequestBody>;

impl Service<Request<RequestBody>> for SharedHttpClient {
    type Response = <DefaultClient as Service<Request<RequestBody>>>::Response;
    type Error = hyper_util::client::legacy::Error;
    type Future = hyper_util::client::legacy::ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // As hyper-util's own `poll_ready`: the pool waits inside `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        self.0.request(request)
    }
}

/// `inner` wrapped in the retry, token and timeout layers.
pub(crate) fn wrap<S, RB>(
    inner: S,
    layer: ImdsV2Layer,
    policy: ClientRetryPolicy,
    attempt_timeout: Duration,
) -> HttpService
where
    S: Service<Request<RequestBody>, Response = Response<RB>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    RB: Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    let inner = inner
        .map_response(|response: Response<RB>| {
            response.map(|body| body.map_err(Into::into).boxed_unsync())
        })
        .map_err(Into::<BoxError>::into);
    let stack = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .layer(layer)
        .layer(TimeoutLayer::new(attempt_timeout))
        .service(inner);
    BoxCloneSyncService::new(stack)
}

/// `error` and the errors it wraps, outermost first.
///
/// The cause of a `TokenRequestFailed` is read from its field: it is an
/// `Arc<dyn Error>`, and `Arc`'s own `Error::source` skips the error it
/// holds, so `source()` alone would never show it.
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&error| {
        match error.downcast_ref::<tower_imds::Error>() {
            Some(tower_imds::Error::TokenRequestFailed { source, .. }) => {
                Some(&**source as &(dyn StdError + 'static))
            }
            _ => error.source(),
        }
    })
}

/// Whether a connection could not be made.
pub(crate) fn is_connect_error(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| {
        if let Some(client) = error.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client.is_connect();
        }
        error.downcast_ref::<std::io::Error>().is_some_and(|io| {
            use std::io::ErrorKind::*;
            matches!(
                io.kind(),
                ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
            )
        })
    })
}

/// Whether something gave up waiting.
fn is_timeout(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| {
        error.is::<Elapsed>()
            || error
                .downcast_ref::<tower_imds::Error>()
                .is_some_and(|error| {
                    matches!(error, tower_imds::Error::TokenRequestTimedOut { .. })
                })
            || error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

/// What the client reports for a failure of the stack.
///
/// `timeout` is the per-attempt timeout, reported for deadlines that ran
/// out. Nothing here can hold a secret: the layer's errors never hold the
/// token, and transport errors hold no bodies.
pub(crate) fn map_error(error: BoxError, endpoint: &str, timeout: Duration) -> Error {
    if let Some(layer_error) = error.downcast_ref::<tower_imds::Error>() {
        match layer_error {
            tower_imds::Error::TokenRequestRefused { status, .. } => {
                return Error::Status {
                    status: *status,
                    path: TOKEN_PATH.to_owned(),
                };
            }
            tower_imds::Error::InvalidTokenResponse { problem, .. } => {
                return Error::bad_response(
                    TOKEN_PATH,
                    ResponseError::InvalidField {
                        field: "session token",
                        reason: problem.to_string(),
                    },
                );
            }
            tower_imds::Error::InvalidTtl { ttl_seconds } => {
                return Error::Config(ConfigError::invalid(
                    "IMDS token TTL",
                    ttl_seconds.to_string(),
                    Source::Builder,
                    "expected 1 to 21600 seconds".into(),
                ));
            }
            tower_imds::Error::TokenRequestTimedOut { timeout, .. } => {
                let after = *timeout;
                return Error::timeout(endpoint, after, Some(error));
            }
            _ => {}
        }
    }
    if is_timeout(&*error) {
        Error::timeout(endpoint, timeout, Some(error))
    } else {
        Error::unreachable(endpoint, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::sync::Arc;
    use tower_imds::TokenEndpoint;

    fn endpoint() -> TokenEndpoint {
        TokenEndpoint::of(&http::Uri::from_static("http://127.0.0.1:1/"))
    }

    #[test]
    fn layer_errors_map_to_what_a_caller_can_act_on() {
        let timeout = Duration::from_secs(1);
        let refused: BoxError = Box::new(tower_imds::Error::TokenRequestRefused {
            endpoint: endpoint(),
            status: StatusCode::FORBIDDEN,
        });
        assert!(matches!(
            map_error(refused, "e", timeout),
            Error::Status { status: StatusCode::FORBIDDEN, path } if path == TOKEN_PATH
        ));
        let silent: BoxError = Box::new(tower_imds::Error::TokenRequestTimedOut {
            endpoint: endpoint(),
            timeout: Duration::from_millis(300),
        });
        let error = map_error(silent, "http://e", timeout);
        assert!(
            matches!(&error, Error::Timeout { after, .. } if *after == Duration::from_millis(300))
        );
        assert!(
            error.to_string().contains("HttpPutResponseHopLimit"),
            "{error}"
        );
        let failed: BoxError = Box::new(tower_imds::Error::TokenRequestFailed {
            endpoint: endpoint(),
            source: Arc::new(Elapsed::new()),
        });
        assert!(matches!(
            map_error(failed, "e", timeout),
            Error::Timeout { .. }
        ));
        let failed: BoxError = Box::new(tower_imds::Error::TokenRequestFailed {
            endpoint: endpoint(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        });
        assert!(matches!(
            map_error(failed, "e", timeout),
            Error::Unreachable { .. }
        ));
        let ttl: BoxError = Box::new(tower_imds::Error::InvalidTtl { ttl_seconds: 0 });
        assert!(matches!(map_error(ttl, "e", timeout), Error::Config(_)));
        assert!(matches!(
            map_error(Box::new(Elapsed::new()), "e", timeout),
            Error::Timeout { after, .. } if after == timeout
        ));
        assert!(matches!(
            map_error("reset".into(), "e", timeout),
            Error::Unreachable { .. }
        ));
    }
}
