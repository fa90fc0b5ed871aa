//! The client against imds-mock: reads, typed getters, statuses, limits,
//! timeouts and the shared token.

mod support;

use std::time::Duration;

use http::StatusCode;
use imds::error::ResponseError;
use imds::{Error, ImdsV2Layer, TokenTtl};
use imds_mock::{DEFAULT_USER_DATA, MockImds, defaults};
use support::{builder_for, client_for, read_instance_id};

#[tokio::test]
async fn typed_getters_read_the_instance() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(
        client.instance_type().await.unwrap(),
        defaults::INSTANCE_TYPE
    );
    assert_eq!(
        client.availability_zone().await.unwrap(),
        defaults::AVAILABILITY_ZONE
    );
    assert_eq!(client.region().await.unwrap(), defaults::REGION);
    let document = client.identity_document().await.unwrap();
    assert_eq!(document.instance_id, defaults::INSTANCE_ID);
    assert_eq!(document.account_id, defaults::ACCOUNT_ID);
    assert_eq!(document.availability_zone, defaults::AVAILABILITY_ZONE);
    let info = client
        .iam_info()
        .await
        .unwrap()
        .expect("a role is attached");
    assert_eq!(info.code, "Success");
    assert_eq!(info.instance_profile_id, defaults::INSTANCE_PROFILE_ID);
    assert_eq!(mock.stats().token_puts, 1, "one token for every read");
}

#[tokio::test]
async fn region_falls_back_to_the_identity_document() {
    // An older instance without placement/region: the request for it is
    // sent to a path that does not exist.
    let mock = MockImds::start_default().await.unwrap();
    let http = support::plain_http();
    let without_region = tower::ServiceBuilder::new()
        .map_request(|mut request: http::Request<_>| {
            if request.uri().path() == "/latest/meta-data/placement/region" {
                let uri = request.uri().to_string().replace("/region", "/no-region");
                *request.uri_mut() = uri.parse().unwrap();
            }
            request
        })
        .service(http);
    let client = builder_for(&mock)
        .http_service(without_region)
        .build()
        .unwrap();
    assert_eq!(client.region().await.unwrap(), defaults::REGION);
    let stats = mock.stats();
    assert_eq!(stats.path_count("/latest/meta-data/placement/no-region"), 1);
    assert_eq!(
        stats.path_count("/latest/dynamic/instance-identity/document"),
        1
    );
}

#[tokio::test]
async fn a_missing_path_is_none_or_a_404_error() {
    let mock = MockImds::builder()
        .no_role()
        .no_user_data()
        .remove("meta-data/instance-id")
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    assert_eq!(client.get("meta-data/nothing-here").await.unwrap(), None);
    assert_eq!(client.get_text("meta-data/nothing").await.unwrap(), None);
    assert_eq!(client.iam_info().await.unwrap(), None);
    assert_eq!(client.user_data().await.unwrap(), None);
    assert_eq!(client.spot_instance_action().await.unwrap(), None);
    assert_eq!(client.tags().await.unwrap(), None, "tags are off");
    let error = client.instance_id().await.unwrap_err();
    assert!(
        matches!(&error, Error::Status { status: StatusCode::NOT_FOUND, path }
            if path == "/latest/meta-data/instance-id"),
        "{error:?}"
    );
    // 404s are answers, not failures: one request each, no retry.
    assert_eq!(mock.stats().path_count("/latest/meta-data/nothing-here"), 1);
}

#[tokio::test]
async fn relative_and_absolute_paths_read_the_same() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let relative = client.get("meta-data/ami-id").await.unwrap();
    let absolute = client.get("/latest/meta-data/ami-id").await.unwrap();
    assert_eq!(relative, absolute);
    assert_eq!(relative.unwrap(), defaults::AMI_ID);
    // The empty path is /latest/ itself.
    let root = client.get_text("").await.unwrap().unwrap();
    assert!(root.lines().any(|line| line == "meta-data"), "{root}");
    let error = client.get("meta-data/a b").await.unwrap_err();
    assert!(matches!(error, Error::InvalidPath { .. }), "{error:?}");
    let error = client.get("meta-data/?x=1").await.unwrap_err();
    assert!(matches!(error, Error::InvalidPath { .. }), "{error:?}");
}

