//! The layer with tower's retry, timeout and concurrency-limit layers, in
//! either order, over real HTTP against `imds-mock`.

mod support;

use std::time::Duration;

use http::StatusCode;
use imds_mock::MockImds;
use support::{fast_retries, http_client, layer_error, read};
use tower::{
    BoxError, ServiceBuilder, limit::ConcurrencyLimitLayer, retry::RetryLayer,
    timeout::TimeoutLayer, timeout::error::Elapsed, util::MapErrLayer,
};
use tower_imds::{Error, ImdsV2Layer};

#[tokio::test]
async fn retry_outside_timeout_inside() {
    let mock = MockImds::start_default().await.unwrap();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .layer(TimeoutLayer::new(Duration::from_secs(5)))
        .service(http_client());
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    let ok = read(&imds, &mock.base_url(), "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn retry_inside_the_layer_also_covers_the_token_put() {
    // The PUT goes through the wrapped service, so a retry layer below the
    // IMDS layer retries it too. The hyper-util error is boxed first, as
    // the policy speaks `BoxError`.
    let mock = MockImds::start_default().await.unwrap();
    let imds = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .layer(RetryLayer::new(fast_retries()))
        .layer(MapErrLayer::new(BoxError::from))
        .service(http_client());
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE); // the PUT, then its retry
    let ok = read(&imds, &mock.base_url(), "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.token_puts), (3, 1));
}

#[tokio::test]
async fn timeout_outside_cancels_a_hanging_token_fetch_cleanly() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    mock.set_token_put_unanswered(true);
    let imds = ServiceBuilder::new()
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .layer(ImdsV2Layer::new().token_timeout(Duration::from_secs(30)))
        .service(http_client());
    let err = read(&imds, &base, "/latest/meta-data/")
        .await
        .err()
        .unwrap();
    assert!(err.is::<Elapsed>(), "{err}");

    // The cancelled fetch left nothing behind: the next call fetches anew.
    mock.set_token_put_unanswered(false);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn timeout_inside_times_out_the_put_itself() {
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    let base = mock.base_url();
    mock.set_token_put_unanswered(true);
    let strict = ServiceBuilder::new()
        .layer(ImdsV2Layer::new().token_timeout(Duration::from_secs(30)))
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .service(http_client());
    let err = layer_error(
        read(&strict, &base, "/latest/meta-data/")
            .await
            .err()
            .unwrap(),
    );
    match err {
        Error::TokenRequestFailed { source, .. } => assert!(source.is::<Elapsed>(), "{source}"),
        other => panic!("unexpected {other}"),
    }

    let lenient = ServiceBuilder::new()
        .layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .service(http_client());
    assert_eq!(
        read(&lenient, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn concurrency_limit_in_either_order() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let outside = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(2))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    let inside = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .layer(ConcurrencyLimitLayer::new(2))
        .service(http_client());

    let mut tasks = Vec::new();
    for i in 0..32 {
        let (outside, inside, base) = (outside.clone(), inside.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                read(&outside, &base, "/latest/meta-data/instance-id").await
            } else {
                read(&inside, &base, "/latest/meta-data/instance-id").await
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status, StatusCode::OK);
    }
    assert_eq!(
        mock.stats().token_puts,
        2,
        "one per layer, whatever the concurrency"
    );
}
