use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::credentials::fake::FakeImds;
use crate::credentials::fetch::{SECURITY_CREDENTIALS as LIST, SECURITY_CREDENTIALS_EXTENDED};
use tower_imds::clock;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

thread_local! {
    /// The test's start, on its thread (each test has a runtime of its own).
    static T0: std::cell::Cell<SystemTime> = const { std::cell::Cell::new(UNIX_EPOCH) };
}

/// When the test's clock started: a whole second, as IMDS's dates are.
fn t0() -> SystemTime {
    T0.with(std::cell::Cell::get)
}

/// The provider's clock: tokio's, paused (every test runs with
/// `start_paused`), which `tower_imds::clock::now()` follows.
struct TestClock;

impl TestClock {
    /// Moves the clock to the next whole second, which becomes [`t0`].
    async fn start() -> Self {
        let now = clock::now();
        let past = now.duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        if past != 0 {
            tokio::time::advance(Duration::from_nanos(1_000_000_000 - u64::from(past))).await;
        }
        assert_eq!(
            clock::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
            0
        );
        T0.with(|t0| t0.set(clock::now()));
        Self
    }

    fn now(&self) -> SystemTime {
        clock::now()
    }

    async fn advance(&self, by: Duration) {
        tokio::time::advance(by).await;
    }

    /// Moves the clock forward to `at`.
    async fn set(&self, at: SystemTime) {
        let by = at
            .duration_since(clock::now())
            .expect("the clock only moves forward");
        tokio::time::advance(by).await;
    }
}

fn extended(role: &str) -> String {
    format!("{SECURITY_CREDENTIALS_EXTENDED}{role}")
}

fn classic(role: &str) -> String {
    format!("{LIST}{role}")
}

fn document(access_key_id: &str, expiration: SystemTime) -> String {
    serde_json::json!({
        "Code": "Success",
        "LastUpdated": "2024-05-01T09:00:00Z",
        "Type": "AWS-HMAC",
        "AccessKeyId": access_key_id,
        "SecretAccessKey": SECRET,
        "Token": TOKEN,
        "Expiration": humantime::format_rfc3339_seconds(expiration).to_string(),
        "AccountId": "123456789012",
    })
    .to_string()
}

fn timeout() -> Error {
    Error::timeout("http://169.254.169.254", Duration::from_secs(1), None)
}

/// IMDS listing role `web` with credentials `AKID1` expiring at t0 + 6 h,
/// and a clock at t0.
async fn setup() -> (FakeImds, TestClock) {
    let clock = TestClock::start().await;
    let imds = FakeImds::default();
    imds.set(LIST, "web\n");
    imds.set(&extended("web"), document("AKID1", t0() + 6 * HOUR));
    (imds, clock)
}

fn provider(imds: &FakeImds, _clock: &TestClock) -> CredentialsProvider<FakeImds> {
    CredentialsProvider::builder(imds.clone()).build()
}

#[path = "../../../tests/support/log_capture.rs"]
mod log_capture;

/// Log output captured for the current thread (see `log_capture` for why
/// not a subscriber per test).
struct Logs(log_capture::Captured);

impl Logs {
    fn capture() -> (Self, log_capture::CaptureGuard) {
        let (captured, guard) = log_capture::capture(tracing::Level::DEBUG);
        (Self(captured), guard)
    }

    fn text(&self) -> String {
        self.0.text()
    }

    fn warnings(&self) -> usize {
        self.text().lines().filter(|l| l.contains("WARN")).count()
    }