#[tokio::test]
async fn text_and_json_helpers() {
    let mock = MockImds::builder()
        .metadata(
            "meta-data/spot/instance-action",
            r#"{"action": "terminate", "time": "2026-11-22T19:30:00Z"}"#,
        )
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    let action = client.spot_instance_action().await.unwrap().unwrap();
    assert_eq!(action.action, "terminate");
    assert!(action.deadline().is_some());
    let value: serde_json::Value = client
        .get_json("dynamic/instance-identity/document")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value["region"], defaults::REGION);
    // Text that is not JSON.
    let error = client
        .get_json::<serde_json::Value>("meta-data/ami-id")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::BadResponse {
                reason: ResponseError::Json(_),
                ..
            }
        ),
        "{error:?}"
    );
    // Bytes that are not text.
    let error = client.get_text("user-data").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::BadResponse {
                reason: ResponseError::NotUtf8,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn user_data_is_binary_safe() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let user_data = client.user_data().await.unwrap().unwrap();
    assert_eq!(&user_data[..], DEFAULT_USER_DATA);

    let all_bytes: Vec<u8> = (0..=255).collect();
    let mock = MockImds::builder()
        .user_data(all_bytes.clone())
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    assert_eq!(client.user_data().await.unwrap().unwrap(), all_bytes);
}

#[tokio::test]
async fn tags_when_enabled() {
    let mock = MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Team", "infra"), ("k=v:x@y", "odd")])
        .build()
        .start()
        .await
        .unwrap();
    let client = builder_for(&mock).concurrency(2).build().unwrap();
    let tags = client.tags().await.unwrap().unwrap();
    assert_eq!(tags.len(), 3, "{tags:?}");
    assert_eq!(tags["Name"], "web-1");
    assert_eq!(tags["Team"], "infra");
    assert_eq!(tags["k=v:x@y"], "odd");
}

#[tokio::test]
async fn responses_larger_than_the_limit_are_refused() {
    let mock = MockImds::builder()
        .user_data(vec![b'x'; 2048])
        .build()
        .start()
        .await
        .unwrap();
    let client = builder_for(&mock).max_response_size(1024).build().unwrap();
    let error = client.user_data().await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::BadResponse { path, reason: ResponseError::TooLarge { limit: 1024 } }
                if path == "/latest/user-data"
        ),
        "{error:?}"
    );
    // Exactly at the limit is fine.
    let client = builder_for(&mock).max_response_size(2048).build().unwrap();
    assert_eq!(client.user_data().await.unwrap().unwrap().len(), 2048);
}

