//! The default instance over HTTP: listings, leaves, 404s, rotating role
//! credentials, the identity document, user data, tags, JSON config.

mod common;

use std::time::{Duration, SystemTime};

use common::{get, get_v2, temp_file, token};
use http::StatusCode;
use imds_mock::{Config, ConfigError, DEFAULT_USER_DATA, MockImds, defaults};
use serde_json::Value;

async fn text(server: &MockImds, path: &str) -> String {
    let reply = get_v2(server, path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}");
    reply.text().to_owned()
}

async fn status(server: &MockImds, path: &str) -> StatusCode {
    get_v2(server, path).await.status
}

fn lines(text: &str) -> Vec<&str> {
    text.split('\n').collect()
}

fn rfc3339(value: &Value) -> SystemTime {
    let text = value.as_str().expect("a timestamp string");
    // `2026-11-22T19:30:00Z`: UTC, whole seconds.
    assert_eq!(text.len(), 20, "{text}");
    assert!(text.ends_with('Z') && &text[10..11] == "T", "{text}");
    humantime::parse_rfc3339(text).unwrap()
}

#[tokio::test]
async fn top_level_listings() {
    let server = MockImds::start_default().await.unwrap();
    assert_eq!(
        text(&server, "/latest/").await,
        "dynamic\nmeta-data\nuser-data"
    );
    assert_eq!(
        text(&server, "/latest").await,
        "dynamic\nmeta-data\nuser-data"
    );
    assert_eq!(text(&server, "/").await, "latest");
    assert_eq!(
        text(&server, "/latest/dynamic/").await,
        "instance-identity/"
    );
    // As on an instance, with the signatures (feature `signing`).
    let identity = if cfg!(feature = "signing") {
        "document\npkcs7\nrsa2048\nsignature"
    } else {
        "document"
    };
    assert_eq!(
        text(&server, "/latest/dynamic/instance-identity/").await,
        identity
    );
}

#[tokio::test]
async fn meta_data_listing_marks_directories_with_a_slash() {
    let server = MockImds::start_default().await.unwrap();
    let listing = text(&server, "/latest/meta-data/").await;
    assert!(!listing.ends_with('\n'));
    let entries = lines(&listing);
    for leaf in [
        "ami-id",
        "hostname",
        "instance-id",
        "instance-type",
        "local-hostname",
        "local-ipv4",
        "mac",
        "public-ipv4",
    ] {
        assert!(entries.contains(&leaf), "{leaf} in {entries:?}");
    }
    for dir in [
        "block-device-mapping/",
        "events/",
        "iam/",
        "network/",
        "placement/",
        "public-keys/",
    ] {
        assert!(entries.contains(&dir), "{dir} in {entries:?}");
    }
    assert!(!entries.contains(&"tags/") && !entries.contains(&"spot/"));
    let mut sorted = entries.clone();
    sorted.sort_unstable();
    assert_eq!(entries, sorted);
    // A directory without its trailing slash is listed too.
    assert_eq!(text(&server, "/latest/meta-data").await, listing);
    assert_eq!(
        text(&server, "/latest/meta-data/placement").await,
        "availability-zone\navailability-zone-id\nregion"
    );
}

#[tokio::test]
async fn leaves_of_the_default_instance() {
    let server = MockImds::start_default().await.unwrap();
    let token = token(&server).await;
    for (path, expected) in [
        ("instance-id", defaults::INSTANCE_ID),
        ("ami-id", defaults::AMI_ID),
        ("instance-type", defaults::INSTANCE_TYPE),
        ("hostname", defaults::HOSTNAME),
        ("local-hostname", defaults::HOSTNAME),
        ("local-ipv4", defaults::LOCAL_IPV4),
        ("public-ipv4", defaults::PUBLIC_IPV4),
        ("mac", defaults::MAC),
        ("placement/availability-zone", defaults::AVAILABILITY_ZONE),
        (
            "placement/availability-zone-id",
            defaults::AVAILABILITY_ZONE_ID,
        ),
        ("placement/region", defaults::REGION),
        ("block-device-mapping/ami", "/dev/xvda"),
        ("block-device-mapping/root", "/dev/xvda"),
        ("events/maintenance/scheduled", "[]"),
    ] {
        let reply = get(&server, &format!("/latest/meta-data/{path}"), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.text(), expected, "{path}");
        assert_eq!(reply.header("content-type"), Some("text/plain"));
    }
    assert_eq!(
        text(&server, "/latest/meta-data/block-device-mapping/").await,
        "ami\nroot"
    );
    assert_eq!(
        text(&server, "/latest/meta-data/events/").await,
        "maintenance/"
    );
    assert_eq!(
        text(&server, "/latest/meta-data/events/maintenance/").await,
        "history\nscheduled"
    );
}