    fn assert_no_secrets(&self) {
        let text = self.text();
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[test]
fn provider_is_cheap_to_share() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<CredentialsProvider<FakeImds>>();
}

#[tokio::test(start_paused = true)]
async fn first_load_discovers_the_role_and_prefers_the_extended_document() {
    let (imds, clock) = setup().await;
    let credentials = provider(&imds, &clock).credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID1");
    assert_eq!(credentials.secret_access_key(), SECRET);
    assert_eq!(credentials.session_token(), TOKEN);
    assert_eq!(credentials.expiration(), t0() + 6 * HOUR);
    assert_eq!(credentials.role_name(), Some("web"));
    assert_eq!(credentials.account_id(), Some("123456789012"));
    assert_eq!(imds.requests(), [LIST.to_owned(), extended("web")]);
}

#[tokio::test(start_paused = true)]
async fn cache_hits_do_not_fetch_and_clones_share_the_cache() {
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    let first = provider.credentials().await.unwrap();
    clock.advance(HOUR).await;
    let clone = provider.clone();
    assert_eq!(clone.credentials().await.unwrap(), first);
    assert_eq!(provider.credentials().await.unwrap(), first);
    assert_eq!(imds.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn refreshes_inside_the_jittered_window_not_at_expiry() {
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    provider.credentials().await.unwrap();
    let expiration = t0() + 6 * HOUR;
    imds.set(&extended("web"), document("AKID2", t0() + 12 * HOUR));

    // More than window + maximum jitter (10 minutes) left: cached.
    clock
        .set(expiration - 10 * MINUTE - Duration::from_secs(1))
        .await;
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID1");
    assert_eq!(imds.requests().len(), 2);

    // Less than the window (5 minutes) left: refreshed, whatever the jitter.
    clock.set(expiration - 5 * MINUTE).await;
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID2");
    assert_eq!(imds.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn refresh_window_and_jitter_are_configurable() {
    let (imds, clock) = setup().await;
    let provider = CredentialsProvider::builder(imds.clone())
        .refresh_window(30 * MINUTE)
        .refresh_jitter(Duration::ZERO)
        .build();
    provider.credentials().await.unwrap();
    let expiration = t0() + 6 * HOUR;
    clock
        .set(expiration - 30 * MINUTE - Duration::from_secs(1))
        .await;
    provider.credentials().await.unwrap();
    assert_eq!(imds.requests().len(), 2);
    clock.set(expiration - 30 * MINUTE).await;
    provider.credentials().await.unwrap();
    assert_eq!(imds.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_refresh_times_within_bounds() {
    for _ in 0..20 {
        let (imds, clock) = setup().await;
        let provider = provider(&imds, &clock);
        provider.credentials().await.unwrap();
        let refresh_at = provider
            .inner
            .lock_state()
            .cached
            .as_ref()
            .unwrap()
            .refresh_at;
        let expiration = t0() + 6 * HOUR;
        assert!(refresh_at <= expiration - 5 * MINUTE, "{refresh_at:?}");
        assert!(refresh_at >= expiration - 10 * MINUTE, "{refresh_at:?}");
    }
    assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    assert!(jitter(Duration::from_nanos(1)) <= Duration::from_nanos(1));
    assert!(jitter(Duration::MAX) <= Duration::MAX);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_fetch() {
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    imds.hold();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let provider = provider.clone();
        tasks.spawn(async move { provider.credentials().await });
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // One caller is fetching (held at the listing); the others wait for it.
    assert_eq!(imds.requests(), [LIST.to_owned()]);
    imds.release();
    let results = tasks.join_all().await;
    assert_eq!(results.len(), 16);
    for result in results {
        assert_eq!(result.unwrap().access_key_id(), "AKID1");
    }
    assert_eq!(imds.requests(), [LIST.to_owned(), extended("web")]);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_failure() {
    let (imds, clock) = setup().await;
    imds.fail(LIST, timeout());
    let provider = provider(&imds, &clock);
    imds.hold();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let provider = provider.clone();
        tasks.spawn(async move { provider.credentials().await });
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    imds.release();
    for result in tasks.join_all().await {
        assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    }
    assert_eq!(imds.count(LIST), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_fetch_is_taken_over_by_the_next_caller() {
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    imds.hold();
    let leader = tokio::spawn({
        let provider = provider.clone();
        async move { provider.credentials().await }
    });
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
    assert_eq!(imds.requests(), [LIST.to_owned()]);
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    imds.release();
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID1");
    assert_eq!(imds.count(LIST), 2);
}

#[tokio::test(start_paused = true)]
async fn error_when_nothing_was_ever_loaded() {
    let (imds, clock) = setup().await;
    imds.fail(LIST, timeout());
    let provider = provider(&imds, &clock);
    assert!(matches!(
        provider.credentials().await,
        Err(Error::Timeout { .. })
    ));
    // Nothing cached: the next call tries again.
    assert!(provider.credentials().await.is_err());
    assert_eq!(imds.count(LIST), 2);
}

#[tokio::test(start_paused = true)]
async fn expired_credentials_are_extended_when_a_refresh_fails() {
    let (logs, _guard) = Logs::capture();
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    provider.credentials().await.unwrap();

    let expiration = t0() + 6 * HOUR;
    clock.set(expiration + MINUTE).await;
    imds.fail(&extended("web"), timeout());
    let now = clock.now();
    let served = provider.credentials().await.unwrap();
    assert_eq!(served.access_key_id(), "AKID1");
    assert_eq!(served.secret_access_key(), SECRET);
    assert!(served.expiration() >= now + 5 * MINUTE, "{served:?}");
    assert!(served.expiration() <= now + 10 * MINUTE, "{served:?}");
    assert_eq!(logs.warnings(), 1, "{}", logs.text());
    assert!(logs.text().contains("static stability"), "{}", logs.text());
    logs.assert_no_secrets();

    // Served from the cache until the retry delay is over.
    let requests = imds.requests().len();
    clock.advance(MINUTE - Duration::from_secs(1)).await;
    assert_eq!(provider.credentials().await.unwrap(), served);
    assert_eq!(imds.requests().len(), requests);

    // A later failure while the extension still runs: not extended again.
    clock.advance(Duration::from_secs(1)).await;
    assert_eq!(provider.credentials().await.unwrap(), served);
    assert_eq!(imds.requests().len(), requests + 2);

    // IMDS recovers: fresh credentials at the next attempt.
    imds.set(&extended("web"), document("AKID2", clock.now() + 6 * HOUR));
    clock.advance(MINUTE).await;
    assert_eq!(
        provider.credentials().await.unwrap().access_key_id(),
        "AKID2"
    );
}

#[tokio::test(start_paused = true)]
async fn extension_is_configurable() {
    let (imds, clock) = setup().await;
    let provider = CredentialsProvider::builder(imds.clone())
        .extension(15 * MINUTE)
        .extension_jitter(Duration::ZERO)
        .build();
    provider.credentials().await.unwrap();
    clock.set(t0() + 7 * HOUR).await;
    imds.fail(LIST, timeout());
    let served = provider.credentials().await.unwrap();
    assert_eq!(served.expiration(), t0() + 7 * HOUR + 15 * MINUTE);
}

#[tokio::test(start_paused = true)]
async fn valid_credentials_are_never_extended() {
    let (logs, _guard) = Logs::capture();
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    let original = provider.credentials().await.unwrap();

    let expiration = t0() + 6 * HOUR;
    clock.set(expiration - 3 * MINUTE).await;
    imds.fail(LIST, timeout());
    let served = provider.credentials().await.unwrap();
    assert_eq!(served, original);
    assert_eq!(served.expiration(), expiration);
    assert_eq!(logs.warnings(), 1, "{}", logs.text());
    assert!(logs.text().contains("still valid"), "{}", logs.text());
    logs.assert_no_secrets();

    // No new attempt within the retry delay...
    let requests = imds.requests().len();
    clock.advance(30 * Duration::from_secs(1)).await;
    assert_eq!(provider.credentials().await.unwrap(), original);
    assert_eq!(imds.requests().len(), requests);
    // ...then one.
    clock.advance(30 * Duration::from_secs(1)).await;
    assert_eq!(provider.credentials().await.unwrap(), original);
    assert_eq!(imds.requests().len(), requests + 1);
}

#[tokio::test(start_paused = true)]
async fn retry_delay_is_capped_by_the_expiration() {
    let (imds, clock) = setup().await;
    let provider = CredentialsProvider::builder(imds.clone())
        .retry_delay(HOUR)
        .build();
    provider.credentials().await.unwrap();
    let expiration = t0() + 6 * HOUR;
    clock.set(expiration - 3 * MINUTE).await;
    imds.fail(LIST, timeout());
    provider.credentials().await.unwrap();
    let requests = imds.requests().len();
    // At expiry the next attempt happens, despite the hour-long delay; it
    // fails, so the now-expired credentials are extended.
    clock.set(expiration).await;
    let served = provider.credentials().await.unwrap();
    assert_eq!(imds.requests().len(), requests + 1);
    assert!(served.expiration() > expiration);
}

#[tokio::test(start_paused = true)]
async fn expired_credentials_from_imds_are_extended() {
    let (logs, _guard) = Logs::capture();
    let (imds, clock) = setup().await;
    imds.set(&extended("web"), document("AKID1", t0() - MINUTE));
    let served = provider(&imds, &clock).credentials().await.unwrap();
    assert!(served.expiration() >= t0() + 5 * MINUTE);
    assert!(served.expiration() <= t0() + 10 * MINUTE);
    assert!(
        logs.text().contains("IMDS returned expired"),
        "{}",
        logs.text()
    );
    logs.assert_no_secrets();
}

#[tokio::test(start_paused = true)]
async fn credentials_expiring_inside_the_window_are_not_refetched_at_every_call() {
    let (imds, clock) = setup().await;
    imds.set(&extended("web"), document("AKID1", t0() + 2 * MINUTE));
    let provider = provider(&imds, &clock);
    provider.credentials().await.unwrap();
    clock.advance(Duration::from_secs(59)).await;
    provider.credentials().await.unwrap();
    assert_eq!(imds.requests().len(), 2);
    clock.advance(Duration::from_secs(1)).await;
    provider.credentials().await.unwrap();
    assert_eq!(imds.requests().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn code_other_than_success_is_an_error() {
    let (imds, clock) = setup().await;
    imds.set(
        &extended("web"),
        r#"{"Code": "AssumeRoleUnauthorizedAccess", "Message": "denied"}"#,
    );
    match provider(&imds, &clock).credentials().await {
        Err(Error::Credentials { role, code, .. }) => {
            assert_eq!(role, "web");
            assert_eq!(code, "AssumeRoleUnauthorizedAccess");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn falls_back_to_the_classic_document_and_remembers() {
    let (imds, clock) = setup().await;
    imds.remove(&extended("web"));
    imds.set(&classic("web"), document("AKID1", t0() + 6 * HOUR));
    let provider = provider(&imds, &clock);
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID1");
    assert_eq!(
        imds.requests(),
        [LIST.to_owned(), extended("web"), classic("web")]
    );

    clock.set(t0() + 6 * HOUR - MINUTE).await;
    provider.credentials().await.unwrap();
    assert_eq!(
        imds.requests()[3..],
        [LIST.to_owned(), classic("web")],
        "the extended document is not asked for again"
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_role_is_no_role_and_does_not_disable_the_extended_document() {
    let (imds, clock) = setup().await;
    imds.remove(&extended("web"));
    let provider = provider(&imds, &clock);
    assert!(matches!(
        provider.credentials().await,
        Err(Error::NoRole { role: Some(role) }) if role == "web"
    ));
    imds.set(&extended("web"), document("AKID1", t0() + 6 * HOUR));
    provider.credentials().await.unwrap();
    assert_eq!(imds.requests().last(), Some(&extended("web")));
}

#[tokio::test(start_paused = true)]
async fn a_configured_role_is_used_without_discovery() {
    let (imds, _clock) = setup().await;
    imds.set(&extended("admin"), document("ADMIN", t0() + 6 * HOUR));
    let provider = CredentialsProvider::builder(imds.clone())
        .role_name("admin")
        .build();
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "ADMIN");
    assert_eq!(credentials.role_name(), Some("admin"));
    assert_eq!(imds.requests(), [extended("admin")]);
}

#[tokio::test(start_paused = true)]
async fn an_invalid_configured_role_is_a_config_error() {
    let (imds, _clock) = setup().await;
    let provider = CredentialsProvider::builder(imds.clone())
        .role_name("../../user-data")
        .build();
    assert!(matches!(
        provider.credentials().await,
        Err(Error::Config(_))
    ));
    assert!(imds.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn discovery_failures() {
    let (imds, clock) = setup().await;
    imds.remove(LIST);
    assert!(matches!(
        provider(&imds, &clock).credentials().await,
        Err(Error::NoRole { role: None })
    ));
    imds.set(LIST, "\n");
    assert!(matches!(
        provider(&imds, &clock).credentials().await,
        Err(Error::NoRole { role: None })
    ));
    imds.set(LIST, "../meta-data\n");
    assert!(matches!(
        provider(&imds, &clock).credentials().await,
        Err(Error::BadResponse { .. })
    ));
    imds.set(LIST, b"\xff".as_slice());
    assert!(matches!(
        provider(&imds, &clock).credentials().await,
        Err(Error::BadResponse { .. })
    ));
    // The first listed role is used; a CRLF listing works.
    imds.set(LIST, "web\r\nother\r\n");
    provider(&imds, &clock).credentials().await.unwrap();
    assert_eq!(imds.requests().last(), Some(&extended("web")));
}

#[tokio::test(start_paused = true)]
async fn the_role_is_discovered_at_every_refresh() {
    let (imds, clock) = setup().await;
    let provider = provider(&imds, &clock);
    provider.credentials().await.unwrap();
    imds.set(LIST, "swapped\n");
    imds.set(&extended("swapped"), document("AKID2", t0() + 12 * HOUR));
    clock.set(t0() + 6 * HOUR - MINUTE).await;
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.role_name(), Some("swapped"));
}

/// The provider with a credentials store.
mod store;
