//! The layer around hyper-util's client, against `imds-mock` on loopback:
//! every option and every status the token flow can meet.

mod support;

use std::{
    collections::HashMap,
    net::{Ipv6Addr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use http::StatusCode;
use imds_mock::MockImds;
use support::{fast_retries, http_client, layer_error, read};
use tower::{BoxError, Layer, ServiceBuilder, retry::RetryLayer};
use tower_imds::{Error, ImdsV2Layer, MetadataToken, StoredToken, TokenEndpoint, TokenStore};

#[tokio::test]
async fn reads_share_one_token() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ImdsV2Layer::new().layer(http_client());

    let first = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.starts_with(b"i-"), "{:?}", first.body);
    for path in [
        "/latest/meta-data/ami-id",
        "/latest/meta-data/placement/region",
    ] {
        let next = read(&imds, &base, path).await.unwrap();
        assert_eq!(next.status, StatusCode::OK);
        assert_eq!(next.token, first.token, "same token reused");
    }

    let stats = mock.stats();
    assert_eq!((stats.token_puts, stats.reads), (1, 3));
    let log = mock.requests();
    let put = &log[0];
    assert_eq!(put.method, "PUT");
    assert!(put.has_ttl && !put.has_forwarded_for && !put.has_token);
    assert!(log[1..].iter().all(|r| r.method == "GET" && r.has_token));
}

#[tokio::test]
async fn binary_user_data_arrives_byte_for_byte() {
    let data = vec![0xff, 0xfe, 0x00, b'#', b'!', 0x80];
    let mock = MockImds::builder()
        .user_data(data.clone())
        .build()
        .start()
        .await
        .unwrap();
    let imds = ImdsV2Layer::new().layer(http_client());
    let user_data = read(&imds, &mock.base_url(), "/latest/user-data")
        .await
        .unwrap();
    assert_eq!(user_data.body, data);
}

#[tokio::test]
async fn unknown_paths_are_passed_on_as_404() {
    let mock = MockImds::start_default().await.unwrap();
    let imds = ImdsV2Layer::new().layer(http_client());
    let missing = read(&imds, &mock.base_url(), "/latest/meta-data/no-such-thing")
        .await
        .unwrap();
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.token.is_some());
}

#[tokio::test]
async fn a_token_expired_at_the_server_is_replaced_after_its_401() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ImdsV2Layer::new().layer(http_client());
    let first = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();

    mock.advance_clock(Duration::from_secs(21_601));
    let refused = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let again = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(again.status, StatusCode::OK);
    assert_ne!(again.token, first.token);
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn after_an_imds_restart_the_retry_policy_recovers_in_one_call() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();

    mock.expire_tokens();
    let after = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn the_server_cap_on_ttl_is_respected() {
    // Asked for 21600 s, granted 60 s: after 61 s of server time the token
    // is dead, and the retry policy's 401 refresh gets a new one.
    let mock = MockImds::builder()
        .max_token_ttl_secs(60)
        .build()
        .start()
        .await
        .unwrap();
    let base = mock.base_url();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    mock.advance_clock(Duration::from_secs(61));
    let after = read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn imds_disabled_is_a_refused_token_request() {
    let mock = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let imds = ImdsV2Layer::new().layer(http_client());
    let err = layer_error(
        read(&imds, &mock.base_url(), "/latest/meta-data/")
            .await
            .err()
            .unwrap(),
    );
    assert!(matches!(err, Error::TokenRequestRefused { status, .. } if status == 403));
    assert!(err.to_string().contains("disabled"), "{err}");
    assert_eq!(mock.stats().reads, 0, "the read is not sent");
}

#[tokio::test]
async fn unanswered_put_is_the_hop_limit_error() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_token_put_unanswered(true);
    let imds = ImdsV2Layer::new()
        .token_timeout(Duration::from_millis(200))
        .layer(http_client());
    let err = layer_error(
        read(&imds, &mock.base_url(), "/latest/meta-data/")
            .await
            .err()
            .unwrap(),
    );
    assert!(
        matches!(err, Error::TokenRequestTimedOut { timeout, .. } if timeout == Duration::from_millis(200))
    );
    let message = err.to_string();
    assert!(
        message.contains("hop limit") && message.contains(&mock.base_url()),
        "{message}"
    );
    assert_eq!(mock.stats().reads, 0);
}

