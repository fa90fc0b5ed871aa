//! The caller tag: a `User-Agent` for the requests a layer sends, checked
//! once, where it is set.

use http::HeaderValue;

/// Why a string was refused as a user agent
/// ([`ImdsV2Layer::user_agent`](crate::ImdsV2Layer::user_agent)). It names
/// the problem, not the whole value.
///
/// ```
/// use tower_imds::ImdsV2Layer;
///
/// assert!(ImdsV2Layer::new().user_agent("billing/1.4 (host-agent)").is_ok());
/// let error = ImdsV2Layer::new().user_agent("line\nbreak").unwrap_err();
/// assert!(error.to_string().contains("byte 4"));
/// assert!(ImdsV2Layer::new().user_agent("").is_err());
/// ```
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
pub(crate) fn parse(user_agent: &str) -> Result<HeaderValue, InvalidUserAgent> {
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
