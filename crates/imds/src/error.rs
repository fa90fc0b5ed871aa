//! The client's error: one variant per thing a caller can act on.
//!
//! No message ever contains a secret: not the session token, not
//! credentials, not user-data, not a response body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::config::{ConfigError, Source};

/// The path of the token request, as [`Error::Status`] names it when IMDS
/// refuses to issue a token (403: IMDS is turned off on the instance; 404 or
/// 405: the endpoint offers no IMDSv2).
pub use tower_imds::header::TOKEN_PATH;

/// A boxed error from the transport (the tower layer and the HTTP client).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A shared, cloneable error from the transport.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync>;

/// What to check when IMDS accepts a connection but does not answer: a
/// token `PUT` whose answer is lost on its way to a container is the usual
/// cause. Part of the message of [`Error::Timeout`], followed by
/// [`OFF_EC2_HINT`]. The same words as the token layer's own error.
pub use tower_imds::HOP_LIMIT_HINT;

/// One wording of the off-EC2 advice, for both hints that give it.
macro_rules! off_ec2_hint {
    () => {
        "off EC2, set AWS_EC2_METADATA_DISABLED=true to skip IMDS"
    };
}

/// What to do off EC2, where nothing answers at IMDS's address.
pub const OFF_EC2_HINT: &str = off_ec2_hint!();

/// What to check when no connection to IMDS can be made. Appended to the
/// message of [`Error::Unreachable`]. The hop limit does not refuse
/// connections (it drops answers), so it is not named here.
pub const UNREACHABLE_HINT: &str = concat!(
    off_ec2_hint!(),
    "; on EC2, check the endpoint settings (the IPv6 endpoint must be enabled on the \
     instance to be used)"
);

/// An IMDS request failed.
///
/// Cheap to clone (sources are shared), so one failed fetch can be handed to
/// every caller waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// IMDS is disabled; no request was made.
    #[error(
        "IMDS is disabled by {0}, so no request was made; unset it (or set it to false) to use IMDS"
    )]
    Disabled(Source),

    /// A setting is invalid, or the config file cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// IMDS could not be reached: no connection, or the connection failed.
    #[error("could not reach IMDS at {endpoint}; {UNREACHABLE_HINT}")]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// The transport's error.
        #[source]
        source: SharedError,
    },

    /// IMDS did not answer in time.
    #[error("IMDS at {endpoint} did not answer within {after:?}; {HOP_LIMIT_HINT}; {OFF_EC2_HINT}")]
    Timeout {
        /// The endpoint tried.
        endpoint: String,
        /// How long the client waited.
        after: Duration,
        /// The transport's error, when there is one.
        #[source]
        source: Option<SharedError>,
    },

    /// IMDS answered with a status the client does not expect here.
    #[error("IMDS answered {status} for {path}{}", status_hint(*.status))]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The request path.
        path: String,
    },

    /// IMDS answered, but the body cannot be used.
    #[error("IMDS answered {path} with an unusable body: {reason}")]
    BadResponse {
        /// The request path.
        path: String,
        /// What is wrong with the body (never its content).
        reason: ResponseError,
    },

    /// The path asked for cannot be sent: it is not a valid URI path, or it
    /// has a query or fragment.
    #[error("invalid IMDS path {path:?}: {reason}")]
    InvalidPath {
        /// The path, as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// No IAM role is attached to the instance, or the configured role is not
    /// the attached one.
    #[error("{}", NoRole(.role.as_deref()))]
    NoRole {
        /// The configured role, or `None` when discovery found none.
        role: Option<String>,
    },

    /// IMDS returned a credentials document whose `Code` is not `Success`.
    #[error(
        "IMDS could not provide credentials for role {role}: Code {code}{}{}",
        .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default(),
        code_hint(.code)
    )]
    Credentials {
        /// The role.
        role: String,
        /// The document's `Code`.
        code: String,
        /// The document's `Message`, when present.
        message: Option<String>,
    },

    /// [`Client::wait_for`](crate::Client::wait_for) (or
    /// [`wait_until_available`](crate::Client::wait_until_available)) gave
    /// up: IMDS did not serve the path within the time allowed. `last` says
    /// what the last attempt got.
    #[error("IMDS did not serve {path} within {after:?}")]
    NotReady {
        /// The path waited for.
        path: String,
        /// How long the client waited: the timeout it was given.
        after: Duration,
        /// The last attempt's failure (a 404 is [`Error::Status`]).
        #[source]
        last: Box<Error>,
    },
}

impl Error {
    /// Whether this error says IMDS is not there to answer: disabled by
    /// configuration, unreachable, or silent until the timeout. Credential
    /// chains move on to their next provider on these.
    ///
    /// A wait that gave up ([`Error::NotReady`]) is unavailable when its
    /// last attempt was.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Disabled(_) | Self::Unreachable { .. } | Self::Timeout { .. } => true,
            Self::NotReady { last, .. } => last.is_unavailable(),
            _ => false,
        }
    }

    /// An [`Error::Unreachable`] from a transport error.
    pub fn unreachable(endpoint: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unreachable {
            endpoint: endpoint.into(),
            source: Arc::from(source.into()),
        }
    }

    /// An [`Error::Timeout`], with the transport error when there is one.
    pub fn timeout(endpoint: impl Into<String>, after: Duration, source: Option<BoxError>) -> Self {
        Self::Timeout {
            endpoint: endpoint.into(),
            after,
            source: source.map(Arc::from),
        }
    }

    /// An [`Error::BadResponse`].
    pub fn bad_response(path: impl Into<String>, reason: ResponseError) -> Self {
        Self::BadResponse {
            path: path.into(),
            reason,
        }
    }
}