#[tokio::test]
async fn unanswered_put_falls_back_to_v1_once_and_remembers() {
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    mock.set_token_put_unanswered(true);
    let base = mock.base_url();
    let imds = ImdsV2Layer::new()
        .fallback_to_imdsv1(true)
        .token_timeout(Duration::from_millis(100))
        .layer(http_client());

    for _ in 0..3 {
        let v1 = read(&imds, &base, "/latest/meta-data/instance-id")
            .await
            .unwrap();
        assert_eq!(v1.status, StatusCode::OK);
        assert_eq!(v1.token, None, "no token after a fallback");
    }
    let stats = mock.stats();
    assert_eq!(stats.token_requests, 1, "the failing PUT is not repeated");
    assert_eq!(stats.reads, 3);
    assert!(
        mock.requests()
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| !r.has_token)
    );
}

#[tokio::test]
async fn a_401_to_v1_brings_v2_back() {
    // v1 fallback happened while the PUT went unanswered; then IMDS turns
    // v1 off: the 401 re-enables v2, and the next read uses a token.
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    mock.set_token_put_unanswered(true);
    let base = mock.base_url();
    let imds = ImdsV2Layer::new()
        .fallback_to_imdsv1(true)
        .token_timeout(Duration::from_millis(100))
        .layer(http_client());
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );

    mock.set_imdsv1_allowed(false);
    mock.set_token_put_unanswered(false);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        401
    );
    let v2 = read(&imds, &base, "/latest/meta-data/").await.unwrap();
    assert_eq!(v2.status, StatusCode::OK);
    assert!(v2.token.is_some());
}

#[tokio::test]
async fn disabled_imds_with_fallback_returns_imds_answer() {
    let mock = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let imds = ImdsV2Layer::new()
        .fallback_to_imdsv1(true)
        .layer(http_client());
    let v1 = read(&imds, &mock.base_url(), "/latest/meta-data/")
        .await
        .unwrap();
    assert_eq!(
        v1.status,
        StatusCode::FORBIDDEN,
        "IMDS's own 403 reaches the caller"
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    read(&imds, &base, "/latest/meta-data/").await.unwrap();

    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
    mock.fail_next(3, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
    mock.fail_next(4, StatusCode::INTERNAL_SERVER_ERROR);
    let exhausted = read(&imds, &base, "/latest/meta-data/").await.unwrap();
    assert_eq!(
        exhausted.status, 500,
        "four attempts, then the 500 is returned"
    );
}

#[tokio::test]
async fn a_throttled_token_request_is_retried() {
    let mock = MockImds::start_default().await.unwrap();
    mock.fail_next(1, StatusCode::TOO_MANY_REQUESTS);
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    let ok = read(&imds, &mock.base_url(), "/latest/meta-data/")
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.token_puts), (2, 1));
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    mock.drop_next(2);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(mock.stats().dropped, 2);
}

#[tokio::test]
async fn not_found_and_forbidden_are_not_retried() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ServiceBuilder::new()
        .layer(RetryLayer::new(fast_retries()))
        .layer(ImdsV2Layer::new())
        .service(http_client());
    read(&imds, &base, "/latest/meta-data/").await.unwrap();
    let before = mock.stats().reads;
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/nope")
            .await
            .unwrap()
            .status,
        404
    );
    mock.fail_next(1, StatusCode::FORBIDDEN);
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(mock.stats().reads, before + 2);
}

#[tokio::test]
async fn each_server_only_ever_sees_its_own_tokens() {
    let a = MockImds::start_default().await.unwrap();
    let b = MockImds::start_default().await.unwrap();
    let imds = ImdsV2Layer::new().layer(http_client());
    for _ in 0..2 {
        for mock in [&a, &b] {
            // A foreign token would be answered 401.
            let ok = read(&imds, &mock.base_url(), "/latest/meta-data/")
                .await
                .unwrap();
            assert_eq!(ok.status, StatusCode::OK);
        }
    }
    assert_eq!((a.stats().token_puts, b.stats().token_puts), (1, 1));
}

