//! The `aws-sdk` feature: `ProvideCredentials` and the region, against
//! imds-mock. Run with `cargo test -p imds --features aws-sdk` (the
//! interop-tests crate turns the feature on for `cargo test --workspace`).

#![cfg(feature = "aws-sdk")]

mod support;

use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use imds::Env;
use imds_mock::{MockImds, defaults};
use support::{client_for, closed_port, isolated};

#[tokio::test]
async fn provides_the_role_credentials() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let provider = client.credentials_provider();
    let sdk = provider.provide_credentials().await.unwrap();
    let ours = provider.credentials().await.unwrap();
    assert_eq!(sdk.access_key_id(), ours.access_key_id());
    assert_eq!(sdk.secret_access_key(), ours.secret_access_key());
    assert_eq!(sdk.session_token(), Some(ours.session_token()));
    assert_eq!(sdk.expiry(), Some(ours.expiration()));
    assert_eq!(sdk.account_id(), None);
    // The SDK's Debug redacts too.
    assert!(!format!("{sdk:?}").contains(ours.secret_access_key()));
    assert_eq!(
        mock.stats()
            .path_count("/latest/meta-data/iam/security-credentials/imds-mock-role"),
        1,
        "one fetch, cached"
    );
}

#[tokio::test]
async fn disabled_or_unreachable_imds_is_not_loaded() {
    let disabled = isolated()
        .env(Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]))
        .build()
        .unwrap();
    let error = disabled
        .credentials_provider()
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CredentialsError::CredentialsNotLoaded(_)),
        "{error:?}"
    );

    let unreachable = isolated()
        .endpoint(closed_port().await)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = unreachable
        .credentials_provider()
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CredentialsError::CredentialsNotLoaded(_)),
        "{error:?}"
    );

    // IMDS turned off on the instance, and no role attached: not loaded.
    for mock in [
        MockImds::builder()
            .disabled(true)
            .build()
            .start()
            .await
            .unwrap(),
        MockImds::builder().no_role().build().start().await.unwrap(),
    ] {
        let error = client_for(&mock)
            .credentials_provider()
            .provide_credentials()
            .await
            .unwrap_err();
        assert!(
            matches!(error, CredentialsError::CredentialsNotLoaded(_)),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn other_failures_are_provider_errors() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(
        "meta-data/iam/security-credentials/imds-mock-role",
        r#"{"Code": "AssumeRoleUnauthorizedAccess", "Message": "denied"}"#,
    );
    let error = client_for(&mock)
        .credentials_provider()
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CredentialsError::ProviderError(_)),
        "{error:?}"
    );
    // A configured role that is not attached.
    let error = isolated()
        .endpoint(mock.base_url())
        .role_name("other")
        .build()
        .unwrap()
        .credentials_provider()
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(error, CredentialsError::ProviderError(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_region_as_the_sdk_type() {
    let mock = MockImds::start_default().await.unwrap();
    let region = client_for(&mock).aws_region().await.unwrap();
    assert_eq!(region.as_ref(), defaults::REGION);
}
