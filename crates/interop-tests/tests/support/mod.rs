//! What the real-SDK tests share: what our own `imds::Client` reads from a
//! mock (the values every peer must read too), the check that a peer sent
//! no read without a token, and running a peer script against a mock.

#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use imds::{Client, Env};
use imds_mock::MockImds;
use interop_tests::peers::{Peer, Unavailable};
use serde_json::Value;

/// What our client reads from a mock.
#[derive(Debug)]
pub struct Reading {
    pub instance_id: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

/// A mock that serves IMDSv1 too or refuses it (IMDSv2 always works).
pub async fn mock(imdsv1_allowed: bool) -> MockImds {
    MockImds::builder()
        .imdsv1_allowed(imdsv1_allowed)
        .build()
        .start()
        .await
        .unwrap()
}

/// Reads instance-id, region and the role credentials with our client,
/// isolated from the process environment.
pub async fn our_reading(server: &MockImds) -> Reading {
    let client = Client::builder()
        .env(Env::from_map::<_, String, String>([]))
        .endpoint(server.base_url())
        .build()
        .unwrap();
    let credentials = client.credentials_provider().credentials().await.unwrap();
    Reading {
        instance_id: client.instance_id().await.unwrap(),
        region: client.region().await.unwrap(),
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: credentials.secret_access_key().to_owned(),
        session_token: credentials.session_token().to_owned(),
        expiration: credentials.expiration(),
    }
}

/// Every request the mock logged was answered 200, and every read carried
/// a token: the peer spoke IMDSv2 only, even where IMDSv1 was allowed.
pub fn assert_every_read_had_a_token(server: &MockImds, peer: &str) {
    let requests = server.requests();
    assert!(!requests.is_empty(), "{peer} sent nothing");
    for request in &requests {
        assert_eq!(
            request.status.map(|s| s.as_u16()),
            Some(200),
            "{peer}: {request:?}"
        );
        if request.path.ends_with("/api/token") {
            assert!(request.has_ttl, "{peer}: {request:?}");
        } else {
            assert!(
                request.has_token,
                "{peer} read without a token: {request:?}"
            );
        }
    }
}

/// An RFC 3339 time as a peer printed it (`...Z`, `....000Z`).
pub fn time(value: &Value) -> SystemTime {
    let text = value.as_str().unwrap_or_else(|| panic!("a time: {value}"));
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The peer, installed if need be (off the async runtime: it may take a
/// while), or `None` after reporting the skip (a failure under CI).
pub async fn peer(install: fn() -> Result<Peer, Unavailable>, what: &str) -> Option<Peer> {
    match tokio::task::spawn_blocking(install).await.unwrap() {
        Ok(peer) => Some(peer),
        Err(reason) => {
            reason.skip(what);
            None
        }
    }
}

/// Runs `command` against `server` with an isolated home (no config, no
/// credentials files) and parses the one JSON object it prints. Fails the
/// test with the script's stderr if it fails or takes over a minute.
pub async fn run(mut command: Command, server: &MockImds, home: &Path) -> Value {
    command
        .env("HOME", home)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.base_url())
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("BOTO_CONFIG", home.join("no-boto-config"));
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the peer script finished within a minute")
        .expect("the peer script ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", output.status);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the peer printed no JSON ({e}); stderr: {stderr}"))
}

/// The version pinned for `package` in `peers/<ecosystem>/<file>`, as a
/// line `package==version` or `"package": "version"` says.
pub fn pinned(ecosystem: &str, file: &str, package: &str) -> String {
    let path = interop_tests::peers::peers_source()
        .join(ecosystem)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        let line = line.trim();
        if let Some(version) = line.strip_prefix(&format!("{package}==")) {
            return version.trim_end_matches(" \\").to_owned();
        }
        if let Some(version) = line.strip_prefix(&format!("\"{package}\": \"")) {
            return version.trim_end_matches(['"', ',']).to_owned();
        }
    }
    panic!("{package} is not pinned in {}", path.display());
}
