//! A token cache file or directory owned by another user is not trusted,
//! end to end. Needs root to hand a file to another user; as anyone else
//! the tests say so and pass without checking (the unit tests of the cache
//! cover the rule with a pretended uid).

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;

use imds_mock::MockImds;
use support::{Sandbox, mode};

const INSTANCE_ID: &[&str] = &["get", "meta-data/instance-id"];
/// `nobody` on most systems.
const OTHER_UID: u32 = 65_534;

/// Hands `path` to another user, or `false` when this process may not.
fn give_away(path: &std::path::Path) -> bool {
    if rustix::process::geteuid().as_raw() != 0 {
        support::skip("not root, cannot chown to another user");
        return false;
    }
    std::os::unix::fs::chown(path, Some(OTHER_UID), Some(OTHER_UID)).unwrap();
    true
}

#[tokio::test]
async fn a_cache_file_owned_by_another_user_is_not_trusted() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    let file = sandbox.token_file(&mock);
    let planted = fs::read_to_string(&file).unwrap();
    if !give_away(&file) {
        return;
    }
    // Still 0600: only the owner is wrong.
    assert_eq!(mode(&file), 0o600);

    let run = sandbox.run(&mock.base_url(), INSTANCE_ID).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("owned by uid {OTHER_UID}")),
        "{run:?}"
    );
    let planted: serde_json::Value = serde_json::from_str(&planted).unwrap();
    assert!(!run.stderr.contains(planted["token"].as_str().unwrap()));
    assert_eq!(mock.stats().token_puts, 2, "the planted token was not used");
    // Replaced by the user's own private file.
    let metadata = fs::metadata(&file).unwrap();
    assert_eq!(metadata.uid(), rustix::process::geteuid().as_raw());
    assert_eq!(mode(&file), 0o600);
}

#[tokio::test]
async fn a_cache_directory_owned_by_another_user_is_neither_read_nor_written() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.ok();
    let before = fs::read(sandbox.token_file(&mock)).unwrap();
    if !give_away(&sandbox.token_dir()) {
        return;
    }
    assert_eq!(mode(&sandbox.token_dir()), 0o700);

    for run in 1..=2 {
        let run_output = sandbox.run(&mock.base_url(), INSTANCE_ID).await;
        assert_eq!(run_output.code, 0, "{run_output:?}");
        assert!(
            run_output
                .stderr
                .contains(&format!("owned by uid {OTHER_UID}")),
            "{run_output:?}"
        );
        assert_eq!(mock.stats().token_puts, 1 + run, "no cached token is used");
    }
    assert_eq!(fs::read(sandbox.token_file(&mock)).unwrap(), before);
    assert_eq!(fs::read_dir(sandbox.token_dir()).unwrap().count(), 1);
}
