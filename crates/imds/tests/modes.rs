//! Probe and expected modes, and the auto endpoint mode's race, over real
//! loopback sockets.

mod support;

use std::time::Duration;

use imds::config::EndpointMode;
use imds::{Error, Mode};
use imds_mock::{MockImds, defaults};
use support::{Slammer, closed_port, ipv6_mock, isolated, read_instance_id};

#[tokio::test]
async fn probe_mode_gives_up_after_one_connection() {
    let slammer = Slammer::start().await;
    let client = isolated()
        .endpoint(slammer.url.clone())
        .attempts(4)
        .build()
        .unwrap();
    let error = client.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.is_unavailable());
    assert_eq!(slammer.accepted(), 1);
}

#[tokio::test]
async fn expected_mode_retries_until_the_attempts_are_spent() {
    let slammer = Slammer::start().await;
    let client = isolated()
        .endpoint(slammer.url.clone())
        .attempts(3)
        .mode(Mode::Expected)
        .build()
        .unwrap();
    let error = client.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert_eq!(slammer.accepted(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_final_in_probe_mode() {
    let url = closed_port().await;
    let client = isolated()
        .endpoint(url.clone())
        // A backoff this long would show if a retry happened.
        .backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = client.instance_id().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    match &error {
        Error::Unreachable { endpoint, .. } => assert_eq!(endpoint, &url),
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("AWS_EC2_METADATA_DISABLED"), "{message}");
}

#[tokio::test]
async fn refused_connections_are_retried_with_backoff_in_expected_mode_only() {
    // A fixed 50 ms backoff: three attempts wait twice.
    let backoff = Duration::from_millis(50);
    let url = closed_port().await;
    let expected = isolated()
        .endpoint(url.clone())
        .mode(Mode::Expected)
        .attempts(3)
        .backoff(backoff, backoff)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = expected.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(started.elapsed() >= 2 * backoff, "{:?}", started.elapsed());

    let probe = isolated()
        .endpoint(url)
        .attempts(3)
        .backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = probe.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "no backoff");
}

#[tokio::test]
async fn a_token_request_cut_off_is_final_in_probe_mode_and_retried_in_expected_mode() {
    let mock = MockImds::start_default().await.unwrap();
    let probe = isolated().endpoint(mock.base_url()).build().unwrap();
    mock.drop_next(2);
    let error = probe.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert_eq!(mock.stats().dropped, 1);

    let expected = isolated()
        .endpoint(mock.base_url())
        .mode(Mode::Expected)
        .build()
        .unwrap();
    // One drop left, then the PUT and the read go through.
    assert_eq!(expected.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(mock.stats().dropped, 2);
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test]
async fn auto_mode_prefers_a_prompt_ipv4_endpoint() {
    let Some(v6) = ipv6_mock().await else { return };
    let v4 = MockImds::start_default().await.unwrap();
    let client = isolated()
        .endpoint_mode(EndpointMode::Auto)
        .ipv4_endpoint(v4.base_url())
        .ipv6_endpoint(v6.base_url())
        .race_delay(Duration::from_secs(30))
        .build()
        .unwrap();
    assert_eq!(client.endpoint(), None, "no winner yet");
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(client.endpoint(), Some(v4.base_url().as_str()));
    let clone = client.clone();
    clone.region().await.unwrap();
    assert_eq!(v4.stats().reads, 2);
    assert_eq!(v6.stats().token_requests + v6.stats().reads, 0);
}

#[tokio::test]
async fn auto_mode_falls_over_to_ipv6_at_once_when_ipv4_is_refused() {
    let Some(v6) = ipv6_mock().await else { return };
    let client = isolated()
        .endpoint_mode(EndpointMode::Auto)
        .ipv4_endpoint(closed_port().await)
        .ipv6_endpoint(v6.base_url())
        // IPv6 starts as soon as IPv4 fails, not after the delay.
        .race_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(client.endpoint(), Some(v6.base_url().as_str()));
    // Remembered for later calls and for clones.
    client.clone().instance_type().await.unwrap();
    assert_eq!(v6.stats().reads, 2);
    assert_eq!(v6.stats().token_puts, 1);
}

#[tokio::test]
async fn auto_mode_races_ipv6_against_a_slow_ipv4() {
    let Some(v6) = ipv6_mock().await else { return };
    let v4 = MockImds::start_default().await.unwrap();
    v4.set_latency(Duration::from_secs(60));
    let client = isolated()
        .endpoint_mode(EndpointMode::Auto)
        .ipv4_endpoint(v4.base_url())
        .ipv6_endpoint(v6.base_url())
        .timeout(Duration::from_secs(120))
        .race_delay(Duration::from_millis(20))
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(client.endpoint(), Some(v6.base_url().as_str()));
    assert_eq!(v4.stats().token_requests, 1, "IPv4 was tried first");
}

#[tokio::test]
async fn auto_mode_with_both_unreachable_fails_and_races_again() {
    let client = isolated()
        .endpoint_mode(EndpointMode::Auto)
        .ipv4_endpoint(closed_port().await)
        .ipv6_endpoint(closed_port().await)
        .build()
        .unwrap();
    let error = client.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert_eq!(client.endpoint(), None, "a failure is not remembered");
}

#[tokio::test]
async fn auto_mode_concurrent_first_calls_share_one_race() {
    let Some(v6) = ipv6_mock().await else { return };
    let client = isolated()
        .endpoint_mode(EndpointMode::Auto)
        .ipv4_endpoint(closed_port().await)
        .ipv6_endpoint(v6.base_url())
        .build()
        .unwrap();
    let calls = (0..8).map(|_| read_instance_id(&client));
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap(), defaults::INSTANCE_ID);
    }
    assert_eq!(v6.stats().token_puts, 1);
    assert_eq!(v6.stats().reads, 8);
}
