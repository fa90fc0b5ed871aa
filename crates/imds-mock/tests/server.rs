//! The handle: stats and the request log, concurrency, IPv6, shutdown.

mod common;

use std::sync::Arc;

use common::{get, get_v2, send, token};
use http::{Method, StatusCode};
use imds_mock::{Config, MockImds, RecordedRequest, TOKEN_HEADER, TTL_HEADER};
use tokio::net::TcpStream;

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

/// method, path, has_token, has_ttl, has_forwarded_for, status
type Summary<'a> = (Method, &'a str, bool, bool, bool, Option<u16>);

#[test]
fn the_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<MockImds>();
}

#[tokio::test]
async fn stats_count_and_the_log_records_facts_not_values() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    assert_eq!(
        common::put_token(&server, "0").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&server, INSTANCE_ID, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let url = format!("{}{INSTANCE_ID}", server.base_url());
    send(Method::HEAD, &url, &[(TOKEN_HEADER, &token)])
        .await
        .unwrap();
    send(Method::POST, &url, &[]).await.unwrap();
    send(
        Method::PUT,
        &format!("{}/latest/api/token", server.base_url()),
        &[(TTL_HEADER, "60"), ("x-forwarded-for", "198.51.100.1")],
    )
    .await
    .unwrap();

    let stats = server.stats();
    assert_eq!(stats.token_requests, 3);
    assert_eq!(stats.token_puts, 1);
    assert_eq!(stats.reads, 3, "GET, GET, HEAD");
    assert_eq!(stats.path_count(INSTANCE_ID), 4);
    assert_eq!(stats.path_count("/latest/api/token"), 3);
    assert_eq!(stats.path_count("/latest/never"), 0);
    assert_eq!((stats.dropped, stats.faults_injected), (0, 0));

    let log = server.requests();
    let summary: Vec<Summary<'_>> = log
        .iter()
        .map(|r: &RecordedRequest| {
            (
                r.method.clone(),
                r.path.as_str(),
                r.has_token,
                r.has_ttl,
                r.has_forwarded_for,
                r.status.map(|s| s.as_u16()),
            )
        })
        .collect();
    let token_path = "/latest/api/token";
    assert_eq!(
        summary,
        vec![
            (Method::PUT, token_path, false, true, false, Some(200)),
            (Method::PUT, token_path, false, true, false, Some(400)),
            (Method::GET, INSTANCE_ID, true, false, false, Some(200)),
            (Method::GET, INSTANCE_ID, false, false, false, Some(401)),
            (Method::HEAD, INSTANCE_ID, true, false, false, Some(200)),
            (Method::POST, INSTANCE_ID, false, false, false, Some(405)),
            (Method::PUT, token_path, false, true, true, Some(403)),
        ]
    );
    let shown = format!("{log:?} {stats:?} {server:?}");
    assert!(!shown.contains(&token), "a token leaked into Debug output");

    server.clear_requests();
    assert!(server.requests().is_empty());
    assert_eq!(server.stats(), stats, "counters survive clear_requests");
}

#[tokio::test]
async fn credentials_never_show_in_debug_output() {
    let server = MockImds::start_default().await.unwrap();
    let creds = get_v2(
        &server,
        "/latest/meta-data/iam/security-credentials/imds-mock-role",
    )
    .await
    .json();
    let shown = format!("{server:?} {:?} {:?}", server.requests(), server.stats());
    for field in ["AccessKeyId", "SecretAccessKey", "Token"] {
        assert!(
            !shown.contains(creds[field].as_str().unwrap()),
            "{field} leaked"
        );
    }
    let config = Config::builder().user_data("password=hunter2").build();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_is_shared_across_tasks() {
    let server = Arc::new(MockImds::start_default().await.unwrap());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            assert_eq!(get_v2(&server, INSTANCE_ID).await.status, StatusCode::OK);
            server.stats().token_puts
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = server.stats();
    assert_eq!((stats.token_puts, stats.reads), (8, 8));
}

#[tokio::test]
async fn serves_on_ipv6_loopback() {
    let server = match Config::default().start_on("[::1]:0".parse().unwrap()).await {
        Ok(server) => server,
        Err(error) => {
            let reason = format!("IPv6 loopback unavailable here ({error})");
            assert!(
                std::env::var_os("CI").is_none(),
                "a skip fails in CI: {reason}"
            );
            skip_note(&format!("skipped: {reason}"));
            return;
        }
    };
    assert!(server.addr().is_ipv6());
    assert_eq!(
        server.base_url(),
        format!("http://[::1]:{}", server.addr().port())
    );
    let reply = get_v2(&server, INSTANCE_ID).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn base_url_has_no_trailing_slash() {
    let server = MockImds::start_default().await.unwrap();
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}", server.addr().port())
    );
    assert!(server.addr().ip().is_loopback());
}

#[tokio::test]
async fn dropping_the_handle_closes_the_port() {
    let server = MockImds::start_default().await.unwrap();
    let addr = server.addr();
    assert_eq!(get_v2(&server, INSTANCE_ID).await.status, StatusCode::OK);
    drop(server);
    let connect = TcpStream::connect(addr).await;
    assert!(connect.is_err(), "connected after drop: {connect:?}");
}

#[tokio::test]
async fn shutdown_is_graceful_and_closes_the_port() {
    let server = MockImds::start_default().await.unwrap();
    let addr = server.addr();
    // An idle keep-alive connection must not hold the shutdown up.
    let idle = TcpStream::connect(addr).await.unwrap();
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
    drop(idle);
}

#[tokio::test]
async fn a_fixed_port_can_be_reused_after_shutdown() {
    let server = MockImds::start_default().await.unwrap();
    let addr = server.addr();
    server.shutdown().await;
    let again = Config::default().start_on(addr).await.unwrap();
    assert_eq!(again.addr(), addr);
    assert_eq!(get_v2(&again, INSTANCE_ID).await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_server_on_several_addresses_shares_its_tokens_and_log() {
    let addrs = ["127.0.0.1:0".parse().unwrap(); 2];
    let server = Config::default().start_on_all(addrs).await.unwrap();
    let [first, second] = [server.addrs()[0], server.addrs()[1]];
    assert_ne!(first.port(), second.port());
    assert_eq!(server.addr(), first);
    assert_eq!(server.base_url(), format!("http://{first}"));
    // A token from one address reads at the other.
    let token = token(&server).await;
    let url = format!("http://{second}{INSTANCE_ID}");
    let reply = send(Method::GET, &url, &[(TOKEN_HEADER, &token)])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!((server.stats().token_puts, server.stats().reads), (1, 1));
    assert_eq!(server.requests().len(), 2);
    server.shutdown().await;
    for addr in [first, second] {
        assert!(TcpStream::connect(addr).await.is_err(), "{addr} still open");
    }
}

#[tokio::test]
async fn no_address_to_listen_on_is_an_error() {
    let error = Config::default().start_on_all([]).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    let error = Config::builder()
        .put_response_hop_limit(0)
        .build()
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("put_response_hop_limit"),
        "{error}"
    );
}

/// Says a test skipped, on the stderr handle itself: libtest captures
/// `eprintln!` of passing tests, and a skip must show.
fn skip_note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
