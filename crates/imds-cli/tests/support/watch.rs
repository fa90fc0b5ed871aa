//! `imds events --watch` as a running process, and the mock it watches
//! behind [`EventSource`], so that a scenario runs against either mock:
//! the in-process `MockImds` through its live-change methods, and the
//! `imds-mock` binary through its HTTP control API. Both take the control
//! API's JSON bodies, so a scenario is written once.
//!
//! Included by `#[path]` next to `mod support;` (and, for the binary,
//! `support/mock_binary.rs` as `mod mock_binary;`).

#![allow(dead_code)] // Each test file uses a part.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imds_mock::{
    AutoScaling, MockImds, RebalanceRecommendation, ScheduledEvent, ScheduledEventState, SpotNotice,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::mock_binary::MockBinary;
use crate::support::Sandbox;

/// How long a test waits for the watcher's next line or its exit: a hang
/// is a failure. A guard only; it synchronises nothing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A mock IMDS whose events a test changes while `imds` polls it: the
/// routes of the mock's control API (see imds-mock's README), with their
/// JSON bodies.
#[allow(async_fn_in_trait)]
pub trait EventSource {
    /// `http://HOST:PORT`, for `--endpoint`.
    fn base_url(&self) -> String;
    /// `PUT /events/spot`: sets the Spot notice.
    async fn set_spot(&self, notice: Value);
    /// `DELETE /events/spot`: withdraws it.
    async fn withdraw_spot(&self);
    /// `PUT /events/rebalance`: sets the rebalance recommendation.
    async fn set_rebalance(&self, recommendation: Value);
    /// `POST /events/scheduled`: adds a scheduled event, or replaces the
    /// one with its `event_id`.
    async fn add_scheduled(&self, event: Value);
    /// `PATCH /events/scheduled/{id}`: changes its state.
    async fn set_scheduled_state(&self, id: &str, state: &str);
    /// `PUT /events/autoscaling`: sets the target lifecycle state.
    async fn set_autoscaling(&self, autoscaling: Value);
    /// `POST /faults/fail-next`: the next `n` requests get 503.
    async fn fail_next(&self, n: u64);
}

/// A control API body as the scenario type it stands for.
fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a body the control API takes")
}

impl EventSource for MockImds {
    fn base_url(&self) -> String {
        MockImds::base_url(self)
    }

    async fn set_spot(&self, notice: Value) {
        self.set_spot_notice(body::<SpotNotice>(notice));
    }

    async fn withdraw_spot(&self) {
        self.withdraw_spot_notice();
    }

    async fn set_rebalance(&self, recommendation: Value) {
        self.set_rebalance_recommendation(body::<RebalanceRecommendation>(recommendation));
    }

    async fn add_scheduled(&self, event: Value) {
        self.add_scheduled_event(body::<ScheduledEvent>(event));
    }

    async fn set_scheduled_state(&self, id: &str, state: &str) {
        self.set_scheduled_event_state(id, body::<ScheduledEventState>(json!(state)))
            .unwrap();
    }

    async fn set_autoscaling(&self, autoscaling: Value) {
        MockImds::set_autoscaling(self, body::<AutoScaling>(autoscaling));
    }

    async fn fail_next(&self, n: u64) {
        MockImds::fail_next(self, n, http::StatusCode::SERVICE_UNAVAILABLE);
    }
}

impl EventSource for MockBinary {
    fn base_url(&self) -> String {
        self.url().to_owned()
    }

    async fn set_spot(&self, notice: Value) {
        self.control("PUT", "/events/spot", &notice.to_string())
            .await;
    }

    async fn withdraw_spot(&self) {
        self.control("DELETE", "/events/spot", "").await;
    }

    async fn set_rebalance(&self, recommendation: Value) {
        self.control("PUT", "/events/rebalance", &recommendation.to_string())
            .await;
    }

    async fn add_scheduled(&self, event: Value) {
        self.control("POST", "/events/scheduled", &event.to_string())
            .await;
    }

    async fn set_scheduled_state(&self, id: &str, state: &str) {
        let path = format!("/events/scheduled/{id}");
        self.control("PATCH", &path, &json!({ "state": state }).to_string())
            .await;
    }

    async fn set_autoscaling(&self, autoscaling: Value) {
        self.control("PUT", "/events/autoscaling", &autoscaling.to_string())
            .await;
    }

    async fn fail_next(&self, n: u64) {
        let fault = json!({"count": n, "status": 503}).to_string();
        self.control("POST", "/faults/fail-next", &fault).await;
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
        let rest = self.rest().await;
        Exit {
            code: status.code().expect("exited, not killed"),
            rest,
            stderr: self.stderr_so_far(),
        }
    }

    /// Once it has exited: the lines not read, and all of stderr read.
    async fn rest(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        if let Some(stdout) = self.stdout.as_mut() {
            while let Ok(Some(line)) = stdout.next_line().await {
                rest.push(line);
            }
        }
        // Its stderr ends when every process holding it (imds, and what
        // --exec started) has exited.
        tokio::time::timeout(PATIENCE, &mut self.stderr_task)
            .await
            .expect("stderr closed: no process left holding it")
            .ok();
        rest
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it; returns the lines it printed that were not read, and its
    /// stderr.
    pub async fn kill(mut self) -> (Vec<String>, String) {
        let _ = self.child.kill().await;
        let rest = self.rest().await;
        (rest, self.stderr_so_far())
    }
}
