//! What can go wrong while getting a session token.

use std::{sync::Arc, time::Duration};

use http::StatusCode;

use crate::TokenEndpoint;

/// What to check when the token `PUT` gets no answer: on EC2, the hop limit.
///
/// IMDS answers the `PUT` with an IP packet whose hop limit is the
/// instance's `HttpPutResponseHopLimit`, often 1; from a container
/// behind a bridge the answer needs one more hop, so it never arrives.
/// [`Error::TokenRequestTimedOut`] carries this hint, and the `imds` client
/// uses it in its own timeout error. It starts lower-case and has no full
/// stop, so a message can go on after it:
///
/// ```
/// use tower_imds::HOP_LIMIT_HINT;
///
/// let message = format!("IMDS did not answer within 1s; {HOP_LIMIT_HINT}");
/// assert!(message.contains("hop limit"));
/// assert!(message.contains("--http-put-response-hop-limit 2"));
/// ```
pub const HOP_LIMIT_HINT: &str = "if this runs in a container on EC2, the answer to the \
     token request may need one more network hop than the instance's hop limit allows: \
     raise the instance's HttpPutResponseHopLimit to 2 (aws ec2 \
     modify-instance-metadata-options --instance-id <instance-id> \
     --http-put-response-hop-limit 2)";

/// An error of the IMDSv2 layer.
///
/// The layer's services fail with [`tower::BoxError`]; when the failure is
/// the layer's own, it downcasts to this type (otherwise it is the wrapped
/// service's error, passed through untouched):
///
/// ```
/// # fn handle(err: tower::BoxError) {
/// match err.downcast_ref::<tower_imds::Error>() {
///     Some(tower_imds::Error::TokenRequestTimedOut { .. }) => { /* hop limit? */ }
///     Some(other) => eprintln!("IMDS token: {other}"),
///     None => eprintln!("transport: {err}"),
/// }
/// # }
/// ```
///
/// No variant ever holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// IMDS answered the token `PUT` with something other than 200 OK.
    #[error("IMDS token request to {endpoint} was refused with HTTP {status}: {}", refused_hint(*.status))]
    TokenRequestRefused {
        /// Where the `PUT` went.
        endpoint: TokenEndpoint,
        /// What IMDS answered.
        status: StatusCode,
    },

    /// No answer to the token `PUT` within the token timeout. On EC2 this is
    /// almost always the PUT response hop limit.
    #[error(
        "IMDS token request to {endpoint} got no answer within {timeout:?}; {HOP_LIMIT_HINT}, \
         or allow IMDSv1 with fallback_to_imdsv1(true)"
    )]
    TokenRequestTimedOut {
        /// Where the `PUT` went.
        endpoint: TokenEndpoint,
        /// The token timeout that ran out.
        timeout: Duration,
    },

    /// The token `PUT` failed in the wrapped service (connection refused,
    /// reset, ...) or its response body could not be read.
    #[error("IMDS token request to {endpoint} failed: {source}")]
    TokenRequestFailed {
        /// Where the `PUT` went.
        endpoint: TokenEndpoint,
        /// The wrapped service's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },

    /// IMDS answered 200 OK but the answer is not a usable token.
    #[error("invalid IMDS token response from {endpoint}: {problem}")]
    InvalidTokenResponse {
        /// Where the `PUT` went.
        endpoint: TokenEndpoint,
        /// What is wrong with it.
        problem: TokenResponseProblem,
    },
}

impl Error {
    /// Whether this failure means IMDSv2 is unavailable at the endpoint, so a
    /// layer with `fallback_to_imdsv1(true)` sends the request without a
    /// token: a 403, 404 or 405 to the `PUT`, a transport error or a timeout.
    /// A 400 never falls back: it means the layer sent a bad request.
    pub fn is_imdsv2_unavailable(&self) -> bool {
        match self {
            Error::TokenRequestRefused { status, .. } => matches!(
                *status,
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            Error::TokenRequestTimedOut { .. } | Error::TokenRequestFailed { .. } => true,
            Error::InvalidTokenResponse { .. } => false,
        }
    }
}

fn refused_hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "the TTL header was not accepted",
        StatusCode::FORBIDDEN => {
            "IMDS is disabled on this instance, or the request passed through a proxy \
             (X-Forwarded-For)"
        }
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
            "this endpoint does not offer IMDSv2 tokens; use fallback_to_imdsv1(true) if \
             IMDSv1 is acceptable"
        }
        StatusCode::TOO_MANY_REQUESTS => "throttled; retry with backoff",
        s if s.is_server_error() => "IMDS had an internal error; retry with backoff",
        _ => "unexpected status",
    }
}

/// What is wrong with a token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenResponseProblem {
    /// No `x-aws-ec2-metadata-token-ttl-seconds` response header.
    #[error("the TTL response header is missing")]
    MissingTtl,
    /// The TTL response header is not a [`TokenTtl`](crate::TokenTtl): a
    /// whole number of seconds from 1 to 21600, in plain decimal digits.
    #[error(
        "the TTL response header is not a whole number of seconds between 1 and {}",
        crate::TokenTtl::MAX.as_secs()
    )]
    InvalidTtl,
    /// The body is not a valid token.
    #[error("the body is not a valid token: {0}")]
    InvalidToken(crate::InvalidMetadataToken),
    /// The body is larger than any token can be.
    #[error("the body is larger than {} bytes", crate::MetadataToken::MAX_LEN)]
    BodyTooLarge,
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Uri;

    fn endpoint() -> TokenEndpoint {
        TokenEndpoint::of(&Uri::from_static("http://127.0.0.1:1338/"))
    }

    #[test]
    fn timeout_message_names_hop_limit_and_fix() {
        let e = Error::TokenRequestTimedOut {
            endpoint: endpoint(),
            timeout: Duration::from_secs(1),
        };
        let msg = e.to_string();
        assert!(msg.contains(HOP_LIMIT_HINT), "{msg}");
        assert!(msg.contains("hop limit"), "{msg}");
        assert!(msg.contains("--http-put-response-hop-limit 2"), "{msg}");
        assert!(msg.contains("http://127.0.0.1:1338"), "{msg}");
    }

    #[test]
    fn v1_fallback_only_on_unavailability() {
        let refused = |code: u16| Error::TokenRequestRefused {
            endpoint: endpoint(),
            status: StatusCode::from_u16(code).unwrap(),
        };
        for code in [403, 404, 405] {
            assert!(refused(code).is_imdsv2_unavailable(), "{code}");
        }
        for code in [400, 401, 429, 500, 503] {
            assert!(!refused(code).is_imdsv2_unavailable(), "{code}");
        }
        let invalid = Error::InvalidTokenResponse {
            endpoint: endpoint(),
            problem: TokenResponseProblem::MissingTtl,
        };
        assert!(!invalid.is_imdsv2_unavailable());
    }
}
