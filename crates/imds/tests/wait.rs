//! `Client::wait_for` and `wait_until_available` against imds-mock, on
//! tokio's paused clock: the waits, the backoff between attempts and the
//! mock's own delays are all virtual, so the timings asserted are exact.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use imds::client::WAIT_MAX_BACKOFF;
use imds::{Env, Error};
use imds_mock::MockImds;
use support::{bounded, client_for, closed_port, isolated};
use tokio::time::Instant;

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
/// A second network interface, whose metadata appears after it does.
const LATE: &str = "meta-data/network/interfaces/macs/0e:00:00:00:00:02/local-ipv4s";

#[tokio::test(start_paused = true)]
async fn waits_for_a_mock_started_late() {
    let url = closed_port().await;
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let client = isolated().endpoint(&url).build().unwrap();
    let started = Instant::now();
    let late_start = Duration::from_secs(5);
    let (waited, mock) = tokio::join!(
        client.wait_until_available(Duration::from_secs(60)),
        async {
            tokio::time::sleep(late_start).await;
            imds_mock::Config::default().start_on(addr).await.unwrap()
        }
    );
    waited.unwrap();
    let elapsed = started.elapsed();
    assert!(
        (late_start..=late_start + WAIT_MAX_BACKOFF).contains(&elapsed),
        "ready {elapsed:?} after the start, the mock came up after {late_start:?}"
    );
    // One successful read: the attempts before found nobody listening.
    assert_eq!(mock.stats().path_count(INSTANCE_ID), 1);
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test(start_paused = true)]
async fn waits_for_a_path_that_appears_late_polling_with_backoff() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let appears = Duration::from_secs(20);
    let started = Instant::now();
    let (value, ()) = tokio::join!(client.wait_for(LATE, Duration::from_secs(60)), async {
        tokio::time::sleep(appears).await;
        mock.set_metadata(LATE, "10.0.1.5");
    });
    assert_eq!(value.unwrap(), "10.0.1.5");
    let elapsed = started.elapsed();
    assert!(
        (appears..=appears + WAIT_MAX_BACKOFF).contains(&elapsed),
        "{elapsed:?}"
    );
    // Pauses of 100-200, 200-400, 400-800, 800-1600 and 1600-2000 ms, then
    // 2 s: 14 or 15 reads in 20 s. Polling every 100 ms would be 200.
    let reads = mock.stats().path_count(&format!("/latest/{LATE}"));
    assert!((14..=15).contains(&reads), "{reads} reads");
    // One token for all of them.
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test(start_paused = true)]
async fn rides_through_a_token_refused_right_after_it_was_issued() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    client.token().await.unwrap();
    // At first boot IMDS can refuse the token it has just issued.
    mock.fail_next(1, StatusCode::UNAUTHORIZED);
    let started = Instant::now();
    bounded(client.wait_until_available(Duration::from_secs(10)))
        .await
        .unwrap();
    // Within the first attempt: the layer fetched a new token at once.
    assert_eq!(started.elapsed(), Duration::ZERO);
    let stats = mock.stats();
    assert_eq!(stats.fault_statuses.get(&401), Some(&1));
    assert_eq!(stats.token_puts, 2);
}

#[tokio::test(start_paused = true)]
async fn gives_up_at_the_deadline_with_the_last_failure() {
    let client = isolated().endpoint(closed_port().await).build().unwrap();
    let started = Instant::now();
    let error = client
        .wait_until_available(Duration::from_secs(3))
        .await
        .unwrap_err();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "exactly the timeout"
    );
    let Error::NotReady { path, after, last } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        (path.as_str(), *after),
        (INSTANCE_ID, Duration::from_secs(3))
    );
    assert!(matches!(**last, Error::Unreachable { .. }), "{last:?}");
    assert!(error.is_unavailable());
    assert_eq!(
        error.to_string(),
        "IMDS did not serve /latest/meta-data/instance-id within 3s"
    );
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(
        source.starts_with("could not reach IMDS at http://127.0.0.1:"),
        "{source}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_path_that_never_appears_is_a_404_at_the_deadline() {
    let mock = MockImds::start_default().await.unwrap();
    let error = client_for(&mock)
        .wait_for(LATE, Duration::from_secs(5))
        .await
        .unwrap_err();
    let Error::NotReady { last, after, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*after, Duration::from_secs(5));
    assert!(
        matches!(&**last, Error::Status { status: StatusCode::NOT_FOUND, path } if path.ends_with("/local-ipv4s")),
        "{last:?}"
    );
    // IMDS answered: it is there, only the path is not.
    assert!(!error.is_unavailable());
}

#[tokio::test(start_paused = true)]
async fn an_attempt_still_running_at_the_deadline_is_cut_short() {
    let mock = MockImds::start_default().await.unwrap();
    // The token request gets no answer; the client's own timeout (1 s) is
    // longer than the wait.
    mock.stall_next(1);
    let started = Instant::now();
    let error = client_for(&mock)
        .wait_until_available(Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(500));
    let Error::NotReady { last, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        matches!(&**last, Error::Timeout { after, .. } if *after == Duration::from_millis(500)),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn what_waiting_cannot_change_fails_at_once() {
    let disabled = imds::Client::builder()
        .env(Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = disabled
        .wait_until_available(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Disabled(_)), "{error:?}");
    let mock = MockImds::start_default().await.unwrap();
    let error = client_for(&mock)
        .wait_for("meta-data/a b", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidPath { .. }), "{error:?}");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(mock.stats().reads, 0);
}
