//! Where requests go: one endpoint, or, in auto mode, the winner of a race
//! between the IPv4 and IPv6 endpoints.
//!
//! # The race (auto mode)
//!
//! The first request is sent to the IPv4 endpoint alone. If it has not been
//! answered after the race delay (250 ms by default, RFC 8305's connection
//! attempt delay), the same request is also sent to the IPv6 endpoint; if
//! the IPv4 attempt fails before that, IPv6 starts at once. The first
//! endpoint to answer with any HTTP response (a 404 included) wins, the
//! other attempt is dropped, and every later request of the client and its
//! clones goes to the winner, for the client's lifetime.
//!
//! IPv4 goes first, unlike RFC 8305's IPv6-first order, because every EC2
//! instance serves IMDS on IPv4 while only Nitro instances with the IPv6
//! endpoint enabled serve it on IPv6: the usual winner should not pay the
//! delay.
//!
//! When both fail, the client reports the error of the endpoint that got
//! furthest (one that answered, say with a 403, beats one that could not be
//! reached; IPv4's on a tie) and remembers nothing: the next request races
//! again. Concurrent first requests do not race in parallel: one races, the
//! others wait for its winner.

use std::future::Future;
use std::time::Duration;

use http::Uri;
use tokio::sync::OnceCell;

use crate::config::Endpoint;
use crate::error::Error;

/// The request targets of a client.
#[derive(Debug)]
pub(crate) enum Endpoints {
    /// Every request goes here (`http://HOST[:PORT]`, no trailing slash).
    Single(String),
    /// Auto mode.
    Race(Race),
}

/// Auto mode's two endpoints, and the winner once there is one.
#[derive(Debug)]
pub(crate) struct Race {
    pub(crate) ipv4: String,
    pub(crate) ipv6: String,
    pub(crate) delay: Duration,
    pub(crate) winner: OnceCell<String>,
}

/// Where the next request goes.
pub(crate) enum Target<'a> {
    /// This endpoint.
    Known(&'a str),
    /// Auto mode before a winner is known: the race decides.
    Unraced(&'a Race),
}

/// `http://HOST[:PORT]`, without the trailing `/` a normalised endpoint URI
/// displays.
pub(crate) fn base(uri: &Uri) -> String {
    let text = uri.to_string();
    text.strip_suffix('/').map(str::to_owned).unwrap_or(text)
}

impl Endpoints {
    pub(crate) fn new(endpoint: &Endpoint, delay: Duration) -> Self {
        match endpoint {
            Endpoint::Single(uri) => Self::Single(base(uri)),
            Endpoint::Race { ipv4, ipv6 } => Self::Race(Race {
                ipv4: base(ipv4),
                ipv6: base(ipv6),
                delay,
                winner: OnceCell::new(),
            }),
        }
    }

    /// Where requests go now: the single endpoint, or the race's winner
    /// once there is one.
    pub(crate) fn current(&self) -> Option<&str> {
        match self.target() {
            Target::Known(base) => Some(base),
            Target::Unraced(_) => None,
        }
    }

    /// Where the next request goes: an endpoint, or a race to run.
    pub(crate) fn target(&self) -> Target<'_> {
        match self {
            Self::Single(base) => Target::Known(base),
            Self::Race(race) => match race.winner.get() {
                Some(winner) => Target::Known(winner),
                None => Target::Unraced(race),
            },
        }
    }
}

/// Which side of a race won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

