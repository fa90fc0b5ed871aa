//! The layer against a scripted inner service (`tower_test::mock`): which
//! requests reach the wrapped service, in which order, with which headers.
//! Time is paused wherever expiry or timeouts matter.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use tokio_test::{assert_pending, assert_ready, task};
use tower::{BoxError, Layer, ServiceBuilder, ServiceExt, limit::ConcurrencyLimitLayer};
use tower_imds::{
    Error, ImdsV2Layer, MetadataToken, StoredToken, TokenEndpoint, TokenResponseProblem,
    TokenStore, TokenTtl, clock, get_metadata_token,
    header::{X_AWS_EC2_METADATA_TOKEN, X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS},
};
use tower_test::mock::{self, Handle, Mock, SendResponse};

type Req = Request<Full<Bytes>>;
type Res = Response<Full<Bytes>>;

const BASE: &str = "http://127.0.0.1:1338";

fn scripted() -> (Mock<Req, Res>, Handle<Req, Res>) {
    mock::pair()
}

fn get(path: &str) -> Req {
    Request::get(format!("{BASE}{path}"))
        .body(Full::default())
        .unwrap()
}

fn token(s: &str) -> MetadataToken {
    s.parse().unwrap()
}

fn token_response(token: &str, ttl: &str) -> Res {
    Response::builder()
        .header(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, ttl)
        .body(Full::new(Bytes::copy_from_slice(token.as_bytes())))
        .unwrap()
}

fn status(code: u16) -> Res {
    Response::builder()
        .status(code)
        .body(Full::default())
        .unwrap()
}

fn ok(body: &'static str) -> Res {
    Response::new(Full::new(Bytes::from_static(body.as_bytes())))
}

/// Takes the next request, asserts it is a token PUT to `BASE` that carries
/// the TTL header and nothing else, and returns the responder.
async fn expect_put(handle: &mut Handle<Req, Res>, ttl: &str) -> SendResponse<Res> {
    let (request, respond) = handle.next_request().await.expect("a token PUT");
    assert_eq!(request.method(), Method::PUT);
    assert_eq!(request.uri(), &format!("{BASE}/latest/api/token")[..]);
    assert_eq!(
        request.headers().len(),
        1,
        "only the TTL header: {:?}",
        request.headers()
    );
    assert_eq!(request.headers()[X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS], ttl);
    respond
}

/// Takes the next request, asserts it is a GET of `path` sent with `token`
/// (or without a token header for `None`).
async fn expect_get(
    handle: &mut Handle<Req, Res>,
    path: &str,
    token: Option<&str>,
) -> SendResponse<Res> {
    let (request, respond) = handle.next_request().await.expect("a GET");
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri(), &format!("{BASE}{path}")[..]);
    let sent = request.headers().get(X_AWS_EC2_METADATA_TOKEN);
    assert_eq!(sent.map(|v| v.to_str().unwrap()), token);
    if let Some(value) = sent {
        assert!(
            value.is_sensitive(),
            "token header must be marked sensitive"
        );
    }
    respond
}

fn layer_error(err: BoxError) -> Error {
    match err.downcast::<Error>() {
        Ok(err) => *err,
        Err(other) => panic!("expected a tower_imds::Error, got {other}"),
    }
}

/// Waits until every clone of the scripted service is gone, and asserts no
/// further request reached it.
async fn expect_no_more_requests(handle: &mut Handle<Req, Res>) {
    assert!(handle.next_request().await.is_none(), "no request expected");
}

#[tokio::test]
async fn first_request_puts_then_reads_with_the_token() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/meta-data/instance-id")));

    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-1", "21600"));
    expect_get(&mut handle, "/latest/meta-data/instance-id", Some("t-1"))
        .await
        .send_response(ok("i-0123"));

    let response = call.await.unwrap().unwrap();
    assert_eq!(get_metadata_token(&response), Some(&token("t-1")));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "i-0123");
}

