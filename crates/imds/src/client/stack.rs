//! The tower stack under the client. Its errors are classified in
//! [`classify`](super::classify).
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

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{self, Either, Ready};
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::retry::RetryLayer;
use tower::timeout::TimeoutLayer;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_imds::ImdsV2Layer;

use super::probe::ClientRetryPolicy;

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

/// The client's two stacks over one inner service, one token layer (one
/// token cache) and one retry policy (one probe state).
pub(crate) struct Stacks {
    /// Every read.
    pub(crate) reads: HttpService,
    /// [`Client::token`](super::Client::token)'s: the same layers over an
    /// inner service that passes only the token `PUT` on and answers every
    /// other request itself, so that only the `PUT` reaches IMDS. A twin
    /// rather than a marker on the reads' stack, which would cost every read.
    pub(crate) token: HttpService,
}

/// `inner` wrapped in the retry, token and timeout layers: the reads' stack
/// and the token's (see [`Stacks`]).
pub(crate) fn wrap<S, RB>(
    inner: S,
    layer: ImdsV2Layer,
    policy: ClientRetryPolicy,
    attempt_timeout: Duration,
) -> Stacks
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
    let stack = |layer: ImdsV2Layer, policy: ClientRetryPolicy| {
        ServiceBuilder::new()
            .layer(RetryLayer::new(policy))
            .layer(layer)
            .layer(TimeoutLayer::new(attempt_timeout))
    };
    Stacks {
        reads: BoxCloneSyncService::new(
            stack(layer.clone(), policy.clone()).service(inner.clone()),
        ),
        token: BoxCloneSyncService::new(stack(layer, policy).service(PutOnly(inner))),
    }
}

/// Passes the token `PUT` on to `S` and answers every other request with
/// an empty 200 itself.
#[derive(Clone)]
struct PutOnly<S>(S);

impl<S> Service<Request<RequestBody>> for PutOnly<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = Either<Ready<Result<Self::Response, BoxError>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        if request.method() == Method::PUT {
            return Either::Right(self.0.call(request));
        }
        let empty = Empty::new().map_err(|never| match never {}).boxed_unsync();
        Either::Left(future::ready(Ok(Response::new(empty))))
    }
}