#[tokio::test]
async fn network_interfaces_are_keyed_by_mac() {
    let server = MockImds::start_default().await.unwrap();
    let macs = "/latest/meta-data/network/interfaces/macs/";
    assert_eq!(
        text(&server, "/latest/meta-data/network/").await,
        "interfaces/"
    );
    assert_eq!(text(&server, macs).await, format!("{}/", defaults::MAC));
    let nic = format!("{macs}{}/", defaults::MAC);
    let listing = text(&server, &nic).await;
    for entry in [
        "device-number",
        "local-ipv4s",
        "subnet-id",
        "vpc-id",
        "mac",
        "ipv4-associations/",
    ] {
        assert!(lines(&listing).contains(&entry), "{entry} in {listing}");
    }
    assert_eq!(text(&server, &format!("{nic}device-number")).await, "0");
    assert_eq!(
        text(&server, &format!("{nic}local-ipv4s")).await,
        defaults::LOCAL_IPV4
    );
    assert_eq!(
        text(&server, &format!("{nic}subnet-id")).await,
        defaults::SUBNET_ID
    );
    assert_eq!(
        text(&server, &format!("{nic}vpc-id")).await,
        defaults::VPC_ID
    );
    assert_eq!(text(&server, &format!("{nic}mac")).await, defaults::MAC);
}

#[tokio::test]
async fn public_keys_use_the_index_equals_name_listing() {
    let server = MockImds::start_default().await.unwrap();
    assert_eq!(
        text(&server, "/latest/meta-data/public-keys/").await,
        "0=my-key"
    );
    assert_eq!(
        text(&server, "/latest/meta-data/public-keys/0/").await,
        "openssh-key"
    );
    assert!(
        text(&server, "/latest/meta-data/public-keys/0/openssh-key")
            .await
            .starts_with("ssh-ed25519 ")
    );
    let two = MockImds::builder()
        .public_keys([("a", "ssh-rsa AAAA a"), ("b", "ssh-rsa BBBB b")])
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        text(&two, "/latest/meta-data/public-keys/").await,
        "0=a\n1=b"
    );
    assert_eq!(
        text(&two, "/latest/meta-data/public-keys/1/openssh-key").await,
        "ssh-rsa BBBB b"
    );
}

