//! No secret in any log line or any error: a whole session at TRACE level
//! with every crate's events captured (client, layer, mock, and whatever
//! the HTTP stack emits), and every error variant that can be provoked,
//! shown with `Display`, `Debug` and its sources. Secrets: every session
//! token issued, every credential set's secret key and session token, the
//! user data and the identity signatures.

// One capture helper for the workspace's tests, and why it is not a
// subscriber per test: see its module docs.
#[path = "../crates/imds/tests/support/log_capture.rs"]
mod log_capture;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Empty;
use imds::{Client, Env};
use imds_mock::{MockImds, TokenPutFault, TokenReply};
use tower::{Layer, ServiceExt};
use tower_imds::ImdsV2Layer;

const USER_DATA: &str = "#!/bin/sh\nexport DB_PASSWORD=user-data-secret-7f3a9\n";
const USER_DATA_SECRET: &str = "user-data-secret-7f3a9";
/// Looks like a token; the mock hands it out in broken token answers.
const TOKEN_LIKE: &str = "AQAEAHsecretTOKENlike0123456789abcdefghijklmnopqrst==";
/// Looks like credentials; the mock serves them in broken documents.
const SECRET_KEY_LIKE: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
const SESSION_LIKE: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENLIKE";
const CREDENTIALS: &str = "meta-data/iam/security-credentials/imds-mock-role";

/// The secrets seen so far, to look for afterwards.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn add(&mut self, secret: impl Into<String>) {
        let secret = secret.into();
        assert!(secret.len() >= 8, "too short to search for: {secret:?}");
        self.0.push(secret);
    }

    fn assert_absent(&self, text: &str, what: &str) {
        for secret in &self.0 {
            assert!(
                !text.contains(secret.as_str()),
                "a secret in {what}:\n{text}"
            );
        }
    }
}

fn empty_env() -> Env {
    Env::from_map::<_, String, String>([])
}

/// The token the client reads `mock` with.
async fn current_token(client: &Client) -> String {
    let token = client.token().await.unwrap().expect("IMDSv2");
    token.expose_secret().to_owned()
}

/// An error's `Display`, `Debug`, pretty `Debug` and every source's
/// `Display`.
fn shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error}\n{error:?}\n{error:#?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    text
}

