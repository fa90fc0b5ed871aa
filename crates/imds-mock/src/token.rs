//! Session tokens: issuing, validating against the server clock, expiring.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use tokio::time::Instant;

use crate::random;
use crate::sync::lock;

/// The header a token PUT carries its requested TTL in, and the response
/// echoes the granted TTL in.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The header a read carries its token in.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The longest TTL IMDS grants: 6 hours.
pub const MAX_TTL_SECS: u64 = 21_600;

/// Why a TTL header was refused (each is a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TtlError {
    Missing,
    NotAnInteger,
    OutOfRange,
}

/// Parses a requested TTL: ASCII digits only, 1..=21600.
pub(crate) fn parse_ttl(value: Option<&HeaderValue>) -> Result<u64, TtlError> {
    let text = value
        .ok_or(TtlError::Missing)?
        .to_str()
        .map_err(|_| TtlError::NotAnInteger)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TtlError::NotAnInteger);
    }
    // All digits: a parse error can only be overflow, which is out of range.
    match text.parse::<u64>() {
        Ok(ttl) if (1..=MAX_TTL_SECS).contains(&ttl) => Ok(ttl),
        _ => Err(TtlError::OutOfRange),
    }
}

/// Every token issued and not yet forgotten, with its expiry instant.
/// Keyed by bytes, as tokens arrive in a header: a read is checked without
/// validating its header as UTF-8 first.
#[derive(Default)]
pub(crate) struct IssuedTokens {
    tokens: Mutex<HashMap<Box<[u8]>, Instant>>,
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token values themselves.
        f.debug_struct("IssuedTokens")
            .field("issued", &lock(&self.tokens).len())
            .finish()
    }
}

impl IssuedTokens {
    /// Issues a new token valid for `ttl` from `now`: 56 characters of
    /// base64url over 42 unguessable bytes, like the real ones in length.
    pub(crate) fn issue(&self, ttl: Duration, now: Instant) -> String {
        let token = URL_SAFE_NO_PAD.encode(random::bytes::<42>());
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, expires_at| now < *expires_at);
        tokens.insert(token.as_bytes().into(), now + ttl);
        token
    }

    /// How long `token` stays valid after `now` (never zero), or `None` for
    /// a token not issued here or expired.
    pub(crate) fn remaining(&self, token: &[u8], now: Instant) -> Option<Duration> {
        lock(&self.tokens)
            .get(token)
            .and_then(|expires_at| expires_at.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Forgets every token, as an IMDS restart would.
    pub(crate) fn expire_all(&self) {
        lock(&self.tokens).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(value: &str) -> Result<u64, TtlError> {
        parse_ttl(Some(&HeaderValue::from_str(value).unwrap()))
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(parse_ttl(None), Err(TtlError::Missing));
        assert_eq!(ttl("0"), Err(TtlError::OutOfRange));
        assert_eq!(ttl("1"), Ok(1));
        assert_eq!(ttl("21600"), Ok(21_600));
        assert_eq!(ttl("21601"), Err(TtlError::OutOfRange));
        assert_eq!(ttl("99999999999999999999999"), Err(TtlError::OutOfRange));
        assert_eq!(ttl("abc"), Err(TtlError::NotAnInteger));
        assert_eq!(ttl("-1"), Err(TtlError::NotAnInteger));
        assert_eq!(ttl("+5"), Err(TtlError::NotAnInteger));
        assert_eq!(ttl("1.5"), Err(TtlError::NotAnInteger));
        assert_eq!(ttl(""), Err(TtlError::NotAnInteger));
    }

    impl IssuedTokens {
        fn is_valid(&self, token: &[u8], now: Instant) -> bool {
            self.remaining(token, now).is_some()
        }
    }

    #[test]
    fn tokens_are_56_url_safe_chars_and_expire() {
        let issued = IssuedTokens::default();
        let now = Instant::now();
        let token = issued.issue(Duration::from_secs(10), now);
        assert_eq!(token.len(), 56);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(issued.is_valid(token.as_bytes(), now));
        assert!(issued.is_valid(token.as_bytes(), now + Duration::from_secs(9)));
        assert!(!issued.is_valid(token.as_bytes(), now + Duration::from_secs(10)));
        assert!(!issued.is_valid(b"not-a-token", now));
        assert_eq!(
            issued.remaining(token.as_bytes(), now + Duration::from_millis(2500)),
            Some(Duration::from_millis(7500))
        );
        assert_eq!(
            issued.remaining(token.as_bytes(), now + Duration::from_secs(10)),
            None
        );
        assert!(!format!("{issued:?}").contains(&token));
        issued.expire_all();
        assert!(!issued.is_valid(token.as_bytes(), now));
    }
}
