//! Endpoint modes and endpoint addresses.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use http::uri::{Authority, Scheme};

/// The IMDS address in IPv4 mode (the default).
pub const DEFAULT_IPV4_ENDPOINT: &str = "http://169.254.169.254";
/// The IMDS address in IPv6 mode (Nitro instances, when enabled).
pub const DEFAULT_IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

/// Which IMDS address to use when no endpoint is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EndpointMode {
    /// `http://169.254.169.254`.
    #[default]
    Ipv4,
    /// `http://[fd00:ec2::254]`.
    Ipv6,
    /// Race both addresses and keep the winner. Our extension: the AWS SDKs
    /// only know `IPv4` and `IPv6`.
    Auto,
}

impl EndpointMode {
    /// The spelling used in configuration: `IPv4`, `IPv6` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
            Self::Auto => "auto",
        }
    }
}

impl fmt::Display for EndpointMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an [`EndpointMode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected IPv4, IPv6 or auto (case-insensitive)")]
pub struct ParseEndpointModeError;

impl FromStr for EndpointMode {
    type Err = ParseEndpointModeError;

    /// Parses `IPv4`, `IPv6` or `auto`, ignoring case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Ipv4, Self::Ipv6, Self::Auto]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(text))
            .ok_or(ParseEndpointModeError)
    }
}

/// The address(es) the client sends requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// One address: an explicit endpoint, or the one of the IPv4 or IPv6
    /// mode.
    Single(Uri),
    /// Auto mode: race both addresses and keep the winner.
    Race {
        /// The IPv4 candidate.
        ipv4: Uri,
        /// The IPv6 candidate.
        ipv6: Uri,
    },
}

/// Parses and normalises an endpoint: scheme `http` or `https`, a host, an
/// optional port, and no path (but a lone `/`), query, user name or
/// password. `http://h` and
/// `http://h/` are the same endpoint: the result's path is always `/`
/// (`http::Uri` always has one), so request URIs are built from its scheme
/// and authority.
pub(crate) fn parse_endpoint(text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|error| format!("not a URI ({error})"))?;
    let scheme = match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => Scheme::HTTP,
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => Scheme::HTTPS,
        Some(scheme) => return Err(format!("scheme must be http or https, not {scheme}")),
        None => return Err("expected an absolute URI such as http://169.254.169.254".into()),
    };
    let authority: Authority = match uri.authority() {
        Some(authority) if !authority.host().is_empty() => authority.clone(),
        _ => return Err("the URI has no host".into()),
    };
    // A password in the URI would show wherever the endpoint is named
    // (errors, logs, the CLI's cache file names).
    if authority.as_str().contains('@') {
        return Err("the URI must not hold a user name or password: IMDS takes none".into());
    }
    if let Some(port) = authority
        .as_str()
        .get(authority.host().len()..)
        .and_then(|rest| rest.strip_prefix(':'))
        && port.parse::<u16>().is_err()
    {
        return Err(format!("invalid port {port:?}"));
    }
    if !matches!(uri.path(), "" | "/") {
        return Err("the URI must not have a path".into());
    }
    if uri.query().is_some() {
        return Err("the URI must not have a query".into());
    }
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query("")
        .build()
        .map_err(|error| format!("not a URI ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_case_insensitively() {
        for (text, mode) in [
            ("IPv4", EndpointMode::Ipv4),
            ("ipv4", EndpointMode::Ipv4),
            ("IPV6", EndpointMode::Ipv6),
            ("ipv6", EndpointMode::Ipv6),
            ("auto", EndpointMode::Auto),
            ("AUTO", EndpointMode::Auto),
        ] {
            assert_eq!(text.parse::<EndpointMode>(), Ok(mode), "{text}");
        }
        for text in ["", "v4", "ip v4", "IPv4 ", "both"] {
            assert_eq!(
                text.parse::<EndpointMode>(),
                Err(ParseEndpointModeError),
                "{text}"
            );
        }
        assert_eq!(EndpointMode::default(), EndpointMode::Ipv4);
        assert_eq!(EndpointMode::Ipv6.to_string(), "IPv6");
    }

    #[test]
    fn endpoints_are_normalised() {
        for (text, expected) in [
            ("http://169.254.169.254", "http://169.254.169.254/"),
            ("http://169.254.169.254/", "http://169.254.169.254/"),
            ("HTTP://example.com:8080/", "http://example.com:8080/"),
            ("https://h:443", "https://h:443/"),
            ("http://[fd00:ec2::254]", "http://[fd00:ec2::254]/"),
            ("http://[::1]:1338/", "http://[::1]:1338/"),
            ("http://127.0.0.1:1338", "http://127.0.0.1:1338/"),
        ] {
            let uri = parse_endpoint(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(uri.to_string(), expected, "{text}");
            assert_eq!(uri.path(), "/", "{text}");
        }
        assert_eq!(
            DEFAULT_IPV4_ENDPOINT.parse::<Uri>().unwrap().host(),
            Some("169.254.169.254")
        );
        parse_endpoint(DEFAULT_IPV6_ENDPOINT).unwrap();
    }

    #[test]
    fn bad_endpoints_are_rejected() {
        for (text, reason) in [
            ("not a uri", "not a URI"),
            ("", "not a URI"),
            ("169.254.169.254", "absolute URI"),
            ("/latest", "absolute URI"),
            ("ftp://h", "scheme"),
            ("http://h/latest", "path"),
            ("http://h/?x=1", "query"),
            ("http://h:port", "invalid port"),
            ("http://h:", "invalid port"),
            ("http://h:70000", "invalid port"),
            ("http://[::1]:x", "invalid port"),
            ("http://user@h:1", "user name or password"),
            ("http://user:s3cret@h", "user name or password"),
        ] {
            let error = parse_endpoint(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
