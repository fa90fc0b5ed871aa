//! `imds credentials --format credential-process`, run by aws-config's own
//! `CredentialProcessProvider` exactly as an AWS SDK runs a profile's
//! `credential_process`: the SDK must accept what the CLI prints.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aws_config::credential_process::CredentialProcessProvider;
use aws_credential_types::provider::ProvideCredentials;
use imds_mock::MockImds;
use serde_json::Value;

const ROLE_CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";

/// The `imds` binary of this build, built first so that the test never runs
/// a stale one (`cargo test -p interop-tests` alone does not build it).
fn imds_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/imds
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "-p", "imds-cli", "--bin", "imds"]);
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => {}
        Some(profile) => {
            build.args(["--profile", profile]);
        }
        None => panic!("unexpected test path {exe:?}"),
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p imds-cli failed: {status}");
    let binary = profile_dir.join("imds");
    assert!(binary.is_file(), "no imds binary at {binary:?}");
    binary
}

/// The command line a user would put in `credential_process`, run with an
/// empty environment so no AWS setting of the machine running the tests
/// leaks in, and with no token cache (nothing written to a home directory).
fn credential_process(server_url: &str) -> CredentialProcessProvider {
    let binary = imds_binary();
    let binary = binary.to_str().expect("a UTF-8 target path");
    assert!(!binary.contains('\''), "{binary}");
    CredentialProcessProvider::new(format!(
        "env -i '{binary}' --endpoint {server_url} --no-token-cache \
         credentials --format credential-process"
    ))
}

async fn role_document(server: &MockImds) -> Value {
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(server.base_url())
        .build()
        .unwrap();
    client.get_json(ROLE_CREDENTIALS).await.unwrap().unwrap()
}

#[tokio::test]
async fn aws_config_accepts_the_credential_process_output() {
    let server = MockImds::start_default().await.unwrap();
    let provider = credential_process(&server.base_url());

    let credentials = provider.provide_credentials().await.unwrap();

    let document = role_document(&server).await;
    assert_eq!(credentials.access_key_id(), document["AccessKeyId"]);
    assert_eq!(credentials.secret_access_key(), document["SecretAccessKey"]);
    assert_eq!(credentials.session_token(), document["Token"].as_str());
    let expiration = humantime::parse_rfc3339(document["Expiration"].as_str().unwrap()).unwrap();
    assert_eq!(credentials.expiry(), Some(expiration));
    assert!(expiration > imds::clock::now() + Duration::from_secs(3600));
    // The CLI read them through IMDSv2: every read carried a token.
    assert!(server.stats().token_puts >= 1);
    let reads: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == http::Method::GET)
        .collect();
    assert!(!reads.is_empty());
    assert!(reads.iter().all(|r| r.has_token), "{reads:?}");
}

#[tokio::test]
async fn rotated_credentials_reach_the_sdk_on_the_next_run() {
    let server = MockImds::start_default().await.unwrap();
    let provider = credential_process(&server.base_url());
    let first = provider.provide_credentials().await.unwrap();

    server.advance_clock(Duration::from_secs(5 * 3600));
    let second = provider.provide_credentials().await.unwrap();

    assert_ne!(first.access_key_id(), second.access_key_id());
    assert_eq!(
        second.access_key_id(),
        role_document(&server).await["AccessKeyId"]
    );
    assert!(second.expiry() > first.expiry());
}

#[tokio::test]
async fn an_unreachable_imds_fails_the_process_and_the_sdk_says_why() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let provider = credential_process(&format!("http://127.0.0.1:{port}"));

    let error = provider.provide_credentials().await.unwrap_err();

    // aws-config puts the process's stderr in its error: our one-line reason.
    let message = error_chain(&error);
    assert!(message.contains("could not reach IMDS"), "{message}");
}

/// The error with all its sources, as a user would see it in a log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
