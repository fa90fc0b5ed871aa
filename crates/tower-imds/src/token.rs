//! The session token: a secret that never shows up in `Debug` output, and
//! how it rides on a request.

use std::{fmt, str::FromStr};

use http::{HeaderMap, HeaderValue, Request, Response};

use crate::header::X_AWS_EC2_METADATA_TOKEN;

/// An IMDSv2 session token.
///
/// The value is a secret: `Debug` prints `MetadataToken(<redacted>)`, and the
/// header value it produces is [marked sensitive](HeaderValue::set_sensitive),
/// so `Debug` of a request and tower-http's tracing layers do not print it
/// either. Read it explicitly with [`expose_secret`](Self::expose_secret).
///
/// Only visible ASCII (`!` to `~`) of at most 4096 bytes is accepted: what
/// IMDS issues, and always valid as an HTTP header value.
///
/// ```
/// use tower_imds::MetadataToken;
///
/// let token: MetadataToken = "AQAEAKnFwz5Dqk5LwU6ZBwZmS0vKbQ==".parse()?;
/// assert_eq!(format!("{token:?}"), "MetadataToken(<redacted>)");
/// assert!("line\nbreak".parse::<MetadataToken>().is_err());
/// # Ok::<(), tower_imds::InvalidMetadataToken>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MetadataToken(HeaderValue);

impl MetadataToken {
    /// The longest token accepted, in bytes. Real tokens are about 56.
    pub const MAX_LEN: usize = 4096;

    /// Validates `bytes` as a token.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMetadataToken> {
        if bytes.is_empty() {
            return Err(InvalidMetadataToken::Empty);
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(InvalidMetadataToken::TooLong { len: bytes.len() });
        }
        if let Some(position) = bytes.iter().position(|b| !b.is_ascii_graphic()) {
            return Err(InvalidMetadataToken::InvalidCharacter { position });
        }
        let mut value = HeaderValue::from_bytes(bytes)
            .map_err(|_| InvalidMetadataToken::InvalidCharacter { position: 0 })?;
        value.set_sensitive(true);
        Ok(Self(value))
    }

    /// The token itself. Handle with care: it grants access to the instance's
    /// metadata, including its role credentials, until it expires.
    pub fn expose_secret(&self) -> &str {
        // Construction admits visible ASCII only, so this cannot fail.
        self.0.to_str().unwrap_or_default()
    }

    /// The token as a header value, already marked sensitive.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Debug for MetadataToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetadataToken(<redacted>)")
    }
}

impl FromStr for MetadataToken {
    type Err = InvalidMetadataToken;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_bytes(s.as_bytes())
    }
}

impl TryFrom<&str> for MetadataToken {
    type Error = InvalidMetadataToken;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for MetadataToken {
    type Error = InvalidMetadataToken;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Why a value was refused as a [`MetadataToken`]. Never contains the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMetadataToken {
    /// The value was empty.
    #[error("metadata token is empty")]
    Empty,
    /// The value was longer than [`MetadataToken::MAX_LEN`].
    #[error(
        "metadata token is {len} bytes long; at most {} are accepted",
        MetadataToken::MAX_LEN
    )]
    TooLong {
        /// The length that was refused.
        len: usize,
    },
    /// The value held a byte other than visible ASCII.
    #[error(
        "metadata token has a character that is not visible ASCII at byte {position}; \
         tokens must be usable as an HTTP header value"
    )]
    InvalidCharacter {
        /// Offset of the first offending byte.
        position: usize,
    },
}

/// The token the layer sent with the request that produced `response`, so a
/// caller can reuse it (for example by putting it in the extensions of later
/// requests, or with [`ImdsV2Layer::metadata_token`](crate::ImdsV2Layer::metadata_token)).
///
/// `None` when the request went out without a token, after a fallback to
/// IMDSv1.
pub fn get_metadata_token<B>(response: &Response<B>) -> Option<&MetadataToken> {
    response.extensions().get::<MetadataToken>()
}

/// Sets (or, for IMDSv1, removes) the token header of `request`.
pub(crate) fn attach<B>(request: &mut Request<B>, token: Option<&MetadataToken>) {
    set_token_header(request.headers_mut(), token);
}

// Not generic, so compiled once, here, where the header's name is a known
// constant: the hash of the name folds away. Generic (in each caller's
// crate), the insert hashed the name on every request whenever the
// compiler chose not to inline it: ~115 more instructions per request
// (callgrind, BENCHMARKS.md P1).
fn set_token_header(headers: &mut HeaderMap, token: Option<&MetadataToken>) {
    match token {
        Some(token) => {
            headers.insert(X_AWS_EC2_METADATA_TOKEN, token.header_value().clone());
        }
        None => {
            headers.remove(X_AWS_EC2_METADATA_TOKEN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_tokens_and_marks_them_sensitive() {
        let token: MetadataToken = "AQAEAFbF3Kq-9_xYz0123456789abcdefghijklmnopqrstuvwx=="
            .parse()
            .unwrap();
        assert!(token.header_value().is_sensitive());
        assert_eq!(
            token.expose_secret(),
            "AQAEAFbF3Kq-9_xYz0123456789abcdefghijklmnopqrstuvwx=="
        );
    }

    #[test]
    fn refuses_values_that_are_not_header_safe() {
        assert_eq!(
            "".parse::<MetadataToken>(),
            Err(InvalidMetadataToken::Empty)
        );
        assert_eq!(
            "ab cd".parse::<MetadataToken>(),
            Err(InvalidMetadataToken::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            "abc\r\n".parse::<MetadataToken>(),
            Err(InvalidMetadataToken::InvalidCharacter { position: 3 })
        );
        assert!("tökén".parse::<MetadataToken>().is_err());
        assert_eq!(
            "x".repeat(4097).parse::<MetadataToken>(),
            Err(InvalidMetadataToken::TooLong { len: 4097 })
        );
        assert!(MetadataToken::try_from("x".repeat(4096)).is_ok());
    }

    #[test]
    fn debug_and_errors_never_show_the_value() {
        let token = MetadataToken::try_from("s3cr3t-token").unwrap();
        assert!(!format!("{token:?}").contains("s3cr3t"));
        let mut value = token.header_value().clone();
        value.set_sensitive(true);
        assert!(!format!("{value:?}").contains("s3cr3t"));
        let err = "s3cr3t token".parse::<MetadataToken>().unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cr3t"));
    }

    #[test]
    fn get_metadata_token_reads_response_extensions() {
        let token = MetadataToken::try_from("abc").unwrap();
        let mut response = Response::new(());
        assert!(get_metadata_token(&response).is_none());
        response.extensions_mut().insert(token.clone());
        assert_eq!(get_metadata_token(&response), Some(&token));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_accepted_exactly_when_header_safe(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            let valid = !bytes.is_empty()
                && bytes.len() <= MetadataToken::MAX_LEN
                && bytes.iter().all(u8::is_ascii_graphic);
            match MetadataToken::from_bytes(&bytes) {
                Ok(token) => {
                    proptest::prop_assert!(valid);
                    proptest::prop_assert_eq!(token.expose_secret().as_bytes(), &bytes[..]);
                    proptest::prop_assert_eq!(format!("{token:?}"), "MetadataToken(<redacted>)");
                }
                Err(_) => proptest::prop_assert!(!valid),
            }
        }
    }
}
