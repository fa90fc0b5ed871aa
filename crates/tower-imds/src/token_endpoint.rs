//! Which IMDS a token belongs to: the scheme and authority of the requests.

use std::fmt;

use http::{
    Uri,
    uri::{Authority, PathAndQuery, Scheme},
};

use crate::header::TOKEN_PATH;

/// The scheme and authority (host and port) a token was issued by.
///
/// Tokens are cached per endpoint and are never sent to another one. Requests
/// with a relative URI (`/latest/meta-data/`, as inside some tower stacks)
/// share the endpoint with neither scheme nor authority.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenEndpoint {
    scheme: Option<Scheme>,
    authority: Option<Authority>,
}

impl TokenEndpoint {
    /// The endpoint a request to `uri` talks to.
    pub fn of(uri: &Uri) -> Self {
        Self {
            scheme: uri.scheme().cloned(),
            authority: uri.authority().cloned(),
        }
    }

    /// Whether a request to `uri` talks to this endpoint. Allocation-free, as
    /// it runs on every request.
    pub(crate) fn matches(&self, uri: &Uri) -> bool {
        self.scheme.as_ref() == uri.scheme()
            && match (&self.authority, uri.authority()) {
                // Bytes first: `Authority`'s `==` ignores ASCII case one
                // byte at a time, which cost more than the rest of a
                // cache hit; the same bytes are the usual case.
                (Some(ours), Some(theirs)) => ours.as_str() == theirs.as_str() || ours == theirs,
                (None, None) => true,
                _ => false,
            }
    }

    /// The URI scheme, if the requests carried one.
    pub fn scheme(&self) -> Option<&Scheme> {
        self.scheme.as_ref()
    }

    /// The host and port, if the requests carried them.
    pub fn authority(&self) -> Option<&Authority> {
        self.authority.as_ref()
    }

    /// `PUT` target for a token from this endpoint.
    pub(crate) fn token_uri(&self) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = self.scheme.clone();
        parts.authority = self.authority.clone();
        parts.path_and_query = Some(PathAndQuery::from_static(TOKEN_PATH));
        // Scheme and authority come from a valid URI, so the parts are valid.
        Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static(TOKEN_PATH))
    }
}

/// `scheme://host[:port]`. A user name or password in the authority is
/// left out: the endpoint is named in errors and logs.
impl fmt::Display for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(authority) = &self.authority else {
            return f.write_str("<relative URI>");
        };
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        f.write_str(authority.host())?;
        match authority.port() {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenEndpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_by_scheme_host_and_port_only() {
        let a = TokenEndpoint::of(&Uri::from_static("http://127.0.0.1:1338/latest/meta-data/"));
        assert!(a.matches(&Uri::from_static("http://127.0.0.1:1338/latest/user-data")));
        assert!(!a.matches(&Uri::from_static("http://127.0.0.1:1339/latest/user-data")));
        assert!(!a.matches(&Uri::from_static("https://127.0.0.1:1338/latest/user-data")));
        assert!(!a.matches(&Uri::from_static("/latest/user-data")));
        let named = TokenEndpoint::of(&Uri::from_static("http://imds.local:80/"));
        assert!(named.matches(&Uri::from_static("http://IMDS.Local:80/latest/")));
        assert!(!named.matches(&Uri::from_static("http://imds.locals:80/latest/")));
        assert!(!named.matches(&Uri::from_static("/latest/")));
        let relative = TokenEndpoint::of(&Uri::from_static("/latest/"));
        assert!(relative.matches(&Uri::from_static("/latest/meta-data/")));
        assert!(!relative.matches(&Uri::from_static("http://imds.local:80/latest/")));
        assert_eq!(a.to_string(), "http://127.0.0.1:1338");
        let secret = TokenEndpoint::of(&Uri::from_static("http://u:s3cret@[::1]:1338/latest/"));
        assert_eq!(secret.to_string(), "http://[::1]:1338");
        assert_eq!(format!("{secret:?}"), "TokenEndpoint(http://[::1]:1338)");
        let bare = TokenEndpoint::of(&Uri::from_static("h.local"));
        assert_eq!(bare.to_string(), "h.local");
        assert_eq!(a.token_uri(), "http://127.0.0.1:1338/latest/api/token");
    }

    #[test]
    fn relative_uris_get_a_relative_token_uri() {
        let e = TokenEndpoint::of(&Uri::from_static("/latest/meta-data/"));
        assert_eq!(e.token_uri(), "/latest/api/token");
        assert_eq!(e.to_string(), "<relative URI>");
    }

    #[test]
    fn ipv6_endpoints_display_with_brackets() {
        let e = TokenEndpoint::of(&Uri::from_static("http://[fd00:ec2::254]/latest/"));
        assert_eq!(e.to_string(), "http://[fd00:ec2::254]");
        assert_eq!(e.token_uri(), "http://[fd00:ec2::254]/latest/api/token");
    }
}