#[tokio::test]
async fn a_token_from_a_response_serves_a_fresh_layer() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let first = read(
        &ImdsV2Layer::new().layer(http_client()),
        &base,
        "/latest/meta-data/",
    )
    .await
    .unwrap();
    let reuse = ImdsV2Layer::new()
        .metadata_token(first.token.unwrap())
        .layer(http_client());
    assert_eq!(
        read(&reuse, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test]
async fn works_over_ipv6_loopback() {
    let addr = SocketAddr::from((Ipv6Addr::LOCALHOST, 0));
    let Ok(mock) = MockImds::builder().build().start_on(addr).await else {
        let reason = "IPv6 loopback unavailable here";
        assert!(
            std::env::var_os("CI").is_none(),
            "a skip fails in CI: {reason}"
        );
        skip_note(&format!("skipped: {reason}"));
        return;
    };
    let imds = ImdsV2Layer::new().layer(http_client());
    let ok = read(&imds, &mock.base_url(), "/latest/meta-data/instance-id")
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(mock.stats().token_puts, 1);
}

/// A token store in memory, counting its calls, optionally failing.
#[derive(Clone, Default)]
struct MemoryStore {
    tokens: Arc<Mutex<HashMap<String, StoredToken>>>,
    loads: Arc<AtomicUsize>,
    saves: Arc<AtomicUsize>,
    broken: bool,
}

impl TokenStore for MemoryStore {
    fn load(&self, endpoint: &TokenEndpoint) -> Result<Option<StoredToken>, BoxError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err("disk on fire".into());
        }
        Ok(self
            .tokens
            .lock()
            .unwrap()
            .get(&endpoint.to_string())
            .cloned())
    }

    fn save(&self, endpoint: &TokenEndpoint, token: &StoredToken) -> Result<(), BoxError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err("disk on fire".into());
        }
        self.tokens
            .lock()
            .unwrap()
            .insert(endpoint.to_string(), token.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_token_store_carries_tokens_across_caches() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let store = MemoryStore::default();

    // Two layers: two in-memory caches, as two runs of a CLI would have.
    for _ in 0..2 {
        let imds = ImdsV2Layer::new()
            .token_store(store.clone())
            .layer(http_client());
        assert_eq!(
            read(&imds, &base, "/latest/meta-data/")
                .await
                .unwrap()
                .status,
            200
        );
    }
    assert_eq!(
        mock.stats().token_puts,
        1,
        "the second run used the stored token"
    );
    assert_eq!(store.loads.load(Ordering::SeqCst), 2);
    assert_eq!(store.saves.load(Ordering::SeqCst), 1);

    let stored = store.tokens.lock().unwrap()[&base].clone();
    let remaining = stored
        .expires_at
        .duration_since(tower_imds::clock::now())
        .unwrap();
    assert!(remaining > Duration::from_secs(21_500) && remaining <= Duration::from_secs(21_600));
}

#[tokio::test]
async fn an_expired_stored_token_is_not_used() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let store = MemoryStore::default();
    store.tokens.lock().unwrap().insert(
        base.clone(),
        StoredToken {
            token: MetadataToken::try_from("stale").unwrap(),
            expires_at: tower_imds::clock::now() - Duration::from_secs(1),
        },
    );
    let imds = ImdsV2Layer::new()
        .token_store(store.clone())
        .layer(http_client());
    assert_eq!(
        read(&imds, &base, "/latest/meta-data/")
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(mock.stats().token_puts, 1);
}

#[tokio::test]
async fn a_failing_token_store_never_fails_a_request() {
    let mock = MockImds::start_default().await.unwrap();
    let store = MemoryStore {
        broken: true,
        ..MemoryStore::default()
    };
    let imds = ImdsV2Layer::new()
        .token_store(store.clone())
        .layer(http_client());
    let ok = read(&imds, &mock.base_url(), "/latest/meta-data/")
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        1,
        "it was asked, and failed"
    );
}

/// Says a test skipped, on the stderr handle itself: libtest captures
/// `eprintln!` of passing tests, and a skip must show.
fn skip_note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
