//! Waiting for IMDS: [`Client::wait_until_available`] and
//! [`Client::wait_for`], for boot scripts and services that start before
//! IMDS answers, or before the metadata of a network interface attached at
//! boot is there (it can lag 18 to 30 s behind the interface).
//!
//! Each attempt is one read through the client, with its token, retries
//! and timeout: a token refused right after it was issued (a 401 at first
//! boot) is fetched again inside the attempt. Between attempts the client
//! sleeps with tower's jittered exponential backoff (`retry::backoff`, its
//! jitter from tower's `HasherRng` like every retry of the client), and
//! never past the deadline.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokio::time::Instant;
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::util::rng::HasherRng;

use super::{Client, path};
use crate::error::Error;

/// The first pause between two attempts of a wait.
pub const WAIT_MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts of a wait: a path that appears
/// is seen at most this long (plus an attempt) after it does.
pub const WAIT_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What [`Client::wait_until_available`] reads: every instance has it.
const AVAILABLE_PATH: &str = "/latest/meta-data/instance-id";

/// Longer timeouts are taken as this: a deadline that far away cannot
/// overflow the clock.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Client {
    /// Waits until IMDS serves metadata (`meta-data/instance-id`), for at
    /// most `timeout`. See [`wait_for`](Self::wait_for).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// use std::time::Duration;
    ///
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// client.wait_until_available(Duration::from_secs(60)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_until_available(&self, timeout: Duration) -> Result<(), Error> {
        self.wait_for(AVAILABLE_PATH, timeout).await.map(drop)
    }

    /// Reads `path` until IMDS serves it, for at most `timeout`, and
    /// returns its value. `path` is a path as for [`get`](Self::get).
    ///
    /// Every failure is another reason to try again (no connection, a
    /// timeout, a 404 because the path is not there yet, a 401, 403, 429 or
    /// 5xx) except those that waiting cannot change: [`Error::Disabled`],
    /// [`Error::Config`] and [`Error::InvalidPath`], returned at once.
    /// Attempts are spaced by jittered exponential backoff from
    /// [`WAIT_MIN_BACKOFF`] up to [`WAIT_MAX_BACKOFF`]; an attempt still
    /// running at the deadline is cut short. When the time is up, the
    /// error is [`Error::NotReady`] with the last attempt's failure.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// use std::time::Duration;
    /// use imds::Error;
    ///
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let mac = client.wait_for("meta-data/mac", Duration::from_secs(30)).await?;
    /// assert_eq!(mac, "0e:8f:62:3a:d1:47");
    ///
    /// // A second network interface's metadata appears late; not here.
    /// let late = "meta-data/network/interfaces/macs/0e:00:00:00:00:02/local-ipv4s";
    /// let error = client.wait_for(late, Duration::from_millis(300)).await.unwrap_err();
    /// assert!(matches!(error, Error::NotReady { .. }), "{error}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for(&self, path: &str, timeout: Duration) -> Result<Bytes, Error> {
        let path = path::absolute(path)?;
        self.enabled()?;
        let timeout = timeout.min(FOREVER);
        let deadline = Instant::now() + timeout;
        let mut backoff = backoff();
        loop {
            let attempt_started = Instant::now();
            let last = match tokio::time::timeout_at(deadline, self.get(&path)).await {
                Ok(Ok(Some(value))) => return Ok(value),
                Ok(Ok(None)) => Error::Status {
                    status: StatusCode::NOT_FOUND,
                    path: path.clone(),
                },
                Ok(Err(error)) if waiting_cannot_help(&error) => return Err(error),
                Ok(Err(error)) => error,
                Err(_elapsed) => {
                    let endpoint = self.endpoint().unwrap_or("its IPv4 and IPv6 endpoints");
                    let last = Error::timeout(endpoint, deadline - attempt_started, None);
                    return Err(not_ready(path, timeout, last));
                }
            };
            let pause = backoff.next_backoff();
            if pause.deadline() >= deadline {
                tracing::debug!(%path, error = %last, "IMDS is not ready yet; waiting until the deadline");
                tokio::time::sleep_until(deadline).await;
                return Err(not_ready(path, timeout, last));
            }
            tracing::debug!(
                %path,
                error = %last,
                retry_in = ?pause.deadline() - Instant::now(),
                "IMDS is not ready yet"
            );
            pause.await;
        }
    }
}

/// A new backoff sequence. At [`WAIT_MAX_BACKOFF`] tower adds no more
/// jitter (it caps the sum); a wait is one instance's own business, so
/// the pauses before that are enough to keep processes started together
/// from polling in step at first.
fn backoff() -> ExponentialBackoff {
    ExponentialBackoffMaker::new(
        WAIT_MIN_BACKOFF,
        WAIT_MAX_BACKOFF,
        1.0,
        HasherRng::default(),
    )
    .expect("constant, valid backoff bounds")
    .make_backoff()
}

/// Failures that no amount of waiting changes.
fn waiting_cannot_help(error: &Error) -> bool {
    matches!(
        error,
        Error::Disabled(_) | Error::Config(_) | Error::InvalidPath { .. }
    )
}

fn not_ready(path: String, timeout: Duration, last: Error) -> Error {
    Error::NotReady {
        path,
        after: timeout,
        last: Box::new(last),
    }
}
