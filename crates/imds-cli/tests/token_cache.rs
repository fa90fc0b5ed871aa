//! The token cache across invocations, through the built binary.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::UNIX_EPOCH;

use imds_mock::MockImds;
use serde_json::Value;
use support::{Sandbox, mode};

const INSTANCE_ID: &[&str] = &["get", "meta-data/instance-id"];

fn cached(sandbox: &Sandbox, mock: &MockImds) -> Value {
    serde_json::from_slice(&fs::read(sandbox.token_file(mock)).unwrap()).unwrap()
}

fn unix_now() -> u64 {
    imds::clock::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn the_token_is_cached_in_a_private_file_and_reused_by_the_next_run() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let first = sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    assert_eq!(mock.stats().token_puts, 1);

    // 0700 directories (each one created), a 0600 file, nothing else.
    assert_eq!(mode(&sandbox.cache_home()), 0o700);
    assert_eq!(mode(&sandbox.cache_home().join("imds")), 0o700);
    assert_eq!(mode(&sandbox.token_dir()), 0o700);
    let file = sandbox.token_file(&mock);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(fs::read_dir(sandbox.token_dir()).unwrap().count(), 1);
    let content = cached(&sandbox, &mock);
    assert_eq!(content.as_object().unwrap().len(), 2, "{content}");
    let token = content["token"].as_str().unwrap().to_owned();
    let expires_at = content["expires_at"].as_u64().unwrap();
    let ttl = expires_at - unix_now();
    assert!((21_500..=21_600).contains(&ttl), "{ttl}");

    // Two more runs, other commands: no new token.
    let second = sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    assert_eq!(first.stdout, second.stdout);
    sandbox
        .run(&mock.base_url(), &["dump", "meta-data/placement/"])
        .await
        .ok();
    assert_eq!(mock.stats().token_puts, 1);
    assert_eq!(cached(&sandbox, &mock)["token"], token.as_str());
}

#[tokio::test]
async fn the_cache_honours_xdg_cache_home_then_home() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    // A relative XDG_CACHE_HOME is ignored (XDG spec): ~/.cache it is.
    sandbox
        .run_with(
            &mock.base_url(),
            INSTANCE_ID,
            &[("XDG_CACHE_HOME", "relative/cache")],
        )
        .await
        .ok();
    let dir = sandbox.home().join(".cache/imds/tokens");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(mode(&dir), 0o700);
    assert!(!sandbox.token_dir().exists());
}

#[tokio::test]
async fn a_corrupt_cache_file_is_ignored_and_replaced() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    let file = sandbox.token_file(&mock);
    fs::write(&file, b"{\"token\": \"tru").unwrap();

    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    assert_eq!(mock.stats().token_puts, 2);
    let replaced = cached(&sandbox, &mock);
    assert!(replaced["token"].is_string());
    assert_eq!(mode(&file), 0o600);

    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    assert_eq!(mock.stats().token_puts, 2, "the replacement is used");
}

#[tokio::test]
async fn a_token_expiring_within_30_seconds_is_not_used() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    let file = sandbox.token_file(&mock);
    let mut content = cached(&sandbox, &mock);
    content["expires_at"] = (unix_now() + 20).into();
    fs::write(&file, content.to_string()).unwrap();

    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn a_cache_file_open_to_others_is_not_trusted_and_warned_about() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    let file = sandbox.token_file(&mock);
    let token = cached(&sandbox, &mock)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();

    let run = sandbox.run(&mock.base_url(), INSTANCE_ID).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("mode 0644"), "{run:?}");
    assert!(!run.stderr.contains(&token), "{run:?}");
    assert_eq!(mock.stats().token_puts, 2);
    // Replaced by a private file.
    assert_eq!(mode(&file), 0o600);
}

#[tokio::test]
async fn a_cache_directory_open_to_others_is_neither_read_nor_written() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    fs::set_permissions(sandbox.token_dir(), fs::Permissions::from_mode(0o777)).unwrap();
    let before = fs::read(sandbox.token_file(&mock)).unwrap();

    let run = sandbox.run(&mock.base_url(), INSTANCE_ID).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("mode 0777"), "{run:?}");
    assert_eq!(mock.stats().token_puts, 2);
    assert_eq!(fs::read(sandbox.token_file(&mock)).unwrap(), before);
}

#[tokio::test]
async fn a_cached_token_imds_refuses_is_replaced_in_the_run() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    // As after a stop and start of the instance: IMDS forgot the token.
    mock.expire_tokens();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["--attempts", "1", "get", "meta-data/ami-id"],
        )
        .await
        .ok();
    assert!(run.stdout.starts_with(b"ami-"));
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn no_token_cache_neither_reads_nor_writes() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    for _ in 0..2 {
        sandbox
            .run(
                &mock.base_url(),
                &["--no-token-cache", "get", "meta-data/ami-id"],
            )
            .await
            .ok();
    }
    assert_eq!(mock.stats().token_puts, 2);
    assert!(!sandbox.cache_home().exists());

    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    sandbox
        .run(
            &mock.base_url(),
            &["get", "--no-token-cache", "meta-data/ami-id"],
        )
        .await
        .ok();
    assert_eq!(mock.stats().token_puts, 4, "the cached token was not read");
}

#[tokio::test]
async fn one_file_per_endpoint() {
    let a = MockImds::start_default().await.unwrap();
    let b = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    for mock in [&a, &b, &a, &b] {
        sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    }
    assert_eq!(a.stats().token_puts, 1);
    assert_eq!(b.stats().token_puts, 1);
    assert_eq!(fs::read_dir(sandbox.token_dir()).unwrap().count(), 2);
    assert_ne!(cached(&sandbox, &a)["token"], cached(&sandbox, &b)["token"]);
}

#[tokio::test]
async fn the_cache_is_not_used_with_the_mock() {
    let sandbox = Sandbox::new();
    sandbox.run_mock(INSTANCE_ID).await.ok();
    assert!(!sandbox.cache_home().exists());
}

#[tokio::test]
async fn a_short_ttl_token_is_cached_with_its_expiry() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox
        .run(
            &mock.base_url(),
            &["--ttl", "300", "get", "meta-data/ami-id"],
        )
        .await
        .ok();
    let ttl = cached(&sandbox, &mock)["expires_at"].as_u64().unwrap() - unix_now();
    assert!((200..=300).contains(&ttl), "{ttl}");
}
