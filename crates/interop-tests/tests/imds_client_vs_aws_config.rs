//! Our `imds::Client` and aws-config's IMDS client read the same mock: they
//! must read the same values, credentials included.

use std::time::Duration;

use aws_config::imds::Client as AwsClient;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use imds::{Client, Env};
use imds_mock::{MockImds, defaults};
use serde_json::Value;

const ROLE_CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";

fn aws_client(server: &MockImds) -> AwsClient {
    let http_client = aws_smithy_http_client::Builder::new().build_http();
    AwsClient::builder()
        .configure(&ProviderConfig::default().with_http_client(http_client))
        .endpoint(server.base_url())
        .expect("the mock's URL is a valid endpoint")
        .build()
}

/// Ours, isolated from the process environment.
fn our_client(server: &MockImds) -> Client {
    Client::builder()
        .env(Env::from_map::<_, String, String>([]))
        .endpoint(server.base_url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn both_read_the_same_values() {
    let server = MockImds::start_default().await.unwrap();
    let (aws, ours) = (aws_client(&server), our_client(&server));
    for path in [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/",
        "/latest/meta-data/placement/region",
        "/latest/meta-data/iam/security-credentials/",
        "/latest/dynamic/instance-identity/document",
    ] {
        let theirs = aws.get(path).await.unwrap();
        let mine = ours.get_text(path).await.unwrap().unwrap();
        assert_eq!(theirs.as_ref(), mine, "{path}");
    }
    assert_eq!(ours.instance_id().await.unwrap(), defaults::INSTANCE_ID);

    let document: Value = serde_json::from_str(
        aws.get("/latest/dynamic/instance-identity/document")
            .await
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let typed = ours.identity_document().await.unwrap();
    // Every field of our typed document, as aws-config read it (the raw
    // document may also have fields we do not type).
    let Value::Object(fields) = serde_json::to_value(&typed).unwrap() else {
        panic!("a document serialises to an object");
    };
    assert!(fields.len() >= 15, "{fields:?}");
    for (name, value) in fields {
        assert_eq!(document[&name], value, "{name}");
    }

    let region = ImdsRegionProvider::builder()
        .imds_client(aws.clone())
        .build()
        .region()
        .await
        .unwrap();
    assert_eq!(region.as_ref(), ours.region().await.unwrap());
    assert_eq!(region, ours.aws_region().await.unwrap());

    // Each client fetched one token of its own.
    assert_eq!(server.stats().token_puts, 2);
}

#[tokio::test]
async fn both_read_the_same_credentials_document() {
    let server = MockImds::start_default().await.unwrap();
    let (aws, ours) = (aws_client(&server), our_client(&server));
    let theirs: Value =
        serde_json::from_str(aws.get(ROLE_CREDENTIALS).await.unwrap().as_ref()).unwrap();
    let mine: Value = ours.get_json(ROLE_CREDENTIALS).await.unwrap().unwrap();
    assert_eq!(theirs["AccessKeyId"], mine["AccessKeyId"]);
    assert_eq!(theirs["Expiration"], mine["Expiration"]);

    // Parsed by our provider, the same key and expiry.
    let credentials = ours.credentials_provider().credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), theirs["AccessKeyId"]);
    let expiration = humantime::parse_rfc3339(theirs["Expiration"].as_str().unwrap()).unwrap();
    assert_eq!(credentials.expiration(), expiration);
}

#[tokio::test]
async fn both_credentials_providers_agree() {
    let server = MockImds::start_default().await.unwrap();
    let theirs = ImdsCredentialsProvider::builder()
        .imds_client(aws_client(&server))
        .build()
        .provide_credentials()
        .await
        .unwrap();
    let provider = our_client(&server).credentials_provider();
    let ours = provider.provide_credentials().await.unwrap();
    assert_eq!(theirs.access_key_id(), ours.access_key_id());
    assert_eq!(theirs.secret_access_key(), ours.secret_access_key());
    assert_eq!(theirs.session_token(), ours.session_token());
    assert_eq!(theirs.expiry(), ours.expiry());
    let plain = provider.credentials().await.unwrap();
    assert_eq!(Some(plain.expiration()), theirs.expiry());
    assert_eq!(plain.role_name(), Some("imds-mock-role"));
}

#[tokio::test]
async fn after_rotation_both_see_the_new_credentials() {
    let server = MockImds::start_default().await.unwrap();
    let aws = aws_client(&server);
    let ours = our_client(&server);
    let before: Value =
        serde_json::from_str(aws.get(ROLE_CREDENTIALS).await.unwrap().as_ref()).unwrap();
    // Into the last quarter of the 6 h lifetime: the mock rotates. Both
    // tokens (21600 s) are still valid on the server's clock.
    server.advance_clock(Duration::from_secs(5 * 3600));
    let theirs: Value =
        serde_json::from_str(aws.get(ROLE_CREDENTIALS).await.unwrap().as_ref()).unwrap();
    let mine: Value = ours.get_json(ROLE_CREDENTIALS).await.unwrap().unwrap();
    assert_ne!(theirs["AccessKeyId"], before["AccessKeyId"]);
    assert_eq!(theirs["AccessKeyId"], mine["AccessKeyId"]);
    assert_eq!(theirs["Expiration"], mine["Expiration"]);
}
