//! Boot-stable values (instance ID, type, placement, account, MAC) are read
//! once and served from memory, by every clone, until `forget_cached`; and
//! the client's user agent on every request it sends.

mod support;

use std::time::Duration;

use http::StatusCode;
use imds::{Error, ImdsV2Layer};
use imds_mock::{MockImds, defaults};
use support::{builder_for, client_for};

#[tokio::test]
async fn the_second_instance_id_makes_no_request() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    let after_first = mock.stats();
    assert_eq!(after_first.path_count("/latest/meta-data/instance-id"), 1);

    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(
        client.clone().instance_id().await.unwrap(),
        defaults::INSTANCE_ID
    );
    assert_eq!(mock.stats(), after_first, "no request at all");
}

#[tokio::test]
async fn every_boot_stable_value_is_read_once() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    for _ in 0..3 {
        assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
        assert_eq!(
            client.instance_type().await.unwrap(),
            defaults::INSTANCE_TYPE
        );
        assert_eq!(client.region().await.unwrap(), defaults::REGION);
        assert_eq!(
            client.availability_zone().await.unwrap(),
            defaults::AVAILABILITY_ZONE
        );
        assert_eq!(
            client.availability_zone_id().await.unwrap(),
            defaults::AVAILABILITY_ZONE_ID
        );
        assert_eq!(client.account_id().await.unwrap(), defaults::ACCOUNT_ID);
        assert_eq!(client.mac().await.unwrap(), defaults::MAC);
    }
    let stats = mock.stats();
    assert_eq!(stats.reads, 7, "{:?}", stats.per_path);
    for path in [
        "instance-id",
        "instance-type",
        "placement/region",
        "placement/availability-zone",
        "placement/availability-zone-id",
        "mac",
    ] {
        assert_eq!(stats.path_count(&format!("/latest/meta-data/{path}")), 1);
    }
    assert_eq!(
        stats.path_count("/latest/dynamic/instance-identity/document"),
        1
    );
}

#[tokio::test]
async fn concurrent_first_reads_share_one_request() {
    let mock = MockImds::start_default().await.unwrap();
    // Every request waits, so all callers are there before the first
    // answer.
    mock.set_latency(Duration::from_millis(50));
    let client = client_for(&mock);
    let calls = (0..32).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.region().await })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap(), defaults::REGION);
    }
    let stats = mock.stats();
    assert_eq!(stats.path_count("/latest/meta-data/placement/region"), 1);
    assert_eq!(stats.token_puts, 1);
}

#[tokio::test]
async fn a_failed_read_is_not_kept() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(1).build().unwrap();
    client.token().await.unwrap();
    mock.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let error = client.instance_id().await.unwrap_err();
    assert!(
        matches!(error, Error::Status { status, .. } if status == 503),
        "{error:?}"
    );
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(
        mock.stats().path_count("/latest/meta-data/instance-id"),
        2,
        "read again after the failure"
    );
}

#[tokio::test]
async fn forget_cached_reads_again_for_every_clone() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let clone = client.clone();
    client.instance_id().await.unwrap();
    client.mac().await.unwrap();
    clone.forget_cached();
    client.instance_id().await.unwrap();
    clone.mac().await.unwrap();
    let stats = mock.stats();
    assert_eq!(stats.path_count("/latest/meta-data/instance-id"), 2);
    assert_eq!(stats.path_count("/latest/meta-data/mac"), 2);
    assert_eq!(stats.token_puts, 1, "the token is kept");
}

#[tokio::test]
async fn a_disabled_client_keeps_nothing() {
    let client = support::isolated().disabled(true).build().unwrap();
    client.forget_cached();
    assert!(matches!(
        client.instance_id().await,
        Err(Error::Disabled(_))
    ));
}

/// The User-Agent of each request `mock` logged, in order.
fn user_agents(mock: &MockImds) -> Vec<Option<String>> {
    mock.requests().into_iter().map(|r| r.user_agent).collect()
}

#[tokio::test]
async fn the_app_id_tags_every_request_and_wins_over_the_layer() {
    let mock = MockImds::start_default().await.unwrap();
    let layer = ImdsV2Layer::new().user_agent("from-layer/1".parse().unwrap());
    let client = builder_for(&mock)
        .app_id("billing-agent")
        .token_layer(layer.clone())
        .build()
        .unwrap();
    client.instance_id().await.unwrap();
    client.get("meta-data/ami-id").await.unwrap();
    client.token().await.unwrap();
    let expected = format!("imds/{} app/billing-agent", env!("CARGO_PKG_VERSION"));
    // The PUT and two reads.
    assert_eq!(user_agents(&mock), vec![Some(expected); 3]);

    // From the environment, as the AWS SDKs read it.
    mock.clear_requests();
    let client = builder_for(&mock)
        .env(imds::Env::from_map([("AWS_SDK_UA_APP_ID", "from-env")]))
        .build()
        .unwrap();
    client.instance_id().await.unwrap();
    let expected = format!("imds/{} app/from-env", env!("CARGO_PKG_VERSION"));
    assert_eq!(user_agents(&mock), vec![Some(expected); 2]);

    // Without an application ID, the layer's applies.
    mock.clear_requests();
    let client = builder_for(&mock)
        .token_layer(ImdsV2Layer::new().user_agent("from-layer/1".parse().unwrap()))
        .build()
        .unwrap();
    client.instance_id().await.unwrap();
    assert_eq!(user_agents(&mock), vec![Some("from-layer/1".to_owned()); 2]);
}

#[tokio::test]
async fn an_invalid_app_id_is_an_error_in_code_and_left_out_from_the_environment() {
    let error = support::isolated().app_id("a/b").build().unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid application ID \"a/b\" from the client builder"),
        "{error}"
    );

    // The AWS SDKs share AWS_SDK_UA_APP_ID and never refuse it: neither
    // does the client, which reads on without the tag.
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .env(imds::Env::from_map([("AWS_SDK_UA_APP_ID", "two words")]))
        .build()
        .unwrap();
    assert_eq!(client.settings().unwrap().app_id, None);
    client.instance_id().await.unwrap();
    assert_eq!(user_agents(&mock), vec![None; 2]);
}
