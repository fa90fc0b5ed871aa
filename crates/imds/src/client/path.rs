//! Request paths: what [`Client::get`](super::Client::get) accepts, and
//! listing entries turned into path segments.

use std::borrow::Cow;

use http::StatusCode;
use http::uri::PathAndQuery;

use crate::error::Error;

/// The prefix of relative paths.
pub(crate) const LATEST: &str = "/latest/";

/// The absolute request path for `path`.
///
/// - A path starting with `/` is sent as it is (`/latest/meta-data/ami-id`,
///   `/2021-07-15/meta-data/`, `/`).
/// - Any other path is relative to `/latest/` (`meta-data/ami-id`); the
///   empty path is `/latest/` itself.
///
/// The path must be a valid URI path (percent-encode anything else) with no
/// query or fragment.
pub(crate) fn absolute(path: &str) -> Result<String, Error> {
    let absolute = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{LATEST}{path}")
    };
    let invalid = |reason| Error::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if absolute.contains(['?', '#']) {
        return Err(invalid("IMDS paths have no query or fragment"));
    }
    PathAndQuery::try_from(absolute.as_str())
        .map_err(|_| invalid("not a valid URI path: percent-encode spaces and other characters"))?;
    Ok(absolute)
}

/// [`Error::Status`] 404 for `path`, relative to `/latest/`: what a getter
/// of something every instance has returns when IMDS does not serve it.
pub(crate) fn not_found(path: &str) -> Error {
    Error::Status {
        status: StatusCode::NOT_FOUND,
        path: format!("{LATEST}{path}"),
    }
}

/// [`absolute`] for the hot path ([`Client::get`](super::Client::get) and
/// its text and JSON forms): borrowed when `path` is already absolute, and
/// without the URI check, which would copy and parse the path only for the
/// request's URI to be parsed again. That parse (`Enabled::call`) fails on
/// exactly the paths the check refuses, and the caller then reports
/// [`absolute`]'s error. A query or fragment, which that parse would
/// accept, is refused here.
pub(crate) fn joined(path: &str) -> Result<Cow<'_, str>, Error> {
    if path.bytes().any(|b| b == b'?' || b == b'#') {
        return absolute(path).map(Cow::Owned);
    }
    Ok(if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("{LATEST}{path}"))
    })
}

/// `name` as one path segment: characters that are not safe in a path are
/// percent-encoded (tag keys may hold spaces). `None` for names that cannot
/// be a segment: empty, `.`, `..`, or holding a `/`.
pub(crate) fn segment(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        let safe = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
        if safe {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Some(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_paths() {
        assert_eq!(
            absolute("meta-data/ami-id").unwrap(),
            "/latest/meta-data/ami-id"
        );
        assert_eq!(absolute("").unwrap(), "/latest/");
        assert_eq!(
            absolute("/latest/meta-data/").unwrap(),
            "/latest/meta-data/"
        );
        assert_eq!(absolute("/").unwrap(), "/");
        assert_eq!(
            absolute("/2021-07-15/meta-data/").unwrap(),
            "/2021-07-15/meta-data/"
        );
    }

    #[test]
    fn joined_borrows_absolute_paths_and_refuses_queries() {
        let path = "/latest/meta-data/ami-id";
        assert!(matches!(joined(path).unwrap(), Cow::Borrowed(p) if p == path));
        assert_eq!(
            joined("meta-data/ami-id").unwrap(),
            "/latest/meta-data/ami-id"
        );
        assert_eq!(joined("").unwrap(), "/latest/");
        for path in ["x?y=1", "x#f", "/latest/?a"] {
            let error = joined(path).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidPath { path: p, .. } if p == path),
                "{path:?}: {error:?}"
            );
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        for path in ["a b", "x?y=1", "x#f", "line\nbreak", "\u{7f}", "tab\t"] {
            let error = absolute(path).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidPath { path: p, .. } if p == path),
                "{path:?}: {error:?}"
            );
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("Name").as_deref(), Some("Name"));
        assert_eq!(segment("a b").as_deref(), Some("a%20b"));
        assert_eq!(segment("k=v:x@y").as_deref(), Some("k=v:x@y"));
        assert_eq!(segment("ü").as_deref(), Some("%C3%BC"));
        assert_eq!(segment("50%").as_deref(), Some("50%25"));
        for bad in ["", ".", "..", "a/b"] {
            assert_eq!(segment(bad), None, "{bad:?}");
        }
        // Every encoded segment makes a valid path.
        for name in ["a b", "?#", "\n", "\u{0}", "é/"] {
            if let Some(segment) = segment(name) {
                absolute(&format!("meta-data/{segment}")).unwrap();
            }
        }
    }
}
