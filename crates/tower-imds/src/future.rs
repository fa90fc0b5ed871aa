//! The response future of [`ImdsV2`](crate::ImdsV2).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::{Duration, SystemTime},
};

use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited, combinators::Collect};
use pin_project_lite::pin_project;
use tokio::{
    sync::oneshot,
    time::{Instant, Sleep},
};
use tower::BoxError;
use tower_service::Service;
use tracing::Span;

use crate::{
    Error, MetadataToken, StoredToken, TokenEndpoint, TokenResponseProblem, TokenTtl,
    cache::{Acquired, EndpointTokens, Flight, Lookup},
    header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
    layer::Config,
    token::attach,
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
        // (Boxed: large and cold; inline it would double every future's size.)
        PutBody { body: Pin<Box<Collect<Limited<RB>>>>, ttl: TokenTtl },
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
    flight: Option<Flight>,
    deadline: Option<Pin<Box<Sleep>>>,
    sent_at: Instant,
    sent_at_wall: SystemTime,
    span: Span,
    acquired: Option<Acquired>,
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
            flight: None,
            deadline: None,
            sent_at: Instant::now(),
            sent_at_wall: crate::clock::now(),
            span: Span::none(),
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
    fn endpoint(&self) -> Option<&TokenEndpoint> {
        self.flight.as_ref().map(Flight::endpoint)
    }

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

        if let Some((token, remaining)) = load_stored(&self.config, flight.endpoint()) {
            flight.succeed(token.clone(), Instant::now(), remaining);
            return self.settled(Acquired::Token(token));
        }

        self.span = tracing::debug_span!("imds_token_fetch", endpoint = %flight.endpoint());
        let _entered = self.span.clone().entered();
        tracing::debug!(
            ttl_seconds = self.config.ttl.as_secs(),
            "requesting an IMDS token"
        );

        // A fresh request: nothing of the caller's goes with it.
        let mut put = Request::new(B::default());
        *put.method_mut() = Method::PUT;
        *put.uri_mut() = flight.endpoint().token_uri();
        put.headers_mut().insert(
            X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
            self.config.ttl_header.clone(),
        );

        self.flight = Some(flight);
        self.sent_at = Instant::now();
        self.sent_at_wall = crate::clock::now();
        self.deadline = Some(Box::pin(tokio::time::sleep(self.config.token_timeout)));
        self.used_for_put = true;
        State::PutSent {
            future: self.service.call(put),
        }
    }

    fn settled<F, RB>(&mut self, acquired: Acquired) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        self.acquired = Some(acquired);
        self.deadline = None;
        State::Ready
    }

    /// Whether the token timeout has run out.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }

    fn succeed<F, RB>(&mut self, token: MetadataToken, ttl: TokenTtl) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        tracing::debug!(ttl_seconds = ttl.as_secs(), "IMDS token received");
        let ttl = ttl.as_duration();
        if let Some(flight) = self.flight.take() {
            if let Some(store) = &self.config.store {
                let stored = StoredToken {
                    token: token.clone(),
                    expires_at: self.sent_at_wall + ttl,
                };
                if let Err(error) = store.save(flight.endpoint(), &stored) {
                    tracing::warn!(endpoint = %flight.endpoint(), %error, "IMDS token store failed to save the token; carrying on");
                }
            }
            flight.succeed(token.clone(), self.sent_at, ttl);
        }
        self.settled(Acquired::Token(token))
    }

    fn fail<F, RB>(&mut self, error: Error) -> State<F, RB>
    where
        RB: Body,
        RB::Error: Into<BoxError>,
    {
        tracing::debug!(%error, "IMDS token request failed");
        let outcome = match self.flight.take() {
            Some(flight) => flight.fail(error, self.config.fallback_to_imdsv1),
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

/// A token from the layer's store, if it has one that is still valid.
fn load_stored(config: &Config, endpoint: &TokenEndpoint) -> Option<(MetadataToken, Duration)> {
    let store = config.store.as_ref()?;
    match store.load(endpoint) {
        Ok(Some(stored)) => match stored.expires_at.duration_since(crate::clock::now()) {
            Ok(remaining) if remaining >= Duration::from_secs(1) => {
                tracing::debug!(%endpoint, "IMDS token loaded from the token store");
                Some((stored.token, remaining))
            }
            _ => {
                tracing::debug!(%endpoint, "stored IMDS token has expired");
                None
            }
        },
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%endpoint, %error, "IMDS token store failed to load; fetching a new token");
            None
        }
    }
}

