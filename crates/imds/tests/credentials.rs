//! The credentials provider over the client, against imds-mock, on tokio's
//! paused clock: the provider's wall clock (`imds::clock`) and the mock's
//! both follow it, so one `tokio::time::advance` moves them together.

mod support;

use std::time::Duration;

use http::StatusCode;
use imds::{Client, CredentialsProvider, Error, clock};
use imds_mock::MockImds;
use support::client_for;

const ROLE: &str = "imds-mock-role";
const LIST: &str = "/latest/meta-data/iam/security-credentials/";
const CLASSIC: &str = "/latest/meta-data/iam/security-credentials/imds-mock-role";
const EXTENDED: &str = "/latest/meta-data/iam/security-credentials-extended/imds-mock-role";
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Moves the provider's and the mock's clocks together.
struct Clocks;

impl Clocks {
    async fn advance(&self, by: Duration) {
        tokio::time::advance(by).await;
    }
}

fn setup(mock: &MockImds) -> (CredentialsProvider<Client>, Clocks) {
    let provider = CredentialsProvider::builder(client_for(mock))
        .refresh_jitter(Duration::ZERO)
        .extension_jitter(Duration::ZERO)
        .build();
    (provider, Clocks)
}

#[tokio::test(start_paused = true)]
async fn discovers_the_role_and_falls_back_to_the_classic_document() {
    let mock = MockImds::start_default().await.unwrap();
    let (provider, _clocks) = setup(&mock);
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.role_name(), Some(ROLE));
    assert!(credentials.access_key_id().starts_with("ASIA"));
    assert_eq!(credentials.account_id(), None);
    let lifetime = credentials
        .expiration()
        .duration_since(clock::now())
        .unwrap();
    assert!(lifetime > 5 * HOUR, "{lifetime:?}");
    let stats = mock.stats();
    assert_eq!(stats.path_count(LIST), 1);
    assert_eq!(stats.path_count(EXTENDED), 1, "asked once, 404");
    assert_eq!(stats.path_count(CLASSIC), 1);
    // Cached: no request at all.
    let again = provider.credentials().await.unwrap();
    assert_eq!(again, credentials);
    assert_eq!(mock.stats().reads, stats.reads);
}

#[tokio::test(start_paused = true)]
async fn prefers_the_extended_document() {
    let mock = MockImds::start_default().await.unwrap();
    let expiration = humantime::format_rfc3339_seconds(clock::now() + 6 * HOUR);
    mock.set_metadata(
        "meta-data/iam/security-credentials-extended/imds-mock-role",
        serde_json::json!({
            "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAEXTENDEDEXAMPLE1",
            "SecretAccessKey": "s", "Token": "t", "Expiration": expiration.to_string(),
            "AccountId": "123456789012",
        })
        .to_string(),
    );
    let (provider, _clocks) = setup(&mock);
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAEXTENDEDEXAMPLE1");
    assert_eq!(credentials.account_id(), Some("123456789012"));
    assert_eq!(mock.stats().path_count(CLASSIC), 0);
}

#[tokio::test(start_paused = true)]
async fn refreshes_before_expiry_and_picks_up_rotated_credentials() {
    let mock = MockImds::start_default().await.unwrap();
    let (provider, clocks) = setup(&mock);
    let first = provider.credentials().await.unwrap();
    // 6 h credentials, refreshed 5 min before they expire (no jitter).
    clocks.advance(6 * HOUR - 6 * MINUTE).await;
    assert_eq!(provider.credentials().await.unwrap(), first, "not yet");
    assert_eq!(mock.stats().path_count(CLASSIC), 1);
    clocks.advance(2 * MINUTE).await;
    let second = provider.credentials().await.unwrap();
    assert_eq!(mock.stats().path_count(CLASSIC), 2);
    assert_ne!(second.access_key_id(), first.access_key_id());
    assert!(second.expiration() > first.expiration());
    assert_eq!(
        mock.stats().path_count(EXTENDED),
        1,
        "the extended document is not asked for again"
    );
}

#[tokio::test(start_paused = true)]
async fn an_outage_serves_valid_credentials_unchanged() {
    let mock = MockImds::start_default().await.unwrap();
    let (provider, clocks) = setup(&mock);
    let first = provider.credentials().await.unwrap();
    mock.set_disabled(true);
    clocks.advance(6 * HOUR - 4 * MINUTE).await;
    let served = provider.credentials().await.unwrap();
    assert_eq!(served, first, "still valid: not extended");
    assert!(mock.stats().token_requests + mock.stats().reads > 4);
}

#[tokio::test(start_paused = true)]
async fn an_outage_extends_expired_credentials() {
    let mock = MockImds::start_default().await.unwrap();
    let (provider, clocks) = setup(&mock);
    let first = provider.credentials().await.unwrap();
    mock.set_disabled(true);
    clocks.advance(7 * HOUR).await;
    let served = provider.credentials().await.unwrap();
    assert_eq!(served.access_key_id(), first.access_key_id());
    assert_eq!(served.expiration(), clock::now() + 5 * MINUTE);
    // IMDS back: the next refresh (after the retry delay) gets new ones.
    mock.set_disabled(false);
    clocks.advance(2 * MINUTE).await;
    let fresh = provider.credentials().await.unwrap();
    assert_ne!(fresh.access_key_id(), first.access_key_id());
}

#[tokio::test(start_paused = true)]
async fn nothing_loaded_yet_is_an_error() {
    let mock = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let (provider, _clocks) = setup(&mock);
    let error = provider.credentials().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Status {
                status: StatusCode::FORBIDDEN,
                ..
            }
        ),
        "{error:?}"
    );
    let mock = MockImds::builder().no_role().build().start().await.unwrap();
    let (provider, _clocks) = setup(&mock);
    let error = provider.credentials().await.unwrap_err();
    assert!(matches!(error, Error::NoRole { role: None }), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_code_other_than_success_is_an_error() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(
        "meta-data/iam/security-credentials/imds-mock-role",
        r#"{"Code": "AssumeRoleUnauthorizedAccess", "Message": "denied"}"#,
    );
    let (provider, _clocks) = setup(&mock);
    let error = provider.credentials().await.unwrap_err();
    assert!(
        matches!(&error, Error::Credentials { code, role, .. }
            if code == "AssumeRoleUnauthorizedAccess" && role == ROLE),
        "{error:?}"
    );
    assert!(error.to_string().contains("trust policy"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_fetch() {
    let mock = MockImds::start_default().await.unwrap();
    let (provider, _clocks) = setup(&mock);
    let calls = (0..16).map(|_| provider.credentials());
    let results = futures_util::future::join_all(calls).await;
    let first = results[0].as_ref().unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap() == first));
    assert_eq!(mock.stats().path_count(LIST), 1);
    assert_eq!(mock.stats().path_count(CLASSIC), 1);
    assert_eq!(mock.stats().token_puts, 1);
}