#[tokio::test]
async fn a_leaf_asked_for_with_a_trailing_slash_is_the_leaf() {
    // As EC2 serves it: botocore's region fetcher reads
    // `placement/availability-zone/`.
    let server = MockImds::start_default().await.unwrap();
    assert_eq!(
        text(&server, "/latest/meta-data/instance-id/").await,
        defaults::INSTANCE_ID
    );
    assert_eq!(
        text(&server, "/latest/meta-data/placement/availability-zone/").await,
        defaults::AVAILABILITY_ZONE
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let server = MockImds::start_default().await.unwrap();
    let reply = get_v2(&server, "/latest/meta-data/no-such-thing").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert!(reply.text().contains("<title>404 - Not Found</title>"));
    for path in [
        "/latest/meta-data/placement/nope",
        "/latest/meta-data/placement/nope/",
        "/latest/nope",
        "/nope",
        "/latest/meta-data/spot/instance-action", // not a spot instance
        "/latest/meta-data/tags/instance/",       // tags off by default
        "/latest/meta-data/iam/security-credentials/other-role",
    ] {
        assert_eq!(status(&server, path).await, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn spot_interruption_is_configurable_from_config_and_at_runtime() {
    let action = r#"{"action": "terminate", "time": "2026-11-22T19:30:00Z"}"#;
    let server = MockImds::builder()
        .metadata("meta-data/spot/instance-action", action)
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        text(&server, "/latest/meta-data/spot/instance-action").await,
        action
    );
    assert!(lines(&text(&server, "/latest/meta-data/").await).contains(&"spot/"));

    let later = MockImds::start_default().await.unwrap();
    let path = "/latest/meta-data/spot/instance-action";
    assert_eq!(status(&later, path).await, StatusCode::NOT_FOUND);
    later.set_metadata(path, action);
    assert_eq!(text(&later, path).await, action);
    later.remove_metadata("meta-data/spot/");
    assert_eq!(status(&later, path).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn iam_info_and_the_role_listing() {
    let server = MockImds::builder()
        .role_name("web-role")
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        text(&server, "/latest/meta-data/iam/").await,
        "info\nsecurity-credentials/"
    );
    assert_eq!(
        text(&server, "/latest/meta-data/iam/security-credentials/").await,
        "web-role"
    );
    let info: Value =
        serde_json::from_str(&text(&server, "/latest/meta-data/iam/info").await).unwrap();
    assert_eq!(info["Code"], "Success");
    assert_eq!(
        info["InstanceProfileArn"],
        format!(
            "arn:aws:iam::{}:instance-profile/web-role",
            defaults::ACCOUNT_ID
        )
    );
    assert!(
        info["InstanceProfileId"]
            .as_str()
            .unwrap()
            .starts_with("AIPA")
    );
    rfc3339(&info["LastUpdated"]);

    let no_role = MockImds::builder().no_role().build().start().await.unwrap();
    assert_eq!(
        status(&no_role, "/latest/meta-data/iam/").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&no_role, "/latest/meta-data/iam/info").await,
        StatusCode::NOT_FOUND
    );
    assert!(!lines(&text(&no_role, "/latest/meta-data/").await).contains(&"iam/"));
}

#[tokio::test]
async fn role_credentials_have_the_real_shape() {
    let server = MockImds::builder()
        .credential_lifetime_secs(3600)
        .build()
        .start()
        .await
        .unwrap();
    let reply = get_v2(
        &server,
        "/latest/meta-data/iam/security-credentials/imds-mock-role",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let raw = reply.text();
    assert!(raw.starts_with("{\n  \"Code\" : \"Success\",\n"), "{raw}");
    let creds: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(creds["Code"], "Success");
    assert_eq!(creds["Type"], "AWS-HMAC");
    let key = creds["AccessKeyId"].as_str().unwrap();
    assert_eq!(key.len(), 20);
    assert!(key.starts_with("ASIA"));
    assert!(
        key[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{key}"
    );
    assert_eq!(creds["SecretAccessKey"].as_str().unwrap().len(), 40);
    assert!(creds["Token"].as_str().unwrap().len() > 100);
    let updated = rfc3339(&creds["LastUpdated"]);
    let expiration = rfc3339(&creds["Expiration"]);
    assert_eq!(
        expiration.duration_since(updated).unwrap(),
        Duration::from_secs(3600)
    );
    // Now, as the system's clock says it: the response's `Date` (whole
    // seconds, like `LastUpdated`; the mock reads its wall time off tokio's
    // clock, anchored to the system's once, hence the one second allowed).
    let now = http_date(reply.header("date").expect("a Date header"));
    assert!(
        updated <= now + Duration::from_secs(1)
            && now.duration_since(updated).unwrap_or_default() < Duration::from_secs(60),
        "LastUpdated {updated:?}, Date {now:?}"
    );
}

/// An HTTP `Date` (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's IMF-fixdate).
fn http_date(text: &str) -> SystemTime {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let fields: Vec<&str> = text.split(' ').collect();
    let [_weekday, day, month, year, time, "GMT"] = fields[..] else {
        panic!("not an IMF-fixdate: {text:?}");
    };
    let month = 1 + MONTHS.iter().position(|m| *m == month).expect(text);
    humantime::parse_rfc3339(&format!("{year}-{month:02}-{day}T{time}Z")).expect(text)
}

#[tokio::test]
async fn role_credentials_rotate_by_the_server_clock() {
    let server = MockImds::start_default().await.unwrap(); // 6 h lifetime
    let path = "/latest/meta-data/iam/security-credentials/imds-mock-role";
    let first: Value = serde_json::from_str(&text(&server, path).await).unwrap();

    // Before the rotation point (3/4 of the lifetime): the same set.
    server.advance_clock(Duration::from_secs(4 * 3600 + 29 * 60));
    let same: Value = serde_json::from_str(&text(&server, path).await).unwrap();
    assert_eq!(same, first);

    // Past it: a new set whose Expiration moved forward with the clock.
    server.advance_clock(Duration::from_secs(120));
    let next: Value = serde_json::from_str(&text(&server, path).await).unwrap();
    assert_ne!(next["AccessKeyId"], first["AccessKeyId"]);
    assert_ne!(next["SecretAccessKey"], first["SecretAccessKey"]);
    assert_ne!(next["Token"], first["Token"]);
    let moved = rfc3339(&next["Expiration"])
        .duration_since(rfc3339(&first["Expiration"]))
        .unwrap();
    assert!(
        moved >= Duration::from_secs(4 * 3600 + 31 * 60),
        "{moved:?}"
    );
    assert_eq!(
        rfc3339(&next["Expiration"])
            .duration_since(rfc3339(&next["LastUpdated"]))
            .unwrap(),
        Duration::from_secs(6 * 3600)
    );
    // And it stays put until its own rotation point.
    assert_eq!(
        serde_json::from_str::<Value>(&text(&server, path).await).unwrap(),
        next
    );
}

/// Tokio's clock, paused and advanced by the test, is the mock's clock:
/// tokens expire exactly at their TTL, and credentials rotate with their
/// timestamps moved by exactly the time advanced, as a client's wall clock
/// (read off tokio's clock too) moves.
#[tokio::test(start_paused = true)]
async fn a_paused_tokio_clock_expires_tokens_and_rotates_credentials() {
    let server = MockImds::builder()
        .credential_lifetime_secs(3600)
        .build()
        .start()
        .await
        .unwrap();
    let credentials = "/latest/meta-data/iam/security-credentials/imds-mock-role";
    let instance_id = "/latest/meta-data/instance-id";
    let short = common::put_token(&server, "60").await.text().to_owned();
    let first = get(&server, credentials, Some(&short)).await.json();

    tokio::time::advance(Duration::from_secs(60) - Duration::from_millis(1)).await;
    assert_eq!(
        get(&server, instance_id, Some(&short)).await.status,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        get(&server, instance_id, Some(&short)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // 60 s so far; the set rotates once less than a quarter of its hour
    // remains, after 2700 s.
    let token = token(&server).await;
    tokio::time::advance(Duration::from_secs(2700 - 60)).await;
    assert_eq!(get(&server, credentials, Some(&token)).await.json(), first);
    tokio::time::advance(Duration::from_secs(1)).await;
    let next = get(&server, credentials, Some(&token)).await.json();
    assert_ne!(next["AccessKeyId"], first["AccessKeyId"]);
    for field in ["LastUpdated", "Expiration"] {
        assert_eq!(
            rfc3339(&next[field])
                .duration_since(rfc3339(&first[field]))
                .unwrap(),
            Duration::from_secs(2701),
            "{field}"
        );
    }
    let info = get(&server, "/latest/meta-data/iam/info", Some(&token))
        .await
        .json();
    assert_eq!(info["LastUpdated"], next["LastUpdated"]);
}

#[tokio::test]
async fn identity_document_agrees_with_meta_data() {
    let server = MockImds::builder()
        .metadata("meta-data/instance-type", "m7g.large")
        .build()
        .start()
        .await
        .unwrap();
    let document: Value =
        serde_json::from_str(&text(&server, "/latest/dynamic/instance-identity/document").await)
            .unwrap();
    for (field, path) in [
        ("instanceId", "instance-id"),
        ("imageId", "ami-id"),
        ("instanceType", "instance-type"),
        ("availabilityZone", "placement/availability-zone"),
        ("region", "placement/region"),
        ("privateIp", "local-ipv4"),
    ] {
        let meta = text(&server, &format!("/latest/meta-data/{path}")).await;
        assert_eq!(document[field], meta.as_str(), "{field}");
    }
    assert_eq!(document["instanceType"], "m7g.large");
    assert_eq!(document["accountId"], defaults::ACCOUNT_ID);
    assert_eq!(document["architecture"], "x86_64");
    assert_eq!(document["version"], "2017-09-30");
    rfc3339(&document["pendingTime"]);
}

#[tokio::test]
async fn user_data_is_served_byte_exact() {
    let server = MockImds::start_default().await.unwrap();
    let reply = get_v2(&server, "/latest/user-data").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body.as_ref(), DEFAULT_USER_DATA);
    assert!(
        std::str::from_utf8(&reply.body).is_err(),
        "the default is not UTF-8"
    );
    assert!(DEFAULT_USER_DATA.contains(&0xff) && DEFAULT_USER_DATA.contains(&0x00));
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );

    let all_bytes: Vec<u8> = (0..=255).collect();
    let custom = MockImds::builder()
        .user_data(all_bytes.clone())
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        get_v2(&custom, "/latest/user-data").await.body.as_ref(),
        all_bytes.as_slice()
    );

    let none = MockImds::builder()
        .no_user_data()
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        status(&none, "/latest/user-data").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(text(&none, "/latest/").await, "dynamic\nmeta-data");
}

#[tokio::test]
async fn tags_are_served_only_when_enabled() {
    let server = MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Team", "infra")])
        .build()
        .start()
        .await
        .unwrap();
    assert!(lines(&text(&server, "/latest/meta-data/").await).contains(&"tags/"));
    assert_eq!(text(&server, "/latest/meta-data/tags/").await, "instance/");
    assert_eq!(
        text(&server, "/latest/meta-data/tags/instance/").await,
        "Name\nTeam"
    );
    assert_eq!(
        text(&server, "/latest/meta-data/tags/instance/Team").await,
        "infra"
    );

    let off = MockImds::builder()
        .tags([("Name", "web-1")])
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(
        status(&off, "/latest/meta-data/tags/instance/").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&off, "/latest/meta-data/tags/instance/Name").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn json_config_file_drives_the_instance() {
    let file = temp_file(
        r#"{
            "imdsv1_allowed": true,
            "max_token_ttl_secs": 120,
            "tags_enabled": true,
            "tags": { "Name": "from-json" },
            "user_data": { "base64": "/+4AAQ==" },
            "role_name": "json-role",
            "credential_lifetime_secs": 900,
            "metadata": { "/latest/meta-data/instance-id": "i-0123456789json" },
            "remove": [ "meta-data/public-ipv4" ]
        }"#,
    );
    let config = Config::from_file(file.path()).unwrap();
    let server = config.start().await.unwrap();
    assert_eq!(
        get(&server, "/latest/meta-data/instance-id", None)
            .await
            .text(),
        "i-0123456789json"
    );
    assert_eq!(
        common::put_token(&server, "21600")
            .await
            .header(imds_mock::TTL_HEADER),
        Some("120")
    );
    assert_eq!(
        text(&server, "/latest/meta-data/tags/instance/Name").await,
        "from-json"
    );
    assert_eq!(
        get_v2(&server, "/latest/user-data").await.body.as_ref(),
        &[0xff, 0xee, 0x00, 0x01]
    );
    assert_eq!(
        text(&server, "/latest/meta-data/iam/security-credentials/").await,
        "json-role"
    );
    assert_eq!(
        status(&server, "/latest/meta-data/public-ipv4").await,
        StatusCode::NOT_FOUND
    );
    let document: Value =
        serde_json::from_str(&text(&server, "/latest/dynamic/instance-identity/document").await)
            .unwrap();
    assert_eq!(document["instanceId"], "i-0123456789json");

    let text_user_data = Config::from_json(r##"{"user_data": {"text": "#!/bin/sh"}}"##).unwrap();
    assert_eq!(text_user_data.user_data.unwrap().as_bytes(), b"#!/bin/sh");
}

#[tokio::test]
async fn json_config_errors_name_the_problem() {
    let file = temp_file(r#"{ "imdsv1_alowed": true }"#);
    let error = Config::from_file(file.path()).unwrap_err();
    assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("unknown field `imdsv1_alowed`"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1);

    let missing = Config::from_file("/nonexistent/imds-mock.json").unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing:?}");

    let wrong_type = Config::from_json(r#"{ "tags_enabled": "yes" }"#).unwrap_err();
    assert!(matches!(wrong_type, ConfigError::Json(_)), "{wrong_type:?}");
    let out_of_range = Config::from_json(r#"{ "max_token_ttl_secs": 21601 }"#).unwrap_err();
    assert!(
        matches!(out_of_range, ConfigError::Invalid(_)),
        "{out_of_range:?}"
    );
}
