//! `ImdsV2Layer::user_agent`: the caller tag on the token `PUT` and on the
//! requests that have no `User-Agent` of their own, against a scripted
//! inner service (exactly what reaches it) and against `imds-mock` (what
//! an operator auditing IMDS traffic would see).

mod support;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header::USER_AGENT};
use http_body_util::{Empty, Full};
use imds_mock::MockImds;
use tower::{Layer, ServiceExt};
use tower_imds::{
    ImdsV2Layer, MetadataToken, UserAgent, header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};
use tower_test::mock;

const BASE: &str = "http://127.0.0.1:1338";

type Req = Request<Full<Bytes>>;
type Res = Response<Full<Bytes>>;

fn get(path: &str, user_agent: Option<&'static str>) -> Req {
    let mut request = Request::get(format!("{BASE}{path}"));
    if let Some(user_agent) = user_agent {
        request = request.header(USER_AGENT, user_agent);
    }
    request.body(Full::default()).unwrap()
}

fn token_response() -> Res {
    Response::builder()
        .header(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, "21600")
        .body(Full::new(Bytes::from_static(b"t-1")))
        .unwrap()
}

fn agent(user_agent: &str) -> UserAgent {
    user_agent.parse().unwrap()
}

fn user_agent_of(request: &Req) -> Option<&str> {
    request
        .headers()
        .get(USER_AGENT)
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn the_put_and_requests_without_one_carry_the_layer_user_agent() {
    let (inner, mut handle) = mock::pair::<Req, Res>();
    let layer = ImdsV2Layer::new().user_agent(agent("billing/1.4"));
    let svc = layer.layer(inner);

    let call = tokio::spawn(
        svc.clone()
            .oneshot(get("/latest/meta-data/instance-id", None)),
    );
    let (put, respond) = handle.next_request().await.unwrap();
    assert_eq!(put.method(), Method::PUT);
    assert_eq!(user_agent_of(&put), Some("billing/1.4"));
    assert_eq!(put.headers().len(), 2, "TTL and User-Agent only");
    respond.send_response(token_response());
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(user_agent_of(&read), Some("billing/1.4"));
    respond.send_response(Response::new(Full::default()));
    call.await.unwrap().unwrap();

    // A request's own User-Agent wins; only one is sent.
    let call = tokio::spawn(
        svc.clone()
            .oneshot(get("/latest/meta-data/", Some("mine/2"))),
    );
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(user_agent_of(&read), Some("mine/2"));
    assert_eq!(read.headers().get_all(USER_AGENT).iter().count(), 1);
    respond.send_response(Response::new(Full::default()));
    call.await.unwrap().unwrap();

    // A token given to the layer: no PUT, the tag all the same.
    let given: MetadataToken = "given".parse().unwrap();
    let svc = ImdsV2Layer::new()
        .metadata_token(given)
        .user_agent(agent("billing/1.4"))
        .layer(svc.into_inner());
    let call = tokio::spawn(svc.oneshot(get("/latest/meta-data/", None)));
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(read.method(), Method::GET);
    assert_eq!(user_agent_of(&read), Some("billing/1.4"));
    respond.send_response(Response::new(Full::default()));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_the_option_nothing_is_added() {
    let (inner, mut handle) = mock::pair::<Req, Res>();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(svc.oneshot(get("/latest/meta-data/", None)));
    let (put, respond) = handle.next_request().await.unwrap();
    assert_eq!(user_agent_of(&put), None);
    respond.send_response(token_response());
    let (read, respond) = handle.next_request().await.unwrap();
    assert_eq!(user_agent_of(&read), None);
    respond.send_response(Response::new(Full::default()));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_mock_logs_the_user_agent_of_each_request() {
    let mock = MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let tagged = ImdsV2Layer::new().user_agent(agent("host-agent/3.0 (audit)"));
    let imds = tagged.layer(support::http_client());
    support::read(&imds, &base, "/latest/meta-data/instance-id")
        .await
        .unwrap();
    let mut own = support::get(&base, "/latest/meta-data/ami-id");
    own.headers_mut()
        .insert(USER_AGENT, HeaderValue::from_static("curl/8.5.0"));
    imds.clone().oneshot(own).await.unwrap();
    let untagged = ImdsV2Layer::new().layer(support::http_client());
    let request: Request<Empty<Bytes>> = support::get(&base, "/latest/meta-data/region");
    untagged.oneshot(request).await.unwrap();

    let seen: Vec<(String, Option<String>)> = mock
        .requests()
        .into_iter()
        .map(|request| {
            (
                format!("{} {}", request.method, request.path),
                request.user_agent,
            )
        })
        .collect();
    let tag = Some("host-agent/3.0 (audit)".to_owned());
    assert_eq!(
        seen,
        [
            ("PUT /latest/api/token".to_owned(), tag.clone()),
            ("GET /latest/meta-data/instance-id".to_owned(), tag),
            (
                "GET /latest/meta-data/ami-id".to_owned(),
                Some("curl/8.5.0".to_owned())
            ),
            ("PUT /latest/api/token".to_owned(), None),
            ("GET /latest/meta-data/region".to_owned(), None),
        ]
    );
}