#[tokio::test]
async fn cached_token_is_reused_by_clones() {
    let (inner, mut handle) = scripted();
    let layer = ImdsV2Layer::new().ttl(TokenTtl::from_secs(300).unwrap());
    let svc = layer.layer(inner.clone());

    let first = tokio::spawn(svc.clone().oneshot(get("/latest/meta-data/")));
    expect_put(&mut handle, "300")
        .await
        .send_response(token_response("t-1", "300"));
    expect_get(&mut handle, "/latest/meta-data/", Some("t-1"))
        .await
        .send_response(ok("a"));
    first.await.unwrap().unwrap();

    // Another service from a clone of the layer shares the cache.
    let other = layer.clone().layer(inner);
    let second = tokio::spawn(other.oneshot(get("/latest/meta-data/ami-id")));
    expect_get(&mut handle, "/latest/meta-data/ami-id", Some("t-1"))
        .await
        .send_response(ok("b"));
    let response = second.await.unwrap().unwrap();
    assert_eq!(get_metadata_token(&response), Some(&token("t-1")));
}

#[tokio::test]
async fn token_put_carries_nothing_of_the_callers_request() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let mut request = get("/latest/meta-data/");
    request
        .headers_mut()
        .insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_static("secret"));
    let call = tokio::spawn(svc.oneshot(request));

    // `expect_put` asserts the PUT has the TTL header only.
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t", "21600"));
    let (request, respond) = handle.next_request().await.unwrap();
    assert_eq!(
        request.headers()["x-forwarded-for"],
        "10.0.0.1",
        "the read itself is untouched"
    );
    respond.send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_thousand_concurrent_first_requests_share_one_put() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let calls: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(svc.clone().oneshot(get("/latest/meta-data/instance-id"))))
        .collect();
    drop(svc);

    let mut puts = 0;
    let mut gets = 0;
    while let Some((request, respond)) = handle.next_request().await {
        if request.method() == Method::PUT {
            puts += 1;
            respond.send_response(token_response("shared", "21600"));
        } else {
            assert_eq!(request.headers()[X_AWS_EC2_METADATA_TOKEN], "shared");
            gets += 1;
            respond.send_response(ok("i-0123"));
        }
        if gets == 1000 {
            break;
        }
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!((puts, gets), (1, 1000));
}

