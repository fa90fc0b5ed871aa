//! The IMDSv2 wire protocol over real HTTP on loopback: tokens, auth,
//! the server clock, IMDSv1, disabled IMDS.

mod common;

use std::time::Duration;

use common::{get, get_v2, put_token, send, token};
use http::{Method, StatusCode};
use imds_mock::{MockImds, TOKEN_HEADER, TTL_HEADER, defaults};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

#[tokio::test]
async fn token_put_issues_a_56_char_token_and_echoes_the_ttl() {
    let server = MockImds::start_default().await.unwrap();
    let reply = put_token(&server, "21600").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(TTL_HEADER), Some("21600"));
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    let token = reply.text();
    assert_eq!(token.len(), 56);
    assert!(token.bytes().all(|b| b.is_ascii_graphic()));
    let other = common::token(&server).await;
    assert_ne!(token, other, "tokens are random, not reused");
}

#[tokio::test]
async fn token_ttl_bounds() {
    let server = MockImds::start_default().await.unwrap();
    for (ttl, status) in [
        ("0", StatusCode::BAD_REQUEST),
        ("1", StatusCode::OK),
        ("21600", StatusCode::OK),
        ("21601", StatusCode::BAD_REQUEST),
        ("abc", StatusCode::BAD_REQUEST),
        ("-1", StatusCode::BAD_REQUEST),
        ("-21600", StatusCode::BAD_REQUEST),
        ("1.5", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let reply = put_token(&server, ttl).await;
        assert_eq!(reply.status, status, "TTL {ttl:?}");
        if status == StatusCode::OK {
            assert_eq!(reply.header(TTL_HEADER), Some(ttl));
        } else {
            assert_eq!(reply.header(TTL_HEADER), None);
        }
    }
    let missing = send(
        Method::PUT,
        &format!("{}/latest/api/token", server.base_url()),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.stats().token_puts, 2);
    assert_eq!(server.stats().token_requests, 10);
}

#[tokio::test]
async fn token_put_with_x_forwarded_for_is_forbidden() {
    let server = MockImds::start_default().await.unwrap();
    let reply = send(
        Method::PUT,
        &format!("{}/latest/api/token", server.base_url()),
        &[(TTL_HEADER, "21600"), ("X-Forwarded-For", "203.0.113.7")],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(server.stats().token_puts, 0);
    // A read with the header is not refused for it.
    let token = token(&server).await;
    let read = send(
        Method::GET,
        &format!("{}{INSTANCE_ID}", server.base_url()),
        &[(TOKEN_HEADER, &token), ("X-Forwarded-For", "203.0.113.7")],
    )
    .await
    .unwrap();
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn other_methods_on_the_token_path_are_405() {
    let server = MockImds::start_default().await.unwrap();
    let url = format!("{}/latest/api/token", server.base_url());
    for method in [Method::GET, Method::POST, Method::DELETE, Method::HEAD] {
        let reply = send(method.clone(), &url, &[(TTL_HEADER, "21600")])
            .await
            .unwrap();
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header("allow"), Some("PUT"));
    }
}

#[tokio::test]
async fn other_methods_on_read_paths_are_405_and_head_is_served() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    let url = format!("{}{INSTANCE_ID}", server.base_url());
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = send(method.clone(), &url, &[(TOKEN_HEADER, &token)])
            .await
            .unwrap();
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let head = send(Method::HEAD, &url, &[(TOKEN_HEADER, &token)])
        .await
        .unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(defaults::INSTANCE_ID.len().to_string().as_str())
    );
}

#[tokio::test]
async fn reads_require_a_valid_token_by_default() {
    let server = MockImds::start_default().await.unwrap();
    let no_token = get(&server, INSTANCE_ID, None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_token.header("content-type"), Some("text/html"));
    assert!(no_token.text().contains("401 - Unauthorized"));
    let unknown = "A".repeat(56);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&unknown)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&server, INSTANCE_ID, Some("")).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Unknown paths are 401 too without a token: auth comes before lookup.
    assert_eq!(
        get(&server, "/latest/nope", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = token(&server).await;
    let reply = get(&server, INSTANCE_ID, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), defaults::INSTANCE_ID);
    // A token is reusable until it expires, on any path.
    assert_eq!(
        get(&server, "/latest/meta-data/ami-id", Some(&token))
            .await
            .text(),
        defaults::AMI_ID
    );
}

#[tokio::test]
async fn imdsv1_allowed_serves_tokenless_reads_but_not_bad_tokens() {
    let server = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    let reply = get(&server, INSTANCE_ID, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), defaults::INSTANCE_ID);
    assert_eq!(
        get(&server, INSTANCE_ID, Some("bogus")).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = token(&server).await;
    server.expire_tokens();
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );

    server.set_imdsv1_allowed(false);
    assert_eq!(
        get(&server, INSTANCE_ID, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    server.set_imdsv1_allowed(true);
    assert_eq!(get(&server, INSTANCE_ID, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_expire_by_the_server_clock() {
    let server = MockImds::start_default().await.unwrap();
    let reply = put_token(&server, "60").await;
    let token = reply.text().to_owned();
    server.advance_clock(Duration::from_secs(59));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    server.advance_clock(Duration::from_secs(1));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A new token works after the old one expired.
    assert_eq!(get_v2(&server, INSTANCE_ID).await.status, StatusCode::OK);
}

#[tokio::test]
async fn expire_tokens_invalidates_every_token_at_once() {
    let server = MockImds::start_default().await.unwrap();
    let first = token(&server).await;
    let second = token(&server).await;
    server.expire_tokens();
    for token in [&first, &second] {
        assert_eq!(
            get(&server, INSTANCE_ID, Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let fresh = token(&server).await;
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&fresh)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn ttl_cap_grants_the_lower_ttl_and_echoes_it() {
    let server = MockImds::builder()
        .max_token_ttl_secs(30)
        .build()
        .start()
        .await
        .unwrap();
    let capped = put_token(&server, "21600").await;
    assert_eq!(capped.status, StatusCode::OK);
    assert_eq!(capped.header(TTL_HEADER), Some("30"));
    let below = put_token(&server, "10").await;
    assert_eq!(below.header(TTL_HEADER), Some("10"));
    // Out-of-range requests are still 400, whatever the cap.
    assert_eq!(
        put_token(&server, "21601").await.status,
        StatusCode::BAD_REQUEST
    );

    let token = capped.text().to_owned();
    server.advance_clock(Duration::from_secs(29));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    server.advance_clock(Duration::from_secs(1));
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabled_imds_is_403_everywhere() {
    let server = MockImds::builder()
        .disabled(true)
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        put_token(&server, "21600").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&server, INSTANCE_ID, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&server, "/latest/nope", None).await.status,
        StatusCode::FORBIDDEN
    );
    server.set_disabled(false);
    let token = token(&server).await;
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::OK
    );
    server.set_disabled(true);
    assert_eq!(
        get(&server, INSTANCE_ID, Some(&token)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(server.stats().token_puts, 1);
}

#[tokio::test]
async fn invalid_config_is_refused_at_start() {
    let error = MockImds::builder()
        .max_token_ttl_secs(0)
        .build()
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("max_token_ttl_secs"), "{error}");
}
