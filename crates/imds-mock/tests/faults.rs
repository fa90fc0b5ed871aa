//! Injected faults, over real HTTP: latency, replaced statuses, a seeded
//! failure fraction, dropped connections, unanswered token PUTs, redirects.

mod common;

use std::time::Duration;

use common::{get, get_v2, send, token};
use http::{Method, StatusCode};
use imds_mock::{MockImds, TTL_HEADER};
use tokio::time::Instant;

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

#[tokio::test]
async fn latency_delays_every_response() {
    let server = MockImds::start_default().await.unwrap();
    let latency = Duration::from_millis(150);
    server.set_latency(latency);
    let started = Instant::now();
    let token = token(&server).await; // the PUT is delayed too
    assert!(started.elapsed() >= latency);
    let started = Instant::now();
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    // A lower bound only: the response cannot come before the latency.
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    server.set_latency(Duration::ZERO);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fail_next_replaces_the_next_n_responses() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Token PUTs count as responses too.
    let put = common::put_token(&server, "21600").await;
    assert_eq!(put.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(put.text().contains("503 - Service Unavailable"));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );

    server.fail_next(1, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    server.fail_next(1, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        get(&server, INSTANCE_ID, None).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    let stats = server.stats();
    assert_eq!(stats.faults_injected, 4);
    assert_eq!(stats.token_puts, 1, "the failed PUT issued no token");
}

async fn statuses(server: &MockImds, token: &str, n: usize) -> Vec<StatusCode> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(get(server, INSTANCE_ID, Some(token)).await.status);
    }
    out
}

#[tokio::test]
async fn fail_fraction_is_seeded_and_reproducible() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.fail_fraction(0.5, StatusCode::INTERNAL_SERVER_ERROR, 42);
    let first = statuses(&server, &token, 40).await;
    server.fail_fraction(0.5, StatusCode::INTERNAL_SERVER_ERROR, 42);
    let again = statuses(&server, &token, 40).await;
    assert_eq!(first, again, "same seed, same failures");
    let failed = first
        .iter()
        .filter(|s| **s == StatusCode::INTERNAL_SERVER_ERROR)
        .count();
    assert!((5..=35).contains(&failed), "{failed} of 40 failed");
    assert!(
        first
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::INTERNAL_SERVER_ERROR)
    );

    server.fail_fraction(1.0, StatusCode::SERVICE_UNAVAILABLE, 1);
    assert!(
        statuses(&server, &token, 5)
            .await
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE)
    );
    server.fail_fraction(0.0, StatusCode::SERVICE_UNAVAILABLE, 1);
    assert!(
        statuses(&server, &token, 5)
            .await
            .iter()
            .all(|s| *s == StatusCode::OK)
    );
}

#[tokio::test]
async fn drop_next_closes_connections_without_a_response() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.drop_next(2);
    let url = format!("{}{INSTANCE_ID}", server.base_url());
    for _ in 0..2 {
        let result = send(Method::GET, &url, &[(imds_mock::TOKEN_HEADER, &token)]).await;
        assert!(
            result.is_err(),
            "expected a connection error, got {result:?}"
        );
    }
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    let stats = server.stats();
    assert_eq!(stats.dropped, 2);
    let dropped: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status.is_none())
        .collect();
    assert_eq!(dropped.len(), 2);
}

#[tokio::test]
async fn unanswered_token_puts_hang_while_reads_still_work() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.set_token_put_unanswered(true);
    let client_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let put = tokio::time::timeout(client_timeout, common::put_token(&server, "21600")).await;
    assert!(put.is_err(), "the PUT was answered: {put:?}");
    assert!(started.elapsed() >= client_timeout);
    // A token obtained earlier keeps working: only PUTs are affected.
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    let logged = server.requests();
    let hung = logged
        .iter()
        .find(|r| r.method == Method::PUT && r.status.is_none());
    assert!(hung.is_some(), "{logged:?}");

    server.set_token_put_unanswered(false);
    assert_eq!(
        common::put_token(&server, "21600").await.status,
        StatusCode::OK
    );
    let stats = server.stats();
    assert_eq!(
        (
            stats.token_requests,
            stats.token_puts,
            stats.faults_injected
        ),
        (3, 2, 1)
    );
}

#[tokio::test]
async fn shutdown_cuts_off_an_unanswered_put() {
    let server = MockImds::start_default().await.unwrap();
    server.set_token_put_unanswered(true);
    let url = format!("{}/latest/api/token", server.base_url());
    let put = tokio::spawn(async move { send(Method::PUT, &url, &[(TTL_HEADER, "60")]).await });
    // Whether the PUT arrived before the shutdown or not, both must end
    // promptly: the hanging request is cut off rather than waited for.
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown finished");
    let result = tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("the PUT ended")
        .unwrap();
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn redirect_next_answers_307_with_the_location() {
    let server = MockImds::start_default().await.unwrap();
    let location = "http://127.0.0.1:9/latest/meta-data/instance-id";
    server.redirect_next(1, location);
    let put = common::put_token(&server, "21600").await; // PUTs are redirected too
    assert_eq!(put.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(put.header("location"), Some(location));
    assert_eq!(server.stats().token_puts, 0);
    let token = token(&server).await;
    server.redirect_next(1, location);
    let reply = get(&server, INSTANCE_ID, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(reply.header("location"), Some(location));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn clear_faults_turns_everything_off() {
    let server = MockImds::start_default().await.unwrap();
    server.fail_next(5, StatusCode::INTERNAL_SERVER_ERROR);
    server.fail_fraction(1.0, StatusCode::INTERNAL_SERVER_ERROR, 3);
    server.drop_next(5);
    server.set_token_put_unanswered(true);
    server.redirect_next(5, "http://127.0.0.1:9/");
    server.set_latency(Duration::from_secs(60));
    server.clear_faults();
    assert_eq!(get_v2(&server, INSTANCE_ID).await.status, StatusCode::OK);
    assert_eq!(server.stats().faults_injected, 0);
}
