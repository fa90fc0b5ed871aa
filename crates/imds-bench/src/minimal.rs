//! A minimal IMDS-shaped server: hyper 1's `service_fn` on loopback. It
//! answers the token `PUT` with a fixed token and its TTL header, and any
//! `GET` with a fixed body when it carries that token (401 otherwise).
//! Nothing else: no tree, no faults, no log, no counters but the PUTs.
//!
//! It stands in for the server the P3 goals were calibrated against: what
//! a read costs when the server costs next to nothing, beside the same
//! read on `imds-mock` (see BENCHMARKS.md, P3).

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::BoxError;
use tower_imds::header::{
    TOKEN_PATH, X_AWS_EC2_METADATA_TOKEN, X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};

/// The one token the server issues and accepts (56 characters, as IMDS's).
const TOKEN: &str = "AQAEAMinimalServerToken-0123456789abcdefghijklmnopqrstuv";
/// The body of every read.
const BODY: &str = "i-0b22a22eec53b9321";

/// The running server; dropping it stops it and closes its connections.
pub struct MinimalServer {
    addr: SocketAddr,
    token_puts: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl MinimalServer {
    /// Starts the server on `127.0.0.1`, on a free port, on the current
    /// runtime.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let token_puts = Arc::new(AtomicU64::new(0));
        let puts = token_puts.clone();
        let task = tokio::spawn(async move {
            // Aborting the accept task drops this set, which aborts the
            // connections.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let puts = puts.clone();
                let service = service_fn(move |request| answer(request, puts.clone()));
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                // Reap finished connections without waiting.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            addr,
            token_puts,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn uri(&self, path: &str) -> Result<Uri, BoxError> {
        Ok(format!("{}{path}", self.base_url()).parse()?)
    }

    /// Tokens issued so far.
    pub fn token_puts(&self) -> u64 {
        self.token_puts.load(Ordering::Relaxed)
    }
}

impl Drop for MinimalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    request: Request<Incoming>,
    token_puts: Arc<AtomicU64>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::PUT && request.uri().path() == TOKEN_PATH {
        token_puts.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Full::new(Bytes::from_static(TOKEN.as_bytes())));
        response.headers_mut().insert(
            X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
            HeaderValue::from_static("21600"),
        );
        return Ok(response);
    }
    let authorized = request
        .headers()
        .get(X_AWS_EC2_METADATA_TOKEN)
        .is_some_and(|token| token.as_bytes() == TOKEN.as_bytes());
    if authorized {
        return Ok(Response::new(Full::new(Bytes::from_static(
            BODY.as_bytes(),
        ))));
    }
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Empty};

    use super::*;
    use crate::fixture;

    #[tokio::test]
    async fn issues_one_token_and_answers_only_reads_that_carry_it() {
        let server = MinimalServer::start().await.unwrap();
        let http = fixture::client();
        let token = fixture::fetch_token_at(&http, &server.base_url())
            .await
            .unwrap();
        assert_eq!(server.token_puts(), 1);
        let uri = server.uri(fixture::INSTANCE_ID).unwrap();
        let read = fixture::ReadRequest::for_bare(uri.clone(), &token);
        let mut service = http.clone();
        assert_eq!(
            fixture::send(&mut service, read.build()).await.unwrap(),
            BODY.len()
        );
        let anonymous = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
        let response = http.request(anonymous).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );
        // Our client does the token dance with it too.
        let client = fixture::imds_client_at(&server.base_url()).unwrap();
        let body = client.get(fixture::INSTANCE_ID).await.unwrap().unwrap();
        assert_eq!(body, BODY);
        assert_eq!(server.token_puts(), 2);
    }
}
