//! Why a command failed, and its exit code: the one place both are decided.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other failure (IMDS answered something unusable, I/O error, binary data refused on a terminal, ...) |
//! | 2 | usage: bad flags or arguments, an invalid setting in the environment or `~/.aws/config` |
//! | 3 | not found: a path, the user data or the instance role does not exist |
//! | 4 | IMDS is disabled, unreachable, silent, or turned off on the instance; `wait` ran out of time |
//! | 5 | the instance identity was not verified: a signature or policy check failed |
//! | 126, 127 | `exec`: CMD cannot be run, or is not found (as shells say) |
//! | 129, 130, 143 | `events --watch --exec` stopped by SIGHUP, SIGINT or SIGTERM, after killing the command in progress |
//!
//! `imds events --watch` runs until it is killed, and reports failed polls
//! on stderr without stopping. It exits 0 as soon as `--until`'s event is
//! seen, or when stdout is closed; 1 when `--exec`'s command failed for the
//! event `--until` waited for; 4 when IMDS is disabled. With `--exec`, it
//! handles SIGINT, SIGTERM and SIGHUP itself (the command runs in a process
//! group of its own, out of a terminal's reach): it kills the command in
//! progress with its group and exits with 128 + the signal's number.

use std::error::Error as _;
use std::fmt;
use std::process::ExitCode;

use http::StatusCode;
use imds::error::TOKEN_PATH;

/// Success.
pub const OK: u8 = 0;
/// Any other failure.
pub const FAILURE: u8 = 1;
/// Bad flags, arguments or settings (clap exits with 2 as well).
pub const USAGE: u8 = 2;
/// What was asked for does not exist.
pub const NOT_FOUND: u8 = 3;
/// IMDS is disabled or cannot be reached.
pub const UNAVAILABLE: u8 = 4;
/// The instance identity was refused (`identity --verify`, `verify-identity`).
pub const NOT_VERIFIED: u8 = 5;
/// `exec`: the command was found but cannot be run.
pub const CANNOT_RUN: u8 = 126;
/// `exec`: the command was not found.
pub const COMMAND_NOT_FOUND: u8 = 127;

/// A failed command. Messages never hold a secret.
#[derive(Debug)]
pub enum Failure {
    /// The client failed.
    Imds(imds::Error),
    /// Something asked for does not exist; one line each.
    NotFound(Vec<String>),
    /// A bad argument clap could not catch.
    Usage(String),
    /// IMDSv2 gave no token (the layer fell back to IMDSv1).
    NoToken,
    /// The instance identity was refused: which check failed.
    NotVerified(String),
    /// Anything else.
    Other(String),
    /// `events --watch --exec` was stopped by a signal: 128 + its number.
    Stopped {
        /// The exit code.
        code: u8,
        /// Which signal, and what was killed.
        message: String,
    },
    /// `exec` could not run the command: [`CANNOT_RUN`] or
    /// [`COMMAND_NOT_FOUND`].
    CannotRun {
        /// The exit code.
        code: u8,
        /// What went wrong.
        message: String,
    },
}

impl Failure {
    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Imds(error) => imds_code(error),
            Self::NotFound(_) => NOT_FOUND,
            Self::Usage(_) => USAGE,
            Self::NoToken => UNAVAILABLE,
            Self::NotVerified(_) => NOT_VERIFIED,
            Self::Other(_) => FAILURE,
            Self::CannotRun { code, .. } | Self::Stopped { code, .. } => *code,
        }
    }

    /// Prints the message to stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        eprint!("{self}");
        ExitCode::from(self.code())
    }
}

/// The exit code for a client error.
fn imds_code(error: &imds::Error) -> u8 {
    use imds::Error;
    match error {
        Error::Disabled(_) | Error::Unreachable { .. } | Error::Timeout { .. } => UNAVAILABLE,
        // `wait` ran out of time, whatever the last attempt got.
        Error::NotReady { .. } => UNAVAILABLE,
        // 403: IMDS turned off on the instance; 404 or 405 to the token
        // request: the endpoint offers no IMDSv2.
        Error::Status { status, .. } if *status == StatusCode::FORBIDDEN => UNAVAILABLE,
        Error::Status { status, path }
            if path == TOKEN_PATH
                && matches!(
                    *status,
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ) =>
        {
            UNAVAILABLE
        }
        Error::Status { status, .. } if *status == StatusCode::NOT_FOUND => NOT_FOUND,
        Error::NoRole { .. } => NOT_FOUND,
        Error::Config(_) | Error::InvalidPath { .. } => USAGE,
        _ => FAILURE,
    }
}

