//! `examples/credentials.rs` (the workspace's root package), run against
//! the embedded mock: the same code, as a test of this crate.

#[path = "../../../examples/credentials.rs"]
mod credentials;

use std::time::Duration;

#[tokio::test]
async fn prints_role_expiry_and_key_tail_but_no_secret() {
    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let summary = credentials::run(&mock.base_url()).await.unwrap();
    assert_eq!(summary.role, "imds-mock-role");
    assert_eq!(summary.key_id_tail.len(), 4);
    let left = summary
        .expiration
        .duration_since(imds::clock::now())
        .unwrap();
    assert!(left > Duration::from_secs(5 * 3600), "{left:?}");

    // The same credentials, read directly: none of their secrets printed.
    let raw: serde_json::Value = serde_json::from_slice(
        &imds::Client::builder()
            .endpoint(mock.base_url())
            .env(imds::Env::from_map::<_, String, String>([]))
            .build()
            .unwrap()
            .get("meta-data/iam/security-credentials/imds-mock-role")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let key_id = raw["AccessKeyId"].as_str().unwrap();
    assert!(key_id.ends_with(&summary.key_id_tail));
    assert!(!summary.printed.contains(key_id), "{}", summary.printed);
    for secret in ["SecretAccessKey", "Token"] {
        let secret = raw[secret].as_str().unwrap();
        assert!(!summary.printed.contains(secret), "{}", summary.printed);
    }
    assert!(summary.printed.contains("imds-mock-role"));
}
