//! Parsers and checks for setting values. Each returns the reason a value is
//! rejected, which [`ConfigError`](super::ConfigError) puts in its message.

use std::time::Duration;

/// `true` or `false`, ignoring case.
pub(crate) fn parse_bool(text: &str) -> Result<bool, String> {
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false (case-insensitive)".into())
    }
}

/// A positive number of seconds, whole or decimal (`1`, `2.5`, `0.25`).
///
/// botocore reads an integer; accepting decimals as well costs nothing and
/// allows sub-second timeouts for fast probing off EC2. Exponents, signs,
/// `inf` and `NaN` are refused.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a positive number of seconds, such as 1 or 0.5";
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let dots = text.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != text.len() {
        return Err(EXPECTED.into());
    }
    let seconds: f64 = text.parse().map_err(|_| EXPECTED.to_owned())?;
    let timeout = Duration::try_from_secs_f64(seconds).map_err(|_| EXPECTED.to_owned())?;
    check_timeout(timeout).map(|()| timeout)
}

/// A timeout must be longer than zero.
pub(crate) fn check_timeout(timeout: Duration) -> Result<(), String> {
    if timeout.is_zero() {
        Err("the timeout must be longer than zero".into())
    } else {
        Ok(())
    }
}

/// A whole number of attempts, at least 1.
pub(crate) fn parse_attempts(text: &str) -> Result<u32, String> {
    let attempts = text
        .parse::<u32>()
        .map_err(|_| "expected a whole number of attempts, at least 1".to_owned())?;
    check_attempts(attempts).map(|()| attempts)
}

/// At least one attempt.
pub(crate) fn check_attempts(attempts: u32) -> Result<(), String> {
    if attempts == 0 {
        Err("at least 1 attempt is needed".into())
    } else {
        Ok(())
    }
}

/// An IAM role name: 1 to 128 characters out of letters, digits and
/// `+=,.@_-`. The name becomes a path segment of an IMDS request, so
/// anything else (`/`, `..` alone, spaces, control characters) is refused.
pub(crate) fn check_role_name(name: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if name.is_empty() || name.len() > 128 || !name.chars().all(valid_char) {
        Err("expected an IAM role name: 1 to 128 letters, digits or any of +=,.@_-".into())
    } else if name == "." || name == ".." {
        Err("a role name cannot be . or ..".into())
    } else {
        Ok(())
    }
}

/// An application ID, as the AWS SDKs take it: at least one character,
/// each a letter, a digit or one of ``!#$%&'*+-.^_`|~``, what a token of
/// the `User-Agent` header allows.
///
/// The SDKs recommend at most 50 characters and only warn beyond that; a
/// longer ID is accepted here too, with a warning from the caller, so that
/// an `AWS_SDK_UA_APP_ID` the SDKs take never stops IMDS reads.
pub(crate) fn check_app_id(id: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if id.is_empty() || !id.chars().all(valid_char) {
        Err("only letters, digits and any of !#$%&'*+-.^_`|~ are allowed, no spaces".into())
    } else {
        Ok(())
    }
}

/// The length beyond which the AWS SDKs warn about an application ID.
pub(crate) const APP_ID_RECOMMENDED_MAX: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for (text, value) in [
            ("true", true),
            ("TRUE", true),
            ("True", true),
            ("false", false),
            ("FaLsE", false),
        ] {
            assert_eq!(parse_bool(text), Ok(value), "{text}");
        }
        for text in ["", "1", "0", "yes", "no", "t", "truee", " true"] {
            assert!(parse_bool(text).is_err(), "{text}");
        }
    }

    #[test]
    fn timeouts() {
        for (text, millis) in [
            ("1", 1000),
            ("2", 2000),
            ("0.5", 500),
            ("1.25", 1250),
            (".5", 500),
            ("3.", 3000),
            ("007", 7000),
        ] {
            assert_eq!(
                parse_timeout(text),
                Ok(Duration::from_millis(millis)),
                "{text}"
            );
        }
        for text in [
            "",
            "0",
            "0.0",
            ".",
            "-1",
            "+1",
            "1e3",
            "inf",
            "NaN",
            "1s",
            "1.2.3",
            "1,5",
            " 1",
            "99999999999999999999999999",
        ] {
            assert!(parse_timeout(text).is_err(), "{text}");
        }
        assert!(check_timeout(Duration::ZERO).is_err());
        assert!(check_timeout(Duration::from_nanos(1)).is_ok());
    }

    #[test]
    fn attempts() {
        assert_eq!(parse_attempts("1"), Ok(1));
        assert_eq!(parse_attempts("4"), Ok(4));
        for text in ["", "0", "-1", "1.5", "four", "99999999999"] {
            assert!(parse_attempts(text).is_err(), "{text}");
        }
    }

    #[test]
    fn role_names() {
        for name in ["my-role", "Role_1", "a+b=c,d.e@f", &"r".repeat(128), "..a"] {
            assert_eq!(check_role_name(name), Ok(()), "{name}");
        }
        for name in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "a\nb",
            "röle",
            &"r".repeat(129),
            "a%2Fb",
        ] {
            assert!(check_role_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn app_ids() {
        for id in [
            "billing",
            "billing-agent_1.4",
            "a!#$%&'*+-.^_`|~z",
            &"x".repeat(80),
        ] {
            assert_eq!(check_app_id(id), Ok(()), "{id}");
        }
        for id in ["", "two words", "a/b", "a\tb", "é", "a\nb", "(x)", "a:b"] {
            assert!(check_app_id(id).is_err(), "{id}");
        }
    }
}
