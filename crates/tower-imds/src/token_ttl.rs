//! How long a session token lives: a number of seconds IMDS accepts,
//! checked once, where it is made.

use std::{fmt, time::Duration};

/// The lifetime of an IMDSv2 session token: a whole number of seconds from
/// 1 to 21600 (6 hours), the range IMDS accepts and grants.
///
/// A value of this type is always in range, so a layer given one
/// ([`ImdsV2Layer::ttl`](crate::ImdsV2Layer::ttl)) never sends a `PUT` that
/// IMDS would refuse for its TTL. The TTL IMDS grants in its answer is
/// checked by the same rules.
///
/// ```
/// use std::time::Duration;
/// use tower_imds::TokenTtl;
///
/// let ttl = TokenTtl::from_secs(300)?;
/// assert_eq!(ttl.as_duration(), Duration::from_secs(300));
/// assert_eq!(ttl.to_string(), "300 s");
/// assert_eq!(TokenTtl::default(), TokenTtl::MAX);
/// assert!(TokenTtl::try_from(0).is_err());
/// # Ok::<(), tower_imds::InvalidTtl>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenTtl(u32);

impl TokenTtl {
    /// The longest lifetime IMDS grants, and the default: 21600 s (6 hours).
    pub const MAX: TokenTtl = TokenTtl(21_600);

    /// A lifetime of `secs` seconds, if it is between 1 and 21600.
    pub const fn from_secs(secs: u32) -> Result<TokenTtl, InvalidTtl> {
        if secs >= 1 && secs <= Self::MAX.0 {
            Ok(TokenTtl(secs))
        } else {
            Err(InvalidTtl { secs })
        }
    }

    /// The lifetime in seconds.
    pub const fn as_secs(self) -> u32 {
        self.0
    }

    /// The lifetime as a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.0.into())
    }
}

impl Default for TokenTtl {
    fn default() -> Self {
        Self::MAX
    }
}

/// `300 s`.
impl fmt::Display for TokenTtl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

impl TryFrom<u32> for TokenTtl {
    type Error = InvalidTtl;

    fn try_from(secs: u32) -> Result<Self, Self::Error> {
        Self::from_secs(secs)
    }
}

/// A token lifetime outside 1 to 21600 seconds, refused by
/// [`TokenTtl::from_secs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid IMDS token TTL of {secs} seconds: it must be between 1 and {} seconds",
    TokenTtl::MAX.0
)]
pub struct InvalidTtl {
    secs: u32,
}

impl InvalidTtl {
    /// The refused number of seconds.
    pub const fn secs(self) -> u32 {
        self.secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_one_to_21600_seconds() {
        for secs in [1, 300, 21_600] {
            let ttl = TokenTtl::from_secs(secs).unwrap();
            assert_eq!(ttl.as_secs(), secs);
            assert_eq!(ttl.as_duration(), Duration::from_secs(secs.into()));
            assert_eq!(TokenTtl::try_from(secs), Ok(ttl));
        }
        for secs in [0, 21_601, u32::MAX] {
            let refused = TokenTtl::from_secs(secs).unwrap_err();
            assert_eq!(refused.secs(), secs);
            assert_eq!(TokenTtl::try_from(secs), Err(refused));
            let message = refused.to_string();
            assert!(message.contains(&secs.to_string()), "{message}");
            assert!(message.contains("between 1 and 21600"), "{message}");
        }
    }

    #[test]
    fn max_is_six_hours_and_the_default() {
        assert_eq!(TokenTtl::MAX.as_duration(), Duration::from_secs(6 * 3600));
        assert_eq!(TokenTtl::default(), TokenTtl::MAX);
        assert_eq!(TokenTtl::MAX.to_string(), "21600 s");
        assert!(TokenTtl::from_secs(1).unwrap() < TokenTtl::MAX);
    }
}
