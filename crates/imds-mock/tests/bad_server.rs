//! The knobs that make the mock a misbehaving IMDS, over real HTTP: stalls,
//! faults of token PUTs alone, malformed token answers, credential error
//! documents and odd listings.

mod common;

use std::time::Duration;

use common::{get, get_v2, put_token, token};
use http::StatusCode;
use imds_mock::{MockImds, TTL_HEADER, TokenPutFault, TokenReply};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
const CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";

/// How long a client here waits for an answer that must not come.
const GIVE_UP: Duration = Duration::from_millis(300);

#[tokio::test]
async fn stall_next_leaves_requests_of_any_kind_unanswered() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.stall_next(2);
    let read = tokio::time::timeout(GIVE_UP, get(&server, INSTANCE_ID, Some(&token))).await;
    assert!(read.is_err(), "the read was answered: {read:?}");
    let put = tokio::time::timeout(GIVE_UP, put_token(&server, "21600")).await;
    assert!(put.is_err(), "the PUT was answered: {put:?}");
    // The stall is over: both are answered again.
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(put_token(&server, "21600").await.status, StatusCode::OK);
    let stats = server.stats();
    assert_eq!((stats.unanswered, stats.faults_injected), (2, 2));
    assert_eq!(stats.token_puts, 2, "the stalled PUT issued no token");
}

#[tokio::test]
async fn token_put_faults_hit_token_puts_only() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;

    server.fault_next_token_puts(1, TokenPutFault::Drop);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    let url = format!("{}/latest/api/token", server.base_url());
    let dropped = common::send(http::Method::PUT, &url, &[(TTL_HEADER, "60")]).await;
    assert!(
        dropped.is_err(),
        "expected a closed connection: {dropped:?}"
    );

    server.fault_next_token_puts(1, TokenPutFault::Stall);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    let stalled = tokio::time::timeout(GIVE_UP, put_token(&server, "60")).await;
    assert!(stalled.is_err(), "the PUT was answered: {stalled:?}");

    server.fault_next_token_puts(2, TokenPutFault::Status(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    for _ in 0..2 {
        assert_eq!(
            put_token(&server, "60").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(put_token(&server, "60").await.status, StatusCode::OK);

    let stats = server.stats();
    assert_eq!(stats.dropped, 1);
    assert_eq!(stats.unanswered, 1);
    assert_eq!(stats.fault_statuses.get(&503), Some(&2));
    assert_eq!(stats.token_puts, 2);
    assert_eq!(stats.faults_injected, 3, "the stall and the two 503s");
}

#[tokio::test]
async fn a_token_reply_sends_any_body_and_ttl_header() {
    let server = MockImds::start_default().await.unwrap();
    let cases = [
        (TokenReply::new(""), Some("21600"), 0),
        (TokenReply::new("bad\x07token"), Some("21600"), 9),
        (TokenReply::new("tok").ttl_header(b"-5"), Some("-5"), 3),
        (TokenReply::new("tok").ttl_header(b"abc"), Some("abc"), 3),
        (TokenReply::new("tok").without_ttl_header(), None, 3),
        (
            TokenReply::new(vec![b'x'; 10 << 20]),
            Some("21600"),
            10 << 20,
        ),
    ];
    let n = cases.len();
    for (reply, ttl, len) in cases {
        server.fault_next_token_puts(1, TokenPutFault::Reply(reply));
        let put = put_token(&server, "21600").await;
        assert_eq!(put.status, StatusCode::OK);
        assert_eq!(put.header(TTL_HEADER), ttl);
        assert_eq!(put.body.len(), len);
    }
    // Non-visible bytes in the header go out byte for byte.
    server.fault_next_token_puts(
        1,
        TokenPutFault::Reply(TokenReply::new("tok").ttl_header(b"6\xff0")),
    );
    let put = put_token_raw_ttl(&server).await;
    assert_eq!(put, b"6\xff0");
    // The replies are not tokens: reads with them are refused.
    server.fault_next_token_puts(1, TokenPutFault::Reply(TokenReply::new("fake-token")));
    assert_eq!(put_token(&server, "21600").await.text(), "fake-token");
    assert_eq!(
        get(&server, INSTANCE_ID, Some("fake-token")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let stats = server.stats();
    assert_eq!(stats.token_puts, 0);
    assert_eq!(stats.fault_statuses.get(&200), Some(&(n as u64 + 2)));
}

/// The raw bytes of the TTL header of a token PUT's answer.
async fn put_token_raw_ttl(server: &MockImds) -> Vec<u8> {
    let url = format!("{}/latest/api/token", server.base_url());
    let reply = common::send(http::Method::PUT, &url, &[(TTL_HEADER, "60")])
        .await
        .unwrap();
    reply.headers[TTL_HEADER].as_bytes().to_vec()
}

#[tokio::test]
async fn a_credentials_error_document_replaces_the_credentials() {
    let server = MockImds::start_default().await.unwrap();
    let before = get_v2(&server, CREDENTIALS).await.json();
    server.set_credentials_error("AssumeRoleUnauthorizedAccess", "EC2 cannot assume the role");
    let reply = get_v2(&server, CREDENTIALS).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["Code"], "AssumeRoleUnauthorizedAccess");
    assert_eq!(document["Message"], "EC2 cannot assume the role");
    assert!(document["LastUpdated"].as_str().unwrap().ends_with('Z'));
    for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert_eq!(document.get(field), None, "{field}");
    }
    server.clear_credentials_error();
    assert_eq!(get_v2(&server, CREDENTIALS).await.json(), before);
}

#[tokio::test]
async fn set_listing_serves_a_listing_verbatim() {
    let server = MockImds::builder()
        .tags_enabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let odd = "Name\r\n\n../\n/\nno-such-key\n\u{1b}[31mred\nName\n";
    server.set_listing("meta-data/tags/instance", odd);
    for path in [
        "/latest/meta-data/tags/instance/",
        "/latest/meta-data/tags/instance",
    ] {
        let reply = get_v2(&server, path).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), odd);
    }
    // The leaves under it are still served.
    assert_eq!(
        get_v2(&server, "/latest/meta-data/tags/instance/Name")
            .await
            .text(),
        "imds-mock"
    );
    server.remove_metadata("meta-data/tags/instance");
    assert_eq!(
        get_v2(&server, "/latest/meta-data/tags/instance/")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