/// The TTL IMDS granted, from the token response's headers.
fn granted_ttl(headers: &HeaderMap) -> Result<TokenTtl, TokenResponseProblem> {
    let value = headers
        .get(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS)
        .ok_or(TokenResponseProblem::MissingTtl)?
        .as_bytes();
    // Plain decimal digits only: `u32::from_str` would also take a `+`.
    let digits_only = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    std::str::from_utf8(value)
        .ok()
        .filter(|_| digits_only)
        .and_then(|s| s.parse::<u32>().ok())
        .and_then(|secs| TokenTtl::from_secs(secs).ok())
        .ok_or(TokenResponseProblem::InvalidTtl)
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
                    let _entered = cold.span.clone().entered();
                    let endpoint = cold.endpoint().cloned();
                    let endpoint = endpoint.expect("a request sending a PUT leads a flight");
                    match future.poll(cx) {
                        Poll::Ready(Ok(response)) if response.status() == StatusCode::OK => {
                            match granted_ttl(response.headers()) {
                                Ok(ttl) => State::PutBody {
                                    body: Box::pin(
                                        Limited::new(response.into_body(), MetadataToken::MAX_LEN)
                                            .collect(),
                                    ),
                                    ttl,
                                },
                                Err(problem) => {
                                    cold.fail(Error::InvalidTokenResponse { endpoint, problem })
                                }
                            }
                        }
                        Poll::Ready(Ok(response)) => cold.fail(Error::TokenRequestRefused {
                            endpoint,
                            status: response.status(),
                        }),
                        Poll::Ready(Err(source)) => cold.fail(Error::TokenRequestFailed {
                            endpoint,
                            source: Arc::from(source.into()),
                        }),
                        Poll::Pending if cold.timed_out(cx) => {
                            let timeout = cold.config.token_timeout;
                            cold.fail(Error::TokenRequestTimedOut { endpoint, timeout })
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
                StateProj::PutBody { body, ttl } => {
                    let cold = cold_state(this.cold);
                    let _entered = cold.span.clone().entered();
                    let endpoint = cold.endpoint().cloned();
                    let endpoint = endpoint.expect("a request reading a PUT leads a flight");
                    match body.as_mut().poll(cx) {
                        Poll::Ready(Ok(collected)) => {
                            match MetadataToken::from_bytes(&collected.to_bytes()) {
                                Ok(token) => cold.succeed(token, *ttl),
                                Err(invalid) => cold.fail(Error::InvalidTokenResponse {
                                    endpoint,
                                    problem: TokenResponseProblem::InvalidToken(invalid),
                                }),
                            }
                        }
                        Poll::Ready(Err(source)) if source.is::<LengthLimitError>() => {
                            cold.fail(Error::InvalidTokenResponse {
                                endpoint,
                                problem: TokenResponseProblem::BodyTooLarge,
                            })
                        }
                        Poll::Ready(Err(source)) => cold.fail(Error::TokenRequestFailed {
                            endpoint,
                            source: Arc::from(source),
                        }),
                        Poll::Pending if cold.timed_out(cx) => {
                            let timeout = cold.config.token_timeout;
                            cold.fail(Error::TokenRequestTimedOut { endpoint, timeout })
                        }
                        Poll::Pending => return Poll::Pending,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ttl: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, ttl.parse().unwrap());
        h
    }

    #[test]
    fn granted_ttl_accepts_only_whole_seconds_in_range() {
        assert_eq!(
            granted_ttl(&headers("21600")).map(TokenTtl::as_duration),
            Ok(Duration::from_secs(21_600))
        );
        assert_eq!(
            granted_ttl(&headers("1")).map(TokenTtl::as_duration),
            Ok(Duration::from_secs(1))
        );
        for bad in ["0", "21601", "-5", "+5", "1.5", "abc", " 5", "99999999999"] {
            assert_eq!(
                granted_ttl(&headers(bad)),
                Err(TokenResponseProblem::InvalidTtl),
                "{bad:?}"
            );
        }
        assert_eq!(
            granted_ttl(&HeaderMap::new()),
            Err(TokenResponseProblem::MissingTtl)
        );
    }

    proptest::proptest! {
        #[test]
        fn granted_ttl_is_exactly_the_decimal_range(value in "[ -~]{0,12}") {
            let mut h = HeaderMap::new();
            h.insert(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, value.parse().unwrap());
            let expected = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .filter(|s| (1..=21_600).contains(s));
            proptest::prop_assert_eq!(granted_ttl(&h).ok().map(TokenTtl::as_duration), expected.map(Duration::from_secs));
        }
    }
}
