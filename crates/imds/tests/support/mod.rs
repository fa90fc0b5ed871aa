//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use imds::{Client, ClientBuilder, Env};
use imds_mock::MockImds;
use tokio::net::TcpListener;

/// An environment with nothing set: no process variable (a developer's
/// `AWS_EC2_METADATA_DISABLED`, `AWS_PROFILE`, `HOME`) leaks into a test.
pub fn empty_env() -> Env {
    Env::from_map::<_, String, String>([])
}

/// A builder for `mock`, isolated from the process environment, with
/// millisecond backoff so that retries cost no time.
pub fn builder_for(mock: &MockImds) -> ClientBuilder {
    isolated().endpoint(mock.base_url())
}

/// A builder isolated from the process environment, with fast backoff.
pub fn isolated() -> ClientBuilder {
    Client::builder()
        .env(empty_env())
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A client for `mock`.
pub fn client_for(mock: &MockImds) -> Client {
    builder_for(mock).build().unwrap()
}

/// A plain hyper-util HTTP client, for tests that build a stack of their
/// own around it.
pub fn plain_http() -> hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>> {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Fails the test if `future` takes more than 10 s: a hang is a failure.
/// A guard only; it synchronises nothing.
pub async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("hung: no answer within 10 s")
}

/// A loopback port nothing listens on: connections to it are refused.
pub async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A TCP listener that accepts connections and closes them at once,
/// counting them: every request sent to it fails after connecting.
pub struct Slammer {
    pub url: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Slammer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self {
            url,
            accepted,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Slammer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A mock on `[::1]`, or `None` when this machine has no IPv6 loopback.
pub async fn ipv6_mock() -> Option<MockImds> {
    match imds_mock::Config::default()
        .start_on("[::1]:0".parse().unwrap())
        .await
    {
        Ok(mock) => Some(mock),
        Err(error) => {
            let reason = format!("IPv6 loopback unavailable ({error})");
            assert!(
                std::env::var_os("CI").is_none(),
                "a skip fails in CI: {reason}"
            );
            skip_note(&format!("skipped: {reason}"));
            None
        }
    }
}

/// A temporary directory, removed on drop (however the test ends).
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("imds-test-{name}-"))
            .tempdir()
            .unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `~/.aws/config` under this directory (as HOME).
    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.path().join(".aws");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `meta-data/instance-id`, read from IMDS at every call: the tests' "a
/// read". (`Client::instance_id` reads it once and then answers from
/// memory.) A 404 fails the test, as `instance_id` would have failed:
/// never an empty ID that an `is_ok()` would pass.
pub async fn read_instance_id(client: &Client) -> Result<String, imds::Error> {
    let value = client.get_text("meta-data/instance-id").await?;
    Ok(value.expect("IMDS serves meta-data/instance-id"))
}

/// Says a test skipped, on the stderr handle itself: libtest captures
/// `eprintln!` of passing tests, and a skip must show.
fn skip_note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
