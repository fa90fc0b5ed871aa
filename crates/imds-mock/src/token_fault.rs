//! Faults of the token endpoint alone ([`TokenPutFault`]), and
//! [`TokenReply`]: what a misbehaving IMDS answers to a token `PUT`, for
//! testing that clients refuse it.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

/// What happens to a token `PUT` under
/// [`MockImds::fault_next_token_puts`](crate::MockImds::fault_next_token_puts);
/// reads are left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPutFault {
    /// The connection is closed without a response.
    Drop,
    /// No answer: the connection stays open and silent until the client
    /// gives up (or the server shuts down).
    Stall,
    /// An error page with this status instead of a token.
    Status(StatusCode),
    /// `200 OK` with this body and TTL header instead of a token.
    Reply(TokenReply),
}

/// A `200 OK` answer to a token `PUT` that is not a token IMDS issued: the
/// body and the TTL response header are whatever the test says. Sent as
/// [`TokenPutFault::Reply`].
///
/// The token is not registered with the server: a read that carries it is
/// a 401, as for any unknown token.
///
/// ```
/// use imds_mock::TokenReply;
///
/// let empty = TokenReply::new("");                          // TTL header 21600
/// let no_ttl = TokenReply::new("AQAE-token").without_ttl_header();
/// let garbage = TokenReply::new("AQAE-token").ttl_header(b"-5");
/// let huge = TokenReply::new(vec![b'x'; 10 << 20]);
/// # let _ = (empty, no_ttl, garbage, huge);
/// ```
///
/// `Debug` shows the body's length only: a test may pass a realistic token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenReply {
    pub(crate) body: Bytes,
    pub(crate) ttl: Option<HeaderValue>,
}

impl TokenReply {
    /// `body` as the token, with a valid TTL header (`21600`).
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            ttl: Some(HeaderValue::from_static("21600")),
        }
    }

    /// Sends `value` as the TTL response header, byte for byte.
    ///
    /// # Panics
    ///
    /// If `value` cannot be sent as a header value at all (a control
    /// character other than tab, such as `\r` or `\n`).
    pub fn ttl_header(mut self, value: &[u8]) -> Self {
        let value = HeaderValue::from_bytes(value)
            .unwrap_or_else(|_| panic!("{value:?} cannot be sent as a header value"));
        self.ttl = Some(value);
        self
    }

    /// Sends no TTL response header.
    pub fn without_ttl_header(mut self) -> Self {
        self.ttl = None;
        self
    }
}

impl fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenReply")
            .field("body_len", &self.body.len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_body() {
        let reply = TokenReply::new("s3cr3t").ttl_header(b"abc");
        let debug = format!("{reply:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("body_len: 6"), "{debug}");
    }

    #[test]
    #[should_panic(expected = "cannot be sent as a header value")]
    fn a_header_value_with_a_line_break_is_refused() {
        let _ = TokenReply::new("t").ttl_header(b"1\r\n2");
    }
}
