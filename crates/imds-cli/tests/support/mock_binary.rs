//! The `imds-mock` binary, run as a process of its own and driven through
//! its HTTP control API only, as a test in another language would drive it.
//!
//! Included by `#[path]` next to `mod support;`.

#![allow(dead_code)] // Each test file uses a part.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::support::http_request;

/// How long the mock has to print its URLs: a guard, not a delay.
const PATIENCE: Duration = Duration::from_secs(30);

/// The `imds-mock` binary of this workspace, as it is now.
///
/// Built here, once per test process, by the cargo that runs the tests:
/// `cargo test -p imds-cli` builds imds-mock as a library only (a
/// dev-dependency; `CARGO_BIN_EXE_*` names this package's binaries alone),
/// so a binary found in the target directory could be missing or left by
/// an older checkout. Cargo's JSON messages say where the binary is, so
/// no path (target directory, profile, target triple) is guessed; when
/// it is up to date the build is a no-op.
pub fn path() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build)
}

fn build() -> PathBuf {
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", "imds-mock", "--bin", "imds-mock"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit());
    // The profile this test was built with: target/<dir>/deps/<test>.
    let exe = std::env::current_exe().expect("the test knows its own path");
    match exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(OsStr::to_str)
    {
        Some("release") => {
            cargo.arg("--release");
        }
        Some("debug") | None => {}
        Some(profile) => {
            cargo.args(["--profile", profile]);
        }
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build -p imds-mock failed: {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "imds-mock"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the imds-mock executable it built")
}

/// A running `imds-mock --port 0 --control 0`, killed when dropped.
pub struct MockBinary {
    _child: Child,
    url: String,
    control: String,
    /// Kept open: the mock's stdout is ours.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl MockBinary {
    /// Starts it with `args` added, and reads the two URL lines it prints.
    pub async fn start(args: &[&str]) -> Self {
        let mut child = Command::new(path())
            .args(["--port", "0", "--control", "0"])
            .args(args)
            .env_clear()
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the imds-mock binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = next_line(&mut stdout).await;
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let control = next_line(&mut stdout).await;
        let control = control
            .strip_prefix("control: ")
            .unwrap_or_else(|| panic!("a control line: {control}"))
            .to_owned();
        Self {
            _child: child,
            url,
            control,
            _stdout: stdout,
        }
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `METHOD path` on the control API with a JSON `body`: the answer's
    /// JSON. Panics unless it is a success.
    pub async fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let addr = self.control.trim_start_matches("http://");
        let (status, text) = http_request(
            addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body,
        )
        .await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} {body}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    match tokio::time::timeout(PATIENCE, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => panic!("no line from imds-mock ({other:?})"),
    }
}