impl From<imds::Error> for Failure {
    fn from(error: imds::Error) -> Self {
        Self::Imds(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::Other(format!("cannot write the output: {error}"))
    }
}

/// The client calls flags "the client builder"; a user typed them on the
/// command line, so say that.
fn command_line_message(error: &imds::Error) -> Option<String> {
    use imds::config::{ConfigError, Source};
    match error {
        imds::Error::Config(ConfigError::Invalid(invalid)) if invalid.origin == Source::Builder => {
            Some(format!(
                "invalid {} {:?} given on the command line: {}",
                invalid.setting, invalid.value, invalid.reason
            ))
        }
        _ => None,
    }
}

impl fmt::Display for Failure {
    /// `imds: MESSAGE` lines, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Imds(error) => {
                // Transport causes ("connection refused") hold no secret.
                // Some messages already include their cause: skip repeats.
                let mut message = command_line_message(error).unwrap_or_else(|| error.to_string());
                let mut source = error.source();
                while let Some(cause) = source {
                    let cause_text = cause.to_string();
                    if !message.contains(&cause_text) {
                        message.push_str(": ");
                        message.push_str(&cause_text);
                    }
                    source = cause.source();
                }
                writeln!(f, "imds: {message}")
            }
            Self::NotFound(lines) => lines
                .iter()
                .try_for_each(|line| writeln!(f, "imds: {line}")),
            Self::Usage(message)
            | Self::Other(message)
            | Self::NotVerified(message)
            | Self::CannotRun { message, .. }
            | Self::Stopped { message, .. } => {
                writeln!(f, "imds: {message}")
            }
            Self::NoToken => writeln!(
                f,
                "imds: IMDSv2 is not available at this endpoint (the request fell back to \
                 IMDSv1), so there is no token to print"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imds::config::Source;
    use std::time::Duration;

    fn status(status: StatusCode, path: &str) -> Failure {
        Failure::Imds(imds::Error::Status {
            status,
            path: path.into(),
        })
    }

    #[test]
    fn every_kind_of_failure_has_its_code() {
        let disabled = imds::Error::Disabled(Source::Env("AWS_EC2_METADATA_DISABLED"));
        assert_eq!(Failure::from(disabled).code(), UNAVAILABLE);
        let unreachable = imds::Error::unreachable("http://127.0.0.1:1", "connection refused");
        assert_eq!(Failure::from(unreachable).code(), UNAVAILABLE);
        let timeout = imds::Error::timeout("http://127.0.0.1:1", Duration::from_secs(1), None);
        assert_eq!(Failure::from(timeout).code(), UNAVAILABLE);
        assert_eq!(
            status(StatusCode::FORBIDDEN, "/latest/meta-data/").code(),
            UNAVAILABLE
        );
        assert_eq!(
            status(StatusCode::METHOD_NOT_ALLOWED, TOKEN_PATH).code(),
            UNAVAILABLE
        );
        assert_eq!(
            status(StatusCode::SERVICE_UNAVAILABLE, TOKEN_PATH).code(),
            FAILURE
        );
        assert_eq!(
            status(StatusCode::NOT_FOUND, "/latest/meta-data/x").code(),
            NOT_FOUND
        );
        assert_eq!(
            status(StatusCode::INTERNAL_SERVER_ERROR, "/latest/x").code(),
            FAILURE
        );
        assert_eq!(
            Failure::from(imds::Error::NoRole { role: None }).code(),
            NOT_FOUND
        );
        let invalid = imds::Error::InvalidPath {
            path: "a b".into(),
            reason: "not a valid URI path",
        };
        assert_eq!(Failure::from(invalid).code(), USAGE);
        assert_eq!(Failure::NotFound(vec!["x".into()]).code(), NOT_FOUND);
        assert_eq!(Failure::Usage("x".into()).code(), USAGE);
        assert_eq!(Failure::NoToken.code(), UNAVAILABLE);
        assert_eq!(Failure::NotVerified("x".into()).code(), NOT_VERIFIED);
        assert_eq!(Failure::Other("x".into()).code(), FAILURE);
        let not_ready = imds::Error::NotReady {
            path: "/latest/meta-data/x".into(),
            after: Duration::from_secs(1),
            last: Box::new(imds::Error::Status {
                status: StatusCode::NOT_FOUND,
                path: "/latest/meta-data/x".into(),
            }),
        };
        assert_eq!(Failure::from(not_ready).code(), UNAVAILABLE);
        let missing = Failure::CannotRun {
            code: COMMAND_NOT_FOUND,
            message: "x".into(),
        };
        assert_eq!(missing.code(), 127);
    }

    #[test]
    fn messages_are_prefixed_lines_with_their_causes() {
        let unreachable = imds::Error::unreachable("http://127.0.0.1:1", "connection refused");
        let message = Failure::from(unreachable).to_string();
        assert!(message.starts_with("imds: could not reach IMDS at http://127.0.0.1:1"));
        assert!(message.ends_with(": connection refused\n"), "{message}");
        assert_eq!(message.lines().count(), 1);
        let nested = std::io::Error::other("connect failed: refused");
        let message = Failure::from(imds::Error::unreachable("e", nested)).to_string();
        assert_eq!(message.matches("refused").count(), 1, "{message}");
        let missing = Failure::NotFound(vec!["a: not found".into(), "b: not found".into()]);
        assert_eq!(
            missing.to_string(),
            "imds: a: not found\nimds: b: not found\n"
        );
    }

    #[test]
    fn flags_are_named_as_given_on_the_command_line() {
        let error = imds::Client::builder()
            .env(imds::Env::from_map::<_, String, String>([]))
            .endpoint("not a url")
            .build()
            .unwrap_err();
        let failure = Failure::from(error);
        assert_eq!(failure.code(), USAGE);
        let message = failure.to_string();
        assert!(
            message.starts_with(
                "imds: invalid IMDS endpoint \"not a url\" given on the command line: "
            ),
            "{message}"
        );
        // Settings from elsewhere keep their origin.
        let env = imds::Env::from_map([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not a url")]);
        let error = imds::Client::builder().env(env).build().unwrap_err();
        let message = Failure::from(error).to_string();
        assert!(
            message.contains("from environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            "{message}"
        );
    }
}
