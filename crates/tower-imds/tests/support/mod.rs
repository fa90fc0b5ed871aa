//! Shared by the tests that run the layer over real HTTP against `imds-mock`.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use std::time::Duration;
use tower::{BoxError, Service, ServiceExt};

use tower_imds::{ImdsRetryPolicy, MetadataToken, get_metadata_token};

/// The hyper-util client most users will wrap.
pub type HttpClient = Client<HttpConnector, Empty<Bytes>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn get(base: &str, path: &str) -> Request<Empty<Bytes>> {
    Request::get(format!("{base}{path}"))
        .body(Empty::new())
        .expect("valid request")
}

/// What a read came back with.
pub struct Read {
    pub status: StatusCode,
    pub body: Bytes,
    pub token: Option<MetadataToken>,
}

/// Sends a GET of `path` through `svc` and reads the whole answer.
pub async fn read<S, RB>(svc: &S, base: &str, path: &str) -> Result<Read, BoxError>
where
    S: Service<Request<Empty<Bytes>>, Response = Response<RB>, Error = BoxError> + Clone,
    RB: http_body::Body,
    RB::Error: Into<BoxError>,
{
    let response = svc.clone().oneshot(get(base, path)).await?;
    let status = response.status();
    let token = get_metadata_token(&response).cloned();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(Into::into)?
        .to_bytes();
    Ok(Read {
        status,
        body,
        token,
    })
}

pub fn layer_error(err: BoxError) -> tower_imds::Error {
    match err.downcast::<tower_imds::Error>() {
        Ok(err) => *err,
        Err(other) => panic!("expected a tower_imds::Error, got: {other}"),
    }
}

/// The shipped policy with millisecond backoffs, so retries cost no time.
pub fn fast_retries() -> ImdsRetryPolicy {
    ImdsRetryPolicy::new().backoff(Duration::from_millis(1), Duration::from_millis(5))
}