/// Runs `ipv4`, then after `delay` (or at once if `ipv4` fails first)
/// `ipv6` as well; the first `Ok` wins and the other future is dropped.
pub(crate) async fn race<T>(
    ipv4: impl Future<Output = Result<T, Error>>,
    ipv6: impl Future<Output = Result<T, Error>>,
    delay: Duration,
) -> Result<(Family, T), Error> {
    let mut ipv4 = std::pin::pin!(ipv4);
    let mut ipv6 = std::pin::pin!(ipv6);

    let head_start = tokio::time::sleep(delay);
    tokio::select! {
        biased;
        result = &mut ipv4 => {
            return match result {
                Ok(value) => Ok((Family::V4, value)),
                Err(v4) => match ipv6.await {
                    Ok(value) => Ok((Family::V6, value)),
                    Err(v6) => Err(furthest(v4, v6)),
                },
            };
        }
        () = head_start => {}
    }

    tokio::select! {
        biased;
        result = &mut ipv4 => match result {
            Ok(value) => Ok((Family::V4, value)),
            Err(v4) => match ipv6.await {
                Ok(value) => Ok((Family::V6, value)),
                Err(v6) => Err(furthest(v4, v6)),
            },
        },
        result = &mut ipv6 => match result {
            Ok(value) => Ok((Family::V6, value)),
            Err(v6) => match ipv4.await {
                Ok(value) => Ok((Family::V4, value)),
                Err(v4) => Err(furthest(v4, v6)),
            },
        },
    }
}

/// Of two failures, the one that says more: IMDS answered beats IMDS was
/// not there; IPv4's on a tie.
fn furthest(v4: Error, v6: Error) -> Error {
    if v4.is_unavailable() && !v6.is_unavailable() {
        v6
    } else {
        v4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const DELAY: Duration = Duration::from_millis(250);

    fn unreachable() -> Error {
        Error::unreachable("http://x", "refused")
    }

    fn forbidden() -> Error {
        Error::Status {
            status: StatusCode::FORBIDDEN,
            path: "/latest/api/token".into(),
        }
    }

    async fn after<T>(delay: u64, value: Result<T, Error>) -> Result<T, Error> {
        tokio::time::sleep(Duration::from_millis(delay)).await;
        value
    }

    #[tokio::test(start_paused = true)]
    async fn a_prompt_ipv4_wins_and_ipv6_never_starts() {
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let ipv6 = async move {
            flag.store(true, Ordering::SeqCst);
            Ok(6)
        };
        let (family, value) = race(after(100, Ok(4)), ipv6, DELAY).await.unwrap();
        assert_eq!((family, value), (Family::V4, 4));
        assert!(!started.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_ipv4_loses_to_ipv6_after_the_delay() {
        let begin = tokio::time::Instant::now();
        let (family, _) = race(after(10_000, Ok(4)), after(10, Ok(6)), DELAY)
            .await
            .unwrap();
        assert_eq!(family, Family::V6);
        assert_eq!(begin.elapsed(), DELAY + Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_ipv4_starts_ipv6_at_once() {
        let begin = tokio::time::Instant::now();
        let (family, _) = race(
            after(5, Err::<u8, _>(unreachable())),
            after(1, Ok(6)),
            DELAY,
        )
        .await
        .unwrap();
        assert_eq!(family, Family::V6);
        assert_eq!(begin.elapsed(), Duration::from_millis(6));
        // After the delay, an IPv4 failure waits for IPv6.
        let (family, _) = race(
            after(300, Err::<u8, _>(unreachable())),
            after(500, Ok(6)),
            DELAY,
        )
        .await
        .unwrap();
        assert_eq!(family, Family::V6);
        // And an IPv6 failure waits for IPv4.
        let (family, _) = race(after(600, Ok(4)), after(1, Err(unreachable())), DELAY)
            .await
            .unwrap();
        assert_eq!(family, Family::V4);
    }

    #[tokio::test(start_paused = true)]
    async fn both_failing_reports_the_one_that_answered() {
        let error = race(
            after(1, Err::<u8, _>(unreachable())),
            after(1, Err(forbidden())),
            DELAY,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{error:?}");
        let error = race(
            after(1, Err::<u8, _>(forbidden())),
            after(1, Err(unreachable())),
            DELAY,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{error:?}");
        let error = race(
            after(1, Err::<u8, _>(unreachable())),
            after(1, Err(Error::timeout("http://6", DELAY, None))),
            DELAY,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    }

    #[test]
    fn bases_have_no_trailing_slash() {
        let uri: Uri = "http://[::1]:1338/".parse().unwrap();
        assert_eq!(base(&uri), "http://[::1]:1338");
        let endpoints = Endpoints::new(&Endpoint::Single(uri), DELAY);
        assert_eq!(endpoints.current(), Some("http://[::1]:1338"));
    }
}
