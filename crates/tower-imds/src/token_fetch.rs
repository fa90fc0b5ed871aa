//! The token protocol: how a request that has no token gets one. First
//! from the layer's [`TokenStore`], if it keeps a valid one; otherwise with
//! `PUT /latest/api/token`, whose answer must be 200 OK with a granted TTL
//! and a token for a body. Each step here says what is sent, what is
//! accepted and which [`Error`] a refusal is; the
//! [`ResponseFuture`](crate::ResponseFuture) drives the steps.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::{Duration, SystemTime},
};

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header::USER_AGENT};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited, combinators::Collect};
use tower::BoxError;

use crate::{
    Error, MetadataToken, StoredToken, TokenEndpoint, TokenResponseProblem, TokenStore, TokenTtl,
    clock, header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};

/// A token for `endpoint` from `store`, with the time it has left, if the
/// store keeps one that is still valid for at least a second.
pub(crate) fn load_stored(
    store: &dyn TokenStore,
    endpoint: &TokenEndpoint,
) -> Option<(MetadataToken, Duration)> {
    match store.load(endpoint) {
        Ok(Some(stored)) => match stored.expires_at.duration_since(clock::now()) {
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

/// Hands `token`, just issued by `endpoint`, to `store`. A store that fails
/// is logged and otherwise ignored.
pub(crate) fn save_stored(
    store: &dyn TokenStore,
    endpoint: &TokenEndpoint,
    token: &MetadataToken,
    expires_at: SystemTime,
) {
    let stored = StoredToken {
        token: token.clone(),
        expires_at,
    };
    if let Err(error) = store.save(endpoint, &stored) {
        tracing::warn!(%endpoint, %error, "IMDS token store failed to save the token; carrying on");
    }
}

/// The token `PUT` to `endpoint`, asking for a token that lives `ttl` (the
/// TTL as a header value), with the layer's `user_agent` if it has one. A
/// fresh request: nothing of the caller's goes with it.
pub(crate) fn put<B: Default>(
    endpoint: &TokenEndpoint,
    ttl: &HeaderValue,
    user_agent: Option<&HeaderValue>,
) -> Request<B> {
    let mut put = Request::new(B::default());
    *put.method_mut() = Method::PUT;
    *put.uri_mut() = endpoint.token_uri();
    let headers = put.headers_mut();
    headers.insert(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, ttl.clone());
    if let Some(user_agent) = user_agent {
        headers.insert(USER_AGENT, user_agent.clone());
    }
    put
}

/// The `PUT` failed in the wrapped service, or its answer's body could not
/// be read.
pub(crate) fn failed(endpoint: &TokenEndpoint, source: BoxError) -> Error {
    Error::TokenRequestFailed {
        endpoint: endpoint.clone(),
        source: Arc::from(source),
    }
}

/// No answer to the `PUT`, body included, within the layer's `timeout`.
pub(crate) fn timed_out(endpoint: &TokenEndpoint, timeout: Duration) -> Error {
    Error::TokenRequestTimedOut {
        endpoint: endpoint.clone(),
        timeout,
    }
}

/// Checks the status and granted TTL of IMDS's answer to the `PUT`; the
/// body, read next, is the token.
pub(crate) fn check_answer<RB>(
    response: Response<RB>,
    endpoint: &TokenEndpoint,
) -> Result<TokenBody<RB>, Error>
where
    RB: Body,
    RB::Error: Into<BoxError>,
{
    if response.status() != StatusCode::OK {
        return Err(Error::TokenRequestRefused {
            endpoint: endpoint.clone(),
            status: response.status(),
        });
    }
    let ttl = granted_ttl(response.headers()).map_err(|problem| Error::InvalidTokenResponse {
        endpoint: endpoint.clone(),
        problem,
    })?;
    let body = Limited::new(response.into_body(), MetadataToken::MAX_LEN).collect();
    Ok(TokenBody {
        body: Box::pin(body),
        ttl,
    })
}

/// The TTL IMDS granted, from the headers of its answer: plain decimal
/// digits that make a [`TokenTtl`].
fn granted_ttl(headers: &HeaderMap) -> Result<TokenTtl, TokenResponseProblem> {
    let value = headers
        .get(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS)
        .ok_or(TokenResponseProblem::MissingTtl)?
        .as_bytes();
    // Digits only: `u32::from_str` would also take a leading `+`.
    let digits_only = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    std::str::from_utf8(value)
        .ok()
        .filter(|_| digits_only)
        .and_then(|s| s.parse::<u32>().ok())
        .and_then(|secs| TokenTtl::from_secs(secs).ok())
        .ok_or(TokenResponseProblem::InvalidTtl)
}

/// The body of a 200 answer to the `PUT`, being read into a token: at most
/// [`MetadataToken::MAX_LEN`] bytes of it.
pub(crate) struct TokenBody<RB>
where
    RB: Body,
    RB::Error: Into<BoxError>,
{
    // Boxed: large, and read once per token.
    body: Pin<Box<Collect<Limited<RB>>>>,
    ttl: TokenTtl,
}

impl<RB> TokenBody<RB>
where
    RB: Body,
    RB::Error: Into<BoxError>,
{
    /// Reads on; ends with the token and the TTL IMDS granted for it.
    pub(crate) fn poll_token(
        &mut self,
        cx: &mut Context<'_>,
        endpoint: &TokenEndpoint,
    ) -> Poll<Result<(MetadataToken, TokenTtl), Error>> {
        let invalid = |problem| Error::InvalidTokenResponse {
            endpoint: endpoint.clone(),
            problem,
        };
        Poll::Ready(match ready!(self.body.as_mut().poll(cx)) {
            Ok(collected) => match MetadataToken::from_bytes(&collected.to_bytes()) {
                Ok(token) => Ok((token, self.ttl)),
                Err(reason) => Err(invalid(TokenResponseProblem::InvalidToken(reason))),
            },
            Err(source) if source.is::<LengthLimitError>() => {
                Err(invalid(TokenResponseProblem::BodyTooLarge))
            }
            Err(source) => Err(failed(endpoint, source)),
        })
    }
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