#[tokio::test]
async fn clones_share_one_token_and_the_layer_shares_it_too() {
    let mock = MockImds::start_default().await.unwrap();
    let layer = ImdsV2Layer::new();
    let client = builder_for(&mock)
        .token_layer(layer.clone())
        .build()
        .unwrap();
    let clones: Vec<_> = (0..8).map(|_| client.clone()).collect();
    let reads = clones.iter().map(|c| c.instance_id());
    for result in futures_util::future::join_all(reads).await {
        assert_eq!(result.unwrap(), defaults::INSTANCE_ID);
    }
    assert_eq!(mock.stats().token_puts, 1);

    // A tower stack built with a clone of the client's layer uses the
    // same token.
    use tower::{ServiceBuilder, ServiceExt};
    let http = support::plain_http();
    let stack = ServiceBuilder::new().layer(layer).service(http);
    let request = http::Request::get(format!("{}/latest/meta-data/ami-id", mock.base_url()))
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = stack.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test]
async fn an_expired_token_is_replaced_after_a_401() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    read_instance_id(&client).await.unwrap();
    mock.expire_tokens();
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn the_ttl_asked_for_decides_when_the_token_is_refreshed() {
    let mock = MockImds::start_default().await.unwrap();
    let ttl = TokenTtl::from_secs(300).unwrap();
    let client = builder_for(&mock)
        .token_layer(ImdsV2Layer::new().ttl(ttl))
        .build()
        .unwrap();
    read_instance_id(&client).await.unwrap();
    // The client's clock is tokio's; the server's moves with advance_clock.
    // Past the TTL on the server, the cached token earns a 401 and is
    // replaced, and the read still succeeds.
    mock.advance_clock(Duration::from_secs(301));
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn server_errors_are_retried_up_to_the_attempts() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(3).build().unwrap();
    read_instance_id(&client).await.unwrap();
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    mock.fail_next(3, StatusCode::INTERNAL_SERVER_ERROR);
    let error = read_instance_id(&client).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Status {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(mock.stats().faults_injected, 5);
}

#[tokio::test]
async fn imds_turned_off_on_the_instance_is_a_403_on_the_token_request() {
    let mock = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    let error = client.instance_id().await.unwrap_err();
    assert!(
        matches!(&error, Error::Status { status: StatusCode::FORBIDDEN, path }
            if path == "/latest/api/token"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("HttpEndpoint=enabled"),
        "{error}"
    );
    assert_eq!(mock.stats().token_requests, 1, "403 is not retried");
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock)
        .timeout(Duration::from_millis(100))
        .attempts(1)
        .build()
        .unwrap();
    read_instance_id(&client).await.unwrap();
    mock.set_latency(Duration::from_secs(30));
    let error = read_instance_id(&client).await.unwrap_err();
    assert!(
        matches!(&error, Error::Timeout { after, .. } if *after == Duration::from_millis(100)),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unanswered_token_request_names_the_hop_limit() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_token_put_unanswered(true);
    let client = builder_for(&mock)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let error = client.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("HttpPutResponseHopLimit"), "{message}");
    // Probe mode (the default) does not retry a silent token request.
    assert_eq!(mock.stats().token_requests, 1);
    assert_eq!(mock.stats().reads, 0);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    read_instance_id(&client).await.unwrap();
    mock.drop_next(1);
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    assert_eq!(mock.stats().dropped, 1);
}

#[tokio::test]
async fn errors_and_debug_output_hold_no_secrets() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let credentials = client.credentials_provider().credentials().await.unwrap();
    let secrets = [
        credentials.secret_access_key().to_owned(),
        credentials.session_token().to_owned(),
    ];
    let user_data = client.user_data().await.unwrap().unwrap();
    let shown = format!(
        "{client:?} {:?} {:?} {credentials:?}",
        client.credentials_provider(),
        client.get_text("user-data").await.unwrap_err(),
    );
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "{shown}");
    }
    assert!(!shown.contains("#!/bin/sh"), "{shown}");
    assert!(!user_data.is_empty());
}

#[tokio::test]
async fn a_custom_http_service_is_wrapped_in_the_same_layers() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mock = MockImds::start_default().await.unwrap();
    let http = support::plain_http();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let counting = tower::ServiceBuilder::new()
        .map_request(move |request: http::Request<_>| {
            counter.fetch_add(1, Ordering::SeqCst);
            request
        })
        .service(http);
    let client = builder_for(&mock).http_service(counting).build().unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the token PUT and the read"
    );
    assert_eq!(mock.stats().token_puts, 1);
}

/// A token `mock` issued, asked for over plain HTTP.
async fn issued_token(mock: &MockImds) -> String {
    use http_body_util::BodyExt;
    let http = support::plain_http();
    let request = http::Request::put(format!("{}{}", mock.base_url(), imds_mock::TOKEN_PATH))
        .header(imds_mock::TTL_HEADER, "21600")
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = http.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn a_given_token_is_sent_and_none_is_asked_for() {
    let mock = MockImds::start_default().await.unwrap();
    let secret = issued_token(&mock).await;
    let layer = ImdsV2Layer::new().metadata_token(secret.parse().unwrap());
    let builder = builder_for(&mock).token_layer(layer);
    let shown_builder = format!("{builder:?}");
    let client = builder.build().unwrap();
    assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
    assert_eq!(
        client.user_data().await.unwrap().as_deref(),
        Some(DEFAULT_USER_DATA)
    );
    let stats = mock.stats();
    assert_eq!(stats.token_puts, 1, "the test's own PUT only");
    assert_eq!(stats.reads, 2);
    let reads: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == http::Method::GET)
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|r| r.has_token), "{reads:?}");
    // Neither the builder's Debug nor the client's shows it.
    for shown in [shown_builder, format!("{client:?}")] {
        assert!(shown.contains("metadata_token: Some("), "{shown}");
        assert!(!shown.contains(&secret), "{shown}");
    }
}