/// Why a response body cannot be used. Never holds the body's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Text was expected, but the body is not UTF-8.
    #[error("the body is not valid UTF-8 text")]
    NotUtf8,
    /// The body is larger than the client accepts.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body is not the JSON document expected.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A required field of a JSON document is missing.
    #[error("the field {0} is missing")]
    MissingField(&'static str),
    /// A tree walk went deeper than the client allows (a listing that
    /// contains itself, or a misbehaving endpoint).
    #[error("the tree is deeper than {limit} levels")]
    TooDeep {
        /// The limit, in levels below the walked path.
        limit: usize,
    },
    /// A tree walk found more entries than the client allows.
    #[error("the tree has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// A field has an invalid value.
    #[error("the field {field} is invalid: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it (never the value, which may be secret).
        reason: String,
    },
}

/// What a status usually means for IMDS, and what to do about it.
fn status_hint(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => " (the session token was refused: it expired or the instance requires IMDSv2)",
        403 => {
            " (IMDS is turned off for this instance: check its metadata options, \
             `HttpEndpoint=enabled`)"
        }
        429 => " (throttled: cache results and retry with backoff)",
        500..=599 => " (IMDS failed; retry later)",
        _ => "",
    }
}

/// A hint for well-known credentials codes.
fn code_hint(code: &str) -> &'static str {
    if code == "AssumeRoleUnauthorizedAccess" {
        "; check that the role's trust policy lets ec2.amazonaws.com assume it"
    } else {
        ""
    }
}

/// The message of [`Error::NoRole`].
struct NoRole<'a>(Option<&'a str>);

impl fmt::Display for NoRole<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str(
                "no IAM role is attached to this instance: attach an instance profile \
                 to get credentials from IMDS",
            ),
            Some(role) => write!(
                f,
                "IMDS has no credentials for the configured role {role}: check \
                 AWS_EC2_INSTANCE_PROFILE_NAME / ec2_instance_profile_name against \
                 the role attached to the instance"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn is_send_sync_clone_and_static() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn messages() {
        assert_eq!(
            Error::Disabled(Source::Env("AWS_EC2_METADATA_DISABLED")).to_string(),
            "IMDS is disabled by environment variable AWS_EC2_METADATA_DISABLED, so no \
             request was made; unset it (or set it to false) to use IMDS"
        );
        let error = Error::unreachable("http://169.254.169.254", "connection refused");
        assert_eq!(
            error.to_string(),
            format!("could not reach IMDS at http://169.254.169.254; {UNREACHABLE_HINT}")
        );
        assert!(!error.to_string().contains("HopLimit"), "{error}");
        assert_eq!(error.source().unwrap().to_string(), "connection refused");
        let error = Error::timeout("http://169.254.169.254", Duration::from_secs(1), None);
        assert!(
            error.to_string().starts_with(
                "IMDS at http://169.254.169.254 did not answer within 1s; if this runs in a container"
            ),
            "{error}"
        );
        assert!(error.source().is_none());
        let error = Error::Status {
            status: StatusCode::FORBIDDEN,
            path: "/latest/meta-data/".into(),
        };
        assert!(
            error.to_string().starts_with(
                "IMDS answered 403 Forbidden for /latest/meta-data/ (IMDS is turned off"
            ),
            "{error}"
        );
        let error = Error::Status {
            status: StatusCode::IM_A_TEAPOT,
            path: "/x".into(),
        };
        assert_eq!(error.to_string(), "IMDS answered 418 I'm a teapot for /x");
        let error = Error::bad_response("/x", ResponseError::MissingField("Token"));
        assert_eq!(
            error.to_string(),
            "IMDS answered /x with an unusable body: the field Token is missing"
        );
        assert!(
            Error::NoRole { role: None }
                .to_string()
                .starts_with("no IAM role is attached")
        );
        assert!(
            Error::NoRole {
                role: Some("r".into())
            }
            .to_string()
            .contains("configured role r")
        );
        let error = Error::Credentials {
            role: "r".into(),
            code: "AssumeRoleUnauthorizedAccess".into(),
            message: Some("denied".into()),
        };
        assert_eq!(
            error.to_string(),
            "IMDS could not provide credentials for role r: Code AssumeRoleUnauthorizedAccess \
             (denied); check that the role's trust policy lets ec2.amazonaws.com assume it"
        );
    }

    #[test]
    fn config_errors_convert() {
        let config = crate::config::resolve(
            &crate::config::Overrides::default(),
            &crate::Env::from_map([("AWS_METADATA_SERVICE_TIMEOUT", "x")]),
        )
        .unwrap_err();
        let message = config.to_string();
        assert_eq!(Error::from(config).to_string(), message);
    }
}
