//! aws-config's IMDS client (the Rust SDK's, written by AWS) against the
//! mock. If the two disagree, the mock is wrong.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::imds::Client;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_async::time::TimeSource;
use imds_mock::{MockImds, defaults};
use interop_tests::peers::Unavailable;
use serde_json::Value;

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";

/// aws-config's IMDS client over plain HTTP to `server`.
///
/// `build_http()` is aws-smithy-http-client's hyper 1 client without TLS:
/// the mock speaks plain HTTP, and this keeps rustls and aws-lc out of the
/// build. Everything else (token flow, retries, timeouts) is aws-config's.
fn imds_client(server: &MockImds) -> Client {
    let http_client = aws_smithy_http_client::Builder::new().build_http();
    Client::builder()
        .configure(&ProviderConfig::default().with_http_client(http_client))
        .endpoint(server.base_url())
        .expect("the mock's URL is a valid endpoint")
        .build()
}

#[tokio::test]
async fn reads_through_the_imdsv2_flow() {
    let server = MockImds::start_default().await.unwrap();
    let client = imds_client(&server);

    let instance_id = client.get("/latest/meta-data/instance-id").await.unwrap();
    assert_eq!(instance_id.as_ref(), defaults::INSTANCE_ID);

    let listing = client.get("/latest/meta-data/").await.unwrap();
    let entries: Vec<&str> = listing.as_ref().lines().collect();
    assert!(entries.contains(&"instance-id"), "{entries:?}");
    assert!(entries.contains(&"placement/"), "{entries:?}");

    let credentials: Value =
        serde_json::from_str(client.get(CREDENTIALS).await.unwrap().as_ref()).unwrap();
    assert_eq!(credentials["Code"], "Success");
    assert!(
        credentials["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );

    let document: Value = serde_json::from_str(
        client
            .get("/latest/dynamic/instance-identity/document")
            .await
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    assert_eq!(document["instanceId"], defaults::INSTANCE_ID);
    assert_eq!(document["region"], defaults::REGION);

    // One token, cached by aws-config and sent with every read.
    let stats = server.stats();
    assert_eq!(stats.token_puts, 1, "{stats:?}");
    assert_eq!(stats.reads, 4, "{stats:?}");
    let requests = server.requests();
    assert_eq!(requests[0].path, TOKEN_PATH);
    assert!(requests[0].has_ttl && !requests[0].has_token);
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.has_token && r.status.is_some_and(|s| s.is_success())),
        "{requests:?}"
    );
}

/// A clock for aws-config that the test moves together with the mock's
/// (`advance`), so that both sides agree a token has expired.
#[derive(Debug, Clone, Default)]
struct SharedClock {
    offset: Arc<Mutex<Duration>>,
}

impl SharedClock {
    fn advance(&self, server: &MockImds, by: Duration) {
        *self.offset.lock().unwrap() += by;
        server.advance_clock(by);
    }
}

impl TimeSource for SharedClock {
    fn now(&self) -> SystemTime {
        imds::clock::now() + *self.offset.lock().unwrap()
    }
}

fn imds_client_with_clock(server: &MockImds, clock: &SharedClock) -> Client {
    let http_client = aws_smithy_http_client::Builder::new().build_http();
    let config = ProviderConfig::default()
        .with_http_client(http_client)
        .with_time_source(clock.clone());
    Client::builder()
        .configure(&config)
        .endpoint(server.base_url())
        .unwrap()
        .build()
}

#[tokio::test]
async fn refreshes_the_token_when_it_expires() {
    let server = MockImds::start_default().await.unwrap();
    let clock = SharedClock::default();
    let client = imds_client_with_clock(&server, &clock);
    let id = "/latest/meta-data/instance-id";
    assert_eq!(
        client.get(id).await.unwrap().as_ref(),
        defaults::INSTANCE_ID
    );
    // aws-config refreshes 120 s before the TTL (21600 s) runs out.
    clock.advance(&server, Duration::from_secs(21_600 - 121));
    assert_eq!(
        client.get(id).await.unwrap().as_ref(),
        defaults::INSTANCE_ID
    );
    assert_eq!(server.stats().token_puts, 1, "still within the TTL");
    clock.advance(&server, Duration::from_secs(2));
    assert_eq!(
        client.get(id).await.unwrap().as_ref(),
        defaults::INSTANCE_ID
    );
    assert_eq!(server.stats().token_puts, 2);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.status.is_some_and(|s| s.is_success()))
    );
}

