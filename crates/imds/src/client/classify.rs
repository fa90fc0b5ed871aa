//! What a failure of the stack means: the layer's and the transport's
//! errors classified (a connection that could not be made, a deadline that
//! ran out) and turned into the client's [`Error`].
//!
//! The retry policy ([`probe`](super::probe)) asks the same questions as
//! the error mapping, so both live here, below them.

use std::error::Error as StdError;
use std::time::Duration;

use tower::BoxError;
use tower::timeout::error::Elapsed;
use tower_imds::header::TOKEN_PATH;

use crate::error::{Error, ResponseError};

/// `error` and the errors it wraps, outermost first.
///
/// The cause of a `TokenRequestFailed` is read from its field: it is an
/// `Arc<dyn Error>`, and `Arc`'s own `Error::source` skips the error it
/// holds, so `source()` alone would never show it.
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&error| {
        match error.downcast_ref::<tower_imds::Error>() {
            Some(tower_imds::Error::TokenRequestFailed { source, .. }) => {
                Some(&**source as &(dyn StdError + 'static))
            }
            _ => error.source(),
        }
    })
}

/// Whether a connection could not be made.
pub(crate) fn is_connect_error(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| {
        if let Some(client) = error.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client.is_connect();
        }
        error.downcast_ref::<std::io::Error>().is_some_and(|io| {
            use std::io::ErrorKind::*;
            matches!(
                io.kind(),
                ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
            )
        })
    })
}

/// Whether something gave up waiting.
fn is_timeout(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| {
        error.is::<Elapsed>()
            || error
                .downcast_ref::<tower_imds::Error>()
                .is_some_and(|error| {
                    matches!(error, tower_imds::Error::TokenRequestTimedOut { .. })
                })
            || error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

/// What the client reports for a failure of the stack.
///
/// `timeout` is the per-attempt timeout, reported for deadlines that ran
/// out. Nothing here can hold a secret: the layer's errors never hold the
/// token, and transport errors hold no bodies.
pub(crate) fn map_error(error: BoxError, endpoint: &str, timeout: Duration) -> Error {
    if let Some(layer_error) = error.downcast_ref::<tower_imds::Error>() {
        match layer_error {
            tower_imds::Error::TokenRequestRefused { status, .. } => {
                return Error::Status {
                    status: *status,
                    path: TOKEN_PATH.to_owned(),
                };
            }
            tower_imds::Error::InvalidTokenResponse { problem, .. } => {
                return Error::bad_response(
                    TOKEN_PATH,
                    ResponseError::InvalidField {
                        field: "session token",
                        reason: problem.to_string(),
                    },
                );
            }
            tower_imds::Error::TokenRequestTimedOut { timeout, .. } => {
                let after = *timeout;
                return Error::timeout(endpoint, after, Some(error));
            }
            _ => {}
        }
    }
    if is_timeout(&*error) {
        Error::timeout(endpoint, timeout, Some(error))
    } else {
        Error::unreachable(endpoint, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::sync::Arc;
    use tower_imds::TokenEndpoint;

    fn endpoint() -> TokenEndpoint {
        TokenEndpoint::of(&http::Uri::from_static("http://127.0.0.1:1/"))
    }

    #[test]
    fn layer_errors_map_to_what_a_caller_can_act_on() {
        let timeout = Duration::from_secs(1);
        let refused: BoxError = Box::new(tower_imds::Error::TokenRequestRefused {
            endpoint: endpoint(),
            status: StatusCode::FORBIDDEN,
        });
        assert!(matches!(
            map_error(refused, "e", timeout),
            Error::Status { status: StatusCode::FORBIDDEN, path } if path == TOKEN_PATH
        ));
        let silent: BoxError = Box::new(tower_imds::Error::TokenRequestTimedOut {
            endpoint: endpoint(),
            timeout: Duration::from_millis(300),
        });
        let error = map_error(silent, "http://e", timeout);
        assert!(
            matches!(&error, Error::Timeout { after, .. } if *after == Duration::from_millis(300))
        );
        assert!(
            error.to_string().contains("HttpPutResponseHopLimit"),
            "{error}"
        );
        let failed: BoxError = Box::new(tower_imds::Error::TokenRequestFailed {
            endpoint: endpoint(),
            source: Arc::new(Elapsed::new()),
        });
        assert!(matches!(
            map_error(failed, "e", timeout),
            Error::Timeout { .. }
        ));
        let failed: BoxError = Box::new(tower_imds::Error::TokenRequestFailed {
            endpoint: endpoint(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        });
        assert!(matches!(
            map_error(failed, "e", timeout),
            Error::Unreachable { .. }
        ));
        assert!(matches!(
            map_error(Box::new(Elapsed::new()), "e", timeout),
            Error::Timeout { after, .. } if after == timeout
        ));
        assert!(matches!(
            map_error("reset".into(), "e", timeout),
            Error::Unreachable { .. }
        ));
    }
}
