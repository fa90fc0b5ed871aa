//! The examples, run as tests against the embedded mock.

#[path = "../examples/quickstart.rs"]
mod quickstart;

#[path = "../examples/spot_drain.rs"]
mod spot_drain;

use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn quickstart_reads_values_with_one_token() {
    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let summary = quickstart::run(&mock.base_url()).await.unwrap();

    assert_eq!(summary.values.len(), 4);
    assert!(summary.values[0].1.starts_with("i-"), "{summary:?}");
    assert!(summary.values.iter().all(|(_, v)| !v.is_empty()));
    assert!(summary.one_token);
    assert_eq!(
        mock.stats().token_puts,
        1,
        "the second layer reused the token"
    );
}

#[tokio::test(start_paused = true)]
async fn spot_drain_waits_for_the_notice_then_drains_before_the_deadline() {
    let mock = Arc::new(imds_mock::MockImds::start_default().await.unwrap());
    spot_drain::announce_spot_termination(Arc::clone(&mock), Duration::from_secs(3));
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(mock.base_url())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let drained = spot_drain::run(&client).await.unwrap();

    let imds::events::Interruption::Spot(action) = &drained.interruption else {
        panic!("{drained:?}");
    };
    assert_eq!(action.action, "terminate");
    // Seen at the first poll after the notice (5 s apart, plus jitter),
    // then one job finished.
    let seen_and_drained = started.elapsed();
    assert!(
        seen_and_drained >= Duration::from_secs(5)
            && seen_and_drained <= Duration::from_millis(5_500) + spot_drain::JOB,
        "{seen_and_drained:?}"
    );
    assert!(drained.jobs_done >= 2, "{drained:?}");
    let left = drained.time_left.expect("a Spot notice has a deadline");
    assert!(
        left > spot_drain::MARGIN && left < Duration::from_secs(120),
        "{left:?}"
    );
    // The watch stopped with the wait.
    let reads = mock.stats().reads;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(mock.stats().reads, reads);
}

#[path = "../examples/axum_service.rs"]
mod axum_service;

#[path = "../examples/reqwest_layer.rs"]
mod reqwest_layer;

/// The axum service on 127.0.0.1, driven with concurrent requests to every
/// route: the values are the mock's, every handler read with the one token
/// the first request fetched, and every IMDS request carried the service's
/// user agent.
#[tokio::test]
async fn axum_handlers_share_one_token() {
    use imds_mock::defaults;
    use serde_json::{Value, json};

    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let client = axum_service::imds_client(&mock.base_url()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(axum_service::serve(listener, client, async {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let routes = ["/instance", "/placement", "/image"];
    let calls = (0..4).flat_map(|_| routes).map(|route| {
        let request = http.get(format!("{app}{route}")).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200, "{route}");
            let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            (route, body)
        }
    });
    for (route, body) in futures_util::future::join_all(calls).await {
        let expected = match route {
            "/instance" => json!({
                "instance_id": defaults::INSTANCE_ID,
                "instance_type": defaults::INSTANCE_TYPE,
            }),
            "/placement" => json!({
                "region": defaults::REGION,
                "availability_zone": defaults::AVAILABILITY_ZONE,
                "availability_zone_id": defaults::AVAILABILITY_ZONE_ID,
            }),
            _ => json!({ "ami_id": defaults::AMI_ID }),
        };
        assert_eq!(body, expected, "{route}");
    }

    let stats = mock.stats();
    assert_eq!(stats.token_puts, 1, "one token for every handler");
    assert_eq!(
        stats.path_count("/latest/meta-data/ami-id"),
        4,
        "the AMI is read for every request"
    );
    assert_eq!(
        stats.path_count("/latest/meta-data/instance-id"),
        1,
        "the instance ID is read once"
    );
    let log = mock.requests();
    assert!(
        log.iter().all(|r| r
            .user_agent
            .as_deref()
            .is_some_and(|agent| agent.starts_with("imds/")
                && agent.ends_with(&format!(" app/{}", axum_service::APP_ID)))),
        "{log:?}"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The layer over reqwest (tower-reqwest's adapter), plain and with retries:
/// the mock's values, one token for both stacks, the user agent on the PUT
/// and on every read.
#[tokio::test]
async fn reqwest_reads_through_the_layer() {
    use http_body_util::Empty;
    use imds_mock::defaults;

    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let summary = reqwest_layer::run(&mock.base_url()).await.unwrap();
    let expected = [defaults::INSTANCE_ID, defaults::REGION, defaults::AMI_ID];
    let values: Vec<&str> = summary.values.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, [expected, expected].concat());
    let first = summary.tokens[0].clone().expect("read with a token");
    assert!(summary.tokens.iter().all(|t| t.as_ref() == Some(&first)));

    let stats = mock.stats();
    assert_eq!((stats.token_puts, stats.reads), (1, 6));
    let log = mock.requests();
    assert_eq!(log[0].method, "PUT");
    assert!(
        log.iter()
            .all(|r| r.user_agent.as_deref() == Some(reqwest_layer::USER_AGENT)),
        "{log:?}"
    );

    // The retrying stack rides out 503s; the plain one reports them.
    let client = reqwest_layer::reqwest_client().unwrap();
    let layer = tower_imds::ImdsV2Layer::new();
    let url = format!("{}/latest/meta-data/instance-id", mock.base_url());
    let retrying = reqwest_layer::retrying(client.clone(), layer.clone());
    let plain = reqwest_layer::plain(client, layer);
    mock.fail_next(2, http::StatusCode::SERVICE_UNAVAILABLE);
    let (value, _) = reqwest_layer::read(&retrying, url.clone(), Empty::new())
        .await
        .unwrap();
    assert_eq!(value, defaults::INSTANCE_ID);
    assert_eq!(mock.stats().faults_injected, 2);
    mock.fail_next(1, http::StatusCode::SERVICE_UNAVAILABLE);
    let error = reqwest_layer::read(&plain, url, reqwest::Body::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("503"), "{error}");
}
