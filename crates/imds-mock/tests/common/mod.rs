//! A real HTTP client for the tests (hyper-util's legacy client over TCP),
//! temporary config files, and the built binary run as a child process.

#![allow(dead_code)] // each test binary uses a different part

use std::error::Error;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use imds_mock::{MockImds, TOKEN_HEADER, TTL_HEADER};
use tempfile::NamedTempFile;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub type BoxError = Box<dyn Error + Send + Sync>;

/// A response, read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a text body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// One connection per request (no pool), so a fault on one request never
/// leaks into the next through a reused connection.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http()
}

/// Sends `method base+path` with `headers` and reads the whole response.
pub async fn send(method: Method, url: &str, headers: &[(&str, &str)]) -> Result<Reply, BoxError> {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    exchange(request.body(Full::new(Bytes::new()))?).await
}

/// Sends `request` and reads the whole response.
async fn exchange(request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
    let response = client().request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// `PUT /latest/api/token` with the given TTL header value.
pub async fn put_token(server: &MockImds, ttl: &str) -> Reply {
    put_token_at(&server.base_url(), ttl).await
}

/// `PUT /latest/api/token` at `base` (`http://HOST:PORT`, e.g. a URL the
/// binary printed) with the given TTL header value.
pub async fn put_token_at(base: &str, ttl: &str) -> Reply {
    send(
        Method::PUT,
        &format!("{base}/latest/api/token"),
        &[(TTL_HEADER, ttl)],
    )
    .await
    .expect("the token PUT got a response")
}

/// A fresh token with a 6-hour TTL.
pub async fn token(server: &MockImds) -> String {
    let reply = put_token(server, "21600").await;
    assert_eq!(reply.status, StatusCode::OK, "token PUT: {}", reply.text());
    reply.text().to_owned()
}

/// `GET path` with the token, if any.
pub async fn get(server: &MockImds, path: &str, token: Option<&str>) -> Reply {
    get_at(&server.base_url(), path, token).await
}

/// `GET base+path` with the token, if any.
pub async fn get_at(base: &str, path: &str, token: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = token.map(|t| (TOKEN_HEADER, t)).into_iter().collect();
    send(Method::GET, &format!("{base}{path}"), &headers)
        .await
        .expect("the GET got a response")
}

/// `GET path` through the IMDSv2 flow: a new token, then the read.
pub async fn get_v2(server: &MockImds, path: &str) -> Reply {
    let token = token(server).await;
    get(server, path, Some(&token)).await
}

/// A file holding `contents`, removed when dropped, however the test ends.
pub fn temp_file(contents: &str) -> NamedTempFile {
    let mut file = NamedTempFile::new().expect("a temporary file");
    file.write_all(contents.as_bytes())
        .expect("the temporary file is written");
    file
}

/// Sends `method url` with a JSON (or any) `body` and reads the whole
/// response (the control API's requests).
pub async fn send_body(method: Method, url: &str, body: &str) -> Result<Reply, BoxError> {
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))?;
    exchange(request).await
}

/// The built `imds-mock` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_imds-mock");

/// A child's stdout, line by line.
pub type StdoutLines = Lines<BufReader<ChildStdout>>;

/// How long a child may take to print a line or to exit.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

/// Spawns `command` with its stdout piped (its URL lines), killed when
/// the handle is dropped, however the test ends.
pub fn spawn(command: &mut Command) -> (Child, StdoutLines) {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The next line the child prints.
pub async fn next_line(lines: &mut StdoutLines) -> String {
    tokio::time::timeout(CHILD_TIMEOUT, lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("a line")
}

/// Runs `command` to completion (for refusals and exit codes).
pub async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(CHILD_TIMEOUT, command.kill_on_drop(true).output())
        .await
        .expect("the binary exits in time")
        .unwrap()
}
