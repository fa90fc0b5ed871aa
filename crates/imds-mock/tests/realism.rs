//! The mock answers like a real instance, header for header: the headers
//! captured from EC2 (see the README, "Response headers"), the token's
//! remaining lifetime, IMDSv1 and IMDSv2 credentials that differ, and the
//! IPv6 fields of the default tree.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::time::{Duration, SystemTime};

use common::{Reply, get, put_token, token};
use http::StatusCode;
use imds_mock::{MockImds, TTL_HEADER, defaults};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
const CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";

/// The header names of a reply, lower case.
fn names(reply: &Reply) -> BTreeSet<&str> {
    reply.headers.keys().map(|name| name.as_str()).collect()
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

fn http_date(reply: &Reply, name: &str) -> SystemTime {
    httpdate::parse_http_date(reply.header(name).expect(name)).expect("an HTTP date")
}

#[tokio::test]
async fn a_read_with_a_token_has_the_headers_of_a_captured_nitro_response() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    let reply = get(&server, INSTANCE_ID, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    // smithy-rs's recorded IMDS traffic and `curl -v` captures (2021-2024):
    // exactly these eight.
    assert_eq!(
        names(&reply),
        set(&[
            "accept-ranges",
            "connection",
            "content-length",
            "content-type",
            "date",
            "last-modified",
            "server",
            "x-aws-ec2-metadata-token-ttl-seconds",
        ])
    );
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(reply.header("server"), Some("EC2ws"));
    assert_eq!(reply.header("accept-ranges"), Some("none"));
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(
        reply.header("content-length"),
        Some(defaults::INSTANCE_ID.len().to_string().as_str())
    );
    assert_eq!(reply.header(TTL_HEADER), Some("21600"));
    // Static meta-data last changed when the instance launched.
    assert_eq!(
        http_date(&reply, "last-modified"),
        humantime::parse_rfc3339(defaults::PENDING_TIME).unwrap()
    );
    http_date(&reply, "date");
}

#[tokio::test]
async fn the_token_put_answer_has_no_read_headers() {
    let server = MockImds::start_default().await.unwrap();
    let reply = put_token(&server, "300").await;
    assert_eq!(
        names(&reply),
        set(&[
            "connection",
            "content-length",
            "content-type",
            "date",
            "server",
            "x-aws-ec2-metadata-token-ttl-seconds",
        ])
    );
    assert_eq!(reply.header("content-length"), Some("56"));
    assert_eq!(reply.header(TTL_HEADER), Some("300"));
}

#[tokio::test]
async fn a_404_is_the_339_byte_page_ec2_sends_with_the_token_ttl() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    let reply = get(&server, "/latest/meta-data/nope", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        names(&reply),
        set(&[
            "connection",
            "content-length",
            "content-type",
            "date",
            "server",
            "x-aws-ec2-metadata-token-ttl-seconds",
        ])
    );
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert_eq!(reply.body.len(), 339);
    assert_eq!(reply.header("content-length"), Some("339"));
    assert!(
        reply
            .text()
            .contains("EN\"\n\t\t \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">")
    );
    // Refused reads carry no TTL: there is no valid token to tell about.
    let refused = get(&server, INSTANCE_ID, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header(TTL_HEADER), None);
    assert_eq!(refused.header("connection"), Some("close"));
}

#[tokio::test]
async fn the_ttl_header_counts_down_the_tokens_remaining_lifetime() {
    let server = MockImds::start_default().await.unwrap();
    let short = put_token(&server, "300").await.text().to_owned();
    let long = token(&server).await;
    let ttl = |reply: Reply| reply.header(TTL_HEADER).map(str::to_owned);
    assert_eq!(
        ttl(get(&server, INSTANCE_ID, Some(&short)).await).as_deref(),
        Some("300")
    );
    server.advance_clock(Duration::from_secs(25));
    assert_eq!(
        ttl(get(&server, INSTANCE_ID, Some(&short)).await).as_deref(),
        Some("275")
    );
    assert_eq!(
        ttl(get(&server, INSTANCE_ID, Some(&long)).await).as_deref(),
        Some("21575")
    );
    server.advance_clock(Duration::from_millis(274_500));
    // Half a second left: rounded up, never 0 for a token still accepted.
    assert_eq!(
        ttl(get(&server, INSTANCE_ID, Some(&short)).await).as_deref(),
        Some("1")
    );
    server.advance_clock(Duration::from_millis(500));
    let expired = get(&server, INSTANCE_ID, Some(&short)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.header(TTL_HEADER), None);
}

#[tokio::test]
async fn every_document_is_text_plain_and_user_data_is_octet_stream() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    for path in [
        "/",
        "/latest",
        "/latest/meta-data/",
        "/latest/meta-data/iam/info",
        CREDENTIALS,
        "/latest/dynamic/instance-identity/document",
    ] {
        let reply = get(&server, path, Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("content-type"), Some("text/plain"), "{path}");
        assert_eq!(reply.header("accept-ranges"), Some("none"), "{path}");
        assert_eq!(
            reply.header("content-length"),
            Some(reply.body.len().to_string().as_str()),
            "{path}"
        );
    }
    // As captured from EC2 (2023): user data is bytes, not text.
    let user_data = get(&server, "/latest/user-data", Some(&token)).await;
    assert_eq!(
        user_data.header("content-type"),
        Some("application/octet-stream")
    );
}

