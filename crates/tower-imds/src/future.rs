//! The response future of [`ImdsV2`](crate::ImdsV2): the state machine
//! that takes a request from the token cache to the wrapped service's
//! response, leading or waiting for a token fetch on the way. What a fetch
//! sends and accepts is `token_fetch`'s business.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::SystemTime,
};

use http::{Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::{
    sync::oneshot,
    time::{Instant, Sleep},
};
use tower::BoxError;
use tower_service::Service;
use tracing::Span;

use crate::{
    Error, MetadataToken, TokenTtl, UserAgent,
    cache::{Acquired, EndpointTokens, Flight, Lookup},
    clock,
    config::Config,
    token::attach,
    token_fetch::{self, TokenBody},
};

pin_project! {
    /// Response future of [`ImdsV2`](crate::ImdsV2).
    ///
    /// A hand-written state machine rather than a boxed `async` block: with a
    /// cached token it is the wrapped service's future plus the token, with
    /// no allocation, and it is `Send` exactly when the wrapped service, its
    /// future and the bodies are. Only a request that waits for or fetches a
    /// token boxes the extra state that needs.
    pub struct ResponseFuture<S, B, RB>
    where
        S: Service<Request<B>>,
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S::Future, RB>,
        // Present on the cold path only.
        cold: Option<Box<Cold<S, B>>>,
        // The token the request goes out with, for the response's extensions.
        sent: Option<MetadataToken>,
        // The cache entry to correct when IMDS answers 401.
        tokens: Option<Arc<EndpointTokens>>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        // The request itself is under way.
        Call { #[pin] future: F },
        // No token to be had: the request is not sent.
        Failed { error: Option<Box<Error>> },
        // Consult the cache (again, after a leading request went away).
        Lookup,
        // Another request is fetching the token.
        Wait { rx: oneshot::Receiver<Result<MetadataToken, Error>> },
        // This request's token PUT is under way...
        PutSent { #[pin] future: F },
        // ...and its body is being read.
        PutBody { body: TokenBody<RB> },
        // Token settled: make the service ready (if the PUT used it) and send.
        Ready,
    }
}

/// What a request needs while it has no token yet.
struct Cold<S, B> {
    /// Ready for one call when handed over; used for the PUT when this
    /// request leads the fetch, and then made ready again.
    service: S,
    used_for_put: bool,
    request: Option<Request<B>>,
    config: Arc<Config>,
    /// While this request's token `PUT` is under way.
    put: Option<Put>,
    acquired: Option<Acquired>,
}

/// The token `PUT` of a request that leads a fetch.
struct Put {
    flight: Flight,
    sent_at: Instant,
    /// `sent_at` on the wall clock, for the token store.
    sent_at_wall: SystemTime,
    deadline: Pin<Box<Sleep>>,
    span: Span,
}

impl Put {
    /// Whether the token timeout has run out.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

impl<S, B, RB> ResponseFuture<S, B, RB>
where
    S: Service<Request<B>, Response = Response<RB>>,
    B: Default,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    pub(crate) fn called(
        future: S::Future,
        sent: Option<MetadataToken>,
        tokens: Option<Arc<EndpointTokens>>,
    ) -> Self {
        Self {
            state: State::Call { future },
            cold: None,
            sent,
            tokens,
        }
    }

    pub(crate) fn fetching(
        lookup: Lookup,
        tokens: Arc<EndpointTokens>,
        config: Arc<Config>,
        service: S,
        request: Request<B>,
    ) -> Self {
        let mut cold = Box::new(Cold {
            service,
            used_for_put: false,
            request: Some(request),
            config,
            put: None,
            acquired: None,
        });
        let state = cold.begin(lookup);
        Self {
            state,
            cold: Some(cold),
            sent: None,
            tokens: Some(tokens),
        }
    }
}

impl<S, B> Cold<S, B> {
    /// Acts on a cache lookup: go ahead, wait, or fetch.
    fn begin<RB>(&mut self, lookup: Lookup) -> State<S::Future, RB>
    where
        S: Service<Request<B>, Response = Response<RB>>,
        B: Default,
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        let flight = match lookup {
            Lookup::Hit(token) => return self.settled(Acquired::Token(token)),
            Lookup::UseV1 => return self.settled(Acquired::V1),
            Lookup::Wait(rx) => return State::Wait { rx },
            Lookup::Lead(flight) => flight,
        };

        let stored = (self.config.store.as_deref())
            .and_then(|store| token_fetch::load_stored(store, flight.endpoint()));
        if let Some((token, remaining)) = stored {
            flight.succeed(token.clone(), Instant::now(), remaining);
            return self.settled(Acquired::Token(token));
        }

        let span = tracing::debug_span!("imds_token_fetch", endpoint = %flight.endpoint());
        let _entered = span.clone().entered();
        tracing::debug!(
            ttl_seconds = self.config.ttl.as_secs(),
            "requesting an IMDS token"
        );
        let request = token_fetch::put(
            flight.endpoint(),
            &self.config.ttl_header,
            self.config.user_agent.as_ref().map(UserAgent::header_value),
        );
        self.put = Some(Put {
            flight,
            sent_at: Instant::now(),
            sent_at_wall: clock::now(),
            deadline: Box::pin(tokio::time::sleep(self.config.token_timeout)),
            span,
        });
        self.used_for_put = true;
        State::PutSent {
            future: self.service.call(request),
        }
    }

    fn settled<F, RB>(&mut self, acquired: Acquired) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        self.acquired = Some(acquired);
        State::Ready
    }

    fn succeed<F, RB>(&mut self, token: MetadataToken, ttl: TokenTtl) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        tracing::debug!(ttl_seconds = ttl.as_secs(), "IMDS token received");
        if let Some(put) = self.put.take() {
            let ttl = ttl.as_duration();
            if let Some(store) = self.config.store.as_deref() {
                let expires_at = put.sent_at_wall + ttl;
                token_fetch::save_stored(store, put.flight.endpoint(), &token, expires_at);
            }
            put.flight.succeed(token.clone(), put.sent_at, ttl);
        }
        self.settled(Acquired::Token(token))
    }

    fn fail<F, RB>(&mut self, error: Error) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        tracing::debug!(%error, "IMDS token request failed");
        let outcome = match self.put.take() {
            Some(put) => put.flight.fail(error, self.config.fallback_to_imdsv1),
            None => Err(error),
        };
        match outcome {
            Ok(acquired) => self.settled(acquired),
            Err(error) => State::Failed {
                error: Some(Box::new(error)),
            },
        }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B, RB>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    B: Default,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    type Output = Result<Response<RB>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Call { future } => {
                    let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                    if let (StatusCode::UNAUTHORIZED, Some(tokens)) =
                        (response.status(), this.tokens.as_ref())
                    {
                        match this.sent.as_ref() {
                            Some(token) => tokens.invalidate(token),
                            None => tokens.reenable_v2(),
                        }
                    }
                    if let Some(token) = this.sent.take() {
                        response.extensions_mut().insert(token);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Failed { error } => {
                    let error = error
                        .take()
                        .expect("ResponseFuture polled after completion");
                    // Unsize the box, rather than `into()` it: that would box
                    // it again and defeat callers' `downcast::<Error>()`.
                    let error: BoxError = error;
                    return Poll::Ready(Err(error));
                }
                StateProj::Lookup => {
                    let cold = cold_state(this.cold);
                    let tokens = this.tokens.as_ref().expect("cold path has a cache entry");
                    cold.begin(tokens.lookup(Instant::now(), cold.config.fallback_to_imdsv1))
                }
                StateProj::Wait { rx } => {
                    let cold = cold_state(this.cold);
                    match ready!(Pin::new(rx).poll(cx)) {
                        Ok(Ok(token)) => cold.settled(Acquired::Token(token)),
                        Ok(Err(error)) => {
                            let tokens = this.tokens.as_ref().expect("cold path has a cache entry");
                            match tokens.after_failure(error, cold.config.fallback_to_imdsv1) {
                                Ok(acquired) => cold.settled(acquired),
                                Err(error) => State::Failed {
                                    error: Some(Box::new(error)),
                                },
                            }
                        }
                        // The leading request went away: look again.
                        Err(_) => State::Lookup,
                    }
                }
                StateProj::PutSent { future } => {
                    let cold = cold_state(this.cold);
                    let put = cold.put.as_mut().expect("the PUT states lead a fetch");
                    let _entered = put.span.clone().entered();
                    let endpoint = put.flight.endpoint();
                    let answer = match future.poll(cx) {
                        Poll::Ready(Ok(response)) => token_fetch::check_answer(response, endpoint),
                        Poll::Ready(Err(source)) => {
                            Err(token_fetch::failed(endpoint, source.into()))
                        }
                        Poll::Pending if put.timed_out(cx) => Err(token_fetch::timed_out(
                            put.flight.endpoint(),
                            cold.config.token_timeout,
                        )),
                        Poll::Pending => return Poll::Pending,
                    };
                    match answer {
                        Ok(body) => State::PutBody { body },
                        Err(error) => cold.fail(error),
                    }
                }
                StateProj::PutBody { body } => {
                    let cold = cold_state(this.cold);
                    let put = cold.put.as_mut().expect("the PUT states lead a fetch");
                    let _entered = put.span.clone().entered();
                    let token = match body.poll_token(cx, put.flight.endpoint()) {
                        Poll::Ready(token) => token,
                        Poll::Pending if put.timed_out(cx) => Err(token_fetch::timed_out(
                            put.flight.endpoint(),
                            cold.config.token_timeout,
                        )),
                        Poll::Pending => return Poll::Pending,
                    };
                    match token {
                        Ok((token, ttl)) => cold.succeed(token, ttl),
                        Err(error) => cold.fail(error),
                    }
                }
                StateProj::Ready => {
                    let cold = cold_state(this.cold);
                    if cold.used_for_put {
                        ready!(cold.service.poll_ready(cx)).map_err(Into::into)?;
                        cold.used_for_put = false;
                    }
                    let mut request = cold.request.take().expect("request sent once");
                    let sent = match cold.acquired.take() {
                        Some(Acquired::Token(token)) => Some(token),
                        Some(Acquired::V1) | None => None,
                    };
                    attach(&mut request, sent.as_ref());
                    *this.sent = sent;
                    State::Call {
                        future: cold.service.call(request),
                    }
                }
            };
            this.state.set(next);
        }
    }
}

fn cold_state<S, B>(cold: &mut Option<Box<Cold<S, B>>>) -> &mut Cold<S, B> {
    cold.as_deref_mut()
        .expect("only cold-path states are entered without a token")
}
