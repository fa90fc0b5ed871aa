//! `imds events --watch` as a running process, and the mock it watches
//! behind [`EventSource`], so that a scenario runs against any mock: the
//! in-process `MockImds` driven by `set_metadata` today, the mock binary
//! driven through its control API as well once it has one (implement the
//! trait for a handle on it, and run the same scenario functions).
//!
//! Included by `#[path]` next to `mod support;`.

#![allow(dead_code)] // Each test file uses a part.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imds_mock::MockImds;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::support::Sandbox;

/// How long a test waits for the watcher's next line or its exit: a hang
/// is a failure. A guard only; it synchronises nothing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A mock IMDS whose event documents a test changes while `imds` polls it.
#[allow(async_fn_in_trait)]
pub trait EventSource {
    /// `http://HOST:PORT`, for `--endpoint`.
    fn base_url(&self) -> String;
    /// Serves `body` at `path` (under `/latest/`).
    async fn set(&self, path: &str, body: &str);
    /// Serves 404 at `path`.
    async fn remove(&self, path: &str);
    /// Answers the next `n` requests with 503.
    async fn fail_next(&self, n: u64);
}

impl EventSource for MockImds {
    fn base_url(&self) -> String {
        MockImds::base_url(self)
    }

    async fn set(&self, path: &str, body: &str) {
        self.set_metadata(path, body.to_owned());
    }

    async fn remove(&self, path: &str) {
        self.remove_metadata(path);
    }

    async fn fail_next(&self, n: u64) {
        MockImds::fail_next(self, n, http::StatusCode::SERVICE_UNAVAILABLE);
    }
}

/// A running `imds ... events --watch`: its stdout line by line, its
/// stderr gathered. Killed when dropped.
pub struct Watching {
    child: Child,
    stdout: Option<Lines<BufReader<ChildStdout>>>,
    stderr: Arc<Mutex<String>>,
    stderr_task: tokio::task::JoinHandle<()>,
}

/// How a watcher ended.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    /// Lines not read before it ended.
    pub rest: Vec<String>,
    pub stderr: String,
}

impl Watching {
    /// Spawns `imds --endpoint URL ARGS` in `sandbox` with `env` added.
    pub fn spawn(sandbox: &Sandbox, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut argv = vec!["--endpoint", endpoint];
        argv.extend_from_slice(args);
        let mut child = sandbox
            .imds_command(endpoint, &argv, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the imds binary starts");
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf).await {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self {
            child,
            stdout: Some(stdout),
            stderr,
            stderr_task,
        }
    }

    /// The next line on stdout, as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        let line = self.next_line().await;
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// The next line on stdout.
    pub async fn next_line(&mut self) -> String {
        let stdout = self.stdout.as_mut().expect("stdout still open");
        match tokio::time::timeout(PATIENCE, stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!(
                "no line from imds ({other:?}); stderr: {}",
                self.stderr_so_far()
            ),
        }
    }

    /// Closes our end of its stdout, as `imds ... | head -1` would.
    pub fn close_stdout(&mut self) {
        self.stdout = None;
    }

    /// What it wrote to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for it to exit on its own.
    pub async fn exit(mut self) -> Exit {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("imds exits")
            .unwrap();
        let mut rest = Vec::new();
        if let Some(stdout) = self.stdout.as_mut() {
            while let Ok(Some(line)) = stdout.next_line().await {
                rest.push(line);
            }
        }
        let _ = (&mut self.stderr_task).await;
        Exit {
            code: status.code().expect("exited, not killed"),
            rest,
            stderr: self.stderr_so_far(),
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it; returns its stderr.
    pub async fn kill(mut self) -> String {
        let _ = self.child.kill().await;
        let _ = (&mut self.stderr_task).await;
        self.stderr_so_far()
    }
}
