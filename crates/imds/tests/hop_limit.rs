//! The container hop-limit case, with the default client: the token PUT is
//! never answered (its answer dies one hop short), reads still are.

#[path = "support/log_capture.rs"]
mod log_capture;
mod support;

use std::time::Duration;

use imds::error::HOP_LIMIT_HINT;
use imds::{Client, Error, ImdsV2Layer};
use imds_mock::{MockImds, defaults};
use support::{bounded, empty_env, read_instance_id};

/// The default timeout, which the client waits for the token PUT.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

fn default_client(mock: &MockImds) -> imds::ClientBuilder {
    // Only the environment is isolated: a developer's AWS_* variables.
    Client::builder().env(empty_env()).endpoint(mock.base_url())
}

#[tokio::test]
async fn an_unanswered_token_request_fails_after_the_timeout_naming_the_hop_limit() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_token_put_unanswered(true);
    let client = default_client(&mock).build().unwrap();
    let error = bounded(client.instance_id()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Timeout { after, .. } if *after == DEFAULT_TIMEOUT),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(HOP_LIMIT_HINT), "{message}");
    let stats = mock.stats();
    assert_eq!(stats.token_requests, 1, "one attempt: probe mode");
    assert_eq!(stats.reads, 0, "no read without a token");
}

#[tokio::test(flavor = "current_thread")]
async fn with_fallback_it_reads_over_imdsv1_and_warns_once() {
    let (captured, _guard) = log_capture::capture(tracing::Level::WARN);

    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    mock.set_token_put_unanswered(true);
    let client = default_client(&mock)
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            bounded(read_instance_id(&client)).await.unwrap(),
            defaults::INSTANCE_ID
        );
    }
    assert_eq!(bounded(client.region()).await.unwrap(), defaults::REGION);

    let stats = mock.stats();
    assert_eq!(stats.token_requests, 1, "the fallback is remembered");
    assert_eq!(stats.reads, 4);
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.method == http::Method::PUT || !r.has_token)
    );
    let log = captured.text();
    let warnings: Vec<&str> = log.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("falling back to IMDSv1"), "{log}");
    assert!(warnings[0].contains(&mock.base_url()), "{log}");
}

#[tokio::test]
async fn with_fallback_but_imdsv1_disabled_it_still_fails_with_the_hint() {
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    mock.set_token_put_unanswered(true);
    let client = default_client(&mock)
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .imdsv1_disabled(true)
        .build()
        .unwrap();
    let error = bounded(client.instance_id()).await.unwrap_err();
    assert!(error.to_string().contains(HOP_LIMIT_HINT), "{error}");
    assert_eq!(mock.stats().reads, 0);
}