#[tokio::test]
async fn honours_a_capped_ttl() {
    // The mock grants 300 s whatever aws-config asks for (21600 s); aws-config
    // must cache by the TTL it was granted, not the one it asked for.
    let server = MockImds::builder()
        .max_token_ttl_secs(300)
        .build()
        .start()
        .await
        .unwrap();
    let clock = SharedClock::default();
    let client = imds_client_with_clock(&server, &clock);
    let id = "/latest/meta-data/instance-id";
    assert_eq!(
        client.get(id).await.unwrap().as_ref(),
        defaults::INSTANCE_ID
    );
    clock.advance(&server, Duration::from_secs(301));
    assert_eq!(
        client.get(id).await.unwrap().as_ref(),
        defaults::INSTANCE_ID
    );
    assert_eq!(server.stats().token_puts, 2);
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .filter_map(|r| r.status.map(|s| s.as_u16()))
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 200], "no 401 on the way");
}

/// Finding: aws-config does not drop its cached token on a 401. It retries
/// (4 attempts) with the same token until its own clock says the token is
/// due for refresh. So after an IMDS restart (`expire_tokens`) its reads fail
/// until then; the mock answering 401 to an unknown token is what IMDS does.
#[tokio::test]
async fn after_an_imds_restart_aws_config_retries_its_cached_token_until_it_expires() {
    let server = MockImds::start_default().await.unwrap();
    let clock = SharedClock::default();
    let client = imds_client_with_clock(&server, &clock);
    let ami = "/latest/meta-data/ami-id";
    assert_eq!(client.get(ami).await.unwrap().as_ref(), defaults::AMI_ID);

    server.expire_tokens();
    let error = client.get(ami).await.unwrap_err();
    assert!(format!("{error:?}").contains("401"), "{error:?}");
    let reads: Vec<(bool, u16)> = server
        .requests()
        .iter()
        .filter(|r| r.path == ami)
        .map(|r| (r.has_token, r.status.unwrap().as_u16()))
        .collect();
    assert_eq!(
        reads,
        vec![
            (true, 200),
            (true, 401),
            (true, 401),
            (true, 401),
            (true, 401)
        ]
    );
    assert_eq!(server.stats().token_puts, 1, "no new token on 401");

    // Once its cached token is due for refresh, it fetches a new one.
    clock.advance(&server, Duration::from_secs(21_600 - 119));
    assert_eq!(client.get(ami).await.unwrap().as_ref(), defaults::AMI_ID);
    assert_eq!(server.stats().token_puts, 2);
}

#[tokio::test]
async fn retries_server_errors() {
    let server = MockImds::start_default().await.unwrap();
    let client = imds_client(&server);
    server.fail_next(2, http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        client
            .get("/latest/meta-data/instance-id")
            .await
            .unwrap()
            .as_ref(),
        defaults::INSTANCE_ID
    );
    assert_eq!(server.stats().faults_injected, 2);
}

#[tokio::test]
async fn a_missing_path_is_an_error_not_a_retry() {
    let server = MockImds::start_default().await.unwrap();
    let client = imds_client(&server);
    let error = client
        .get("/latest/meta-data/spot/instance-action")
        .await
        .unwrap_err();
    assert!(format!("{error:?}").contains("404"), "{error:?}");
    assert_eq!(
        server
            .stats()
            .path_count("/latest/meta-data/spot/instance-action"),
        1
    );
}