#[tokio::test]
async fn the_credentials_last_modified_is_when_they_were_issued() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    server.advance_clock(Duration::from_secs(90));
    let reply = get(&server, CREDENTIALS, Some(&token)).await;
    let issued = humantime::parse_rfc3339(reply.json()["LastUpdated"].as_str().unwrap()).unwrap();
    assert_eq!(http_date(&reply, "last-modified"), issued);
    let info = get(&server, "/latest/meta-data/iam/info", Some(&token)).await;
    assert_eq!(http_date(&info, "last-modified"), issued);
}

#[tokio::test]
async fn imdsv1_reads_get_other_credentials_than_imdsv2_reads() {
    let server = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    let v2 = get(&server, CREDENTIALS, Some(&token(&server).await))
        .await
        .json();
    let v1 = get(&server, CREDENTIALS, None).await.json();
    for field in ["AccessKeyId", "SecretAccessKey", "Token"] {
        assert_ne!(v1[field], v2[field], "{field}");
    }
    assert_eq!(v1["Code"], "Success");
    // Each version keeps its own set: a new token reads the same v2 set,
    // another tokenless read the same v1 set.
    let again = get(&server, CREDENTIALS, Some(&token(&server).await))
        .await
        .json();
    assert_eq!(again, v2);
    assert_eq!(get(&server, CREDENTIALS, None).await.json(), v1);
    // With IMDSv2 required, the v1 set is not served at all.
    server.set_imdsv1_allowed(false);
    assert_eq!(
        get(&server, CREDENTIALS, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Sends `count` GETs on one TCP connection, one after the other, and
/// returns everything the server sent until it closed the connection (or
/// stopped sending for a moment).
async fn raw_requests(server: &MockImds, count: usize) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nX-aws-ec2-metadata-token: {}\r\n\r\n",
        server.addr(),
        token(server).await
    );
    let mut received = Vec::new();
    for _ in 0..count {
        if stream.write_all(request.as_bytes()).await.is_err() {
            break;
        }
        let mut buffer = [0; 4096];
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8(received).unwrap()
}

#[tokio::test]
async fn each_connection_serves_one_request_unless_keep_alive_is_on() {
    let server = MockImds::start_default().await.unwrap();
    let closed = raw_requests(&server, 2).await;
    assert_eq!(closed.matches("HTTP/1.1 200 OK").count(), 1, "{closed}");
    assert!(closed.contains("connection: close\r\n"), "{closed}");
    server.set_keep_alive(true);
    let kept = raw_requests(&server, 2).await;
    assert_eq!(kept.matches("HTTP/1.1 200 OK").count(), 2, "{kept}");
    assert!(!kept.contains("connection: close"), "{kept}");
}

/// `address` lies in `cidr` (`a::/n`).
fn in_block(address: &str, cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap();
    let bits: u32 = bits.parse().unwrap();
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    let address = u128::from(address.parse::<Ipv6Addr>().unwrap());
    let network = u128::from(network.parse::<Ipv6Addr>().unwrap());
    address & mask == network & mask
}

#[tokio::test]
async fn the_default_instance_has_an_ipv6_address_in_its_subnet() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    let text = |path: String| {
        let server = &server;
        let token = &token;
        async move {
            let reply = get(server, &path, Some(token)).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            reply.text().to_owned()
        }
    };
    let nic = format!(
        "/latest/meta-data/network/interfaces/macs/{}/",
        defaults::MAC
    );
    let listing = text(nic.clone()).await;
    for entry in ["ipv6s", "subnet-ipv6-cidr-blocks", "vpc-ipv6-cidr-blocks"] {
        assert!(
            listing.lines().any(|line| line == entry),
            "{entry}: {listing}"
        );
    }
    assert!(
        text("/latest/meta-data/".into())
            .await
            .lines()
            .any(|line| line == "ipv6")
    );
    let ipv6 = text("/latest/meta-data/ipv6".into()).await;
    assert_eq!(ipv6, defaults::IPV6);
    assert_eq!(text(format!("{nic}ipv6s")).await, ipv6);
    let subnet = text(format!("{nic}subnet-ipv6-cidr-blocks")).await;
    let vpc = text(format!("{nic}vpc-ipv6-cidr-blocks")).await;
    assert!(in_block(&ipv6, &subnet), "{ipv6} in {subnet}");
    assert!(
        in_block(subnet.split('/').next().unwrap(), &vpc),
        "{subnet} in {vpc}"
    );
    // The same instance as the identity document: its interface, its
    // private address.
    let document: serde_json::Value =
        serde_json::from_str(&text("/latest/dynamic/instance-identity/document".into()).await)
            .unwrap();
    assert_eq!(
        document["privateIp"].as_str(),
        Some(text(format!("{nic}local-ipv4s")).await.as_str())
    );
    assert_eq!(
        text(format!("{nic}owner-id")).await,
        document["accountId"].as_str().unwrap()
    );
}

#[tokio::test]
async fn repeated_slashes_in_a_path_are_ignored_as_imds_ignores_them() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    for path in [
        "//latest/meta-data/instance-id",
        "/latest//meta-data///instance-id",
    ] {
        let reply = get(&server, path, Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.text(), defaults::INSTANCE_ID, "{path}");
    }
    let reply = common::send(
        http::Method::PUT,
        &format!("{}//latest/api/token", server.base_url()),
        &[(TTL_HEADER, "60")],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    // The log keeps the path as it was sent.
    assert_eq!(server.requests()[1].path, "//latest/meta-data/instance-id");
}
