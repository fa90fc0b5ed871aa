//! `imds credentials --cache` through the built binary: one fetch for many
//! runs, a refresh inside the refresh window, never an expired set, and
//! nothing on disk without the flag.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use imds_mock::MockImds;
use serde_json::Value;
use support::{Sandbox, mode};

const CACHED: &[&str] = &["credentials", "--format", "credential-process", "--cache"];
/// Asked once per fetch: the role is discovered every time.
const ROLE_LISTING: &str = "/latest/meta-data/iam/security-credentials/";

fn fetches(mock: &MockImds) -> u64 {
    mock.stats().path_count(ROLE_LISTING)
}

fn credentials_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.cache_home().join("imds").join("credentials")
}

/// The one file in the credentials cache.
fn cache_file(sandbox: &Sandbox) -> PathBuf {
    let mut files: Vec<PathBuf> = fs::read_dir(credentials_dir(sandbox))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.pop().unwrap()
}

/// Seconds from now to the `Expiration` of credential_process output.
fn expires_in(output: &Value) -> i64 {
    let expiration = humantime::parse_rfc3339(output["Expiration"].as_str().unwrap()).unwrap();
    let now = imds::clock::now();
    match expiration.duration_since(now) {
        Ok(left) => i64::try_from(left.as_secs()).unwrap(),
        Err(past) => -i64::try_from(past.duration().as_secs()).unwrap(),
    }
}

#[tokio::test]
async fn two_runs_make_one_fetch() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let first = sandbox.run(&mock.base_url(), CACHED).await.ok().json();
    assert_eq!(fetches(&mock), 1);
    let second = sandbox.run(&mock.base_url(), CACHED).await.ok().json();
    assert_eq!(second, first, "the same credentials, from the file");
    assert_eq!(fetches(&mock), 1, "the second run fetched nothing");
    assert!(expires_in(&second) > 3600, "{second}");

    // Private: a 0600 file in 0700 directories.
    let file = cache_file(&sandbox);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&credentials_dir(&sandbox)), 0o700);
    assert_eq!(mode(&sandbox.cache_home().join("imds")), 0o700);

    // The other formats read the same file.
    let json = sandbox
        .run(&mock.base_url(), &["credentials", "--cache"])
        .await
        .ok()
        .json();
    assert_eq!(json["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(json["RoleName"], "imds-mock-role");
    assert_eq!(fetches(&mock), 1);
}

#[tokio::test]
async fn without_the_flag_nothing_is_kept() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let plain = &CACHED[..3];
    sandbox.run(&mock.base_url(), plain).await.ok();
    sandbox.run(&mock.base_url(), plain).await.ok();
    assert_eq!(fetches(&mock), 2);
    assert!(!credentials_dir(&sandbox).exists());
}

#[tokio::test]
async fn credentials_inside_the_refresh_window_are_fetched_again() {
    // Two minutes to live: inside the provider's 5-minute refresh window
    // from the start.
    let mock = MockImds::builder()
        .credential_lifetime_secs(120)
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    for run in 1..=2 {
        let output = sandbox.run(&mock.base_url(), CACHED).await.ok().json();
        assert_eq!(fetches(&mock), run, "every run refreshes");
        let left = expires_in(&output);
        assert!((1..=120).contains(&left), "{left}");
    }
}

#[tokio::test]
async fn an_expired_set_in_the_cache_is_never_printed() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let fresh = sandbox.run(&mock.base_url(), CACHED).await.ok().json();

    // The file now says the set expired a second ago.
    let file = cache_file(&sandbox);
    let mut stored: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    let expired = imds::clock::now() - Duration::from_secs(1);
    stored["Expiration"] = humantime::format_rfc3339_seconds(expired)
        .to_string()
        .into();
    stored["AccessKeyId"] = "ASIAEXPIREDEXPIRED00".into();
    fs::write(&file, serde_json::to_vec(&stored).unwrap()).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();

    // IMDS failing: an error, not the expired set.
    mock.fail_next(1, http::StatusCode::INTERNAL_SERVER_ERROR);
    let failed = sandbox
        .run(&mock.base_url(), &[CACHED, &["--attempts", "1"]].concat())
        .await
        .fails(1);
    assert!(!failed.stderr.contains("ASIAEXPIRED"), "{failed:?}");

    // IMDS back: a fetch, printed and saved over the expired set.
    let output = sandbox.run(&mock.base_url(), CACHED).await.ok().json();
    assert_eq!(output["AccessKeyId"], fresh["AccessKeyId"]);
    assert!(expires_in(&output) > 3600, "{output}");
    assert_eq!(fetches(&mock), 3);
    let saved: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["AccessKeyId"], fresh["AccessKeyId"]);
}

#[tokio::test]
async fn a_configured_role_keys_its_own_file_from_any_source() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let role = "imds-mock-role";
    let flagged = [CACHED, &["--role", role]].concat();
    let first = sandbox.run(&mock.base_url(), &flagged).await.ok().json();
    let file = cache_file(&sandbox);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with("_23imds-mock-role.json"), "{name}");
    // The same role, set in the environment instead: the same file, and
    // IMDS is not read.
    let reads = mock.stats().reads;
    let env = [("AWS_EC2_INSTANCE_PROFILE_NAME", role)];
    let second = sandbox
        .run_with(&mock.base_url(), CACHED, &env)
        .await
        .ok()
        .json();
    assert_eq!(second, first);
    assert_eq!(mock.stats().reads, reads, "read from the file");
    assert_eq!(cache_file(&sandbox), file);
}