#[tokio::test(start_paused = true)]
async fn expiry_follows_the_ttl_the_server_granted() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);

    // Asked for 21600 s, granted 60 s: refreshed 15 s (a quarter) early.
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("short", "60"));
    expect_get(&mut handle, "/latest/a", Some("short"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    tokio::time::advance(Duration::from_secs(44)).await;
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    expect_get(&mut handle, "/latest/b", Some("short"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    tokio::time::advance(Duration::from_secs(2)).await;
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/c")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("renewed", "60"));
    expect_get(&mut handle, "/latest/c", Some("renewed"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn during_a_refresh_other_requests_keep_the_valid_token() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("old", "400"));
    expect_get(&mut handle, "/latest/a", Some("old"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    // Past the refresh point (300 s), before expiry (400 s).
    tokio::time::advance(Duration::from_secs(310)).await;
    let refreshing = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    let put = expect_put(&mut handle, "21600").await;
    let other = tokio::spawn(svc.clone().oneshot(get("/latest/c")));
    expect_get(&mut handle, "/latest/c", Some("old"))
        .await
        .send_response(ok(""));
    other.await.unwrap().unwrap();
    put.send_response(token_response("new", "400"));
    expect_get(&mut handle, "/latest/b", Some("new"))
        .await
        .send_response(ok(""));
    refreshing.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_using_the_valid_token() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("old", "400"));
    expect_get(&mut handle, "/latest/a", Some("old"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    tokio::time::advance(Duration::from_secs(310)).await;
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(status(503));
    expect_get(&mut handle, "/latest/b", Some("old"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn unauthorized_drops_the_token_it_was_sent_with() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-1", "21600"));
    expect_get(&mut handle, "/latest/a", Some("t-1"))
        .await
        .send_response(status(401));
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), 401, "the 401 itself is passed on");
    assert_eq!(get_metadata_token(&response), Some(&token("t-1")));

    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-2", "21600"));
    expect_get(&mut handle, "/latest/a", Some("t-2"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_late_unauthorized_spares_a_newer_token() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let warm = tokio::spawn(svc.clone().oneshot(get("/latest/warm")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-1", "21600"));
    expect_get(&mut handle, "/latest/warm", Some("t-1"))
        .await
        .send_response(ok(""));
    warm.await.unwrap().unwrap();

    // A and B both go out with t-1.
    let a = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    let a_respond = expect_get(&mut handle, "/latest/a", Some("t-1")).await;
    let b = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    let b_respond = expect_get(&mut handle, "/latest/b", Some("t-1")).await;

    // A's 401 drops t-1; C fetches t-2.
    a_respond.send_response(status(401));
    a.await.unwrap().unwrap();
    let c = tokio::spawn(svc.clone().oneshot(get("/latest/c")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-2", "21600"));
    expect_get(&mut handle, "/latest/c", Some("t-2"))
        .await
        .send_response(ok(""));
    c.await.unwrap().unwrap();

    // B's late 401 was for t-1: t-2 stays.
    b_respond.send_response(status(401));
    b.await.unwrap().unwrap();
    let d = tokio::spawn(svc.clone().oneshot(get("/latest/d")));
    expect_get(&mut handle, "/latest/d", Some("t-2"))
        .await
        .send_response(ok(""));
    d.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_given_token_is_used_without_any_put() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new()
        .metadata_token(token("given"))
        .layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    expect_get(&mut handle, "/latest/a", Some("given"))
        .await
        .send_response(ok(""));
    let response = call.await.unwrap().unwrap();
    assert_eq!(get_metadata_token(&response), Some(&token("given")));
    expect_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn a_token_in_the_request_extensions_wins() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new()
        .metadata_token(token("layer"))
        .layer(inner);
    let mut request = get("/latest/a");
    request.extensions_mut().insert(token("per-request"));
    let call = tokio::spawn(svc.oneshot(request));
    expect_get(&mut handle, "/latest/a", Some("per-request"))
        .await
        .send_response(ok(""));
    let response = call.await.unwrap().unwrap();
    assert_eq!(get_metadata_token(&response), Some(&token("per-request")));
}

#[tokio::test]
async fn a_token_taken_from_one_response_serves_another_layer() {
    let (inner, mut handle) = scripted();
    let first = ImdsV2Layer::new().layer(inner.clone());
    let call = tokio::spawn(first.oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("reuse-me", "21600"));
    expect_get(&mut handle, "/latest/a", Some("reuse-me"))
        .await
        .send_response(ok(""));
    let response = call.await.unwrap().unwrap();
    let reused = get_metadata_token(&response).unwrap().clone();

    let second = ImdsV2Layer::new().metadata_token(reused).layer(inner);
    let call = tokio::spawn(second.oneshot(get("/latest/b")));
    expect_get(&mut handle, "/latest/b", Some("reuse-me"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
    expect_no_more_requests(&mut handle).await;
}

#[test]
fn ttl_out_of_range_is_refused_before_a_layer_has_it() {
    for ttl in [0, 21_601, u32::MAX] {
        let err = TokenTtl::from_secs(ttl).unwrap_err();
        assert_eq!(err.secs(), ttl);
        assert_eq!(TokenTtl::try_from(ttl), Err(err));
        assert!(err.to_string().contains("between 1 and 21600"), "{err}");
    }
}

#[tokio::test]
async fn ttl_bounds_are_accepted() {
    for ttl in ["1", "21600"] {
        let (inner, mut handle) = scripted();
        let svc = ImdsV2Layer::new()
            .ttl(TokenTtl::from_secs(ttl.parse().unwrap()).unwrap())
            .layer(inner);
        let call = tokio::spawn(svc.oneshot(get("/latest/a")));
        expect_put(&mut handle, ttl)
            .await
            .send_response(token_response("t", ttl));
        expect_get(&mut handle, "/latest/a", Some("t"))
            .await
            .send_response(ok(""));
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn refused_put_is_an_error_and_the_read_is_not_sent() {
    for code in [400, 403, 404, 405, 429, 500, 503] {
        let (inner, mut handle) = scripted();
        let svc = ImdsV2Layer::new().layer(inner);
        let call = tokio::spawn(svc.oneshot(get("/latest/a")));
        expect_put(&mut handle, "21600")
            .await
            .send_response(status(code));
        let err = layer_error(call.await.unwrap().unwrap_err());
        assert!(
            matches!(err, Error::TokenRequestRefused { status, .. } if status == code),
            "{code}: {err}"
        );
        expect_no_more_requests(&mut handle).await;
    }
}

#[tokio::test]
async fn fallback_sends_without_a_token_when_v2_is_unavailable() {
    for code in [403, 404, 405] {
        let (inner, mut handle) = scripted();
        let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
        let call = tokio::spawn(svc.oneshot(get("/latest/a")));
        expect_put(&mut handle, "21600")
            .await
            .send_response(status(code));
        expect_get(&mut handle, "/latest/a", None)
            .await
            .send_response(ok("v1"));
        let response = call.await.unwrap().unwrap();
        assert_eq!(get_metadata_token(&response), None, "{code}");
    }
}

#[tokio::test]
async fn fallback_on_transport_error() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_error("connection reset");
    expect_get(&mut handle, "/latest/a", None)
        .await
        .send_response(ok("v1"));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn transport_error_without_fallback_names_the_endpoint() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_error("connection reset");
    let err = layer_error(call.await.unwrap().unwrap_err());
    assert!(matches!(err, Error::TokenRequestFailed { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(BASE) && message.contains("connection reset"),
        "{message}"
    );
    expect_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn no_fallback_on_bad_request_even_when_enabled() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(status(400));
    let err = layer_error(call.await.unwrap().unwrap_err());
    assert!(matches!(err, Error::TokenRequestRefused { status, .. } if status == 400));
    expect_no_more_requests(&mut handle).await;
}

#[tokio::test(start_paused = true)]
async fn fallback_is_remembered_until_a_401() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(status(404));
    expect_get(&mut handle, "/latest/a", None)
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    // No PUT while v2 is known to be unavailable...
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    expect_get(&mut handle, "/latest/b", None)
        .await
        .send_response(status(401));
    call.await.unwrap().unwrap();

    // ...until an IMDSv1 request is refused with 401.
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/c")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("v2-again", "21600"));
    expect_get(&mut handle, "/latest/c", Some("v2-again"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn fallback_is_retried_after_five_minutes() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(status(403));
    expect_get(&mut handle, "/latest/a", None)
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    tokio::time::advance(Duration::from_secs(301)).await;
    let call = tokio::spawn(svc.clone().oneshot(get("/latest/b")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t", "21600"));
    expect_get(&mut handle, "/latest/b", Some("t"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn unanswered_put_times_out_with_the_hop_limit_hint() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new()
        .token_timeout(Duration::from_millis(250))
        .layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    let _never_answered = expect_put(&mut handle, "21600").await;
    let started = tokio::time::Instant::now();
    let err = layer_error(call.await.unwrap().unwrap_err());
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    assert!(matches!(err, Error::TokenRequestTimedOut { .. }));
    assert!(err.to_string().contains("hop limit"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn unanswered_put_falls_back_when_enabled() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    let _never_answered = expect_put(&mut handle, "21600").await;
    expect_get(&mut handle, "/latest/a", None)
        .await
        .send_response(ok("v1"));
    let response = call.await.unwrap().unwrap();
    assert_eq!(get_metadata_token(&response), None);
}

/// A token store holding one token, shared by the layers of a test.
#[derive(Clone, Default)]
struct OneTokenStore(Arc<Mutex<Option<StoredToken>>>);

impl TokenStore for OneTokenStore {
    fn load(&self, _: &TokenEndpoint) -> Result<Option<StoredToken>, BoxError> {
        Ok(self.0.lock().unwrap().clone())
    }

    fn save(&self, _: &TokenEndpoint, token: &StoredToken) -> Result<(), BoxError> {
        *self.0.lock().unwrap() = Some(token.clone());
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_stored_token_expires_on_tokios_clock() {
    let store = OneTokenStore::default();
    *store.0.lock().unwrap() = Some(StoredToken {
        token: token("stored"),
        expires_at: clock::now() + Duration::from_secs(600),
    });
    // A fresh layer for each read, as for each run of a command-line tool:
    // only the store remembers the token.
    let read = || {
        let (inner, handle) = scripted();
        let svc = ImdsV2Layer::new().token_store(store.clone()).layer(inner);
        (tokio::spawn(svc.oneshot(get("/latest/a"))), handle)
    };

    // Ten minutes left: used, no PUT.
    let (call, mut handle) = read();
    expect_get(&mut handle, "/latest/a", Some("stored"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
    expect_no_more_requests(&mut handle).await;

    // Ten minutes later it has expired: the layer fetches a new one, and
    // stores it with its expiry on the same clock.
    tokio::time::advance(Duration::from_secs(600)).await;
    let (call, mut handle) = read();
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("fresh", "21600"));
    expect_get(&mut handle, "/latest/a", Some("fresh"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
    let saved = store.0.lock().unwrap().clone().unwrap();
    assert_eq!(saved.token, token("fresh"));
    assert_eq!(
        saved.expires_at.duration_since(clock::now()).unwrap(),
        Duration::from_secs(21_600)
    );
}

#[tokio::test]
async fn unusable_token_responses_are_typed_errors() {
    let huge = "x".repeat(10 * 1024 * 1024);
    let cases: Vec<(Res, TokenResponseProblem)> = vec![
        (
            Response::new(Full::new(Bytes::from_static(b"t"))),
            TokenResponseProblem::MissingTtl,
        ),
        (
            token_response("t", "garbage"),
            TokenResponseProblem::InvalidTtl,
        ),
        (token_response("t", "-1"), TokenResponseProblem::InvalidTtl),
        (token_response("t", "0"), TokenResponseProblem::InvalidTtl),
        (
            token_response("", "60"),
            TokenResponseProblem::InvalidToken(tower_imds::InvalidMetadataToken::Empty),
        ),
        (
            token_response("bad\u{7}token", "60"),
            TokenResponseProblem::InvalidToken(
                tower_imds::InvalidMetadataToken::InvalidCharacter { position: 3 },
            ),
        ),
        (
            token_response(&huge, "60"),
            TokenResponseProblem::BodyTooLarge,
        ),
    ];
    for (response, expected) in cases {
        let (inner, mut handle) = scripted();
        // Even with fallback on: a broken answer is not an absent IMDSv2.
        let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
        let call = tokio::spawn(svc.oneshot(get("/latest/a")));
        expect_put(&mut handle, "21600")
            .await
            .send_response(response);
        let err = layer_error(call.await.unwrap().unwrap_err());
        assert!(
            matches!(&err, Error::InvalidTokenResponse { problem, .. } if *problem == expected),
            "expected {expected:?}, got {err:?}"
        );
        expect_no_more_requests(&mut handle).await;
    }
}

#[tokio::test]
async fn tokens_never_cross_endpoints() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);

    let call = tokio::spawn(svc.clone().oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("for-1338", "21600"));
    expect_get(&mut handle, "/latest/a", Some("for-1338"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();

    let other = Request::get("http://127.0.0.1:1339/latest/a")
        .body(Full::default())
        .unwrap();
    let call = tokio::spawn(svc.clone().oneshot(other));
    let (put, respond) = handle.next_request().await.unwrap();
    assert_eq!(put.method(), Method::PUT);
    assert_eq!(put.uri(), "http://127.0.0.1:1339/latest/api/token");
    respond.send_response(token_response("for-1339", "21600"));
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(read.uri(), "http://127.0.0.1:1339/latest/a");
    assert_eq!(read.headers()[X_AWS_EC2_METADATA_TOKEN], "for-1339");
    respond.send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn relative_uris_put_to_a_relative_token_path() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let request = Request::get("/latest/meta-data/")
        .body(Full::default())
        .unwrap();
    let call = tokio::spawn(svc.oneshot(request));
    let (put, respond) = handle.next_request().await.unwrap();
    assert_eq!(put.uri(), "/latest/api/token");
    respond.send_response(token_response("t", "21600"));
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(read.headers()[X_AWS_EC2_METADATA_TOKEN], "t");
    respond.send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_cancelled_leader_hands_the_fetch_to_a_waiter() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);

    let mut leader = task::spawn(svc.clone().oneshot(get("/latest/a")));
    let mut waiter = task::spawn(svc.clone().oneshot(get("/latest/b")));
    assert_pending!(leader.poll());
    let abandoned_put = expect_put(&mut handle, "21600").await;
    assert_pending!(waiter.poll());

    drop(leader);
    assert!(waiter.is_woken(), "the waiter is told at once");
    assert_pending!(waiter.poll());
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t-2", "21600"));
    drop(abandoned_put);
    assert!(waiter.is_woken());
    assert_pending!(waiter.poll());
    expect_get(&mut handle, "/latest/b", Some("t-2"))
        .await
        .send_response(ok(""));
    let response = assert_ready!(waiter.poll()).unwrap();
    assert_eq!(get_metadata_token(&response), Some(&token("t-2")));
}

#[tokio::test]
async fn waiters_share_the_leaders_failure() {
    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().layer(inner);
    let mut leader = task::spawn(svc.clone().oneshot(get("/latest/a")));
    let mut waiter = task::spawn(svc.clone().oneshot(get("/latest/b")));
    assert_pending!(leader.poll());
    assert_pending!(waiter.poll());
    expect_put(&mut handle, "21600")
        .await
        .send_response(status(500));
    let leader_err = layer_error(assert_ready!(leader.poll()).unwrap_err());
    assert!(waiter.is_woken());
    let waiter_err = layer_error(assert_ready!(waiter.poll()).unwrap_err());
    for err in [leader_err, waiter_err] {
        assert!(matches!(err, Error::TokenRequestRefused { status, .. } if status == 500));
    }
    drop(svc);
    drop((leader, waiter));
    expect_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn the_put_runs_under_the_callers_readiness() {
    // With a concurrency limit of one *inside* the layer, the PUT must use
    // the permit the caller's poll_ready acquired, or it would wait forever.
    let (inner, mut handle) = scripted();
    let svc = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .layer(ConcurrencyLimitLayer::new(1))
        .service(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    expect_put(&mut handle, "21600")
        .await
        .send_response(token_response("t", "21600"));
    expect_get(&mut handle, "/latest/a", Some("t"))
        .await
        .send_response(ok(""));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn wrapped_service_errors_pass_through_unchanged() {
    #[derive(Debug, thiserror::Error)]
    #[error("inner failure")]
    struct InnerFailure;

    let (inner, mut handle) = scripted();
    let svc = ImdsV2Layer::new().metadata_token(token("t")).layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/a")));
    let (_, respond) = handle.next_request().await.unwrap();
    respond.send_error(InnerFailure);
    let err = call.await.unwrap().unwrap_err();
    assert!(err.is::<InnerFailure>(), "{err}");
}

#[test]
fn services_and_futures_are_send_and_clone_when_the_inner_ones_are() {
    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}
    fn assert_clone<T: Clone>() {}
    assert_send::<tower_imds::ImdsV2<Mock<Req, Res>>>();
    assert_clone::<tower_imds::ImdsV2<Mock<Req, Res>>>();
    assert_send::<tower_imds::ResponseFuture<Mock<Req, Res>, Full<Bytes>, Full<Bytes>>>();
    assert_send::<ImdsV2Layer>();
    assert_sync::<ImdsV2Layer>();
    assert_clone::<ImdsV2Layer>();
}

#[test]
fn debug_output_hides_the_token() {
    let layer = ImdsV2Layer::new().metadata_token(token("super-secret-token"));
    let debug = format!("{layer:?}");
    assert!(!debug.contains("super-secret-token"), "{debug}");
    assert!(debug.contains("ttl_seconds: 21600"), "{debug}");
}

#[test]
fn the_response_future_stays_small() {
    // The hot path carries the wrapped future plus a few words; the cold
    // path's state is boxed. Guard against it growing back by accident.
    type Future = tower_imds::ResponseFuture<Mock<Req, Res>, Full<Bytes>, Full<Bytes>>;
    let overhead = std::mem::size_of::<Future>()
        - std::mem::size_of::<<Mock<Req, Res> as tower::Service<Req>>::Future>();
    assert!(overhead <= 64, "ResponseFuture adds {overhead} bytes");
}
