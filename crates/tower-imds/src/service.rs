//! The service: attaches a token to each request.

use std::{
    fmt, mem,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response, header::USER_AGENT};
use tokio::time::Instant;
use tower::BoxError;
use tower_service::Service;

use crate::{
    MetadataToken,
    cache::{Lookup, TokenCache},
    config::Config,
    future::ResponseFuture,
    token::attach,
};

/// Service built by [`ImdsV2Layer`](crate::ImdsV2Layer): sends each request
/// with an IMDSv2 session token.
///
/// Fails with [`BoxError`]: either this crate's [`Error`](crate::Error) or
/// the wrapped service's error, unchanged.
#[derive(Clone)]
pub struct ImdsV2<S> {
    inner: S,
    config: Arc<Config>,
    cache: Arc<TokenCache>,
}

impl<S> ImdsV2<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<Config>, cache: Arc<TokenCache>) -> Self {
        Self {
            inner,
            config,
            cache,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> Service<Request<B>> for ImdsV2<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone,
    S::Error: Into<BoxError>,
    B: Default,
    RB: http_body::Body,
    RB::Error: Into<BoxError>,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = ResponseFuture<S, B, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(user_agent) = &self.config.user_agent {
            // A caller's own `User-Agent` wins.
            (request.headers_mut().entry(USER_AGENT))
                .or_insert_with(|| user_agent.header_value().clone());
        }
        // A token given for this request, or to the layer, is used as is.
        let given = request.extensions().get::<MetadataToken>().cloned();
        if let Some(token) = given.or_else(|| self.config.token.clone()) {
            attach(&mut request, Some(&token));
            return ResponseFuture::called(self.inner.call(request), Some(token), None);
        }

        let tokens = self.cache.endpoint(request.uri());
        match tokens.lookup(Instant::now(), self.config.fallback_to_imdsv1) {
            Lookup::Hit(token) => {
                attach(&mut request, Some(&token));
                ResponseFuture::called(self.inner.call(request), Some(token), Some(tokens))
            }
            Lookup::UseV1 => {
                attach(&mut request, None);
                ResponseFuture::called(self.inner.call(request), None, Some(tokens))
            }
            lookup => {
                // Cold path. The ready service goes with the request (and
                // carries the token PUT if this request leads the fetch); a
                // clone stays here for the next call.
                let clone = self.inner.clone();
                let ready = mem::replace(&mut self.inner, clone);
                ResponseFuture::fetching(lookup, tokens, self.config.clone(), ready, request)
            }
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for ImdsV2<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsV2")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
