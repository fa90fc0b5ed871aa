//! Redirects never carry a token to another server. IMDS itself never
//! redirects; a stack may still hold tower-http's `FollowRedirect`, and a
//! hostile or broken endpoint may answer 307 to another host. Two mocks on
//! two ports: A redirects, B must never see A's token (B answers 401 to
//! any token it did not issue, and logs whether a token was present).

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use imds_mock::MockImds;
use tower::retry::RetryLayer;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::follow_redirect::policy::FilterCredentials;
use tower_http::follow_redirect::{FollowRedirect, FollowRedirectLayer, RequestUri};
use tower_imds::{ImdsRetryPolicy, ImdsV2Layer, get_metadata_token};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

type Body = Empty<Bytes>;

fn http() -> Client<hyper_util::client::legacy::connect::HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn get(base: &str) -> Request<Body> {
    Request::get(format!("{base}{INSTANCE_ID}"))
        .body(Empty::new())
        .unwrap()
}

async fn two_mocks() -> (MockImds, MockImds) {
    let a = MockImds::start_default().await.unwrap();
    let b = MockImds::builder()
        .metadata("meta-data/instance-id", "i-on-server-b")
        .build()
        .start()
        .await
        .unwrap();
    (a, b)
}

/// B never got a token it did not issue itself: every request carrying one
/// was accepted (a token from A would be a 401).
fn assert_b_saw_no_foreign_token(b: &MockImds) {
    for request in b.requests() {
        assert!(
            !(request.has_token && request.status == Some(StatusCode::UNAUTHORIZED)),
            "B was sent a token it never issued: {request:?}"
        );
    }
}

#[tokio::test]
async fn redirects_followed_outside_the_layer_never_carry_the_token_across() {
    let (a, b) = two_mocks().await;
    // The composition to use: FollowRedirect outside the token layer, so
    // the layer sees each hop's own URI.
    let stack = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new())
        .layer(RetryLayer::new(ImdsRetryPolicy::new()))
        .layer(ImdsV2Layer::new())
        .service(http());

    let response = stack.clone().oneshot(get(&a.base_url())).await.unwrap();
    let a_token = get_metadata_token(&response).unwrap().clone();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "i-0b22a22eec53b9321"
    );

    a.redirect_next(1, format!("{}{INSTANCE_ID}", b.base_url()));
    let response = stack.clone().oneshot(get(&a.base_url())).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.extensions().get::<RequestUri>().unwrap().0,
        format!("{}{INSTANCE_ID}", b.base_url()).as_str()
    );
    let b_token = get_metadata_token(&response).unwrap().clone();
    assert_ne!(a_token, b_token, "B's read went out with B's own token");
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "i-on-server-b"
    );
    assert_b_saw_no_foreign_token(&b);
    assert_eq!(b.stats().token_puts, 1, "B issued its own token");
    assert!(
        b.requests()
            .iter()
            .all(|r| r.status == Some(StatusCode::OK))
    );
}

#[tokio::test]
async fn a_redirected_token_request_is_refused_not_followed() {
    let (a, b) = two_mocks().await;
    let stack = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new())
        .layer(ImdsV2Layer::new())
        .service(http());
    // The first request is the token PUT: the layer sends it through the
    // HTTP client alone, which does not follow the 307.
    a.redirect_next(1, format!("{}/latest/api/token", b.base_url()));
    let error = stack.oneshot(get(&a.base_url())).await.unwrap_err();
    let error = error.downcast_ref::<tower_imds::Error>().unwrap();
    assert!(
        matches!(
            error,
            tower_imds::Error::TokenRequestRefused {
                status: StatusCode::TEMPORARY_REDIRECT,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        b.stats().token_requests + b.stats().reads,
        0,
        "B saw nothing"
    );
}

#[tokio::test]
async fn the_client_with_a_redirect_following_service_inside_strips_headers_cross_origin() {
    // The other order: the token layer outside FollowRedirect (as
    // `imds::ClientBuilder::http_service` would put it). Only a policy that
    // drops every header on a cross-origin hop keeps the token from B;
    // tower-imds documents this.
    let (a, b) = two_mocks().await;
    let follow = FollowRedirect::with_policy(http(), FilterCredentials::new().remove_all());
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(a.base_url())
        .attempts(1)
        .http_service(follow)
        .build()
        .unwrap();
    assert_eq!(client.instance_id().await.unwrap(), "i-0b22a22eec53b9321");

    // A read redirected to B reaches B without the token; B's 401 makes the
    // layer fetch a new token from A, and the retry reads A again.
    // (`get_text`, not `instance_id`, which answers from memory now.)
    a.redirect_next(1, format!("{}{INSTANCE_ID}", b.base_url()));
    let read = client.get_text("meta-data/instance-id").await.unwrap();
    assert_eq!(read.as_deref(), Some("i-0b22a22eec53b9321"));
    // A token request redirected to B reaches B without its TTL header, so
    // B issues nothing that could be taken for A's token.
    a.expire_tokens();
    a.redirect_next(1, format!("{}/latest/api/token", b.base_url()));
    client.get("meta-data/instance-id").await.unwrap_err();

    let seen = b.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|r| !r.has_token && !r.has_ttl), "{seen:?}");
    assert_eq!(b.stats().token_puts, 0);
}

#[path = "../examples/reqwest_layer.rs"]
#[allow(dead_code)]
mod reqwest_layer;

// reqwest below the layer: the example's client follows no redirect, so a
// 307 from A comes back as it is and B is never asked. reqwest's default
// policy (to show why the example turns it off) follows the redirect with
// A's token header on it.
#[tokio::test]
async fn reqwest_below_the_layer_follows_no_redirect() {
    let (a, b) = two_mocks().await;
    let request = || {
        Request::get(format!("{}{INSTANCE_ID}", a.base_url()))
            .body(reqwest::Body::default())
            .unwrap()
    };
    let example =
        reqwest_layer::plain(reqwest_layer::reqwest_client().unwrap(), ImdsV2Layer::new());
    // A first read gets A's token, so that the redirect meets a read.
    let response = example.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    a.redirect_next(1, format!("{}{INSTANCE_ID}", b.base_url()));
    let response = example.oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    let following = reqwest::Client::builder().no_proxy().build().unwrap();
    let following = reqwest_layer::plain(following, ImdsV2Layer::new());
    let response = following.clone().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    a.redirect_next(1, format!("{}{INSTANCE_ID}", b.base_url()));
    let response = following.oneshot(request()).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "B refused A's token"
    );
    let carried = b.requests();
    assert!(carried.iter().any(|r| r.has_token), "{carried:?}");
}