#[tokio::test(flavor = "current_thread")]
async fn a_whole_session_at_trace_level_logs_no_secret() {
    let (captured, _guard) = log_capture::capture(tracing::Level::TRACE);
    let mut secrets = Secrets::default();
    secrets.add(USER_DATA_SECRET);
    secrets.add(TOKEN_LIKE);
    secrets.add(SECRET_KEY_LIKE);
    secrets.add(SESSION_LIKE);

    let mock = MockImds::builder()
        .user_data(USER_DATA)
        .tags_enabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .env(empty_env())
        .endpoint(mock.base_url())
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .build()
        .unwrap();

    // Everything a service on an instance reads.
    client.instance_id().await.unwrap();
    secrets.add(current_token(&client).await);
    client.region().await.unwrap();
    client.identity_document().await.unwrap();
    // The identity signatures are handled as secrets too.
    for signature in [
        client.identity_rsa2048().await.unwrap(),
        client.identity_signature().await.unwrap(),
        client.identity_pkcs7().await.unwrap(),
    ] {
        // A stretch of the base64 from the middle: the end is padding and
        // end-of-contents octets (`AAAA`, `==`) that any blob could share.
        let text = String::from_utf8(signature.to_vec()).unwrap();
        let line = text
            .lines()
            .filter(|line| line.len() >= 48)
            .nth(text.lines().count() / 2)
            .or_else(|| text.lines().find(|line| line.len() >= 48))
            .expect("a 48-character line of base64");
        let middle = line.len() / 2;
        secrets.add(line[middle - 24..middle + 24].to_owned());
    }
    client.iam_info().await.unwrap();
    client.tags().await.unwrap();
    let user_data = client.user_data().await.unwrap().unwrap();
    assert_eq!(user_data, USER_DATA.as_bytes());
    client.walk("").await.unwrap();
    let provider = client.credentials_provider();
    let credentials = provider.credentials().await.unwrap();
    secrets.add(credentials.secret_access_key());
    secrets.add(credentials.session_token());
    provider.credentials().await.unwrap(); // from the cache
    tracing::info!(?credentials, ?client, ?provider, "Debug of the values");

    // Passing faults: retries, a refresh after a 401, a rotation. (Reads
    // of the path: `instance_id()` answers from memory now.)
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    mock.drop_next(1);
    client.get("meta-data/instance-id").await.unwrap();
    mock.expire_tokens();
    client.get("meta-data/instance-id").await.unwrap();
    secrets.add(current_token(&client).await);
    mock.advance_clock(Duration::from_secs(6 * 3600));
    client.user_data().await.unwrap();
    secrets.add(current_token(&client).await);
    let rotated = client.credentials_provider().credentials().await.unwrap();
    assert_ne!(rotated.secret_access_key(), credentials.secret_access_key());
    secrets.add(rotated.secret_access_key());
    secrets.add(rotated.session_token());

    // Broken answers that hold secrets.
    mock.expire_tokens();
    mock.fault_next_token_puts(
        1,
        TokenPutFault::Reply(TokenReply::new(format!("{TOKEN_LIKE}\x07"))),
    );
    let broken_token = client.get("meta-data/instance-id").await.unwrap_err();
    mock.set_metadata(
        CREDENTIALS,
        format!(
            r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{SECRET_KEY_LIKE}", "Token": ["{SESSION_LIKE}"], "Expiration": "2100-01-01T00:00:00Z"}}"#
        ),
    );
    let broken_credentials = client
        .credentials_provider()
        .credentials()
        .await
        .unwrap_err();
    tracing::error!(error = %broken_token, debug = ?broken_token, "a failure, logged");
    tracing::error!(error = %broken_credentials, debug = ?broken_credentials, "a failure, logged");

    // IMDSv2 unavailable, with fallback: the warning names no secret.
    let v1 = MockImds::builder()
        .imdsv1_allowed(true)
        .user_data(USER_DATA)
        .build()
        .start()
        .await
        .unwrap();
    v1.set_token_put_unanswered(true);
    let fallback = Client::builder()
        .env(empty_env())
        .endpoint(v1.base_url())
        .timeout(Duration::from_millis(100))
        .token_layer(ImdsV2Layer::new().fallback_to_imdsv1(true))
        .build()
        .unwrap();
    assert_eq!(
        fallback.user_data().await.unwrap().unwrap(),
        USER_DATA.as_bytes()
    );

    let log = captured.text();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    assert!(log.contains("falling back to IMDSv1"), "{log}");
    // The lines that hold the values most likely to leak are there.
    assert!(log.contains("Debug of the values"), "{log}");
    assert!(log.contains("secret_access_key"), "{log}");
    assert_eq!(log.matches("a failure, logged").count(), 2, "{log}");
    assert!(log.lines().count() > 50, "{log}");
    for target in ["imds::", "tower_imds::", "imds_mock::"] {
        assert!(log.contains(target), "no event of {target}:\n{log}");
    }
    secrets.assert_absent(&log, "the TRACE log");
}

