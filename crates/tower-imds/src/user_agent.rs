//! The caller tag: a `User-Agent` for the requests a layer sends, checked
//! once, where it is made.

use std::{fmt, str::FromStr};

use http::HeaderValue;

/// A `User-Agent` to tag IMDS requests with
/// ([`ImdsV2Layer::user_agent`](crate::ImdsV2Layer::user_agent)), so that
/// an operator auditing IMDS traffic on a host can tell applications apart.
///
/// Checked when it is made, as a header value: visible ASCII characters
/// with spaces or tabs between them, what RFC 9110 allows in a
/// `User-Agent`. Not a secret: `Debug` and `Display` show it.
///
/// ```
/// use tower_imds::UserAgent;
///
/// let agent = UserAgent::new("billing-agent/1.4 (host-7)")?;
/// assert_eq!(agent.as_str(), "billing-agent/1.4 (host-7)");
/// let error = "line\nbreak".parse::<UserAgent>().unwrap_err();
/// assert!(error.to_string().contains("byte 4"));
/// assert!(UserAgent::new("").is_err());
/// # Ok::<(), tower_imds::InvalidUserAgent>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserAgent(HeaderValue);

impl UserAgent {
    /// Checks `user_agent` as a header value.
    pub fn new(user_agent: &str) -> Result<Self, InvalidUserAgent> {
        parse(user_agent).map(Self)
    }

    /// The user agent.
    pub fn as_str(&self) -> &str {
        // Construction admits visible ASCII, spaces and tabs only, which
        // `to_str` reads back.
        self.0.to_str().unwrap_or_default()
    }

    /// The user agent as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserAgent").field(&self.as_str()).finish()
    }
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserAgent {
    type Err = InvalidUserAgent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for UserAgent {
    type Error = InvalidUserAgent;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for UserAgent {
    type Error = InvalidUserAgent;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

/// Why a string is not a [`UserAgent`]. It names the problem, not the
/// whole value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid IMDS user agent: {problem}; use visible ASCII characters and spaces, \
     such as \"my-service/1.2\""
)]
pub struct InvalidUserAgent {
    problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Problem {
    #[error("it is empty")]
    Empty,
    #[error("it starts or ends with whitespace, which HTTP drops")]
    SurroundingWhitespace,
    #[error("byte {position} is not visible ASCII or a space")]
    InvalidCharacter { position: usize },
}

/// `user_agent` as a header value: visible ASCII and inner spaces or tabs,
/// what RFC 9110 allows in a `User-Agent` (and `HeaderValue::to_str`
/// reads back).
fn parse(user_agent: &str) -> Result<HeaderValue, InvalidUserAgent> {
    let refuse = |problem| Err(InvalidUserAgent { problem });
    let bytes = user_agent.as_bytes();
    if bytes.is_empty() {
        return refuse(Problem::Empty);
    }
    if let Some(position) = bytes
        .iter()
        .position(|&b| !(b.is_ascii_graphic() || b == b' ' || b == b'\t'))
    {
        return refuse(Problem::InvalidCharacter { position });
    }
    if user_agent.trim() != user_agent {
        return refuse(Problem::SurroundingWhitespace);
    }
    HeaderValue::from_str(user_agent).or_else(|_| refuse(Problem::InvalidCharacter { position: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_ascii_with_inner_spaces_is_a_user_agent() {
        for good in [
            "a",
            "my-app/1.2",
            "billing/1.4 (linux; x86_64)",
            "a\tb",
            "~!#",
        ] {
            assert_eq!(parse(good).unwrap(), good);
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_problem() {
        let cases = [
            ("", Problem::Empty),
            (" ", Problem::SurroundingWhitespace),
            (" app", Problem::SurroundingWhitespace),
            ("app\t", Problem::SurroundingWhitespace),
            (
                "app\r\nX-Evil: 1",
                Problem::InvalidCharacter { position: 3 },
            ),
            ("caf\u{e9}", Problem::InvalidCharacter { position: 3 }),
            ("nul\0", Problem::InvalidCharacter { position: 3 }),
            ("\x7f", Problem::InvalidCharacter { position: 0 }),
        ];
        for (bad, problem) in cases {
            assert_eq!(parse(bad), Err(InvalidUserAgent { problem }), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn accepted_values_read_back_unchanged(value in "\\PC{0,40}") {
            if let Ok(header) = parse(&value) {
                proptest::prop_assert_eq!(header.to_str().ok(), Some(value.as_str()));
            }
        }
    }
}
