//! Runs the built `imds` binary in a sandbox: a private HOME, cache
//! directory and AWS config file, and an environment holding nothing but
//! those and an IMDS endpoint on loopback, so that no run can reach a real
//! IMDS or read the developer's settings.

#![allow(dead_code)] // Each test file uses a part.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use imds_mock::MockImds;

/// A loopback address nothing listens on: connections are refused.
pub const REFUSED: &str = "http://127.0.0.1:1";

/// How long a run may take before the test fails (it is killed on drop):
/// a run that should end but hangs, such as a `--watch` that should exit
/// at once, fails the test instead of stalling it. A guard, not a delay.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// A private directory tree for one test, removed on drop.
pub struct Sandbox {
    root: tempfile::TempDir,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Self {
        Run {
            code: output.status.code().expect("exited, not killed"),
            stdout: output.stdout,
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", self.stdout_text()))
    }

    /// Asserts a success with nothing on stderr.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        self
    }

    /// Asserts a failure with `code`, nothing on stdout and the error as
    /// stderr's last line (warnings may come first).
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("imds: "), "{self:?}");
        self
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("imds-cli-e2e-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .unwrap();
        fs::DirBuilder::new()
            .mode(0o700)
            .create(root.path().join("home"))
            .unwrap();
        fs::write(root.path().join("aws-config"), "").unwrap();
        Self { root }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn cache_home(&self) -> PathBuf {
        self.root.path().join("cache")
    }

    /// Where the token files go.
    pub fn token_dir(&self) -> PathBuf {
        self.cache_home().join("imds").join("tokens")
    }

    /// The token file for `mock`.
    pub fn token_file(&self, mock: &MockImds) -> PathBuf {
        let name: String = mock
            .base_url()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                    char::from(b).to_string()
                } else {
                    format!("_{b:02X}")
                }
            })
            .collect();
        self.token_dir().join(format!("{name}.json"))
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.path().join("aws-config")
    }

    /// Runs `imds --endpoint ENDPOINT ARGS`, with
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` set to `endpoint` as well.
    pub async fn run(&self, endpoint: &str, args: &[&str]) -> Run {
        self.run_with(endpoint, args, &[]).await
    }

    /// As [`run`](Self::run), with extra environment variables.
    pub async fn run_with(&self, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut argv = vec!["--endpoint", endpoint];
        argv.extend_from_slice(args);
        self.run_raw(endpoint, &argv, env).await
    }

    /// Runs `imds --mock ARGS`; the environment's endpoint refuses
    /// connections.
    pub async fn run_mock(&self, args: &[&str]) -> Run {
        let mut argv = vec!["--mock"];
        argv.extend_from_slice(args);
        self.run_raw(REFUSED, &argv, &[]).await
    }

    /// Runs `imds ARGS` exactly as given, with
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` set to `env_endpoint` and the
    /// extra variables `env`. ARGS must hold `--endpoint` or `--mock`.
    /// Fails the test if it runs longer than a minute.
    pub async fn run_raw<S: AsRef<OsStr>>(
        &self,
        env_endpoint: &str,
        args: &[S],
        env: &[(&str, &str)],
    ) -> Run {
        let output = self.imds_command(env_endpoint, args, env).output();
        let output = tokio::time::timeout(PATIENCE, output)
            .await
            .unwrap_or_else(|_| panic!("imds did not exit within {PATIENCE:?}"))
            .expect("the imds binary runs");
        Run::from(output)
    }

    /// The command [`run_raw`](Self::run_raw) runs, to spawn it instead
    /// (stdin null; stdout and stderr as the caller sets them).
    pub fn imds_command<S: AsRef<OsStr>>(
        &self,
        env_endpoint: &str,
        args: &[S],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command = self.command(env!("CARGO_BIN_EXE_imds"), env_endpoint);
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        command
    }

    /// `program` (the imds binary, or a link to it) with the sandbox's
    /// environment and `AWS_EC2_METADATA_SERVICE_ENDPOINT` set to
    /// `env_endpoint`, for tests that run it their own way.
    pub fn command(
        &self,
        program: impl AsRef<OsStr>,
        env_endpoint: &str,
    ) -> tokio::process::Command {
        let mut command = self.isolated(tokio::process::Command::new(program));
        command.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", env_endpoint);
        command
    }

    /// `command` with the sandbox's environment alone (HOME, cache
    /// directory, AWS config and credentials files) and no IMDS endpoint,
    /// killed when dropped.
    pub fn isolated(&self, mut command: tokio::process::Command) -> tokio::process::Command {
        command
            .env_clear()
            .env("HOME", self.home())
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("AWS_CONFIG_FILE", self.config_file())
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.root.path().join("aws-credentials"),
            )
            .kill_on_drop(true);
        command
    }

    /// The sandbox's own directory, for files a test makes.
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

/// Reports on stderr that a test skipped, and why; with `CI` set, a skip
/// is a failure instead (this panics), so CI never passes without
/// running the test. Written to the stderr handle itself: libtest
/// captures `eprintln!` of passing tests, and a skip must show.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "a skip fails in CI: {reason}"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

/// `path`'s permission bits.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().mode() & 0o777
}

/// Sends `GET path` with `token` to `mock` over a raw connection and
/// returns the status code: whether the mock accepts the token.
pub async fn status_with_token(mock: &MockImds, path: &str, token: &str) -> u16 {
    let addr = mock.addr().to_string();
    http_request(
        &addr,
        "GET",
        path,
        &[("X-aws-ec2-metadata-token", token)],
        "",
    )
    .await
    .0
}

/// Sends one HTTP/1.1 request to `addr` (`HOST:PORT`) on a connection of
/// its own and returns the status code and the body. Enough HTTP for the
/// servers the tests start: `Connection: close`, answers read to the end.
pub async fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !matches!(method, "GET" | "HEAD") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}