#[tokio::test]
async fn no_error_shows_a_secret() {
    let mut secrets = Secrets::default();
    for secret in [TOKEN_LIKE, SECRET_KEY_LIKE, SESSION_LIKE, USER_DATA_SECRET] {
        secrets.add(secret);
    }
    let mock = MockImds::builder()
        .user_data(USER_DATA)
        .build()
        .start()
        .await
        .unwrap();
    let builder = || {
        Client::builder()
            .env(empty_env())
            .endpoint(mock.base_url())
            .timeout(Duration::from_millis(200))
            .backoff(Duration::from_millis(1), Duration::from_millis(5))
    };
    let client = builder().build().unwrap();
    // The token alone: `instance_id()` keeps the first value it reads, and
    // the errors below are its reads failing.
    client.token().await.unwrap();
    secrets.add(current_token(&client).await);
    let credentials = client.credentials_provider().credentials().await.unwrap();
    secrets.add(credentials.secret_access_key());
    secrets.add(credentials.session_token());

    let mut errors: Vec<(&str, imds::Error)> = Vec::new();
    let disabled = builder().disabled(true).build().unwrap();
    errors.push(("disabled", disabled.instance_id().await.unwrap_err()));
    errors.push(("config", builder().attempts(0).build().unwrap_err()));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    let unreachable = Client::builder()
        .env(empty_env())
        .endpoint(closed)
        .build()
        .unwrap();
    errors.push(("unreachable", unreachable.instance_id().await.unwrap_err()));
    mock.stall_next(4);
    errors.push(("timeout", client.instance_id().await.unwrap_err()));
    mock.remove_metadata("meta-data/instance-id");
    errors.push(("status", client.instance_id().await.unwrap_err()));
    mock.set_metadata("meta-data/instance-id", &b"\xff\xfe"[..]);
    errors.push(("not utf-8", client.instance_id().await.unwrap_err()));
    mock.set_metadata("meta-data/instance-id", vec![b'x'; 2 << 20]);
    errors.push(("too large", client.instance_id().await.unwrap_err()));
    errors.push((
        "invalid path",
        client.get("meta-data/a b?c").await.unwrap_err(),
    ));
    mock.expire_tokens();
    mock.fault_next_token_puts(
        1,
        TokenPutFault::Reply(TokenReply::new(format!("{TOKEN_LIKE}\r\n"))),
    );
    errors.push(("token answer", client.get("user-data").await.unwrap_err()));
    mock.fault_next_token_puts(1, TokenPutFault::Status(StatusCode::FORBIDDEN));
    errors.push(("token refused", client.get("user-data").await.unwrap_err()));
    let truncated = format!(
        r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{SECRET_KEY_LIKE}", "Token": "{SESSION_LIKE}"#
    );
    mock.set_metadata(CREDENTIALS, truncated);
    errors.push((
        "truncated credentials",
        client
            .credentials_provider()
            .credentials()
            .await
            .unwrap_err(),
    ));
    mock.set_credentials_error("AssumeRoleUnauthorizedAccess", "EC2 cannot assume the role");
    mock.remove_metadata(CREDENTIALS);
    let no_role = builder().role_name("not-attached").build().unwrap();
    errors.push((
        "no role",
        no_role
            .credentials_provider()
            .credentials()
            .await
            .unwrap_err(),
    ));
    let coded = MockImds::start_default().await.unwrap();
    coded.set_credentials_error("AssumeRoleUnauthorizedAccess", "EC2 cannot assume the role");
    let coded_client = Client::builder()
        .env(empty_env())
        .endpoint(coded.base_url())
        .build()
        .unwrap();
    errors.push((
        "credentials code",
        coded_client
            .credentials_provider()
            .credentials()
            .await
            .unwrap_err(),
    ));

    let kinds: Vec<String> = errors
        .iter()
        .map(|(_, e)| {
            format!("{e:?}")
                .split([' ', '('])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    for kind in [
        "Disabled",
        "Config",
        "Unreachable",
        "Timeout",
        "Status",
        "BadResponse",
        "InvalidPath",
        "NoRole",
        "Credentials",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    for (what, error) in &errors {
        secrets.assert_absent(&shown(error), what);
    }

    // The layer's own errors.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let read = |base: &str| {
        Request::get(format!("{base}/latest/meta-data/ami-id"))
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let mut layer_errors = Vec::new();
    let layer = |l: ImdsV2Layer| l.layer(http.clone());
    mock.fault_next_token_puts(1, TokenPutFault::Status(StatusCode::FORBIDDEN));
    layer_errors.push(
        layer(ImdsV2Layer::new())
            .oneshot(read(&mock.base_url()))
            .await
            .unwrap_err(),
    );
    mock.fault_next_token_puts(1, TokenPutFault::Stall);
    layer_errors.push(
        layer(ImdsV2Layer::new().token_timeout(Duration::from_millis(50)))
            .oneshot(read(&mock.base_url()))
            .await
            .unwrap_err(),
    );
    mock.fault_next_token_puts(1, TokenPutFault::Drop);
    layer_errors.push(
        layer(ImdsV2Layer::new())
            .oneshot(read(&mock.base_url()))
            .await
            .unwrap_err(),
    );
    mock.fault_next_token_puts(
        1,
        TokenPutFault::Reply(TokenReply::new(format!("{TOKEN_LIKE}\x00"))),
    );
    layer_errors.push(
        layer(ImdsV2Layer::new())
            .oneshot(read(&mock.base_url()))
            .await
            .unwrap_err(),
    );
    for error in &layer_errors {
        let error = error
            .downcast_ref::<tower_imds::Error>()
            .unwrap_or_else(|| panic!("not the layer's: {error:?}"));
        secrets.assert_absent(&shown(error), "a layer error");
    }
}