#[tokio::test]
async fn the_credentials_provider_parses_the_role_credentials() {
    let server = MockImds::start_default().await.unwrap();
    let provider = ImdsCredentialsProvider::builder()
        .imds_client(imds_client(&server))
        .build();
    let credentials = provider.provide_credentials().await.unwrap();
    assert!(credentials.access_key_id().starts_with("ASIA"));
    assert_eq!(credentials.secret_access_key().len(), 40);
    assert!(credentials.session_token().is_some());
    let expiry = credentials.expiry().expect("IMDS credentials expire");
    let lifetime = expiry.duration_since(imds::clock::now()).unwrap();
    assert!(lifetime > Duration::from_secs(5 * 3600), "{lifetime:?}");
    // It discovered the role from the listing, then fetched it.
    assert_eq!(
        server
            .stats()
            .path_count("/latest/meta-data/iam/security-credentials/"),
        1
    );
    assert_eq!(server.stats().path_count(CREDENTIALS), 1);
}

#[tokio::test]
async fn the_region_provider_reads_the_placement() {
    let server = MockImds::start_default().await.unwrap();
    let provider = ImdsRegionProvider::builder()
        .imds_client(imds_client(&server))
        .build();
    let region = provider.region().await.expect("a region");
    assert_eq!(region.as_ref(), defaults::REGION);
}

/// Its credentials and region providers read what our client reads, with
/// IMDSv1 off, and never read without a token even when IMDSv1 is on (a
/// tokenless read would get the IMDSv1 credentials, another set).
#[tokio::test]
async fn its_providers_read_what_we_read_over_imdsv2_only() {
    for imdsv1_allowed in [false, true] {
        let server = support::mock(imdsv1_allowed).await;
        let client = imds_client(&server);
        let credentials = ImdsCredentialsProvider::builder()
            .imds_client(client.clone())
            .build()
            .provide_credentials()
            .await
            .unwrap();
        let region = ImdsRegionProvider::builder()
            .imds_client(client)
            .build()
            .region()
            .await
            .expect("a region");
        support::assert_every_read_had_a_token(&server, "aws-config");

        let ours = support::our_reading(&server).await;
        assert_eq!(credentials.access_key_id(), ours.access_key_id);
        assert_eq!(credentials.secret_access_key(), ours.secret_access_key);
        assert_eq!(
            credentials.session_token(),
            Some(ours.session_token.as_str())
        );
        assert_eq!(credentials.expiry(), Some(ours.expiration));
        assert_eq!(region.as_ref(), ours.region);
    }
}

#[tokio::test]
async fn works_over_ipv6_loopback() {
    let Ok(server) = imds_mock::Config::default()
        .start_on("[::1]:0".parse().unwrap())
        .await
    else {
        Unavailable::new("IPv6 loopback unavailable here").skip("works_over_ipv6_loopback");
        return;
    };
    let client = imds_client(&server);
    assert_eq!(
        client
            .get("/latest/meta-data/instance-id")
            .await
            .unwrap()
            .as_ref(),
        defaults::INSTANCE_ID
    );
}

#[tokio::test]
async fn disabled_imds_is_a_terminal_error_without_retries() {
    let server = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let client = imds_client(&server);
    let error = client
        .get("/latest/meta-data/instance-id")
        .await
        .unwrap_err();
    let shown = format!("{error:?}");
    assert!(
        shown.contains("Forbidden") || shown.contains("403"),
        "{shown}"
    );
    let stats = server.stats();
    assert_eq!((stats.token_requests, stats.reads), (1, 0), "{stats:?}");
}

#[tokio::test]
async fn an_unanswered_token_put_times_out() {
    // The hop-limit symptom: aws-config gives up by its own timeouts (1 s).
    let server = MockImds::start_default().await.unwrap();
    server.set_token_put_unanswered(true);
    let client = imds_client(&server);
    let started = tokio::time::Instant::now();
    let result = client.get("/latest/meta-data/instance-id").await;
    assert!(result.is_err(), "{result:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let stats = server.stats();
    assert!(
        stats.token_requests >= 1 && stats.token_puts == 0 && stats.reads == 0,
        "{stats:?}"
    );
}
