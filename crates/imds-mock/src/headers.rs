//! The headers a real instance sends beside the body (captured responses
//! are cited in the README, "Response headers"): `Server: EC2ws` and
//! `Connection: close` on everything; on a read's `200`, `Accept-Ranges:
//! none` and `Last-Modified`; on any answer to a read made with a valid
//! token, `X-aws-ec2-metadata-token-ttl-seconds` with what is left of the
//! token's lifetime. hyper adds `Date` and the exact `Content-Length`.

use std::time::{Duration, SystemTime};

use http::header::{ACCEPT_RANGES, CONNECTION, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue};

use crate::token::TTL_HEADER;
use crate::tree::defaults;

/// Marks a read's `200`: no ranges, and when its content last changed
/// (left out for a time an HTTP date cannot show: before 1970 or after
/// 9999, which only a clock moved that far by a test reaches).
pub(crate) fn read_ok(headers: &mut HeaderMap, last_modified: SystemTime) {
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
    if let Some(date) = http_date(last_modified) {
        headers.insert(LAST_MODIFIED, date);
    }
}

/// `time` as an HTTP date, if it has one (httpdate panics outside
/// 1970-9999).
fn http_date(time: SystemTime) -> Option<HeaderValue> {
    // 10000-01-01T00:00:00Z.
    const YEAR_10000: Duration = Duration::from_secs(253_402_300_800);
    let since = time.duration_since(std::time::UNIX_EPOCH).ok()?;
    (since < YEAR_10000)
        .then(|| HeaderValue::from_str(&httpdate::fmt_http_date(time)).ok())
        .flatten()
}

/// `X-aws-ec2-metadata-token-ttl-seconds` on a read with a valid token:
/// the seconds left, rounded up, so a token read in the second it was
/// issued shows its whole TTL (21600), as IMDS shows it.
pub(crate) fn remaining_ttl(headers: &mut HeaderMap, remaining: Duration) {
    let seconds = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    headers.insert(TTL_HEADER, HeaderValue::from(seconds));
}

/// `Connection: close`: IMDS answers one request per connection.
pub(crate) fn close(headers: &mut HeaderMap) {
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
}

/// When the instance launched (`pendingTime`, the configured one or the
/// default): the `Last-Modified` of everything but the role credentials,
/// which change when they rotate. The configured time was checked when the
/// config was; one that does not parse falls back to the default.
pub(crate) fn launch_time(pending_time: Option<&str>) -> SystemTime {
    pending_time
        .and_then(|time| humantime::parse_rfc3339_weak(time).ok())
        .or_else(|| humantime::parse_rfc3339(defaults::PENDING_TIME).ok())
        .unwrap_or(std::time::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remaining_ttl_rounds_up_to_whole_seconds() {
        let ttl = |d| {
            let mut headers = HeaderMap::new();
            remaining_ttl(&mut headers, d);
            headers[TTL_HEADER].to_str().unwrap().to_owned()
        };
        assert_eq!(ttl(Duration::from_secs(21_600)), "21600");
        assert_eq!(ttl(Duration::from_millis(21_599_001)), "21600");
        assert_eq!(ttl(Duration::from_millis(21_599_000)), "21599");
        assert_eq!(ttl(Duration::from_nanos(1)), "1");
    }

    #[test]
    fn last_modified_is_the_configured_launch_and_only_a_real_http_date() {
        let launched = launch_time(Some("2026-03-01T12:00:00Z"));
        let mut headers = HeaderMap::new();
        read_ok(&mut headers, launched);
        assert_eq!(headers[LAST_MODIFIED], "Sun, 01 Mar 2026 12:00:00 GMT");
        assert_eq!(
            launch_time(None),
            humantime::parse_rfc3339(defaults::PENDING_TIME).unwrap()
        );
        let far = std::time::UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        let mut headers = HeaderMap::new();
        read_ok(&mut headers, far);
        assert!(headers.get(LAST_MODIFIED).is_none());
        assert_eq!(headers[ACCEPT_RANGES], "none");
    }

    #[test]
    fn last_modified_is_an_http_date() {
        let mut headers = HeaderMap::new();
        read_ok(&mut headers, launch_time(None));
        assert_eq!(headers[LAST_MODIFIED], "Mon, 05 Jan 2026 08:30:00 GMT");
        assert_eq!(headers[ACCEPT_RANGES], "none");
    }
}
